"""`GenerationCache`: the one cache type for values that hold for one database generation.

Every write that commits bumps the database's generation (`Database.generation`); a value computed from the
database is valid exactly as long as the generation it was computed at. The cache keeps the values of the
newest generation it has been asked about and drops them all when a newer one is asked for. A reader still on
an older generation (it started before a write committed) gets a value computed for it, never cached: it would
be stale for everyone else.

Values are computed outside the cache's lock, once per key at a time (concurrent askers of the same key wait
for the first), and kept only when the generation did not move while they were computed (`still_current`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class GenerationCache(Generic[V]):
    """The newest database generation's values, by key; at most `max_items` (least recently used go first)."""

    def __init__(self, *, max_items: int | None = None) -> None:
        self._lock = threading.Lock()
        self._generation: int | None = None
        self._items: OrderedDict[Hashable, V] = OrderedDict()
        self._building: dict[Hashable, threading.Lock] = {}
        self._max_items = max_items

    def peek(self, generation: int, key: Hashable = None) -> V | None:
        """The cached value, or None; never computes (safe to call on an event loop)."""
        with self._lock:
            if generation != self._generation:
                return None
            return self._items.get(key)

    def get(
        self,
        generation: int,
        key: Hashable,
        compute: Callable[[], V],
        *,
        still_current: Callable[[], bool] | None = None,
    ) -> V:
        """The value of `key` at `generation`, computed by `compute()` when missing.

        `still_current()` is asked after computing: False (a write committed meanwhile) keeps the value out of
        the cache, since it may mix two generations."""
        with self._lock:
            if self._generation is None or generation > self._generation:
                self._generation = generation
                self._items.clear()
                self._building.clear()
            if generation < self._generation:
                build = None  # an older generation's reader: its value is never cached
            elif key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
            else:
                build = self._building.setdefault(key, threading.Lock())
        if build is None:
            return compute()
        with build:
            with self._lock:
                if self._generation == generation and key in self._items:
                    return self._items[key]
            value = compute()
            with self._lock:
                if self._generation == generation and (still_current is None or still_current()):
                    self._items[key] = value
                    self._building.pop(key, None)
                    while self._max_items is not None and len(self._items) > self._max_items:
                        self._items.popitem(last=False)
            return value

    def clear(self) -> None:
        with self._lock:
            self._generation = None
            self._items.clear()
            self._building.clear()
