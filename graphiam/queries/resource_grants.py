"""What a stored resource's own policy adds to "who can do `action` on it" (whoCan, resourceAccess,
externalAccess).

- `governing`: the resource whose policy decides a request (an S3 object: its bucket), its policy, whether
  the policy is required (a KMS key policy: IAM policies alone grant nothing on a key) and the RCPs of its
  account.
- `policy_named`: the stored users and roles its Allow statements for the action name by ARN (they can be
  allowed without any identity allow in the resource's account), and whether it admits everyone (`*`,
  NotPrincipal): the whoCan prefilter must keep them.
- `access_via`: for an allowed principal, which side allows: its identity policies (`identity`), the
  resource's policy (`resource`: it names the principal, or its account across accounts, or a KMS key
  policy), or both.
- `outside_grants`: those the policy grants that are not stored users or roles, each decided by the engine
  (the resource policy, its own denies, the RCPs of the resource's account) as a caller of that kind:
  * a whole account not loaded in the graph: "any principal of account X that its own policies allow" (its
    identity side is assumed to allow; the engine decides as for that account's root, with `aws:PrincipalArn`
    and the principal's tags left to the caller, so conditions on them make the entry conditional);
  * a named ARN that is not a stored user or role (another account's principal, a session, a federated user):
    its own policies assumed to allow;
  * a service principal, a federated provider, a canonical user: decided by the resource policy alone;
    `aws:SourceArn`/`aws:SourceAccount`/`aws:SourceOrgID` are the service's request, so conditions on them
    make the entry conditional and name what binds it;
  * everyone (`*` or NotPrincipal): one entry whose `required_conditions` are the conditions of each statement
    admitting everyone (each statement alone suffices: group them by `statement_index`); `public` when one of
    them has no condition limiting the caller (`graph.resources.public_statements`); `rcp_denied` when the
    RCPs of the resource's account deny a caller from outside the organization (anonymous, or an account
    not in it); `outside_organization` false only when every such statement requires `aws:PrincipalOrgID`
    (or aws:PrincipalOrgPaths) of the stored organization.

With an organization stored, a principal of a member account carries `aws:PrincipalOrgID` (and its paths);
one of an account outside it either carries no organization id or another organization's (the organizations
the policies name, or another), never the stored one. With no organization stored, the key is the caller's.
Named principals (account, ARN) dropped by a Deny of the policy or an RCP that no request can avoid are left
out; an everyone entry is kept and says `rcp_denied`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from graphiam.arn import (
    account_of,
    account_root,
    caller_type,
    is_account_id,
    is_account_root,
)
from graphiam.errors import ArnError
from graphiam.graph.context import ContextValues
from graphiam.graph.resources import ResourceInfo, public_statements
from graphiam.graph.snapshot import Levels, Snapshot
from graphiam.policy import Decision, Evaluation, PolicySource, Request, evaluate, parse_policy
from graphiam.policy.conditions import Condition
from graphiam.policy.document import Statement
from graphiam.policy.principals import ACCOUNT
from graphiam.policy.witness import ABSENT, allowed_if
from graphiam.queries.chains import HopCondition
from graphiam.queries.simulate import Simulation, caller_keys, key_policy_required, required_conditions

VIA_IDENTITY, VIA_RESOURCE, VIA_BOTH = "identity", "resource", "both"
# an organization id standing for "some organization other than the stored one and those the policies name"
OTHER_ORGANIZATION = "o-anotherorganization"
# the account standing for "a caller of an account outside the organization" (RCP probe of everyone)
OUTSIDER_ACCOUNT = "000000000000"
_ORG_ID_KEY, _ORG_PATHS_KEY = "aws:principalorgid", "aws:principalorgpaths"
_SOURCE_KEYS = frozenset({"aws:sourcearn", "aws:sourceaccount", "aws:sourceorgid", "aws:sourceorgpaths"})
_PRINCIPAL_KEYS = frozenset(
    {
        "aws:principalarn",
        "aws:principalaccount",
        "aws:principaltype",
        "aws:principalisawsservice",
        "aws:principalservicename",
        "aws:username",
        "aws:userid",
    }
)
_RESOURCE_SIDE = frozenset({"resource", "trust"})
_THEIR_OWN = PolicySource(
    document=parse_policy(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    ),
    policy_id="(their own policies)",
    name="their own policies (assumed to allow)",
    kind="custom",
    via="custom",
)


@dataclass(frozen=True, kw_only=True)
class Governing:
    """The stored resource whose policy decides requests on an ARN, and the layers it brings."""

    resource: ResourceInfo
    policy: PolicySource | None
    required: bool  # a KMS key policy: it must allow even in the key's account
    rcps: Levels | None  # the RCPs of the resource's account, root first


def governing(snap: Snapshot, action: str, resource: str) -> Governing | None:
    """The stored resource governing `action` on `resource` (None: not stored, or `sts:AssumeRole*` on a role,
    decided by its trust policy)."""
    if snap.principal(resource) is not None:
        return None
    res = snap.governing_resource(resource)
    return None if res is None else of_resource(snap, res, resource)


def of_resource(snap: Snapshot, res: ResourceInfo, resource: str | None = None) -> Governing:
    """The layers `res` brings to a request on `resource` (by default `res` itself)."""
    resource = resource or res.arn
    return Governing(
        resource=res,
        policy=res.policy,
        required=res.policy is not None and key_policy_required(resource),
        rcps=snap.rcp_levels(res.account),
    )


def _may_match_resource(st: Statement, resource: str) -> bool:
    pats = st.resource_patterns
    return pats is None or not all(p.is_static for p in pats) or st.matches_resource(resource, {})


def granting(doc: Any, action: str, resource: str) -> list[Statement]:
    """The Allow statements of a resource policy that can apply to `action` on `resource`."""
    return [
        st
        for st in doc.statements_for(action.lower())
        if st.effect == "Allow" and _may_match_resource(st, resource)
    ]


def policy_named(snap: Snapshot, policy: PolicySource | None, action: str, resource: str) -> set[str]:
    """Stored users and roles `policy` may grant `action` on `resource` by naming them (every stored principal
    when a statement admits everyone: `*`, NotPrincipal)."""
    if policy is None:
        return set()
    named: set[str] = set()
    for st in granting(policy.document, action, resource):
        if st.not_principals is not None:
            return set(snap.principals)
        for entry in (st.principals or {}).get("AWS", ()):
            if entry == "*":
                return set(snap.principals)
            if entry in snap.principals:
                named.add(entry)
    return named


def access_via(sim: Simulation, *, cross_account: bool, required: bool) -> str:
    """Which side allows an allowed (or conditional) decision: `identity`, `resource` or `both`."""
    ev = sim.evaluation if sim.evaluation.decision is Decision.ALLOWED else sim.allowed_evaluation
    if ev is None:
        return VIA_IDENTITY
    ok = (None, Decision.ALLOWED)
    identity = (
        ev.identity_decision is Decision.ALLOWED and ev.boundary_decision in ok and ev.session_decision in ok
    )
    resource = any(
        m.effect == "Allow"
        and m.source.kind in _RESOURCE_SIDE
        and (m.principal_match != ACCOUNT or cross_account or required)
        for m in ev.matched
    )
    if identity and resource:
        return VIA_BOTH
    return VIA_RESOURCE if resource else VIA_IDENTITY


@dataclass(frozen=True, kw_only=True)
class OutsideGrant:
    """Someone the resource's policy grants the action who is not a stored user or role."""

    principal: str  # an account id, an ARN, a service or provider name, a canonical user id, or `*`
    kind: str  # account | principal | service | federated | canonical-user | everyone
    account: str | None
    conditional: bool
    required_conditions: tuple[HopCondition, ...]
    evaluation: Evaluation | None  # the engine's (ALLOWED, under the required conditions when conditional)
    outside_organization: bool
    public: bool = False  # everyone: some statement admits anyone with no limiting condition
    rcp_denied: bool = False  # everyone: the resource account's RCPs deny a caller outside the organization
    organizations: tuple[str, ...] = ()  # everyone: the aws:PrincipalOrgID values its conditions require


