"""The browsing half of `Query`: accounts, users, groups, roles, policies and lookups. Resolvers stay short:
they check arguments, call the store through the executor and wrap records in GraphQL types."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from graphiam.api import pagination as pg
from graphiam.api.context import Context
from graphiam.api.types import (
    Account,
    Group,
    InstanceProfile,
    Policy,
    PolicyKind,
    Principal,
    Role,
    User,
    load_entity,
)
from graphiam.errors import InputError


async def _connection(
    info: Info[Context, None], table: str, wrap, first: int | None, after: str | None, **filters
):
    n = pg.check_first(first)
    key = pg.decode_cursor(after)
    services = info.context.services
    rows = await services.page(table, first=n + 1, after=key, **filters)
    total = await services.count(table, **filters)
    return pg.build(rows, n, total, after, wrap)


def _one(rows: list, what: str, name: str):
    if len(rows) > 1:
        accounts = ", ".join(sorted({r.account for r in rows}))
        raise InputError(f"{what} `{name}` exists in several accounts ({accounts}): pass `account`")
    return rows[0] if rows else None


@strawberry.type
class BrowseQuery:
    @strawberry.field(description="Every loaded account.")
    async def accounts(self, info: Info[Context, None]) -> list[Account]:
        return [Account(row=a) for a in await info.context.services.accounts()]

    @strawberry.field
    async def account(self, info: Info[Context, None], id: str) -> Account | None:
        rows = await info.context.services.accounts([id])
        return Account(row=rows[0]) if rows else None

    @strawberry.field(description="Users, ordered by ARN; `first` at most 100.")
    async def users(
        self,
        info: Info[Context, None],
        first: int | None = None,
        after: str | None = None,
        account: str | None = None,
        path_prefix: str | None = None,
    ) -> pg.Connection[User]:
        return await _connection(
            info, "User", lambda r: User(row=r), first, after, account=account, path_prefix=path_prefix
        )

    @strawberry.field(description="Groups, ordered by ARN; `first` at most 100.")
    async def groups(
        self,
        info: Info[Context, None],
        first: int | None = None,
        after: str | None = None,
        account: str | None = None,
        path_prefix: str | None = None,
    ) -> pg.Connection[Group]:
        return await _connection(
            info, "IAMGroup", lambda r: Group(row=r), first, after, account=account, path_prefix=path_prefix
        )

    @strawberry.field(description="Roles, ordered by ARN; `first` at most 100.")
    async def roles(
        self,
        info: Info[Context, None],
        first: int | None = None,
        after: str | None = None,
        account: str | None = None,
        path_prefix: str | None = None,
    ) -> pg.Connection[Role]:
        return await _connection(
            info, "Role", lambda r: Role(row=r), first, after, account=account, path_prefix=path_prefix
        )

    @strawberry.field(
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

    @strawberry.field(description="A user or role by ARN.")
    async def principal(self, info: Info[Context, None], arn: str) -> Principal | None:
        kinds = await info.context.services.principal_kinds([arn])
        return await load_entity(info, kinds[arn], arn) if arn in kinds else None

    @strawberry.field(description="A user by ARN or by name (pass `account` when the name is in several).")
    async def user(
        self,
        info: Info[Context, None],
        arn: str | None = None,
        name: str | None = None,
        account: str | None = None,
    ) -> User | None:
        return await _lookup(info, "User", User, arn, name, account, "user")

    @strawberry.field(description="A group by ARN or by name.")
    async def group(
        self,
        info: Info[Context, None],
        arn: str | None = None,
        name: str | None = None,
        account: str | None = None,
    ) -> Group | None:
        return await _lookup(info, "IAMGroup", Group, arn, name, account, "group")

    @strawberry.field(description="A role by ARN or by name.")
    async def role(
        self,
        info: Info[Context, None],
        arn: str | None = None,
        name: str | None = None,
        account: str | None = None,
    ) -> Role | None:
        return await _lookup(info, "Role", Role, arn, name, account, "role")

    @strawberry.field(description="A policy by ARN (inline: `<owner ARN>#<name>`) or by name.")
    async def policy(
        self,
        info: Info[Context, None],
        arn: str | None = None,
        name: str | None = None,
        account: str | None = None,
    ) -> Policy | None:
        return await _lookup(info, "Policy", Policy, arn, name, account, "policy")

    @strawberry.field(description="An instance profile by ARN.")
    async def instance_profile(self, info: Info[Context, None], arn: str) -> InstanceProfile | None:
        row = await info.context.loaders.profile.load(arn)
        return None if row is None else InstanceProfile(row=row)


async def _lookup(
    info: Info[Context, None],
    table: str,
    wrap,
    arn: str | None,
    name: str | None,
    account: str | None,
    what: str,
):
    if (arn is None) == (name is None):
        raise InputError(f"{what}: pass exactly one of `arn` or `name`")
    if arn is not None:
        loader = {
            "User": info.context.loaders.user,
            "IAMGroup": info.context.loaders.group,
            "Role": info.context.loaders.role,
            "Policy": info.context.loaders.policy,
        }[table]
        row = await loader.load(arn)
    else:
        rows = await info.context.services.by_name(table, name, account)
        row = _one(rows, what, name)
    return None if row is None else wrap(row=row)
