"""Privilege escalation: the technique table, the engine-decided escalation edges, and path search.

Submodules: `techniques` (the table as data), `decide` (engine
decisions: permission on a resource, service trust, administrator), `probes` (the administrator probes),
`edges` (the data a derivation shares) + `families` (one function per family of techniques), `classes` +
`fanout` + `reach` + `trust` (edges to many targets derived once per class of targets and stored as fan-out
edges), `functions` (takeovers of stored Lambda functions their policies allow), `derive` (runs every
technique's family for every actor), `run` (the deriver that writes the edges), `paths` (path search over
assumption, escalation and fan-out edges) with `edge_table` (the stored edges as columns) and `numbered`
(whole-graph traversals over node numbers).
"""

from graphiam.derive.escalation import (
    classes,
    decide,
    derive,
    edge_table,
    edges,
    families,
    fanout,
    functions,
    numbered,
    paths,
    probes,
    reach,
    run,
    trust,
)
from graphiam.derive.escalation.techniques import (
    CATEGORIES,
    Category,
    Precondition,
    RequiredPermission,
    Source,
    Target,
    TargetKind,
    Technique,
    Yield,
    YieldKind,
    by_category,
    load_techniques,
    technique,
)

__all__ = [
    "CATEGORIES",
    "Category",
    "Precondition",
    "RequiredPermission",
    "Source",
    "Target",
    "TargetKind",
    "Technique",
    "Yield",
    "YieldKind",
    "by_category",
    "classes",
    "decide",
    "derive",
    "edge_table",
    "edges",
    "families",
    "fanout",
    "functions",
    "numbered",
    "load_techniques",
    "paths",
    "probes",
    "reach",
    "run",
    "technique",
    "trust",
]
