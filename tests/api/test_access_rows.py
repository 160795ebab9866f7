"""whoCan's principal rows, cached per database generation: a committed write is seen by the next answer."""

from __future__ import annotations

from graphiam.api.access import _RowCache
from graphiam.graph.snapshot import build_snapshot
from graphiam.queries.who_can import who_can
from graphiam.store import mutations as M
from tests.helpers import SEEDS


def test_rows_follow_the_database_generation(make_db, monkeypatch):
    db = make_db(SEEDS / "demo-org.json")
    w = who_can(db, build_snapshot(db), action="s3:GetObject", resource="*")
    user = next(a for a in w.allowed if a.kind == "user")
    cache = _RowCache()
    before = cache.get(db, db.generation, w.allowed)
    assert set(before) == {a.principal_arn for a in w.allowed}
    import graphiam.api.access as access

    reads = []
    real = access._rows
    monkeypatch.setattr(
        access, "_rows", lambda db, accesses: reads.append(len(accesses)) or real(db, accesses)
    )
    assert cache.get(db, db.generation, [user])[user.principal_arn] == before[user.principal_arn]
    assert reads == []  # served from the cache
    old = db.generation
    with db.transaction():
        M.update_node(db, "User", user.principal_arn, {"path": "/moved/"})
    assert before[user.principal_arn].path != "/moved/"
    # a reader still on the old generation gets that generation's rows (those its snapshot decided on)
    assert cache.get(db, old, [user])[user.principal_arn] == before[user.principal_arn]
    assert cache.get(db, db.generation, [user])[user.principal_arn].path == "/moved/"
    assert cache.get(db, db.generation, [user])[user.principal_arn].path == "/moved/"
    assert reads == [1]  # one read for the new generation, kept
