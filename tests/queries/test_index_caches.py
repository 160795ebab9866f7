"""The per-generation index caches of the API (escalation index, findings index): one index per database
generation, kept for the newest; a reader still holding an older snapshot gets an index built for it, which
is not kept."""

from __future__ import annotations

from typing import Any

from graphiam.changes.apply import Change, apply_changes
from graphiam.changes.load import seed_files
from graphiam.graph.snapshot import build_snapshot
from graphiam.queries.escalation_paths import escalation_index_cache
from graphiam.queries.findings import findings_index_cache
from tests.helpers import SEEDS

DOC = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
USER = {"account": "111111111111", "name": "cache-probe"}


def test_one_index_per_generation_and_an_older_snapshot_gets_its_own(make_db: Any) -> None:
    db = make_db(*seed_files(SEEDS))
    caches: dict[str, Any] = {}
    for cache_of in (escalation_index_cache, findings_index_cache):
        assert cache_of(caches) is cache_of(caches)  # one cache per server
    old = build_snapshot(db)
    first = escalation_index_cache(caches).get(db, old)
    findings = findings_index_cache(caches).get(db, old)
    assert escalation_index_cache(caches).get(db, old) is first
    assert findings_index_cache(caches).get(db, old) is findings

    assert apply_changes(db, [Change(op="createUser", args=USER)]).ok
    new = build_snapshot(db)
    assert new.generation > old.generation
    current = escalation_index_cache(caches).get(db, new)
    assert current is not first and current.generation == new.generation
    assert escalation_index_cache(caches).get(db, new) is current

    # a reader that started before the write: its own index, and the newest one stays cached
    stale = escalation_index_cache(caches).get(db, old)
    assert stale is not current and stale.generation == old.generation
    assert escalation_index_cache(caches).get(db, new) is current
    newer_findings = findings_index_cache(caches).get(db, new)
    assert findings_index_cache(caches).get(db, old) is not newer_findings
    assert findings_index_cache(caches).get(db, new) is newer_findings
    assert newer_findings.analyser is findings.analyser  # one analyser across generations
