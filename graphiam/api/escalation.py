"""`escalationPaths`, `escalationPathsTo`, `escalationSummary`, `administrators`, and `Principal.isAdmin`'s
verdicts.

Resolvers call `graphiam.queries.escalation_paths` on the current snapshot and its escalation index (path
graph + administrators), both built off the event loop and kept per generation by `graphiam.service.Services`
(which also memoises `Principal.isAdmin`/`canBecomeAdmin`, `graphiam.queries.admin`).
"""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from graphiam.api.access import PrincipalKind
from graphiam.api.context import Context
from graphiam.api.fields import field
from graphiam.api.types import Principal, load_principal
from graphiam.arn import is_role_arn
from graphiam.derive.escalation.techniques import technique as technique_by_id
from graphiam.errors import InputError, NotFoundError
from graphiam.queries import admin as A
from graphiam.queries import escalation_paths as Q


@strawberry.type(
    description="One permission a step uses: the request the engine allowed, the statements that "
    "allowed it, and the condition keys it needed (MFA, source IP …)."
)
class PermissionUse:
    action: str
    resource: str
    statements: list[str] = strawberry.field(description="`<policy ARN or id>#<statement index> (Sid)`.")
    conditions: list[str]


@strawberry.type(
    description="One hop: assume a role (`sts-001`) or an escalation technique (pathfinding.cloud "
    "id such as `iam-001`, or `graphiam-00N` for techniques graphiam adds)."
)
class EscalationStep:
    from_: str = strawberry.field(name="from")
    to: str
    technique: str
    technique_name: str | None
    permissions: list[PermissionUse]
    statements: list[str] = strawberry.field(
        description="Every statement that grants a permission of this step."
    )
    conditions: list[str] = strawberry.field(
        description="Condition keys the step still needs (e.g. aws:MultiFactorAuthPresent)."
    )
    assumptions: list[str] = strawberry.field(
        description="Facts a GAAD export cannot prove (an existing Lambda function runs as the role, …)."
    )
    makes_admin: bool = strawberry.field(
        description="This step itself makes `to` administrator (a policy of "
        "the actor's choosing, a policy version, a boundary removed)."
    )


@strawberry.type
class EscalationPath:
    steps: list[EscalationStep]
    length: int
    reaches_admin: bool
    conditions: list[str] = strawberry.field(description="Every condition key some step needs.")
    incomplete: list[str] = strawberry.field(
        description="Policies without a document in the graph (an export named them and omitted them) "
        "held by a step's actor or by the principal the path ends at: the path rests on them (one may "
        "deny a step). Empty when every decision on the way is complete."
    )


@strawberry.type(description="A principal that is not administrator now but can become one.")
class EscalationSummaryEntry:
    arn: str
    self_escalation: bool = strawberry.field(description="It can make itself administrator in one step.")
    shortest_path_length: int
    first_technique: str
    path: EscalationPath

    @strawberry.field
    async def principal(self, info: Info[Context, None]) -> Principal | None:
        kind = "Role" if is_role_arn(self.arn) else "User"
        return await load_principal(info, kind, self.arn)


@strawberry.type(description="A user or role that is administrator (`Principal.isAdmin`).")
class Administrator:
    arn: str
    account: str
    kind: PrincipalKind
    now: bool = strawberry.field(
        description="Allowed every action on `*` now (denies and boundary applied): always true since "
        "`isAdmin` means exactly that (one that can make itself administrator is `canBecomeAdmin`)."
    )

    @strawberry.field
    async def principal(self, info: Info[Context, None]) -> Principal | None:
        return await load_principal(info, "Role" if self.kind is PrincipalKind.ROLE else "User", self.arn)


@strawberry.type
class PathLengthCount:
    length: int
    principals: int


@strawberry.type
class AdminAccountCount:
    account: str
    administrators: int
    can_become_admin: int


@strawberry.type(description="`administrators` and `escalationSummary` in numbers.")
class AdminSummary:
    administrators: int = strawberry.field(description="Principals `Principal.isAdmin` holds for.")
    allowed_everything_now: int = strawberry.field(description="Of them, allowed every action on `*` now.")
    can_become_admin: int = strawberry.field(
        description="Principals not administrator now with a path to administrator (`escalationSummary`)."
    )
    by_path_length: list[PathLengthCount] = strawberry.field(
        description="`canBecomeAdmin` by the length of the shortest path."
    )
    by_account: list[AdminAccountCount]


async def _summary(info: Info[Context, None], max_depth: int) -> tuple[Any, Any, list[Any]]:
    """The snapshot, its escalation index and `escalation_summary`'s answer (kept per generation, depth)."""
    services = info.context.services
    snap, index = await services.escalation_index()
    entries = await info.context.heavy_answer(
        "escalation_summary",
        snap.generation,
        max_depth,
        lambda cancel: Q.escalation_summary(services.db, snap, index, max_depth=max_depth, cancel=cancel),
    )
    return snap, index, entries


def _name(tid: str) -> str | None:
    try:
        return technique_by_id(tid).name
    except NotFoundError:
        return None