def outside_grants(
    snap: Snapshot,
    gov: Governing,
    *,
    action: str,
    resource: str,
    context: ContextValues,
    env: Mapping[str, str],
) -> list[OutsideGrant]:
    """Every grant of the resource's policy to someone not stored (module docstring), accounts first, then
    principals, services, federated providers, canonical users, everyone; each kind sorted."""
    if gov.policy is None:
        return []
    statements = granting(gov.policy.document, action, resource)
    loaded = {p.account for p in snap.principals.values()}
    wanted: dict[tuple[str, str], None] = {}
    everyone: list[Statement] = []
    for st in statements:
        if st.not_principals is not None:
            everyone.append(st)
            continue
        for pkind, values in (st.principals or {}).items():
            for v in values:
                if v == "*":
                    everyone.append(st)
                elif pkind == "AWS" and (is_account_id(v) or is_account_root(v)):
                    acct = v if is_account_id(v) else v.split(":")[4]
                    if acct != gov.resource.account and acct not in loaded:
                        wanted[("account", acct)] = None
                elif pkind == "AWS":
                    if v not in snap.principals:
                        wanted[("principal", v)] = None
                elif pkind == "Service":
                    wanted[("service", v)] = None
                elif pkind == "Federated":
                    wanted[("federated", v)] = None
                elif pkind == "CanonicalUser":
                    wanted[("canonical-user", v)] = None
    order = {"account": 0, "principal": 1, "service": 2, "federated": 3, "canonical-user": 4}
    out: list[OutsideGrant] = []
    for kind, value in sorted(wanted, key=lambda kv: (order[kv[0]], kv[1])):
        grant = _decide(snap, gov, kind, value, action=action, resource=resource, context=context, env=env)
        if grant is not None:
            out.append(grant)
    if everyone:
        out.append(_everyone(snap, gov, list(dict.fromkeys(everyone)), action=action, resource=resource))
    return out


