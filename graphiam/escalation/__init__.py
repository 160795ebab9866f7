"""Privilege escalation: the technique table, the engine-decided escalation edges, and path search.

Submodules: `techniques` (the table as data), `witness` (conditions an attacker can meet), `decide` (engine
decisions: permission on a resource, service trust, administrator), `edges` + `families` (edge derivation),
`paths` (path search over assumption and escalation edges).
"""
from graphiam.escalation import decide, edges, families, paths, witness
from graphiam.escalation.techniques import (
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
    "decide",
    "edges",
    "families",
    "load_techniques",
    "paths",
    "technique",
    "witness",
]
