"""`effectivePermissions`' types: what a principal's identity policies allow, per catalogued action, capped by
its boundary, with denies; summaries by service and access level, and pages of actions."""

from __future__ import annotations

import bisect
from collections import Counter
from enum import Enum

import strawberry
from strawberry.types import Info

from graphiam.api import pagination as pg
from graphiam.api.conditions import HopCondition, hop_conditions
from graphiam.api.context import Context
from graphiam.api.fields import field, from_row
from graphiam.api.types import ADMIN_CONDITIONS, CAN_BECOME_ADMIN, INCOMPLETE, IS_ADMIN
from graphiam.queries import admin
from graphiam.queries import effective as eff

__all__ = ["AccessLevel", "ActionPermission", "EffectivePermissions", "ResourceGrant"]


@strawberry.enum(description="AWS's access levels (Service Authorization Reference, policy summaries).")
class AccessLevel(Enum):
    LIST = "List"
    READ = "Read"
    TAGGING = "Tagging"
    WRITE = "Write"
    PERMISSIONS_MANAGEMENT = "Permissions management"


@strawberry.type
class ConditionSpec:
    operator: str
    key: str
    values: list[str]


@strawberry.type(description="A statement behind a grant or a deny.")
class StatementRef:
    policy_arn: str
    policy_name: str
    via: str = strawberry.field(description="user, group, role (identity policies) or boundary.")
    statement_index: int
    sid: str | None
    effect: str


@strawberry.type(
    description="Resources matching `pattern` (IAM wildcards), except those matching one of `excluding`, "
    "and matching every `alsoMatching` (boundary patterns that only overlap `pattern`)."
)
class ResourceGrant:
    row: strawberry.Private[eff.ResourceGrant]

    pattern = from_row("pattern", str)
    excluding = from_row("excluding", list[str], list)
    also_matching = from_row("also_matching", list[str], list)

    @field(description="Conditions of the allowing (or denying) statements, as written; all must hold.")
    def conditions(self) -> list[ConditionSpec]:
        return [
            ConditionSpec(operator=c.operator, key=c.key, values=list(c.values)) for c in self.row.conditions
        ]

    @field(
        description="Allowed: true when the grant holds only if the request carries keys it does not (MFA, a "
        "source IP ...; `requiredConditions`). Denied: true when the deny applies only under conditions the "
        "caller controls (it can be avoided). Conditions on keys AWS sets (the principal's tags, the clock) "
        "are judged now: a statement no request can satisfy is left out."
    )
    def conditional(self) -> bool:
        return self.row.conditional

    @field(description="The conditions behind `conditional`, each with its statement.")
    def required_conditions(self) -> list[HopCondition]:
        return hop_conditions(self.row.required)

    @strawberry.field
    def statements(self) -> list[StatementRef]:
        return [
            StatementRef(
                policy_arn=s.policy_arn,
                policy_name=s.policy_name,
                via=s.via,
                statement_index=s.index,
                sid=s.sid,
                effect=s.effect,
            )
            for s in self.row.statements
        ]


@strawberry.type(description="One catalogued action: where it is allowed and where denies apply.")
class ActionPermission:
    e: strawberry.Private[eff.Entry]

    @strawberry.field
    def action(self) -> str:
        return self.e[0].full_name

    @strawberry.field
    def service(self) -> str:
        return self.e[0].service

    @strawberry.field
    def access_level(self) -> AccessLevel:
        return AccessLevel(self.e[0].access_level)

    @field(
        description="True when every allowed grant is conditional: the action is allowed only if the request "
        "carries keys it does not (see each grant's `requiredConditions`)."
    )
    def conditional(self) -> bool:
        return all(g.conditional for g in self.e[1])

    @field(description="Resource patterns allowed (identity allow ∩ boundary), each with its conditions.")
    def allowed(self) -> list[ResourceGrant]:
        return [ResourceGrant(row=g) for g in self.e[1]]

    @field(description="Deny statements that apply to some allowed resource (conditional ones included).")
    def denied(self) -> list[ResourceGrant]:
        return [ResourceGrant(row=g) for g in self.e[2]]


@strawberry.type
class AccessSummary:
    service: str
    access_level: AccessLevel
    count: int


@strawberry.type
class ServiceCount:
    service: str
    count: int


@strawberry.type
class AccessLevelCount:
    access_level: AccessLevel
    count: int


@strawberry.type
class UnknownAction:
    action: str = strawberry.field(
        description="The Action/NotAction entry as written; it names no catalogued action."
    )
    policy_arn: str
    statement_index: int
    effect: str
    not_action: bool
    did_you_mean: str | None = strawberry.field(
        description="The closest known action (or service prefix), when one is close: a likely typo."
    )


