"""The browsing half of `Query`: accounts, users, groups, roles, policies and lookups. Resolvers stay short:
they check arguments, read through `graphiam.service.Services` and wrap records in GraphQL types."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import strawberry
from strawberry.types import Info

from graphiam.api import pagination as pg
from graphiam.api.context import Context
from graphiam.api.fields import field
from graphiam.api.types import (
    Account,
    Group,
    InstanceProfile,
    Policy,
    PolicyKind,
    Principal,
    Role,
    User,
    load_principal,
)
from graphiam.errors import InputError


async def _connection(
    info: Info[Context, None],
    table: str,
    wrap: Callable[[Any], Any],
    first: int | None,
    after: str | None,
    **filters: Any,
) -> pg.Connection[Any]:
    n = pg.check_first(first)
    key = pg.decode_cursor(after)
    services = info.context.services
    rows = await services.page(table, first=n + 1, after=key, **filters)
    total = await services.count(table, **filters)
    return pg.build(rows, n, total, after, wrap)


def _one(rows: list[Any], what: str, name: str) -> Any:
    if len(rows) > 1:
        accounts = ", ".join(sorted({r.account for r in rows}))
        raise InputError(f"{what} `{name}` exists in several accounts ({accounts}): pass `account`")
    return rows[0] if rows else None


async def _lookup(
    info: Info[Context, None],
    table: str,
    wrap: Callable[..., Any],
    arn: str | None,
    name: str | None,
    account: str | None,
    what: str,
) -> Any:
    if arn is not None and name is None:
        loader = {
            "User": info.context.loaders.user,
            "IAMGroup": info.context.loaders.group,
            "Role": info.context.loaders.role,
            "Policy": info.context.loaders.policy,
        }[table]
        row = await loader.load(arn)
    elif name is not None and arn is None:
        row = _one(await info.context.services.by_name(table, name, account), what, name)
    else:
        raise InputError(f"{what}: pass exactly one of `arn` or `name`")
    return None if row is None else wrap(row=row)


def listing(table: str, node: type, description: str) -> Any:
    """A `Query` field paging through the records of `table` as `node`s, filtered by account and path."""

    async def resolve(
        self: Any,
        info: Info[Context, None],
        first: int | None = None,
        after: str | None = None,
        account: str | None = None,
        path_prefix: str | None = None,
    ) -> Any:
        return await _connection(
            info, table, lambda r: node(row=r), first, after, account=account, path_prefix=path_prefix
        )

    resolve.__annotations__ = {**resolve.__annotations__, "return": pg.Connection[node]}  # type: ignore[valid-type]
    return strawberry.field(resolver=resolve, description=description)


def lookup(table: str, node: type, what: str, description: str) -> Any:
    """A `Query` field finding one record of `table` (a `node`) by ARN or by name (and account)."""

    async def resolve(
        self: Any,
        info: Info[Context, None],
        arn: str | None = None,
        name: str | None = None,
        account: str | None = None,
    ) -> Any:
        return await _lookup(info, table, node, arn, name, account, what)

    resolve.__annotations__ = {**resolve.__annotations__, "return": node | None}
    return strawberry.field(resolver=resolve, description=description)


@strawberry.type
class BrowseQuery:
    @field(description="Every loaded account.")
    async def accounts(self, info: Info[Context, None]) -> list[Account]:
        return [Account(row=a) for a in await info.context.services.accounts()]

    @strawberry.field
    async def account(self, info: Info[Context, None], id: str) -> Account | None:
        rows = await info.context.services.accounts([id])
        return Account(row=rows[0]) if rows else None

    users = listing("User", User, "Users, ordered by ARN; `first` at most 100.")
    groups = listing("IAMGroup", Group, "Groups, ordered by ARN; `first` at most 100.")
    roles = listing("Role", Role, "Roles, ordered by ARN; `first` at most 100.")

    @field(
        description="Policies, ordered by ARN. By default the managed policies (AWS and customer) "
        "whose document the export held; pass `kinds` to include inline policies and "
        "`includeMissing` for placeholders of policies an export named but omitted."
    )
    async def policies(
        self,
        info: Info[Context, None],
        first: int | None = None,
        after: str | None = None,
        account: str | None = None,
        kinds: list[PolicyKind] | None = None,
        include_missing: bool = False,
    ) -> pg.Connection[Policy]:
        kind_values = [k.value for k in kinds] if kinds else None
        return await _connection(
            info,
            "Policy",
            lambda r: Policy(row=r),
            first,
            after,
            account=account,
            kinds=kind_values,
            include_missing=include_missing,
        )

    @field(description="A user or role by ARN.")
    async def principal(self, info: Info[Context, None], arn: str) -> Principal | None:
        kinds = await info.context.services.principal_kinds([arn])
        return await load_principal(info, kinds[arn], arn) if arn in kinds else None

    user = lookup(
        "User", User, "user", "A user by ARN or by name (pass `account` when the name is in several)."
    )
    group = lookup("IAMGroup", Group, "group", "A group by ARN or by name.")
    role = lookup("Role", Role, "role", "A role by ARN or by name.")
    policy = lookup("Policy", Policy, "policy", "A policy by ARN (inline: `<owner ARN>#<name>`) or by name.")

    @field(description="An instance profile by ARN.")
    async def instance_profile(self, info: Info[Context, None], arn: str) -> InstanceProfile | None:
        row = await info.context.loaders.profile.load(arn)
        return None if row is None else InstanceProfile(row=row)
