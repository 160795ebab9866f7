"""Per-request GraphQL context: the app's `Services` (database, executors, caches), the request's DataLoaders
and its turn on the heavy pool (`heavy`: what resolvers call for heavy computations)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from strawberry.dataloader import DataLoader

from graphiam.cancel import Cancel
from graphiam.service import Database, Relation, Services, Turn

if TYPE_CHECKING:
    import asyncio

__all__ = ["Context", "Loaders", "Services"]


class Loaders:
    """One DataLoader per relation field: a GraphQL level costs one query per relation, not one per node."""

    def __init__(self, services: Services) -> None:
        def batch(
            fetch: Callable[[Sequence[str]], Awaitable[dict[str, Any]]], default: Any = None
        ) -> DataLoader[str, Any]:
            async def load(keys: list[str]) -> list[Any]:
                found = await fetch(list(dict.fromkeys(keys)))
                return [found.get(k, default) for k in keys]

            return DataLoader(load_fn=load)

        def rows(table: str) -> DataLoader[str, Any]:
            return batch(lambda arns: services.rows(table, arns))

        def related(relation: Relation) -> DataLoader[str, Any]:
            return batch(lambda keys: services.related(relation, keys), [])

        self.user = rows("User")
        self.group = rows("IAMGroup")
        self.role = rows("Role")
        self.policy = rows("Policy")
        self.profile = rows("InstanceProfile")
        self.groups_of_user = related("groups_of_user")
        self.members_of_group = related("members_of_group")
        self.attachments_to = related("attachments_to")
        self.attachments_of = related("attachments_of")
        self.versions_of = related("versions_of")
        self.profiles_of_role = related("profiles_of_role")
        self.roles_of_profile = related("roles_of_profile")


T = TypeVar("T")


@dataclass
class Context:
    services: Services
    loaders: Loaders
    request: Any = None
    response: Any = None
    turn: Turn | None = None  # the request's turn on the heavy pool (None: calls do not take turns)
    # the operation's time limit (GraphiamSchema.execute); a mutation lifts it (`lift_time_limit`)
    time_limit: asyncio.Timeout | None = None

    def lift_time_limit(self) -> None:
        """Let this operation run to its end: a write is all or nothing and its answer says which, so it is
        never cut off by the time limit (which would answer TIMEOUT while the write goes on and lands)."""
        if self.time_limit is not None:
            self.time_limit.reschedule(None)

    @property
    def db(self) -> Database:
        return self.services.db

    async def heavy(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """`Services.heavy` in this request's turn."""
        return await self.services.heavy(fn, *args, turn=self.turn, **kwargs)

    async def heavy_answer(
        self, kind: str, generation: int, key: Hashable, compute: Callable[[Cancel], T]
    ) -> T:
        """`Services.heavy_answer` in this request's turn."""
        return await self.services.heavy_answer(kind, generation, key, compute, turn=self.turn)
