"""`graphiam.cancel`: a token cancelled from another thread stops the next check; its callbacks run once, and
never after their block ended; `NEVER` cannot be cancelled."""

from __future__ import annotations

import threading
import time

import pytest

from graphiam.cancel import NEVER, Cancel
from graphiam.errors import Cancelled


def test_check_raises_once_cancelled_and_counts_checks() -> None:
    c = Cancel()
    c.check()
    c.check()
    assert not c.cancelled
    threading.Thread(target=c.cancel).start()
    with pytest.raises(Cancelled, match="work stopped"):
        for _ in range(10_000_000):  # the other thread's cancel lands while this loop checks
            c.check()
    assert c.cancelled and c.checks >= 3
    assert Cancelled.code == "TIMEOUT"


def test_a_passed_deadline_cancels_by_itself() -> None:
    c = Cancel(deadline=time.monotonic() - 1)
    assert c.cancelled and c.remaining() == 0.0
    with pytest.raises(Cancelled):
        c.check()
    assert Cancel().remaining() is None
    left = Cancel(deadline=time.monotonic() + 60).remaining()
    assert left is not None and 0 < left <= 60


def test_callbacks_run_on_cancel_and_never_after_their_block() -> None:
    c = Cancel()
    calls: list[str] = []
    with c.on_cancel(lambda: calls.append("inside")):
        pass
    with c.on_cancel(lambda: calls.append("during")):
        c.cancel()
        c.cancel()  # a second cancel runs nothing again
    assert calls == ["during"]
    with c.on_cancel(lambda: calls.append("late")):  # already cancelled: runs at once
        pass
    assert calls == ["during", "late"]


def test_never_cannot_be_cancelled() -> None:
    NEVER.check()
    with NEVER.on_cancel(lambda: None):
        pass
    with pytest.raises(TypeError, match="NEVER"):
        NEVER.cancel()
    assert not NEVER.cancelled