def _org_values(snap: Snapshot, gov: Governing) -> tuple[str, ...]:
    """The organization ids the resource policy and the RCPs compare aws:PrincipalOrgID with."""
    found: dict[str, None] = {}
    docs = [gov.policy] if gov.policy is not None else []
    docs += [s for level in gov.rcps or () for s in level]
    for src in docs:
        for st in src.document.statements:
            for c in st.compiled_conditions:
                if c.key_lower == _ORG_ID_KEY:
                    found.update(dict.fromkeys(c.values))
    return tuple(v for v in found if v != snap.organization and "*" not in v and "$" not in v)


def _decide(
    snap: Snapshot,
    gov: Governing,
    kind: str,
    value: str,
    *,
    action: str,
    resource: str,
    context: ContextValues,
    env: Mapping[str, str],
) -> OutsideGrant | None:
    """One non-everyone grant, decided as a caller of its kind (None: denied whatever it does)."""
    if kind == "account":
        arn, ptype, account = account_root(value), "Account", value
    elif kind == "service":
        arn, ptype, account = value, "Service", None
    elif kind == "canonical-user":
        arn, ptype, account = value, "CanonicalUser", None
    else:
        try:
            ptype = caller_type(value)
        except ArnError:
            return None  # not a principal the engine can stand for (a unique id of a deleted principal)
        arn, account = value, account_of(value)
        if kind == "federated" and ptype not in ("SAML", "WebIdentity"):
            ptype = "WebIdentity"
    ctx: dict[str, Any] = dict(env)
    caller_keys(ctx, arn, ptype)
    fixed_absent = set(_SOURCE_KEYS) if kind != "service" else set(_PRINCIPAL_KEYS)
    fixed_absent |= _PRINCIPAL_KEYS if kind not in ("account", "service") else set()
    if kind == "account":  # any principal of the account: its ARN, type and tags are the caller's
        for key in ("aws:PrincipalArn", "aws:PrincipalType"):
            ctx.pop(key, None)
        fixed_absent = (fixed_absent | {"aws:principalaccount", "aws:principalisawsservice"}) - {
            "aws:principalarn",
            "aws:principaltype",
            "aws:username",
            "aws:userid",
        }
    choices: dict[str, tuple[Any, ...]] = {}
    member = snap.org_member(account)
    if kind == "service":
        fixed_absent |= {_ORG_ID_KEY, _ORG_PATHS_KEY}
    elif snap.organization is not None and member and account is not None:
        ctx["aws:PrincipalOrgID"] = snap.organization
        ctx["aws:PrincipalOrgPaths"] = [snap.org_paths[account]]
    elif snap.organization is not None:
        choices[_ORG_ID_KEY] = (ABSENT, *_org_values(snap, gov), OTHER_ORGANIZATION)
        fixed_absent.add(_ORG_PATHS_KEY)
    _given(ctx, context)
    present = {k.lower() for k in ctx}

    def free(c: Condition) -> bool:
        k = c.key_lower
        return k in choices or (k not in present and k not in fixed_absent)

    req = Request(
        action=action,
        resource=resource,
        principal_arn=arn,
        principal_account=account,
        principal_type=ptype,
        resource_account=gov.resource.account,
        context=ctx,
    )
    identity = [_THEIR_OWN] if kind in ("account", "principal") else []
    ev = evaluate(
        req,
        identity=identity,
        resource_policy=gov.policy,
        resource_policy_required=gov.required,
        rcps=gov.rcps,
    )
    conditions: tuple[HopCondition, ...] = ()
    if ev.decision is not Decision.ALLOWED:
        hop = allowed_if(
            req,
            identity=identity,
            resource_policy=gov.policy,
            resource_policy_required=gov.required,
            rcps=gov.rcps,
            free=free,
            choices=choices,
        )
        if hop is None:
            return None
        ev, conditions = hop.evaluation, required_conditions(hop.conditions)
    return OutsideGrant(
        principal=value,
        kind=kind,
        account=account,
        conditional=bool(conditions),
        required_conditions=conditions,
        evaluation=ev,
        outside_organization=kind in ("principal", "account", "federated", "canonical-user")
        and (account is None or not member),
    )


