"""The facade the HTTP side (`api/`, `app.py`) and the command line (`cli/`) use to reach the database.

They never import `store/` or `graph/` themselves: opening a database, its stored rows and records, and the
snapshot of its current generation come from here, so the engine behind `store/` can change without them.

`Services` is what lives as long as the app: the open database, the thread pools its blocking calls run
on, and the caches of what was computed from it. Heavy work (whoCan, effective permissions, escalation paths,
findings, graph views: seconds of CPU each on a large graph) runs on its own small pool through
`Services.heavy`, so a flood of it never takes the workers cheap reads (a page of users, a count) need; each
heavy call gets a `graphiam.cancel.Cancel` token, cancelled when the request stops waiting for it, and stops
at its next check. Requests take turns on that pool (`Turn`): at most `heavy_slots` requests have heavy calls
queued or running, the others wait for a turn in arrival order, so the admitted ones finish instead of every
request's calls being interleaved until all of them time out.

Every cache holds values of one database generation (the counter a committed write bumps): a
`graphiam.graph.cache.GenerationCache`, or, for the snapshot and the escalation and findings indexes, the
cache type of the module that builds them. The API's resolvers ask `Services` for the
current snapshot, stored rows and cached answers, and call `queries`/`changes` functions with `db`.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import secrets
import threading
import time
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Literal, TypeVar

from graphiam.arn import is_role_arn, is_user_arn
from graphiam.cancel import Cancel
from graphiam.derive.escalation.edge_table import EdgeTable
from graphiam.errors import Cancelled, StoreError
from graphiam.graph.cache import GenerationCache
from graphiam.graph.snapshot import Snapshot, SnapshotCache, build_snapshot, snapshot_cache
from graphiam.queries.admin import AdminFacts, admin_facts
from graphiam.queries.escalation_paths import (
    EscalationIndex,
    EscalationIndexCache,
    edge_table,
    escalation_index_cache,
    escalation_summary,
)
from graphiam.queries.findings import FindingsIndex, analyse_ahead, findings_index_cache
from graphiam.store import Database, check_engine, open_database, reader, records
from graphiam.store import org_store as organization
from graphiam.store.migrate import Migration, migrate_database
from graphiam.store.org_store import ScpRow, UnitRow, governing_chain, read_organization
from graphiam.store.publish import (
    DB_NAME,
    Publisher,
    copy_database,
    generations_dir,
    open_published,
    read_current,
)
from graphiam.store.schema import schema_version

__all__ = [
    "ANSWERS",
    "DB_NAME",
    "Generations",
    "Lease",
    "Publisher",
    "copy_database",
    "generations_dir",
    "HeavyStats",
    "Turn",
    "Database",
    "Migration",
    "Relation",
    "ScpRow",
    "Services",
    "Snapshot",
    "SnapshotCache",
    "UnitRow",
    "account_facts",
    "build_snapshot",
    "check_engine",
    "governing_chain",
    "migrate_database",
    "open_database",
    "organization",
    "reader",
    "records",
    "schema_version",
    "snapshot_cache",
]

T = TypeVar("T")
V = TypeVar("V")
log = logging.getLogger("graphiam")

SNAPSHOTS = (
    ".snapshots"  # where the server writes the copies `graphiam snapshot` asks for, beside the database
)
ANSWERS = 64  # answers of one kind kept per generation (whoCan, effectivePermissions); least recently used go

# The answer caches by name (in `Services.caches`), with their bound: None keeps every value of a generation.
_BOUNDS: dict[str, int | None] = {
    "who_can": ANSWERS,
    "resource_access": 16,  # resourceAccess: one whoCan per action of each level
    "resource_risks": 4,  # resourceRisks per account filter
    "effective": ANSWERS,
    "admin": None,  # one verdict per principal: a page of principals asks for up to 100 at once
    "escalation_summary": 8,  # one per maxDepth: the dashboard's overview asks it on every visit
    "findings_report": 16,  # policyFindings' whole report per scope and filters: each page reads it
    "principal_rows": None,
    "account_facts": 1,
    "changes": 8,  # changes since an import (a summary computed from the graph when a mutation followed it)
    # per principal, for its dashboard page and whoever goes back to it: (from, to, maxDepth, limit) and
    # (from, to, maxDepth) and (from, maxDepth)
    "escalation_paths": ANSWERS,
    "chain_paths": ANSWERS,
    "assumable_roles": ANSWERS,
    "graph_view": 16,  # `graph` by its arguments (a neighbourhood; an account's view can be 5,000 nodes)
}

Relation = Literal[
    "groups_of_user",
    "members_of_group",
    "attachments_to",
    "attachments_of",
    "versions_of",
    "profiles_of_role",
    "roles_of_profile",
    "names_of_resource",
]
_RELATIONS: dict[str, Callable[[Database, Sequence[str]], dict[str, Any]]] = {
    "groups_of_user": reader.groups_of_users,
    "members_of_group": reader.members_of_groups,
    "attachments_to": reader.attachments_to,
    "attachments_of": reader.attachments_of,
    "versions_of": reader.versions_of,
    "profiles_of_role": reader.profiles_of_roles,
    "roles_of_profile": reader.roles_of_profiles,
    "names_of_resource": reader.names_of,
}


@dataclass
class HeavyStats:
    """What the heavy pool is doing: calls running now, finished, and stopped by their token."""

    running: int = 0
    finished: int = 0
    cancelled: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)


class Turn:
    """One request's turn on the heavy pool: taken by its first heavy call (waiting while `slots` other
    requests hold theirs), kept for its other heavy calls, given back when the request ends
    (`give_back`, called by the API's schema once the operation is over, answered or not)."""

    def __init__(self, gate: asyncio.Semaphore | None) -> None:
        self._gate = gate
        self._held = False
        self._lock = asyncio.Lock()

    async def take(self) -> None:
        if self._gate is None or self._held:
            return
        async with self._lock:
            if not self._held:
                await self._gate.acquire()
                self._held = True

    def give_back(self) -> None:
        if self._held and self._gate is not None:
            self._held = False
            self._gate.release()


@dataclass
class Services:
    """What lives as long as the app: the database, the executors its calls run on, the caches by name.

    Methods that may block (a database read, a build) run on `executor` and are awaited; what a cache
    already holds is answered on the event loop. Heavy computations run on `heavy_executor` (`executor` when
    None: tests and benchmarks that use one pool), see `heavy`."""

    db: Database
    executor: ThreadPoolExecutor
    caches: dict[str, Any] = field(default_factory=dict)
    heavy_executor: ThreadPoolExecutor | None = None
    heavy_slots: int | None = None  # requests with heavy calls at once (None: no limit)
    heavy_stats: HeavyStats = field(default_factory=HeavyStats)
    _gate: asyncio.Semaphore | None = field(default=None, repr=False)
    _pending: dict[Hashable, asyncio.Future[Any]] = field(default_factory=dict, repr=False)
    _busy: int = field(default=0, repr=False)  # requests' heavy calls and index builds being awaited

    def turn(self) -> Turn:
        """A request's turn on the heavy pool (see `Turn`); make one per request, on the event loop."""
        if self._gate is None and self.heavy_slots is not None:
            self._gate = asyncio.Semaphore(self.heavy_slots)
        return Turn(self._gate)

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a blocking call off the event loop (kuzu releases the GIL while it works)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, partial(fn, *args, **kwargs))

    async def heavy(self, fn: Callable[..., T], *args: Any, turn: Turn | None = None, **kwargs: Any) -> T:
        """`fn(*args, cancel=token, **kwargs)` on the heavy pool, its database queries interruptible by the
        token, once the request's `turn` is taken. When the awaiting request stops waiting (its time limit,
        or it was dropped), the token is cancelled: a call still queued never starts, a running one raises
        `Cancelled` at its next check and its running query is interrupted, so the worker is free again
        within milliseconds."""
        if turn is not None:
            await turn.take()
        token = Cancel()
        loop = asyncio.get_running_loop()
        pool = self.heavy_executor or self.executor
        future = loop.run_in_executor(pool, partial(self._heavy_call, token, fn, args, kwargs))
        self._busy += 1
        try:
            return await future
        except asyncio.CancelledError:
            token.cancel()
            raise
        finally:
            self._busy -= 1

    def _heavy_call(self, token: Cancel, fn: Callable[..., T], args: Any, kwargs: Any) -> T:
        stats = self.heavy_stats
        with stats.lock:
            stats.running += 1
        stopped = False
        try:
            token.check()  # cancelled between being picked up and starting
            with self.db.interruptible(token):
                return fn(*args, cancel=token, **kwargs)
        except Cancelled:
            stopped = True
            raise
        finally:
            with stats.lock:
                stats.running -= 1
                stats.finished += 1
                stats.cancelled += stopped

    async def settle(self) -> None:
        """Wait for the shared builds still running (`_once`): a generation's database is closed after."""
        while self._pending:
            await asyncio.gather(*list(self._pending.values()), return_exceptions=True)

    async def _once(self, key: Hashable, pool: ThreadPoolExecutor, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` on `pool`, one call shared by every request asking for `key` while it runs: a build
        of the snapshot or an index takes one worker, not one per waiting request (they wait on the event
        loop). Never cancelled by a waiter that gives up: the work is kept for the next request."""
        future = self._pending.get(key)
        if future is None:
            future = asyncio.get_running_loop().run_in_executor(pool, partial(_frozen, fn, *args))
            self._pending[key] = future

            def forget(done: asyncio.Future[Any]) -> None:
                if self._pending.get(key) is done:
                    del self._pending[key]

            future.add_done_callback(forget)
        return await asyncio.shield(future)

    async def _build(self, key: Hashable, fn: Callable[..., T], *args: Any) -> T:
        """A per-generation build (an index every later request shares) on the heavy pool (`_once`)."""
        self._busy += 1
        try:
            return await self._once(key, self.heavy_executor or self.executor, fn, *args)
        finally:
            self._busy -= 1

    async def _idle(self) -> None:
        """Wait while requests await heavy work: work done ahead (analysing policies) shares the interpreter
        with theirs, so it pauses between batches rather than halving their speed."""
        while self._busy:
            await asyncio.sleep(0.02)

    # ---- computed per generation ----

    async def snapshot(self) -> Snapshot:
        """The snapshot of the current generation, built off the event loop when a write made it stale."""
        cache = snapshot_cache(self.caches)
        snap = cache.current(self.db)
        if snap is not None:  # the common case: no write since the last build, no thread hop needed
            return snap
        return await self._once(("snapshot", self.db.generation), self.executor, cache.get, self.db)

    async def escalation_index(self) -> tuple[Snapshot, EscalationIndex]:
        """The current snapshot and its escalation index (path graph, administrators). When neither is built,
        the index's edges are read while the snapshot is built (the database works outside the
        interpreter's lock while the snapshot parses documents)."""
        cache = escalation_index_cache(self.caches)
        generation = self.db.generation
        snap = snapshot_cache(self.caches).current(self.db)
        if snap is not None and (index := cache.peek(snap.generation)) is not None:
            return snap, index  # the common case
        self._busy += 1  # the whole build, edges read and snapshot included (`_idle`)
        try:
            return await self._build_escalation_index(cache, generation)
        finally:
            self._busy -= 1

    async def _build_escalation_index(
        self, cache: EscalationIndexCache, generation: int
    ) -> tuple[Snapshot, EscalationIndex]:
        edges: asyncio.Future[EdgeTable | None] | None = None
        if cache.peek(generation) is None and snapshot_cache(self.caches).current(self.db) is None:
            edges = asyncio.ensure_future(
                self._once(("edges", generation), self.executor, _edges_of, self.db, generation)
            )
        snap = await self.snapshot()
        index = cache.peek(snap.generation)
        table = None
        if edges is not None:
            if index is None and snap.generation == generation:
                table = await edges
            else:
                edges.cancel()  # not needed: this waiter goes (the shared read itself ends on its own)
        if index is None:
            index = await self._build(("escalation-index", snap.generation), cache.get, self.db, snap, table)
        return snap, index

    async def findings_index(self) -> FindingsIndex:
        """The findings index of the current snapshot (built with its escalation index)."""
        snap, escalation = await self.escalation_index()
        cache = findings_index_cache(self.caches)
        index = cache.peek(snap.generation)
        if index is None:
            index = await self._build(
                ("findings-index", snap.generation), cache.get, self.db, snap, escalation
            )
        return index

    async def analyse_findings_ahead(self, batch: int = 50) -> int:
        """Analyse every policy document for the findings report in the background, `batch` documents per
        call on the heavy pool (a heavy request waits for one batch at most; batches pause while requests
        await heavy work), so the first `policyFindings` finds them done; the number of documents. The server
        starts it with the database (`create_app(analyse_ahead=)`)."""
        snap = await self.snapshot()
        cache = findings_index_cache(self.caches)
        pool = self.heavy_executor or self.executor
        loop = asyncio.get_running_loop()
        done = 0
        while True:
            await self._idle()
            n = await loop.run_in_executor(pool, analyse_ahead, cache, snap, done, batch)
            done += n
            if n < batch:
                return done

    async def summarise_escalation_ahead(self, max_depth: int = 5) -> int:
        """`escalationSummary`'s answer at `max_depth` (the dashboard overview's first question, tens of
        seconds at 10,000 principals: longer than a request may run) computed in the background and kept for
        the generation, on a thread of its own so heavy requests keep their pool; the number of entries. A
        request asking meanwhile waits for this computation instead of starting its own. The server runs it
        after analysing the findings ahead."""
        snap, index = await self.escalation_index()
        cache = self.answers("escalation_summary")
        generation = snap.generation
        cancel = Cancel()
        compute = partial(escalation_summary, self.db, snap, index, max_depth=max_depth, cancel=cancel)
        pool = ThreadPoolExecutor(1, thread_name_prefix="graphiam-ahead")
        try:
            entries = await asyncio.get_running_loop().run_in_executor(
                pool,
                partial(
                    cache.get,
                    generation,
                    max_depth,
                    compute,
                    still_current=lambda: self.db.generation == generation,
                ),
            )
        finally:
            cancel.cancel()  # stops the computation when the server stops first (a no-op once it is done)
            pool.shutdown(wait=False)
        return len(entries)

    async def admin_facts(self, arn: str) -> AdminFacts:
        """`queries.admin.admin_facts` of a stored user or role (isAdmin, canBecomeAdmin, why, what is
        missing), once per principal and generation."""
        snap, index = await self.escalation_index()
        return await self.answer("admin", snap.generation, arn, lambda: admin_facts(index, arn))

    def answers(self, kind: str) -> GenerationCache[Any]:
        """The cache of the answers of `kind` (a name of `_BOUNDS`); dropping it from `caches` empties it."""
        cache = self.caches.get(kind)
        if cache is None:
            cache = self.caches.setdefault(kind, GenerationCache(max_items=_BOUNDS[kind]))
        return cache  # type: ignore[no-any-return]

    async def answer(self, kind: str, generation: int, key: Hashable, compute: Callable[[], V]) -> V:
        """The answer of `kind` to `key` at `generation`, computed (off the event loop) when not cached; kept
        only when no write committed while it was computed."""
        cache = self.answers(kind)
        hit = cache.peek(generation, key)
        if hit is not None:
            return hit  # type: ignore[no-any-return]
        return await self.run(
            cache.get, generation, key, compute, still_current=lambda: self.db.generation == generation
        )

    async def heavy_answer(
        self,
        kind: str,
        generation: int,
        key: Hashable,
        compute: Callable[[Cancel], V],
        turn: Turn | None = None,
    ) -> V:
        """As `answer`, computed on the heavy pool as `compute(cancel)` (see `heavy`); a cancelled
        computation is not cached, and a request waiting for the same key computes it anew."""
        cache = self.answers(kind)
        hit = cache.peek(generation, key)
        if hit is not None:
            return hit  # type: ignore[no-any-return]

        def get(cancel: Cancel) -> V:
            return cache.get(  # type: ignore[no-any-return]
                generation,
                key,
                partial(compute, cancel),
                still_current=lambda: self.db.generation == generation,
            )

        return await self.heavy(get, turn=turn)

    async def principal_rows(self, generation: int, arns: Sequence[str]) -> dict[str, Any]:
        """The stored records of the users and roles `arns`, by ARN (an ARN not stored is left out).

        Cached per generation: whoCan answers name thousands of principals, and reading them back on every
        request cost more than deciding who is allowed. A reader still on an older generation gets that
        generation's records while the cache holds them."""
        cache = self.answers("principal_rows")
        have: dict[str, Any] = {}
        missing: list[str] = []
        for arn in arns:
            row = cache.peek(generation, arn)
            if row is None:
                missing.append(arn)
            else:
                have[arn] = row
        if missing:
            have.update(await self.run(self._read_principal_rows, cache, generation, missing))
        return have

    def _read_principal_rows(
        self, cache: GenerationCache[Any], generation: int, arns: Sequence[str]
    ) -> dict[str, Any]:
        rows: dict[str, Any] = {}
        for table, wanted in (("User", is_user_arn), ("Role", is_role_arn)):
            keys = [a for a in arns if wanted(a)]
            if keys:
                rows.update(reader.by_arns(self.db, table, keys))

        def still_current() -> bool:
            return self.db.generation == generation

        for arn, row in rows.items():
            rows[arn] = cache.get(generation, arn, partial(_same, row), still_current=still_current)
        return rows

    def write_copy(self) -> Path:
        """A consistent copy of the database beside it, `<db>.snapshots/<UTC time>-<id>/db` (with its engine
        marker): the database file of the copy (`graphiam snapshot` moves its directory where it is asked)."""
        if self.db.path is None:
            raise StoreError("an in-memory database has no file to copy")
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        directory = Path(f"{self.db.path}{SNAPSHOTS}", f"{stamp}-{secrets.token_hex(4)}")
        directory.mkdir(parents=True)
        return copy_database(self.db, directory / DB_NAME)

    # ---- stored rows ----

    async def accounts(self, ids: Sequence[str] | None = None) -> list[records.AccountRow]:
        """The loaded accounts (those of `ids` when given)."""
        return await self.run(reader.accounts, self.db, ids)

    async def account_facts(self) -> tuple[dict[str, str], dict[str, records.AccountCounts]]:
        """The organization's names of the accounts and what each account's loads made, by account id."""
        generation = self.db.generation
        return await self.answer("account_facts", generation, "all", partial(account_facts, self.db))

    async def page(self, table: str, *, first: int, after: str | None = None, **filters: Any) -> list[Any]:
        """`first` records of `table` with ARN > `after`, in ARN order (`reader.page`'s filters)."""
        return await self.run(reader.page, self.db, table, first=first, after=after, **filters)

    async def count(self, table: str, **filters: Any) -> int:
        """How many records of `table` pass `reader.count`'s filters."""
        return await self.run(reader.count, self.db, table, **filters)

    async def by_name(self, table: str, name: str, account: str | None) -> list[Any]:
        """The records of `table` named `name` (in `account` when given), in ARN order."""
        return await self.run(reader.by_name, self.db, table, name, account)

    async def principal_kinds(self, arns: Sequence[str]) -> dict[str, str]:
        """The table (`User` or `Role`) of each stored ARN of `arns`."""
        return await self.run(reader.principal_kinds, self.db, arns)

    async def rows(self, table: str, arns: Sequence[str]) -> dict[str, Any]:
        """The records of `table` with these ARNs, by ARN (one query)."""
        return await self.run(reader.by_arns, self.db, table, arns)

    async def related(self, relation: Relation, keys: Sequence[str]) -> dict[str, Any]:
        """The records related to each key (a user's groups, a policy's versions, ...), by key (one query)."""
        return await self.run(_RELATIONS[relation], self.db, keys)

    async def organization(self) -> tuple[list[UnitRow], list[ScpRow]]:
        """The stored AWS organization: its units (roots, OUs, accounts) and SCPs; empty when none."""
        return await self.run(read_organization, self.db)


def _edges_of(db: Database, generation: int) -> EdgeTable | None:
    """The escalation index's edges when they are those of `generation` (None when a write moved it)."""
    if db.generation != generation:
        return None
    edges = edge_table(db)
    return edges if db.generation == generation else None


def account_facts(db: Database) -> tuple[dict[str, str], dict[str, records.AccountCounts]]:
    """The organization's names of the accounts, and `reader.account_counts`."""
    return reader.account_names(db), reader.account_counts(db)


def _frozen(fn: Callable[..., T], *args: Any) -> T:
    """`fn(*args)`, then everything alive moved out of the cyclic collector's sight (`gc.freeze`).

    A snapshot or an index is millions of objects that live for a whole database generation; a full
    collection walks every tracked object while holding the GIL, so with them tracked it paused every thread,
    the event loop included, for 0.5-2 s at 3,000 principals (benchmarks/bench_flood.py), over and over
    during heavy work. Frozen objects are still freed by reference counting when the generation is dropped
    (they hold no reference cycles: tests/test_service.py)."""
    value = fn(*args)
    gc.freeze()
    return value


def _same(value: V) -> V:
    return value


# ---- a reader process's generations (`graphiam serve --workers N`) ----

FOLLOW_INTERVAL_S = 1.0  # an idle reader process looks for a new generation this often
RETIRE_DELAY_S = 10.0  # a replaced generation is closed this long after its last request (a cancelled
# heavy call stops within its database call's time limit, 3 s)


@dataclass
class Lease:
    """One published generation a reader process serves: its number, its `Services`, the requests using it."""

    number: int
    services: Services
    users: int = 0
    retired: bool = False


class Generations:
    """The generations a writer publishes (`store/publish.py`), as a reader process follows them.

    Every request takes a `Lease` on the newest generation (`acquire`) and gives it back when it is answered
    (`release`): all of one request is answered from one generation. When `current` names a newer one, the
    first request to see it opens it read-only (`open_db`, off the event loop) and the newer one serves the
    requests that start from then on; the replaced one is closed once its last request is over (and
    `RETIRE_DELAY_S` later, so that work its requests gave up on has stopped)."""

    def __init__(
        self, db_path: str, open_db: Callable[[Any], Database], make: Callable[[Database], Services]
    ):
        self.root = generations_dir(db_path)
        self._open_db = open_db
        self._make = make
        self._switch: asyncio.Lock | None = None
        self._closing: set[asyncio.Task[None]] = set()
        self._retired: list[Lease] = []  # replaced, not closed yet
        number, db = open_published(self.root, open_db)
        self.current = Lease(number, make(db))

    async def acquire(self) -> Lease:
        """A lease on the newest published generation (opened first when it is new)."""
        newest = read_current(self.root)
        if newest is not None and newest > self.current.number:
            if self._switch is None:
                self._switch = asyncio.Lock()
            async with self._switch:
                if newest > self.current.number:
                    await self._open_newest()
        lease = self.current
        lease.users += 1
        return lease

    async def _open_newest(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            number, db = await loop.run_in_executor(None, open_published, self.root, self._open_db)
        except StoreError:  # answer from the generation at hand; the next request tries again
            log.warning("could not open the newest generation of %s", self.root, exc_info=True)
            return
        if number <= self.current.number:
            db.close()
            return
        old, self.current = self.current, Lease(number, self._make(db))
        old.retired = True
        self._retired.append(old)
        self._retire_if_idle(old)

    async def follow(self, interval: float = FOLLOW_INTERVAL_S) -> None:
        """Pick up new generations while no request comes (so that an idle process does not keep an old one
        open, which the writer could not remove); runs until cancelled."""
        while True:
            await asyncio.sleep(interval)
            try:
                self.release(await self.acquire())
            except StoreError:
                log.warning("could not open the newest generation", exc_info=True)

    def release(self, lease: Lease) -> None:
        lease.users -= 1
        self._retire_if_idle(lease)

    def _retire_if_idle(self, lease: Lease) -> None:
        if lease.retired and lease.users == 0:
            task = asyncio.get_running_loop().create_task(self._close_later(lease))
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    async def _close_later(self, lease: Lease) -> None:
        await asyncio.sleep(RETIRE_DELAY_S)
        await lease.services.settle()
        if lease in self._retired:
            self._retired.remove(lease)
            await asyncio.get_running_loop().run_in_executor(None, lease.services.db.close)

    async def close(self) -> None:
        """Close every generation still open (the app stops)."""
        for task in list(self._closing):
            task.cancel()
        for lease in [*self._retired, self.current]:
            await lease.services.settle()
            lease.services.db.close()
        self._retired.clear()
