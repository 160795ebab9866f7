"""The analysis of documents that name every action stays small: statement views and grants are bit sets
over the catalogue, not sets of action ids (which took ~260 KB per statement view, 321 MiB for the fifty
documents below, and made the first report on a 3,000-principal org grow the server by ~780 MB). The report
itself is the same as before (the other tests in this directory; benchmarks/soak_memory.py has the
figures)."""

from __future__ import annotations

import tracemalloc

from graphiam.catalog import Catalog
from graphiam.derive.findings.analyse import Analyser
from graphiam.derive.findings.resources import bits, mask_of
from graphiam.derive.findings.rules import RiskCategory, default_rules
from graphiam.policy import parse_policy


def test_bit_sets_round_trip() -> None:
    for indices in ([], [0], [1, 7, 8, 9, 63, 64, 65, 1000], list(range(0, 5000, 3))):
        assert bits(mask_of(indices, 5001)) == indices


def test_fifty_documents_granting_almost_everything_take_little_memory() -> None:
    analyser = Analyser(Catalog.default(), default_rules())
    analyser.findings(parse_policy({"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
    # distinct NotResource lists: a view each, as the generated orgs (and real accounts) have
    documents = [
        parse_policy(
            {
                "Statement": [
                    {"Effect": "Allow", "Action": "*", "NotResource": f"arn:aws:s3:::bucket-{n}/*"},
                    {"Effect": "Allow", "NotAction": [f"iam:Get{n}*"], "Resource": "*"},
                ]
            }
        )
        for n in range(50)
    ]
    tracemalloc.start()
    try:
        for d in documents:
            analyser.document(d)
        kept, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert kept < 16 << 20, f"{kept / 2**20:.1f} MiB for 50 documents"  # sets of ids took 321 MiB
    found = {f.category: f for f in analyser.findings(documents[0])}
    assert len(found[RiskCategory.INFRASTRUCTURE_MODIFICATION].actions) > 1000