def _step(s: Any) -> EscalationStep:
    perms = [
        PermissionUse(
            action=p.get("action", ""),
            resource=p.get("resource", ""),
            statements=list(p.get("statements", ())),
            conditions=list(p.get("needs", ())),
        )
        for p in s.permissions
    ]
    return EscalationStep(
        from_=s.source,
        to=s.target,
        technique=s.technique,
        technique_name=_name(s.technique),
        permissions=perms,
        statements=list(s.statements),
        conditions=list(s.needs),
        assumptions=list(s.assumptions),
        makes_admin=s.admin or s.source == s.target,
    )


def _path(p: Any, snap: Any) -> EscalationPath:
    return EscalationPath(
        steps=[_step(s) for s in p.steps],
        length=len(p.steps),
        reaches_admin=p.reaches_admin,
        conditions=list(p.needs),
        incomplete=list(Q.path_incomplete(snap, p)),
    )


@strawberry.type
class EscalationQuery:
    @field(
        description="Every path (assume-role and escalation steps, no principal twice) from `from` "
        "to administrator, or to `to` when given; shortest first, at most `limit`. "
        "None means none. An administrator has no path to administrator."
    )
    async def escalation_paths(
        self,
        info: Info[Context, None],
        from_: Annotated[str, strawberry.argument(name="from")],
        to: str | None = None,
        max_depth: int = 5,
        limit: int = Q.DEFAULT_LIMIT,
    ) -> list[EscalationPath]:
        snap, index = await info.context.services.escalation_index()
        paths = await info.context.heavy_answer(
            "escalation_paths",
            snap.generation,
            (from_, to, max_depth, limit),
            lambda cancel: Q.escalation_paths(
                info.context.db, snap, index, from_, to, max_depth=max_depth, limit=limit, cancel=cancel
            ),
        )
        return [_path(p, snap) for p in paths]

    @field(
        description="How many paths `escalationPaths` finds without a `limit` (counted up to 1001: 1001 "
        "means more than 1000), to say how many a limited answer shows of how many."
    )
    async def escalation_path_count(
        self,
        info: Info[Context, None],
        from_: Annotated[str, strawberry.argument(name="from")],
        to: str | None = None,
        max_depth: int = 5,
    ) -> int:
        snap, index = await info.context.services.escalation_index()
        return await info.context.services.run(Q.count_paths, snap, index, from_, to, max_depth=max_depth)

    @field(description="Every path from any principal to `to` (who can reach it), shortest first.")
    async def escalation_paths_to(
        self, info: Info[Context, None], to: str, max_depth: int = 5, limit: int = Q.DEFAULT_LIMIT
    ) -> list[EscalationPath]:
        snap, index = await info.context.services.escalation_index()
        paths = await info.context.heavy(
            Q.escalation_paths_to, info.context.db, snap, index, to, max_depth=max_depth, limit=limit
        )
        return [_path(p, snap) for p in paths]

    @field(
        description="Every principal that is not administrator now but can become one, with the "
        "length and first technique of its shortest path; nearest first (then by ARN), the first "
        "`first` when given (`adminSummary` counts them). Kept per database generation."
    )
    async def escalation_summary(
        self, info: Info[Context, None], max_depth: int = 5, first: int | None = None
    ) -> list[EscalationSummaryEntry]:
        if first is not None and first < 0:
            raise InputError(f"`first` must be 0 or more, got {first}")
        snap, _, entries = await _summary(info, max_depth)
        return [
            EscalationSummaryEntry(
                arn=e.principal,
                self_escalation=e.self_escalation,
                shortest_path_length=e.shortest,
                first_technique=e.first_technique,
                path=_path(e.path, snap),
            )
            for e in entries[:first]
        ]

    @field(
        description="`administrators` and `escalationSummary` in numbers, for dashboards: how many are "
        "administrator (and allowed everything now), how many can become one within `maxDepth` steps, by "
        "shortest path length and by account."
    )
    async def admin_summary(self, info: Info[Context, None], max_depth: int = 5) -> AdminSummary:
        snap, index, entries = await _summary(info, max_depth)
        c = Q.admin_counts(snap, A.administrators(index), entries)
        return AdminSummary(
            administrators=c.administrators,
            allowed_everything_now=c.now,
            can_become_admin=c.can_become,
            by_path_length=[PathLengthCount(length=n, principals=k) for n, k in c.by_length],
            by_account=[
                AdminAccountCount(account=a, administrators=n, can_become_admin=k) for a, n, k in c.by_account
            ],
        )

    @field(
        description="Every user and role that is administrator (`Principal.isAdmin` true: allowed every "
        "action on `*` now); in `account` when given, among "
        "`arns` when given (which of these are administrators?), by ARN, the first `first` when given "
        "(`adminSummary` counts them). From the escalation index the paths use (kept per database "
        "generation)."
    )
    async def administrators(
        self,
        info: Info[Context, None],
        account: str | None = None,
        arns: list[str] | None = None,
        first: int | None = None,
    ) -> list[Administrator]:
        if first is not None and first < 0:
            raise InputError(f"`first` must be 0 or more, got {first}")
        snap, index = await info.context.services.escalation_index()
        return [
            Administrator(arn=a.principal, account=a.account, kind=PrincipalKind(a.kind), now=a.now)
            for a in Q.administrators(snap, A.administrators(index), account=account, arns=arns)[:first]
        ]
