"""`whoCan`, `whoCanSummary` and `effectivePermissions`: who may do what, in shapes a dashboard can chart."""
from __future__ import annotations

import threading
from collections import Counter, OrderedDict
from collections.abc import Callable
from enum import Enum
from typing import Any

import strawberry
from strawberry.types import Info

from graphiam.api.context import Context, Services
from graphiam.api.simulation import ContextEntryInput, Decision, MatchedStatement, _statement, context_values, current_snapshot
from graphiam.api.types import Principal, load_entity
from graphiam.queries.who_can import DEFAULT_CHAIN_DEPTH, Access, WhoCan, who_can

__all__ = ["AccessQuery", "PrincipalAccess"]

_CACHE_SIZE = 64


@strawberry.enum(description="Users and roles are the principals whoCan answers with.")
class PrincipalKind(Enum):
    USER = "user"
    ROLE = "role"


@strawberry.type(description="A principal allowed the action: directly, or (whoCan viaChains) by assuming a role "
                             "that is allowed; then `chain` lists the hops and the decision is that role's.")
class PrincipalAccess:
    access: strawberry.Private[Access]

    @strawberry.field
    async def principal(self, info: Info[Context, None]) -> Principal:
        table = "User" if self.access.kind == "user" else "Role"
        return await load_entity(info, table, self.access.principal_arn)  # type: ignore[no-any-return]

    @strawberry.field
    def principal_arn(self) -> str:
        return self.access.principal_arn

    @strawberry.field
    def kind(self) -> PrincipalKind:
        return PrincipalKind(self.access.kind)

    @strawberry.field
    def account(self) -> str:
        return self.access.account

    @strawberry.field
    def decision(self) -> Decision:
        return Decision(self.access.simulation.evaluation.decision.value)

    @strawberry.field(description="The statements that allowed it (for a chain: those that allow the last role).")
    def matched_statements(self) -> list[MatchedStatement]:
        return [_statement(m) for m in self.access.simulation.evaluation.matched]

    @strawberry.field(description="Condition keys an otherwise matching statement needed and the request lacked.")
    def missing_context_keys(self) -> list[str]:
        return list(self.access.simulation.evaluation.missing_context_keys)

    @strawberry.field(description="viaChains: the principal, the roles it assumes, and last the allowed role (ARNs); "
                                  "null when the principal is allowed itself.")
    def chain(self) -> list[str] | None:
        return list(self.access.chain) if self.access.chain else None

    @strawberry.field(description="viaChains: condition keys the chain's hops need (e.g. aws:MultiFactorAuthPresent).")
    def chain_conditions(self) -> list[str]:
        return list(self.access.chain_conditions)


@strawberry.type
class AccountCount:
    account: str
    users: int
    roles: int
    total: int


@strawberry.type(description="whoCan in numbers: totals and per-account counts, for dashboards.")
class WhoCanSummary:
    action: str
    resource: str
    total: int
    direct: int = strawberry.field(description="Principals allowed themselves.")
    via_chains: int = strawberry.field(description="Principals allowed only by assuming an allowed role.")
    users: int
    roles: int
    by_account: list[AccountCount]
    candidates: int = strawberry.field(description="Principals the database prefilter handed to the engine.")
    principals: int = strawberry.field(description="Users and roles in the graph.")


def _summary(w: WhoCan) -> WhoCanSummary:
    per: dict[str, Counter[str]] = {}
    for a in w.allowed:
        per.setdefault(a.account, Counter())[a.kind] += 1
    chained = sum(1 for a in w.allowed if a.chain)
    kinds = Counter(a.kind for a in w.allowed)
    return WhoCanSummary(
        action=w.action, resource=w.resource, total=len(w.allowed), direct=len(w.allowed) - chained, via_chains=chained,
        users=kinds["user"], roles=kinds["role"],
        by_account=[AccountCount(account=k, users=c["user"], roles=c["role"], total=c["user"] + c["role"])
                    for k, c in sorted(per.items())],
        candidates=w.candidates, principals=w.principals)


class _ResultCache:
    """The last whoCan answers per database generation: `whoCan` and `whoCanSummary` in one request share one."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: OrderedDict[tuple[Any, ...], WhoCan] = OrderedDict()

    def get(self, key: tuple[Any, ...], compute: Callable[[], WhoCan]) -> WhoCan:
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
                return hit
        value = compute()
        with self._lock:
            self._items[key] = value
            while len(self._items) > _CACHE_SIZE:
                self._items.popitem(last=False)
        return value


def _freeze(ctx: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(sorted((k, v if isinstance(v, str) else tuple(v)) for k, v in ctx.items()))


async def _who_can(services: Services, action: str, resource: str, context: list[ContextEntryInput] | None,
                   resource_owner: str | None, via_chains: bool, max_depth: int) -> WhoCan:
    snap = await current_snapshot(services)
    ctx = context_values(context)
    cache = services.caches.setdefault("who_can", _ResultCache())
    key = (snap.generation, action, resource, _freeze(ctx), resource_owner, via_chains, max_depth)
    return await services.run(cache.get, key, lambda: who_can(
        services.db, snap, action=action, resource=resource, context=ctx, resource_owner=resource_owner,
        via_chains=via_chains, max_depth=max_depth))


@strawberry.type
class AccessQuery:
    @strawberry.field(description="Every user and role (all accounts) whose simulated decision for `action` on "
                                  "`resource` is ALLOWED, sorted by ARN. With `viaChains`, also principals that reach "
                                  "an allowed role through CAN_ASSUME edges (at most `maxDepth` hops), shortest first.")
    async def who_can(self, info: Info[Context, None], action: str, resource: str,
                      context: list[ContextEntryInput] | None = None, resource_owner: str | None = None,
                      via_chains: bool = False, max_depth: int = DEFAULT_CHAIN_DEPTH) -> list[PrincipalAccess]:
        w = await _who_can(info.context.services, action, resource, context, resource_owner, via_chains, max_depth)
        return [PrincipalAccess(access=a) for a in w.allowed]

    @strawberry.field(description="The same question as whoCan, answered with counts (per account, users/roles).")
    async def who_can_summary(self, info: Info[Context, None], action: str, resource: str,
                              context: list[ContextEntryInput] | None = None, resource_owner: str | None = None,
                              via_chains: bool = False, max_depth: int = DEFAULT_CHAIN_DEPTH) -> WhoCanSummary:
        w = await _who_can(info.context.services, action, resource, context, resource_owner, via_chains, max_depth)
        return _summary(w)