@strawberry.type(
    description="Is the principal administrator (graphiam.queries.admin: the facts `Principal.isAdmin` and "
    "`canBecomeAdmin` show), and why."
)
class AdminVerdict:
    is_admin: bool | None = strawberry.field(description=IS_ADMIN)
    can_become_admin: bool | None = strawberry.field(description=CAN_BECOME_ADMIN)
    conditions: list[str] = strawberry.field(description=ADMIN_CONDITIONS)
    incomplete: list[str] = strawberry.field(description=INCOMPLETE)
    reason: str
    technique: str | None = strawberry.field(
        description="The first technique of a shortest escalation path to administrator, when one is found."
    )
    needs: list[str] = strawberry.field(deprecation_reason="Use `conditions` (the same keys).")


def admin_verdict(f: admin.AdminFacts) -> AdminVerdict:
    return AdminVerdict(
        is_admin=f.is_admin,
        can_become_admin=f.can_become_admin,
        conditions=list(f.conditions),
        incomplete=list(f.incomplete),
        reason=f.reason,
        technique=f.technique,
        needs=list(f.conditions),
    )


@strawberry.type(
    description="What a principal's identity policies allow, capped by its boundary, after denies."
)
class EffectivePermissions:
    row: strawberry.Private[eff.Effective]

    principal = from_row("principal_arn", str)

    @field(description=IS_ADMIN)
    async def is_admin(self, info: Info[Context, None]) -> bool | None:
        return (await info.context.services.admin_facts(self.row.principal_arn)).is_admin

    @field(description=CAN_BECOME_ADMIN)
    async def can_become_admin(self, info: Info[Context, None]) -> bool | None:
        return (await info.context.services.admin_facts(self.row.principal_arn)).can_become_admin

    @field(
        description="The principal's policies without a document in the graph (an export named them and "
        "omitted them): the actions below leave them out, so the principal may be allowed more or less; "
        "with those that made `isAdmin`/`canBecomeAdmin` null. Empty when the answer is complete."
    )
    async def incomplete(self, info: Info[Context, None]) -> list[str]:
        f = await info.context.services.admin_facts(self.row.principal_arn)
        return list(dict.fromkeys((*self.row.incomplete, *f.incomplete)))

    @strawberry.field
    async def administrator(self, info: Info[Context, None]) -> AdminVerdict:
        return admin_verdict(await info.context.services.admin_facts(self.row.principal_arn))

    permissions_boundary = from_row("boundary_arn", str | None)
    action_count = from_row(
        "entries", int, len, description="Allowed actions (after the service / accessLevel filters)."
    )
    blocked_action_count = from_row(
        "blocked_entries",
        int,
        len,
        description="Actions an identity policy allows but the boundary, the SCPs or denies remove entirely.",
    )

    @field(description="Allowed actions per service and access level.")
    def summary(self) -> list[AccessSummary]:
        return [
            AccessSummary(service=s, access_level=AccessLevel(lvl), count=n)
            for s, lvl, n in self.row.summary()
        ]

    @strawberry.field
    def by_service(self) -> list[ServiceCount]:
        counts: Counter[str] = Counter()
        for s, _lvl, n in self.row.summary():
            counts[s] += n
        return [ServiceCount(service=s, count=n) for s, n in sorted(counts.items())]

    @strawberry.field
    def by_access_level(self) -> list[AccessLevelCount]:
        counts: Counter[str] = Counter()
        for _s, lvl, n in self.row.summary():
            counts[lvl] += n
        return [
            AccessLevelCount(access_level=a, count=counts[a.value]) for a in AccessLevel if counts[a.value]
        ]

    @field(description="Allowed actions, by name; `first` at most 100.")
    def actions(self, first: int | None = None, after: str | None = None) -> pg.Connection[ActionPermission]:
        return _page(self.row.entries, first, after)

    @field(description="Actions removed entirely by the boundary or by denies, by name.")
    def blocked_actions(
        self, first: int | None = None, after: str | None = None
    ) -> pg.Connection[ActionPermission]:
        return _page(self.row.blocked_entries, first, after)

    @strawberry.field
    def unknown_actions(self) -> list[UnknownAction]:
        return [
            UnknownAction(
                action=u.action,
                policy_arn=u.policy_arn,
                statement_index=u.statement_index,
                effect=u.effect,
                not_action=u.not_action,
                did_you_mean=u.did_you_mean,
            )
            for u in self.row.unknown_actions
        ]

    warnings = from_row("warnings", list[str], list)


def _page(
    entries: tuple[eff.Entry, ...], first: int | None, after: str | None
) -> pg.Connection[ActionPermission]:
    n = pg.check_first(first)
    key = pg.decode_cursor(after)
    names = [e[0].full_name.lower() for e in entries] if key is not None else []
    start = bisect.bisect_right(names, key) if key is not None else 0
    rows = list(entries[start : start + n + 1])
    return pg.build(
        rows, n, len(entries), after, lambda e: ActionPermission(e=e), key=lambda e: e[0].full_name.lower()
    )
