"""`graphiam.service`: what the server keeps per generation is freed by reference counting alone (so freezing
it out of the cyclic collector's sight leaks nothing), builds are shared by concurrent requests, and requests
take turns on the heavy pool."""

from __future__ import annotations

import asyncio
import gc
import weakref
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from graphiam.graph.snapshot import build_snapshot
from graphiam.queries.escalation_paths import build_index
from graphiam.queries.findings import build_findings_index, policy_findings
from graphiam.service import Services, Turn


def test_a_generation_s_snapshot_and_indexes_hold_no_reference_cycles(
    make_db: Any, two_account_org: list[Path]
) -> None:
    db = make_db(*two_account_org)
    gc.collect()
    gc.disable()  # nothing but reference counting may free them
    try:
        snap = build_snapshot(db)
        index = build_index(db, snap)
        findings = build_findings_index(db, snap)
        policy_findings(findings)
        refs = [weakref.ref(x) for x in (snap, index, findings, index.graph)]
        del snap, index, findings
        assert [r() is None for r in refs] == [True] * len(refs)
    finally:
        gc.enable()


def test_concurrent_requests_share_one_snapshot_build(make_db: Any, two_account_org: list[Path]) -> None:
    db = make_db(*two_account_org)
    with ThreadPoolExecutor(4) as pool:
        services = Services(db=db, executor=pool)

        async def go() -> list[Any]:
            return await asyncio.gather(*(services.snapshot() for _ in range(8)))

        snaps = asyncio.run(go())
    assert all(s is snaps[0] for s in snaps)
    assert gc.get_freeze_count() > 0  # the build's objects were frozen
    gc.unfreeze()


def test_turns_admit_requests_in_arrival_order_up_to_the_slots() -> None:
    async def go() -> list[str]:
        gate = asyncio.Semaphore(1)
        first, second, third = Turn(gate), Turn(gate), Turn(gate)
        order: list[str] = []

        async def use(name: str, turn: Turn) -> None:
            await turn.take()
            await turn.take()  # a request's second heavy call: it already holds its turn
            order.append(name)

        await first.take()
        waiting = [asyncio.create_task(use("second", second)), asyncio.create_task(use("third", third))]
        await asyncio.sleep(0.01)
        assert order == []  # both wait while the first request holds the only turn
        first.give_back()
        await asyncio.sleep(0.01)
        assert order == ["second"]
        second.give_back()
        second.give_back()  # giving back twice does not free a second slot
        await asyncio.gather(*waiting)
        third.give_back()
        assert not gate.locked()
        Turn(None).give_back()  # no gate: turns are free
        return order

    assert asyncio.run(go()) == ["second", "third"]


def test_documents_analysed_ahead_are_not_analysed_again_by_the_report(
    make_db: Any, two_account_org: list[Path]
) -> None:
    from graphiam.queries.findings import findings_index_cache

    db = make_db(*two_account_org)
    with ThreadPoolExecutor(2) as pool:
        services = Services(db=db, executor=pool)

        async def go() -> tuple[int, int, int]:
            n = await services.analyse_findings_ahead(batch=7)  # several batches
            analyser = findings_index_cache(services.caches).shared_analyser()
            ahead = analyser.analysed
            index = await services.findings_index()
            policy_findings(index)
            return n, ahead, analyser.analysed

        n, ahead, after = asyncio.run(go())
    snap = build_snapshot(db)
    assert n == len(snap.documents) > 7
    assert ahead > 0 and after == ahead  # the report found every document analysed
    gc.unfreeze()


def test_the_escalation_summary_computed_ahead_is_the_one_a_request_gets(
    make_db: Any, two_account_org: list[Path]
) -> None:
    from graphiam.queries.escalation_paths import escalation_summary

    db = make_db(*two_account_org)
    with ThreadPoolExecutor(2) as pool:
        services = Services(db=db, executor=pool)

        async def go() -> tuple[int, list[Any] | None]:
            n = await services.summarise_escalation_ahead()
            snap, index = await services.escalation_index()
            kept = services.answers("escalation_summary").peek(snap.generation, 5)
            return n, kept

        n, kept = asyncio.run(go())
    snap = build_snapshot(db)
    expected = escalation_summary(db, snap, build_index(db, snap))
    assert kept is not None and [e.principal for e in kept] == [e.principal for e in expected]
    assert n == len(expected) > 0


def test_analysis_ahead_pauses_while_a_request_awaits_heavy_work(
    make_db: Any, two_account_org: list[Path]
) -> None:
    """Work done ahead shares the interpreter with requests: no batch starts while a heavy call is awaited."""
    import threading

    from graphiam.cancel import Cancel
    from graphiam.queries.findings import findings_index_cache

    db = make_db(*two_account_org)
    release = threading.Event()

    def request(cancel: Cancel) -> int:
        release.wait(10)
        return findings_index_cache(services.caches).shared_analyser().analysed

    with ThreadPoolExecutor(2) as pool:
        services = Services(db=db, executor=pool)

        async def go() -> tuple[int, int, int]:
            await services.snapshot()
            heavy = asyncio.ensure_future(services.heavy(request))
            await asyncio.sleep(0)  # the request's heavy call is awaited from here on
            ahead = asyncio.ensure_future(services.analyse_findings_ahead(batch=3))
            await asyncio.sleep(0.5)
            during = findings_index_cache(services.caches).shared_analyser().analysed
            release.set()
            seen_by_request = await heavy
            return during, seen_by_request, await ahead

        during, seen_by_request, n = asyncio.run(go())
    assert during == 0 and seen_by_request == 0  # nothing analysed while the request waited
    assert n == len(build_snapshot(db).documents) > 3  # then every document, once it was done
    gc.unfreeze()
