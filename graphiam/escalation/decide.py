"""Every fact an escalation step rests on, decided by the policy engine on a concrete request.

- `Decider.allowed`: may a principal do `action` on a concrete resource (a user, role, group, policy
  ARN …)? Decided as `queries.simulate.simulate` does on the snapshot: groups, boundary, Deny, NotAction,
  conditions and (for `sts:AssumeRole`) the role's trust policy all count; conditions an attacker can
  meet are filled by `witness.settle` and reported as needed.
- `Decider.trusts_service`: does a role's trust policy let a service principal (`ec2.amazonaws.com`)
  assume it ("Role trust policies": the service is decided by the resource-based policy alone)?
- `Decider.admin_with`: would the principal be administrator with this identity and boundary? The
  rule, applied to the current policies by `queries.admin.is_admin` and to changed ones (a policy
  attached, a version made default, a boundary removed) by the edge derivation: every probe in
  `PROBES` is ALLOWED on resource `*`. The probes are an action no statement can name except through
  `*` (so `Action: "*"` or a NotAction that spares it is required) and sensitive actions of IAM, STS,
  EC2, S3, KMS, Secrets Manager and Lambda, so that a Deny, a boundary or a NotAction that removes
  any of them means "not administrator".
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from graphiam.escalation.witness import environment, settle
from graphiam.policy import Evaluation, PolicySource, Request, StatementMatch, evaluate, parse_policy
from graphiam.policy.request import normalise_context
from graphiam.queries.simulate import TRUST_ACTIONS, request_context
from graphiam.queries.snapshot import PrincipalInfo, Snapshot

ADMIN_POLICY_ARN = "arn:aws:iam::aws:policy/AdministratorAccess"
ALLOW_ALL = PolicySource(
    document=parse_policy({"Version": "2012-10-17",
                           "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}),
    policy_id="graphiam:chosen-policy", name="a policy of the actor's choosing (Allow * on *)",
    kind="custom", via="custom")
PROBES = ("graphiam:AnyOtherAction", "iam:AttachUserPolicy", "iam:PutRolePolicy", "iam:CreateAccessKey",
          "iam:PassRole", "sts:AssumeRole", "ec2:RunInstances", "s3:GetObject", "s3:PutBucketPolicy",
          "kms:Decrypt", "secretsmanager:GetSecretValue", "lambda:CreateFunction")


def statement_label(m: StatementMatch) -> str:
    """`<policy id>#<statement index>` plus the Sid when there is one: enough to find the statement."""
    return f"{m.source.policy_id}#{m.index}" + (f" ({m.sid})" if m.sid else "")


@dataclass(frozen=True, kw_only=True)
class Use:
    """One permission an escalation step uses: the request, the statements that allow it, the keys it needs."""

    action: str
    resource: str
    statements: tuple[str, ...]
    needs: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {"action": self.action, "resource": self.resource, "statements": list(self.statements),
                "needs": list(self.needs)}


def _use(action: str, resource: str, ev: Evaluation, needs: tuple[str, ...]) -> Use:
    allows = [statement_label(m) for m in ev.matched if m.effect == "Allow"]
    return Use(action=action, resource=resource, statements=tuple(dict.fromkeys(allows)), needs=needs)


class Decider:
    """Engine decisions over one snapshot, memoised (edge derivation asks the same question often)."""

    def __init__(self, snap: Snapshot) -> None:
        self.snap = snap
        self.env = environment()
        self._admin: dict[tuple[Any, ...], Use | None] = {}
        self._trust: dict[tuple[str, str], Use | None] = {}
        self._same: dict[tuple[Any, ...], Use | None] = {}
        self._allows: dict[tuple[Any, ...], tuple[Any, ...]] = {}
        self._ctx: dict[str, Any] = {}

    def allowed(self, p: PrincipalInfo, action: str, resource: str,
                fixed: Mapping[str, Any] | None = None) -> Use | None:
        """The principal may do `action` on `resource` (perhaps once it meets some conditions).

        As `queries.simulate.simulate` decides it (same context, the role's trust policy as the resource
        policy for `sts:AssumeRole*` on a stored role), but for the `PrincipalInfo` given, which may be a
        stored principal with changed policies (after joining a group, say). When no statement for the action
        names a resource or tests a resource key, the decision is the same for every resource of one owner
        and is computed once (`_independent`)."""
        target = self.snap.principal(resource)
        owner = target.account if target is not None else None
        key: tuple[Any, ...] | None = None
        if self._independent(p, action):
            key = (p.arn, tuple(map(id, p.identity)), tuple(map(id, p.boundary or ())), p.boundary is None,
                   action, owner, tuple(sorted((fixed or {}).items())))
            if key in self._same:
                hit = self._same[key]
                return None if hit is None else replace(hit, resource=resource)
        use = self._allowed(p, action, resource, fixed, target, owner)
        if key is not None:
            self._same[key] = use
        return use

    def may_allow(self, p: PrincipalInfo, action: str, resource: str) -> bool:
        """Cheap necessary condition for `allowed`: an identity Allow statement for the action whose Resource
        admits `resource` (variables resolved from the principal). Conditions and denies are left to the engine.
        Not for `sts:AssumeRole*`: a trust policy naming the principal needs no identity Allow."""
        if action.lower() in TRUST_ACTIONS:
            return True
        key = (p.arn, tuple(map(id, p.identity)), action)
        stmts = self._allows.get(key)
        if stmts is None:
            low = action.lower()
            stmts = self._allows[key] = tuple(st for src in p.identity for st in src.document.statements_for(low)
                                              if st.effect == "Allow")
        if not stmts:
            return False
        ctx = self._ctx.get(p.arn)
        if ctx is None:
            ctx = self._ctx[p.arn] = normalise_context(p.derived_context())
        return any(st.matches_resource(resource, ctx) for st in stmts)

    def _independent(self, p: PrincipalInfo, action: str) -> bool:
        low = action.lower()
        if low in TRUST_ACTIONS:
            return False
        for src in (*p.identity, *(p.boundary or ())):
            for st in src.document.statements_for(low):
                if st.not_resources is not None or any(r != "*" for r in st.resources or ()):
                    return False
                if any("resource" in k.lower() for k in st.condition_keys()):
                    return False
        return True

    def _allowed(self, p: PrincipalInfo, action: str, resource: str, fixed: Mapping[str, Any] | None,
                 target: PrincipalInfo | None, owner: str | None) -> Use | None:
        base: dict[str, Any] = {**self.env, **(fixed or {})}
        for k, v in self.snap.resource_tags(resource).items():  # IAM resources: iam:ResourceTag = aws:ResourceTag
            base.setdefault(f"iam:ResourceTag/{k}", v)
        sources: list[PolicySource] = [*p.identity, *(p.boundary or ())]
        trust = None
        if target is not None and target.kind == "role" and action.lower() in TRUST_ACTIONS:
            trust = target.trust
            if trust is None:
                return None
            sources.append(trust)

        def run(ctx: Mapping[str, Any]) -> Evaluation:
            req = Request(action=action, resource=resource, principal_arn=p.arn, principal_account=p.account,
                          principal_type=p.principal_type, resource_account=owner,
                          context=request_context(p, self.snap, resource, ctx))
            return evaluate(req, identity=p.identity, boundaries=p.boundary, resource_policy=trust,
                            resource_policy_required=trust is not None)

        s = settle(run, base, sources, action, resource)
        return None if s is None else _use(action, resource, s.evaluation, s.needs)

    def trusts_service(self, role: PrincipalInfo, service: str) -> Use | None:
        """The role's trust policy lets `service` assume it (with `aws:SourceAccount` = the role's account)."""
        key = (role.arn, service)
        if key not in self._trust:
            self._trust[key] = self._service_trust(role, service)
        return self._trust[key]

    def _service_trust(self, role: PrincipalInfo, service: str) -> Use | None:
        trust = role.trust
        if trust is None:
            return None

        def run(ctx: Mapping[str, Any]) -> Evaluation:
            req = Request(action="sts:AssumeRole", resource=role.arn, principal_arn=service, principal_account=None,
                          principal_type="Service", resource_account=role.account, context=ctx)
            return evaluate(req, identity=(), resource_policy=trust, resource_policy_required=True)

        base = {**self.env, "aws:SourceAccount": role.account}
        s = settle(run, base, (trust,), "sts:AssumeRole", role.arn)
        return None if s is None else _use("sts:AssumeRole", role.arn, s.evaluation, s.needs)

    def admin_with(self, p: PrincipalInfo, identity: Sequence[PolicySource] | None = None,
                   boundary: Sequence[PolicySource] | None | bool = True) -> Use | None:
        """Administrator with these identity policies and boundary (default: the principal's own; `None`:
        no boundary)? Returns the `*` probe's proof (every probe's needed keys merged), else None."""
        ident = tuple(p.identity if identity is None else identity)
        bound = p.boundary if boundary is True else boundary  # type: ignore[assignment]
        key = (p.arn, tuple(id(s) for s in ident), None if bound is None else tuple(id(s) for s in bound))
        if key not in self._admin:
            self._admin[key] = self._probe(p, ident, bound)  # type: ignore[arg-type]
        return self._admin[key]

    def _probe(self, p: PrincipalInfo, ident: tuple[PolicySource, ...],
               bound: tuple[PolicySource, ...] | None) -> Use | None:
        ctx0 = request_context(p, self.snap, "*", self.env)
        sources = [*ident, *(bound or ())]
        first: Use | None = None
        needs: set[str] = set()
        for action in PROBES:
            def run(ctx: Mapping[str, Any], action: str = action) -> Evaluation:
                req = Request(action=action, resource="*", principal_arn=p.arn, principal_account=p.account,
                              principal_type=p.principal_type, resource_account=p.account, context=ctx)
                return evaluate(req, identity=ident, boundaries=bound)

            s = settle(run, ctx0, sources, action, "*")
            if s is None:
                return None
            needs.update(s.needs)
            if first is None:
                first = _use("*", "*", s.evaluation, s.needs)
        assert first is not None
        return Use(action="*", resource="*", statements=first.statements, needs=tuple(sorted(needs)))
