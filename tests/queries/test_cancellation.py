"""The long loops of the read questions check their `cancel` token: cancelled part-way, each stops at that
check (`Cancelled`, and no further check is made), and with a token nobody cancels each answers exactly as
without one."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from graphiam.cancel import NEVER, Cancel
from graphiam.errors import Cancelled
from graphiam.graph.snapshot import Snapshot, build_snapshot
from graphiam.queries import chains as C
from graphiam.queries import effective as E
from graphiam.queries import escalation_paths as EP
from graphiam.queries import findings as F
from graphiam.queries import graph_view as G
from graphiam.queries.who_can import who_can
from graphiam.store import Database


class CancelAt(Cancel):
    """Cancels itself at its `at`-th check, as if the request's time limit struck there."""

    def __init__(self, at: int) -> None:
        super().__init__()
        self.at = at

    def check(self) -> None:
        if self.checks + 1 == self.at:
            self.cancel()
        super().check()


@pytest.fixture(autouse=True)
def one_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every answer carries the clock keys of its request (`graph.context.environment`, to the second): two
    answers asked a second apart differ in them. The clock stands still here, so the same question gets the
    same answer."""
    import graphiam.graph.context as context

    moment = datetime.now(UTC)

    class Still(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Any:
            return moment.astimezone(tz) if tz is not None else moment.replace(tzinfo=None)

    monkeypatch.setattr(context, "datetime", Still)


@pytest.fixture(scope="module")
def org(two_account_org: list[Path]) -> Any:
    from graphiam.changes.load import load_files
    from graphiam.store import open_database

    db = open_database(None, buffer_pool_mb=256)
    load_files(db, two_account_org)
    snap = build_snapshot(db)
    yield db, snap, EP.build_index(db, snap)
    db.close()


def questions(db: Database, snap: Snapshot, index: EP.EscalationIndex) -> dict[str, Callable[[Cancel], Any]]:
    users = sorted(a for a, p in snap.principals.items() if p.kind == "user")
    return {
        "whoCan": lambda c: who_can(db, snap, action="s3:GetObject", resource="*", cancel=c),
        "whoCan viaChains": lambda c: who_can(
            db, snap, action="iam:PassRole", resource="*", via_chains=True, max_depth=10, cancel=c
        ),
        "effectivePermissions": lambda c: E.effective_permissions(snap, principal=users[0], cancel=c),
        "escalationSummary": lambda c: EP.escalation_summary(db, snap, index, max_depth=6, cancel=c),
        "policyFindings": lambda c: F.policy_findings(F.build_findings_index(db, snap), cancel=c),
        "graph": lambda c: G.graph_view(db, index, cancel=c),
        "assumptionChains": lambda c: C.chain_paths(db, users[0], max_depth=6, cancel=c),
    }


NAMES = (
    "whoCan",
    "whoCan viaChains",
    "effectivePermissions",
    "escalationSummary",
    "policyFindings",
    "graph",
    "assumptionChains",
)


@pytest.mark.parametrize("name", NAMES)
def test_each_question_stops_at_the_check_that_sees_the_cancel(org: Any, name: str) -> None:
    db, snap, index = org
    ask = questions(db, snap, index)[name]
    counting = Cancel()
    expected = ask(counting)
    assert counting.checks >= 2, f"{name} checks its token {counting.checks} times"
    assert ask(NEVER) == expected
    at = counting.checks // 2 + 1
    token = CancelAt(at)
    with pytest.raises(Cancelled):
        ask(token)
    assert token.checks == at  # it stopped there: no further step ran
