"""`Database.interruptible`: cancelling the token stops the query the thread is running (the engine's
interrupt), raising `Cancelled` rather than the engine's error; the connection works afterwards, and queries
outside the block are never interrupted by it."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from graphiam.cancel import Cancel
from graphiam.errors import Cancelled, StoreError
from graphiam.store import Database

# a three-way cross product of 3,000 nodes: hours of work, in constant memory, that checks for interrupts (an
# UNWIND of a long range does not: docs/ENGINE.md)
ENDLESS = "MATCH (a:Scratch), (b:Scratch), (c:Scratch) WHERE a.id + b.id + c.id = 7 RETURN count(*) AS n"


def scratch_db(make_db: Any) -> Database:
    db: Database = make_db()
    db.execute("CREATE NODE TABLE Scratch(id INT64, PRIMARY KEY(id))")
    db.execute("UNWIND range(1, 3000) AS i CREATE (:Scratch {id: i})")
    db.query_timeout_ms = 600_000  # only the token can stop ENDLESS
    db.connection().set_query_timeout(600_000)
    return db


class CancelOnCallback(Cancel):
    """Cancels itself from another thread once the database has registered its interrupt."""

    def on_cancel(self, fn: Any) -> Any:
        cm = super().on_cancel(fn)
        threading.Timer(0.2, self.cancel).start()
        return cm


def test_a_running_query_is_interrupted_and_the_connection_still_works(make_db: Any) -> None:
    db = scratch_db(make_db)
    token = CancelOnCallback()
    with pytest.raises(Cancelled), db.interruptible(token):
        db.execute(ENDLESS)
    assert token.cancelled
    assert db.execute("RETURN 1 + 1 AS two") == [{"two": 2}]


def test_a_cancelled_token_runs_no_query_and_ends_with_its_block(make_db: Any) -> None:
    db: Database = make_db()
    token = Cancel()
    token.cancel()
    before = db.queries_executed
    with pytest.raises(Cancelled), db.interruptible(token):
        db.execute("RETURN 1 AS one")
    assert db.queries_executed == before + 1  # counted, refused before the engine saw it
    assert db.execute("RETURN 1 AS one") == [{"one": 1}]  # outside the block: the token is not consulted


def test_a_deadline_bounds_the_query_time(make_db: Any) -> None:
    db = scratch_db(make_db)
    token = Cancel(deadline=time.monotonic() + 0.3)
    with pytest.raises((Cancelled, StoreError)) as raised, db.interruptible(token):
        db.execute(ENDLESS)
    assert isinstance(raised.value, Cancelled)  # the engine's time limit, reported as the token's
    assert db.connection() is not None and db.execute("RETURN 2 AS two") == [{"two": 2}]
