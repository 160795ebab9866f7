"""whoCan's principal rows, cached per database generation: a committed write is seen by the next answer."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from graphiam.queries.who_can import who_can
from graphiam.service import Services, build_snapshot
from graphiam.store import mutations as M
from tests.helpers import SEEDS


def test_rows_follow_the_database_generation(make_db: Any) -> None:
    db = make_db(SEEDS / "demo-org.json")
    w = who_can(db, build_snapshot(db), action="s3:GetObject", resource="*")
    arns = [a.principal_arn for a in w.allowed]
    user = next(a.principal_arn for a in w.allowed if a.kind == "user")
    with ThreadPoolExecutor(2) as executor:
        services = Services(db=db, executor=executor)

        def rows(generation: int, wanted: list[str]) -> dict[str, Any]:
            return asyncio.run(services.principal_rows(generation, wanted))

        before = rows(db.generation, arns)
        assert set(before) == set(arns)
        assert rows(db.generation, [user])[user] is before[user]  # served from the cache, not read again
        old = db.generation
        with db.transaction():
            M.update_node(db, "User", user, {"path": "/moved/"})
        assert before[user].path != "/moved/"
        # a reader still on the old generation gets that generation's rows (those its snapshot decided on)
        assert rows(old, [user])[user] is before[user]
        after = rows(db.generation, [user])[user]
        assert after.path == "/moved/"
        assert rows(db.generation, [user])[user] is after  # read once for the new generation, kept


def test_an_arn_not_stored_is_left_out(make_db: Any) -> None:
    db = make_db(SEEDS / "demo-org.json")
    with ThreadPoolExecutor(1) as executor:
        services = Services(db=db, executor=executor)
        ghost = "arn:aws:iam::111111111111:user/ghost"
        assert asyncio.run(services.principal_rows(db.generation, [ghost])) == {}
