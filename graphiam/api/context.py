"""Per-request GraphQL context: the database handle, a thread pool for blocking kuzu calls, DataLoaders."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

from strawberry.dataloader import DataLoader

from graphiam.store import Database
from graphiam.store import reader as R

T = TypeVar("T")


@dataclass
class Services:
    """What lives as long as the app: the database, the executor kuzu calls run on, shared caches."""

    db: Database
    executor: ThreadPoolExecutor
    caches: dict[str, Any] = field(default_factory=dict)

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a blocking store call off the event loop (kuzu releases the GIL while it works)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, partial(fn, *args, **kwargs))


class Loaders:
    """One DataLoader per relation field: a GraphQL level costs one query per relation, not one per node."""

    def __init__(self, services: Services) -> None:
        db = services.db

        def batch(fn: Callable[[Database, Sequence[str]], dict[str, Any]], default: Any = None):
            async def load(keys: list[str]) -> list[Any]:
                found = await services.run(fn, db, list(dict.fromkeys(keys)))
                return [found.get(k, default) for k in keys]

            return DataLoader(load_fn=load)

        self.user = batch(partial(_by_arns, table="User"))
        self.group = batch(partial(_by_arns, table="IAMGroup"))
        self.role = batch(partial(_by_arns, table="Role"))
        self.policy = batch(partial(_by_arns, table="Policy"))
        self.profile = batch(partial(_by_arns, table="InstanceProfile"))
        self.groups_of_user = batch(R.groups_of_users, [])
        self.members_of_group = batch(R.members_of_groups, [])
        self.attachments_to = batch(R.attachments_to, [])
        self.attachments_of = batch(R.attachments_of, [])
        self.versions_of = batch(R.versions_of, [])
        self.profiles_of_role = batch(R.profiles_of_roles, [])
        self.roles_of_profile = batch(R.roles_of_profiles, [])


def _by_arns(db: Database, arns: Sequence[str], *, table: str) -> dict[str, Any]:
    return R.by_arns(db, table, arns)


@dataclass
class Context:
    services: Services
    loaders: Loaders
    request: Any = None
    response: Any = None

    @property
    def db(self) -> Database:
        return self.services.db