def _given(ctx: dict[str, Any], given: ContextValues) -> None:
    lowered = {k.lower(): k for k in ctx}
    for key, value in given.items():
        old = lowered.get(key.lower())
        if old is not None:
            del ctx[old]
        ctx[key] = value


def _everyone(
    snap: Snapshot, gov: Governing, statements: Sequence[Statement], *, action: str, resource: str
) -> OutsideGrant:
    """The everyone entry: the statements admitting anyone, their conditions, and whether they are public."""
    assert gov.policy is not None
    policy_id = gov.policy.policy_id
    open_ = {id(st) for st in public_statements(gov.policy.document)}
    conditions = tuple(
        HopCondition(
            key=c.key,
            operator=c.operator,
            values=tuple(c.values),
            effect="Allow",
            policy_arn=policy_id,
            statement_index=st.index,
        )
        for st in statements
        for c in st.compiled_conditions
    )
    unconditional = any(not st.compiled_conditions for st in statements)
    orgs: dict[str, None] = {}
    inside = snap.organization is not None
    for st in statements:
        values = [
            v
            for c in st.compiled_conditions
            if c.key_lower in (_ORG_ID_KEY, _ORG_PATHS_KEY) and "not" not in c.operator.lower()
            for v in c.values
        ]
        orgs.update(dict.fromkeys(v.split("/", 1)[0] for v in values))
        if not values or any(v.split("/", 1)[0] != snap.organization for v in values):
            inside = False
    return OutsideGrant(
        principal="*",
        kind="everyone",
        account=None,
        conditional=not unconditional,
        required_conditions=() if unconditional else conditions,
        evaluation=None,
        outside_organization=not inside,
        public=any(id(st) in open_ for st in statements),
        rcp_denied=rcp_denied(snap, gov, kind="everyone", value="*", actions=(action,), resource=resource),
        organizations=tuple(orgs),
    )


def _probes(snap: Snapshot, kind: str, value: str) -> list[tuple[str, str | None, str, dict[str, Any]]]:
    """Callers standing for a grant when asking the RCPs: (ARN, account, type, context)."""
    if kind == "everyone":  # anonymous, and a caller of an account outside the organization
        outsider = {"aws:PrincipalAccount": OUTSIDER_ACCOUNT, "aws:PrincipalIsAWSService": "false"}
        return [
            ("anonymous", None, "Anonymous", {}),
            (account_root(OUTSIDER_ACCOUNT), OUTSIDER_ACCOUNT, "Account", outsider),
        ]
    if kind == "account":
        arn, ptype, account = account_root(value), "Account", value
    elif kind == "service":
        arn, ptype, account = value, "Service", None
    else:
        try:
            ptype = caller_type(value)
        except ArnError:
            return []
        arn, account = value, account_of(value)
    ctx: dict[str, Any] = {}
    caller_keys(ctx, arn, ptype)
    if account is not None and snap.organization is not None and snap.org_member(account):
        ctx["aws:PrincipalOrgID"] = snap.organization
        ctx["aws:PrincipalOrgPaths"] = [snap.org_paths[account]]
    return [(arn, account, ptype, ctx)]


def rcp_denied(
    snap: Snapshot, gov: Governing, *, kind: str, value: str, actions: Sequence[str], resource: str
) -> bool:
    """Whether the RCPs of the resource's account deny a caller standing for the grant (`kind`, `value`;
    everyone: both anonymous and a caller of an account outside the organization) every one of `actions`,
    the request carrying no other key."""
    if not gov.rcps or not actions:
        return False
    probes = _probes(snap, kind, value)
    if not probes:
        return False
    for action in actions:
        for arn, account, ptype, ctx in probes:
            ev = evaluate(
                Request(
                    action=action,
                    resource=resource,
                    principal_arn=arn,
                    principal_account=account,
                    principal_type=ptype,
                    resource_account=gov.resource.account,
                    context=ctx,
                ),
                identity=[],
                rcps=gov.rcps,
            )
            if ev.rcp_decision is not Decision.EXPLICIT_DENY:
                return False
    return True
