"""GenerationCache: values live for one database generation, are computed once, never mix generations."""

from __future__ import annotations

import threading
import time

from graphiam.graph.cache import GenerationCache


def test_values_are_computed_once_per_generation_and_key() -> None:
    cache: GenerationCache[str] = GenerationCache()
    calls: list[str] = []

    def compute(v: str) -> str:
        calls.append(v)
        return v

    assert cache.get(1, "a", lambda: compute("a1")) == "a1"
    assert cache.get(1, "a", lambda: compute("again")) == "a1"
    assert cache.get(1, "b", lambda: compute("b1")) == "b1"
    assert calls == ["a1", "b1"]
    assert cache.peek(1, "a") == "a1"
    assert cache.peek(2, "a") is None  # peek never computes and never answers for another generation


def test_a_newer_generation_drops_every_value() -> None:
    cache: GenerationCache[str] = GenerationCache()
    cache.get(1, "a", lambda: "a1")
    cache.get(1, "b", lambda: "b1")
    assert cache.get(2, "a", lambda: "a2") == "a2"
    assert cache.peek(2, "b") is None


def test_an_older_generation_is_answered_but_not_cached() -> None:
    cache: GenerationCache[str] = GenerationCache()
    cache.get(2, "a", lambda: "a2")
    assert cache.get(1, "a", lambda: "a1") == "a1"  # a reader that started before the write
    assert cache.peek(2, "a") == "a2"
    assert cache.get(1, "a", lambda: "again") == "again"


def test_a_value_computed_while_the_generation_moved_is_not_kept() -> None:
    cache: GenerationCache[str] = GenerationCache()
    assert cache.get(1, "a", lambda: "torn", still_current=lambda: False) == "torn"
    assert cache.peek(1, "a") is None
    assert cache.get(1, "a", lambda: "whole", still_current=lambda: True) == "whole"
    assert cache.peek(1, "a") == "whole"


def test_least_recently_used_values_go_first_past_max_items() -> None:
    cache: GenerationCache[int] = GenerationCache(max_items=2)
    cache.get(1, "a", lambda: 1)
    cache.get(1, "b", lambda: 2)
    cache.get(1, "a", lambda: 0)  # touch a
    cache.get(1, "c", lambda: 3)
    assert cache.peek(1, "b") is None
    assert (cache.peek(1, "a"), cache.peek(1, "c")) == (1, 3)


def test_concurrent_askers_of_one_key_share_one_computation() -> None:
    cache: GenerationCache[int] = GenerationCache()
    calls = 0
    lock = threading.Lock()

    def slow() -> int:
        nonlocal calls
        with lock:
            calls += 1
        time.sleep(0.05)
        return 42

    results: list[int] = []
    threads = [threading.Thread(target=lambda: results.append(cache.get(1, "k", slow))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [42] * 8
    assert calls == 1
