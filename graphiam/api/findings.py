"""`policyFindings`: the Cloudsplaining-style risk report (graphiam.queries.findings), paginated by policy
ARN."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from graphiam.api import pagination as pg
from graphiam.api.context import Context
from graphiam.api.fields import field
from graphiam.api.types import PolicyKind
from graphiam.derive.findings.analyse import RiskFinding as RiskFindingData
from graphiam.derive.findings.rules import SEVERITY
from graphiam.derive.findings.rules import RiskCategory as Category
from graphiam.queries import findings as F

RiskCategory = strawberry.enum(
    Category, description="Cloudsplaining's risk categories (see `policyFindings`)."
)


@strawberry.input(
    description="What to leave out of the report (Cloudsplaining's exclusions file). Names and ARNs "
    "take `*` wildcards and match without regard to case."
)
class FindingsExclusions:
    policies: list[str] = strawberry.field(default_factory=list, description="Policy names or ARNs.")
    principals: list[str] = strawberry.field(
        default_factory=list,
        description="User, group or role names or ARNs: left out of the reach lists (a group "
        "with its members); a policy attached only to them is not reported.",
    )
    actions: list[str] = strawberry.field(
        default_factory=list, description="IAM action patterns (`s3:GetObject`, `ec2:*`) never reported."
    )


@strawberry.type(
    description="The actions of one risk category that a policy allows without resource constraints."
)
class RiskFinding:
    category: RiskCategory  # type: ignore[valid-type]
    severity: str = strawberry.field(description="Cloudsplaining's severity of the category.")
    actions: list[str] = strawberry.field(
        description="Sorted; ServiceWildcard: `svc:*` items, or `*` for all."
    )
    action_count: int
    techniques: list[str] = strawberry.field(
        description="PrivilegeEscalation: the escalation techniques "
        "(escalationPaths ids) whose actions are all allowed."
    )
    statements: list[str] = strawberry.field(
        description="The statements that grant them: `#index` or `#index (Sid)`."
    )
    conditional: bool = strawberry.field(
        description="Every action is granted only by statements with a Condition."
    )
    conditions: list[str] = strawberry.field(
        description="The conditions of the conditional grants: `#index: Operator key [values]`."
    )


@strawberry.type(description="A user, group or role a policy applies to.")
class ReachedPrincipal:
    arn: str
    kind: str = strawberry.field(description="`user`, `group` or `role`.")
    name: str
    account: str
    via: str | None = strawberry.field(
        description="The group a user gets the policy through; null when direct."
    )
    is_admin: bool | None = strawberry.field(
        description="`Principal.isAdmin`: administrator now; null for a group, or when unknown (a policy "
        "without a document)."
    )
    can_become_admin: bool | None = strawberry.field(
        description="`Principal.canBecomeAdmin`: an escalation path leads to administrator; null for a "
        "group, or when unknown."
    )


@strawberry.type(description="One policy's findings and the principals it reaches.")
class PolicyFinding:
    policy_arn: str
    policy_name: str
    policy_kind: PolicyKind
    account: str
    owner: str | None = strawberry.field(description="Inline policies: the user, group or role holding it.")
    findings: list[RiskFinding]
    principals: list[ReachedPrincipal]
    reaches_admin: bool = strawberry.field(
        description="Some principal it reaches is administrator now (`isAdmin` true)."
    )
    boundary_of: list[str] = strawberry.field(
        description="Principals it is the permissions boundary of (a boundary "
        "grants nothing: they are not in `principals`)."
    )


@strawberry.type
class RiskSummary:
    category: RiskCategory  # type: ignore[valid-type]
    severity: str
    policies: int = strawberry.field(description="Policies with a finding of this category.")
    actions: int = strawberry.field(
        description="Distinct actions (ServiceWildcard: distinct items) among them."
    )
    principals: int = strawberry.field(description="Distinct users and roles those policies reach.")


@strawberry.type
class PolicyFindingEdge:
    cursor: str
    node: PolicyFinding


@strawberry.type(
    description="Every policy with a finding, sorted by ARN, one page at a time; the summary covers them all."
)
class PolicyFindingsConnection:
    total_count: int
    policies_analysed: int = strawberry.field(description="Policies considered after scope and exclusions.")
    summary: list[RiskSummary]
    page_info: pg.PageInfo
    edges: list[PolicyFindingEdge]
    warnings: list[str] = strawberry.field(
        description="Policies in scope without a document in the graph (an export named them and omitted "
        "them): they are not analysed, and the principals they apply to may have unknown `isAdmin`."
    )

    @field(description="The nodes of `edges`, for clients that need no cursors.")
    def nodes(self) -> list[PolicyFinding]:
        return [e.node for e in self.edges]


def _label(index: int, sids: dict[int, str | None]) -> str:
    sid = sids.get(index)
    return f"#{index} ({sid})" if sid else f"#{index}"


def _finding(f: RiskFindingData, sids: dict[int, str | None]) -> RiskFinding:
    return RiskFinding(
        category=f.category,
        severity=SEVERITY[f.category],
        actions=list(f.actions),
        action_count=len(f.actions),
        techniques=list(f.techniques),
        statements=[_label(i, sids) for i in f.statements],
        conditional=f.conditional,
        conditions=list(f.conditions),
    )


def _policy(r: F.PolicyReport) -> PolicyFinding:
    return PolicyFinding(
        policy_arn=r.arn,
        policy_name=r.name,
        policy_kind=PolicyKind(r.kind),
        account=r.account,
        owner=r.owner,
        findings=[_finding(f, r.sids) for f in r.findings],
        principals=[
            ReachedPrincipal(
                arn=p.arn,
                kind=p.kind,
                name=p.name,
                account=p.account,
                via=p.via,
                is_admin=p.is_admin,
                can_become_admin=p.can_become_admin,
            )
            for p in r.principals
        ],
        reaches_admin=r.reaches_admin,
        boundary_of=list(r.boundary_of),
    )


@strawberry.type
class FindingsQuery:
    @field(
        description="Cloudsplaining-style risk report: per policy (customer-managed, inline, and "
        "attached AWS-managed), the actions it allows without resource constraints "
        "(Resource `*` or NotResource; Action wildcards and NotAction expanded against the "
        "catalogue; an unconditional Deny of the same policy on `*` subtracts; conditional "
        "grants count, with their conditions), by risk category, with the principals it "
        "reaches. `kinds` keeps some categories; `account` scopes to one account; `policies` keeps "
        "the policies of these ARNs (inline: `<owner ARN>#<name>`)."
    )
    async def policy_findings(
        self,
        info: Info[Context, None],
        account: str | None = None,
        kinds: list[RiskCategory] | None = None,  # type: ignore[valid-type]
        exclude: FindingsExclusions | None = None,
        first: int | None = None,
        after: str | None = None,
        policies: list[str] | None = None,
    ) -> PolicyFindingsConnection:
        n = pg.check_first(first)
        start = pg.decode_cursor(after)
        services = info.context.services
        index = await services.findings_index()
        ex = exclude or FindingsExclusions()
        exclusions = F.Exclusions(
            policies=tuple(ex.policies), principals=tuple(ex.principals), actions=tuple(ex.actions)
        )
        categories = tuple(dict.fromkeys(kinds)) if kinds is not None else None
        only = tuple(sorted(set(policies))) if policies is not None else None
        report = await info.context.heavy_answer(  # the whole report: kept per generation, each page reads it
            "findings_report",
            index.snap.generation,
            (account, categories, exclusions, only),
            lambda cancel: F.policy_findings(
                index,
                account=account,
                categories=categories,
                exclusions=exclusions,
                policies=only,
                cancel=cancel,
            ),
        )
        rows = [r for r in report.policies if start is None or r.arn > start][: n + 1]
        page = pg.build(rows, n, len(report.policies), after, _policy)
        return PolicyFindingsConnection(
            total_count=page.total_count,
            policies_analysed=report.analysed,
            page_info=page.page_info,
            edges=[PolicyFindingEdge(cursor=e.cursor, node=e.node) for e in page.edges],
            warnings=list(report.warnings),
            summary=[
                RiskSummary(
                    category=s.category,
                    severity=s.severity,
                    policies=s.policies,
                    actions=s.actions,
                    principals=s.principals,
                )
                for s in report.summary
            ],
        )
