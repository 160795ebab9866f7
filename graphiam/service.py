"""The facade the HTTP side (`api/`, `app.py`) and the command line (`cli/`) use to reach the database.

They never import `store/` or `graph/` themselves: opening a database, its stored rows and records, and the
snapshot of its current generation come from here, so the engine behind `store/` can change without them.

`Services` is what lives as long as the app: the open database, the thread pool its blocking calls run on, and
the caches of what was computed from it. Every cache holds values of one database generation (the counter a
committed write bumps): a `graphiam.graph.cache.GenerationCache`, or, for the snapshot and the escalation and
findings indexes, the cache type of the module that builds them. The API's resolvers ask `Services` for the
current snapshot, stored rows and cached answers, and call `queries`/`changes` functions with `db`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Literal, TypeVar

from graphiam.arn import is_role_arn, is_user_arn
from graphiam.graph.cache import GenerationCache
from graphiam.graph.snapshot import Snapshot, SnapshotCache, build_snapshot, snapshot_cache
from graphiam.queries.admin import AdminVerdict, is_admin
from graphiam.queries.escalation_paths import EscalationIndex, escalation_index_cache
from graphiam.queries.findings import FindingsIndex, findings_index_cache
from graphiam.store import Database, open_database, reader, records
from graphiam.store import org_store as organization
from graphiam.store.migrate import Migration, migrate_database
from graphiam.store.org_store import ScpRow, UnitRow, governing_chain, read_organization
from graphiam.store.schema import schema_version

__all__ = [
    "ANSWERS",
    "Database",
    "Migration",
    "Relation",
    "ScpRow",
    "Services",
    "Snapshot",
    "SnapshotCache",
    "UnitRow",
    "build_snapshot",
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

ANSWERS = 64  # answers of one kind kept per generation (whoCan, effectivePermissions); least recently used go

# The answer caches by name (in `Services.caches`), with their bound: None keeps every value of a generation.
_BOUNDS: dict[str, int | None] = {
    "who_can": ANSWERS,
    "effective": ANSWERS,
    "admin": None,  # one verdict per principal: a page of principals asks for up to 100 at once
    "escalation_summary": 8,  # one per maxDepth: the dashboard's overview asks it on every visit
    "findings_report": 16,  # policyFindings' whole report per scope and filters: each page reads it
    "principal_rows": None,
}

Relation = Literal[
    "groups_of_user",
    "members_of_group",
    "attachments_to",
    "attachments_of",
    "versions_of",
    "profiles_of_role",
    "roles_of_profile",
]
_RELATIONS: dict[str, Callable[[Database, Sequence[str]], dict[str, Any]]] = {
    "groups_of_user": reader.groups_of_users,
    "members_of_group": reader.members_of_groups,
    "attachments_to": reader.attachments_to,
    "attachments_of": reader.attachments_of,
    "versions_of": reader.versions_of,
    "profiles_of_role": reader.profiles_of_roles,
    "roles_of_profile": reader.roles_of_profiles,
}


@dataclass
class Services:
    """What lives as long as the app: the database, the executor its calls run on, the caches by name.

    Methods that may block (a database read, a build) run on the executor and are awaited; what a cache
    already holds is answered on the event loop."""

    db: Database
    executor: ThreadPoolExecutor
    caches: dict[str, Any] = field(default_factory=dict)

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a blocking call off the event loop (kuzu releases the GIL while it works)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, partial(fn, *args, **kwargs))

    # ---- computed per generation ----

    async def snapshot(self) -> Snapshot:
        """The snapshot of the current generation, built off the event loop when a write made it stale."""
        cache = snapshot_cache(self.caches)
        snap = cache.current(self.db)
        if snap is not None:  # the common case: no write since the last build, no thread hop needed
            return snap
        return await self.run(cache.get, self.db)

    async def escalation_index(self) -> tuple[Snapshot, EscalationIndex]:
        """The current snapshot and its escalation index (path graph, administrators)."""
        snap = await self.snapshot()
        index = await self.run(escalation_index_cache(self.caches).get, self.db, snap)
        return snap, index

    async def findings_index(self) -> FindingsIndex:
        """The findings index of the current snapshot."""
        snap = await self.snapshot()
        return await self.run(findings_index_cache(self.caches).get, self.db, snap)

    async def admin_verdict(self, arn: str) -> AdminVerdict:
        """`queries.admin.is_admin` of a stored user or role, once per principal and generation."""
        snap, index = await self.escalation_index()
        return await self.answer(
            "admin", snap.generation, arn, lambda: is_admin(snap, arn, facts=index.facts)
        )

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

    # ---- stored rows ----

    async def accounts(self, ids: Sequence[str] | None = None) -> list[records.AccountRow]:
        """The loaded accounts (those of `ids` when given)."""
        return await self.run(reader.accounts, self.db, ids)

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


def _same(value: V) -> V:
    return value
