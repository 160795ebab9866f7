"""Cooperative cancellation: a `Cancel` token that long computations check between their steps.

A computation that may run for seconds (whoCan over thousands of principals, escalation paths, the findings
report, a graph view …) takes a `cancel` argument and calls `cancel.check()` in its long loops; once the token
is cancelled, the next check raises `graphiam.errors.Cancelled` and the work stops there. A database query the
computation is running stops too: `graphiam.store.db.Database.interruptible(cancel)` interrupts it.

The API cancels a heavy call's token when its request ends without it (the time limit, or the request
dropped: `graphiam.service.Services.heavy`), so a timed-out request stops using a worker within
milliseconds instead of running to the end. Tokens are passed as arguments, never found in globals; `NEVER`
(the default of every `cancel` parameter) is a token that cannot be cancelled.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from graphiam.errors import Cancelled


class Cancel:
    """A cancellation token: `cancel()` from any thread, `check()` in the computation's loops.

    `deadline` (a `time.monotonic()` value) cancels the token by itself when it passes. `checks` counts the
    calls to `check` (tests read it to see that a loop kept checking)."""

    def __init__(self, *, deadline: float | None = None) -> None:
        self.deadline = deadline
        self.checks = 0
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._callbacks: list[Callable[[], object]] = []

    @property
    def cancelled(self) -> bool:
        if self._event.is_set():
            return True
        if self.deadline is not None and time.monotonic() >= self.deadline:
            self._event.set()
            return True
        return False

    def cancel(self) -> None:
        """Cancel: every later `check` raises, and the callbacks registered with `on_cancel` run now."""
        with self._lock:
            if self._event.is_set() and not self._callbacks:
                return
            self._event.set()
            callbacks, self._callbacks = self._callbacks, []
            for fn in callbacks:  # under the lock: `on_cancel` returns only once they are done
                fn()

    def check(self) -> None:
        """Raise `Cancelled` when the token was cancelled (or its deadline passed)."""
        self.checks += 1
        if self.cancelled:
            raise Cancelled("work stopped: its request was cancelled or ran out of time")

    def remaining(self) -> float | None:
        """Seconds left before the deadline (0 when past it); None without a deadline."""
        if self.deadline is None:
            return None
        return max(0.0, self.deadline - time.monotonic())

    @contextmanager
    def on_cancel(self, fn: Callable[[], object]) -> Iterator[None]:
        """Within the block, `cancel()` calls `fn` (at once when already cancelled); after it, never: a
        callback that interrupts a connection cannot reach the next query on that connection."""
        with self._lock:
            if self._event.is_set():
                fn()
            else:
                self._callbacks.append(fn)
        try:
            yield
        finally:
            with self._lock:
                if fn in self._callbacks:
                    self._callbacks.remove(fn)


class _Never(Cancel):
    """The token of callers that never cancel (the command line, tests, cached builds)."""

    def cancel(self) -> None:
        raise TypeError("NEVER cannot be cancelled: make a Cancel()")

    def check(self) -> None:
        return None

    @contextmanager
    def on_cancel(self, fn: Callable[[], object]) -> Iterator[None]:
        yield


NEVER: Cancel = _Never()
