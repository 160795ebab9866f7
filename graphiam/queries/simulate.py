"""Ask the engine one question about a stored principal (SimulatePrincipalPolicy's job), or about
documents that are not in the graph at all (SimulateCustomPolicy's job).

The request context is `graphiam.graph.context`'s (the one builder every question uses: the principal's keys,
the clock, a role session's `aws:TokenIssueTime`, a stored resource's tags); what the caller passes wins.
`sts:AssumeRole*` on a stored role uses the role's trust policy as the resource-based policy; a request on a
stored resource uses its own policy (`stored`; an S3 object ARN its bucket's), required for a KMS key (a key
policy must allow), and the resource's account as the resource owner.

Three answers, not two: when the request as given is not allowed but a request carrying some keys the caller
controls would be (MFA, a source IP, `iam:PassedToService` …), the simulation is `conditional` and
`required_conditions` lists the conditions that decide it (`policy.witness.allowed_if`: the engine allows a
concrete such request). Conditions no request can satisfy (a date already past on `aws:CurrentTime`, `Null`
contradictions) leave the answer denied.

Beyond identity policies and boundaries: the SCPs of the caller's account and the RCPs of the resource's
(`serviceControlPolicies` / `resourceControlPolicies`, one list per level, root first), a session policy
(role sessions and federated users), and a resource-based policy. A KMS key's policy is required
(`key_policy_required`: IAM policies alone grant nothing on a key unless its key policy allows the account or
the principal); without the key policy the answer assumes it does, and says so in a warning. A layer given
but not applying to the request (RCPs on a service that does not support them, SCPs for a service principal,
a session policy for a user) is named in a warning and its decision is null.

`simulate_custom`'s caller can be any principal (`arn.caller_type`): a user, role or assumed-role session, an
account root, a federated user, a SAML/OIDC provider, a service principal (`events.amazonaws.com`) or
`anonymous`; the context keys AWS derives from it are filled in unless given.

An action the catalogue does not know, or a resource that is neither `*` nor an ARN, is still decided (an
unknown action is allowed by nothing but `*`-like patterns), with a warning naming the closest known action or
service (`Catalog.request_warnings`): a typo otherwise reads as a plain IMPLICIT_DENY.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from graphiam.arn import (
    account_of,
    caller_type,
    is_assumed_role_arn,
    parse_arn,
    role_arn_of_session,
)
from graphiam.catalog import Catalog
from graphiam.errors import ArnError, InputError, NotFoundError, PolicyParseError
from graphiam.graph.context import TRUST_ACTIONS, ContextValues, RequestContext, build_context, scp_exempt
from graphiam.graph.snapshot import Snapshot
from graphiam.policy import Decision, Evaluation, PolicySource, Request, evaluate, parse_policy
from graphiam.policy.witness import allowed_if
from graphiam.queries.chains import HopCondition

NO_CONTEXT: ContextValues = MappingProxyType({})  # the default request context: no keys given


@dataclass(frozen=True, kw_only=True)
class Simulation:
    """An evaluation plus what it was asked and on which basis."""

    evaluation: Evaluation
    principal_arn: str
    action: str
    resource: str
    context: dict[str, Any]
    resource_policy_used: str | None  # "trust" | "given" | "stored" | None
    warnings: tuple[str, ...] = field(default=())
    # not allowed as asked, but allowed under `required_conditions` (keys the caller controls)
    conditional: bool = False
    required_conditions: tuple[HopCondition, ...] = ()
    # conditional: the engine's evaluation of the request carrying the required conditions (ALLOWED)
    allowed_evaluation: Evaluation | None = None


def parse_input_policy(doc: Any, where: str, *, kind: str = "custom", via: str = "custom") -> PolicySource:
    """A policy document passed in a request: parsed, or an `InputError` naming the argument and JSON path."""
    try:
        parsed = parse_policy(doc, where=where)
    except PolicyParseError:
        raise
    except (TypeError, ValueError) as exc:
        raise InputError(f"{where}: not a policy document: {exc}") from None
    return PolicySource(document=parsed, policy_id=where, name=where, kind=kind, via=via)


def key_policy_required(resource: str) -> bool:
    """Whether `resource`'s own policy must allow a request even in its account: a KMS key's key policy
    (AWS KMS Developer Guide, "Key policies": "Unless the key policy explicitly allows it, you cannot use IAM
    policies to allow access to a KMS key")."""
    try:
        arn = parse_arn(resource)
    except ArnError:
        return False
    return arn.service == "kms" and arn.resource.startswith("key/")


def parse_rcp_levels(levels: Sequence[Sequence[Any]]) -> list[list[PolicySource]] | None:
    """`resourceControlPolicies`: one list of RCP documents per level of the resource owner's organization
    (root, OUs, account). AWS attaches `RCPFullAWSAccess` to every level and it cannot be detached, so a level
    lists only the RCPs added to it and may be empty."""
    out: list[list[PolicySource]] = []
    for i, level in enumerate(levels):
        if isinstance(level, (str, bytes)) or not isinstance(level, Sequence):
            raise InputError(f"resourceControlPolicies[{i}]: a level is a list of RCP documents")
        out.append(
            [
                d
                if isinstance(d, PolicySource)
                else parse_input_policy(d, f"resourceControlPolicies[{i}][{j}]", kind="rcp", via="rcp")
                for j, d in enumerate(level)
            ]
        )
    return out or None


def parse_session_policy(doc: Any) -> tuple[PolicySource, ...] | None:
    """`sessionPolicy`: the policy passed when the session was created (AssumeRole* or GetFederationToken)."""
    if doc is None:
        return None
    return (parse_input_policy(doc, "sessionPolicy", kind="session", via="session"),)


def parse_scp_levels(levels: Sequence[Sequence[Any]]) -> list[list[PolicySource]] | None:
    """`serviceControlPolicies`: one list of SCP documents per level of the organization (root, OUs, account).
    At every level some SCP must allow the action; an empty level would deny everything, so it is refused."""
    out: list[list[PolicySource]] = []
    for i, level in enumerate(levels):
        if isinstance(level, (str, bytes)) or not isinstance(level, Sequence):
            raise InputError(f"serviceControlPolicies[{i}]: a level is a list of SCP documents")
        if not level:
            raise InputError(
                f"serviceControlPolicies[{i}] is empty: every level of an organization has at least "
                "one SCP attached (FullAWSAccess unless replaced)"
            )
        out.append(
            [
                d
                if isinstance(d, PolicySource)
                # parsed already (simulateBatch parses once)
                else parse_input_policy(d, f"serviceControlPolicies[{i}][{j}]", kind="scp", via="scp")
                for j, d in enumerate(level)
            ]
        )
    return out or None


def check_action(action: str) -> str:
    if ":" not in action or not action.split(":", 1)[0] or not action.split(":", 1)[1]:
        raise InputError(f"`action`: `{action}` is not of the form service:Action")
    return action


def simulate(
    snap: Snapshot,
    *,
    principal: str,
    action: str,
    resource: str = "*",
    context: ContextValues = NO_CONTEXT,
    resource_owner: str | None = None,
    resource_policy: Any = None,
    extra_policies: Sequence[Any] = (),
    permissions_boundary: Any = None,
    scps: Sequence[Sequence[Any]] = (),
    rcps: Sequence[Sequence[Any]] = (),
    session_policy: Any = None,
    env: Mapping[str, str] | None = None,
) -> Simulation:
    """Decide whether a stored principal may do `action` on `resource`. SCPs: those of the stored organization
    for the principal's account, unless `scps` (levels, root first) are given; RCPs: those of the stored
    organization for the resource's account, unless `rcps` are given. `env`: the clock
    (`graph.context.environment`), for a question that decides many requests at one moment."""
    check_action(action)
    p = snap.principal(principal)
    if p is None:
        raise NotFoundError(f"principal `{principal}` is not in the graph (users and roles are principals)")
    warnings = [*Catalog.default().request_warnings(action, resource), *p.warnings]
    levels = parse_scp_levels(scps)  # given SCPs replace the stored organization's
    rcp_levels = parse_rcp_levels(rcps)
    session = parse_session_policy(session_policy)
    if levels is not None and (why := scp_exempt(p.arn)) is not None:
        levels = None
        warnings.append(why)
    elif levels is None and p.scps is not None:
        levels = [list(level) for level in p.scps]
    identity = list(p.identity) + [
        parse_input_policy(d, f"extraPolicies[{i}]") for i, d in enumerate(extra_policies)
    ]
    boundary = p.boundary
    if permissions_boundary is not None:
        boundary = (parse_input_policy(permissions_boundary, "permissionsBoundary", via="boundary"),)
        warnings = [w for w in warnings if "permissions boundary" not in w]
    rp: PolicySource | None = None
    used = None
    required = False
    if isinstance(resource_policy, PolicySource):  # a stored resource's policy (whoCan, resourceAccess)
        rp, used = resource_policy, "stored"
    elif resource_policy is not None:
        rp, used = (
            parse_input_policy(resource_policy, "resourcePolicy", kind="resource", via="resource"),
            "given",
        )
    elif action.lower() in TRUST_ACTIONS:
        target = snap.principal(resource)
        if target is not None and target.kind == "role":
            rp, used = target.trust, "trust"
            if rp is None:
                warnings.append(f"role `{resource}` has no trust policy in the graph")
    stored = snap.governing_resource(resource)  # a stored resource (an S3 object: its bucket)
    if rp is None and stored is not None and stored.policy is not None:
        rp, used = stored.policy, "stored"
    if used == "trust" or (used == "given" and action.lower() in TRUST_ACTIONS and snap.principal(resource)):
        required = True
    required = required or _key_policy(rp, resource, warnings)
    built = build_context(p, snap, resource, context, env=env)
    req = Request(
        action=action,
        resource=resource,
        principal_arn=p.arn,
        principal_account=p.account,
        principal_type=p.principal_type,
        resource_account=resource_owner or _owner(snap, resource),
        context=built.values,
    )
    given_rcps = rcp_levels is not None
    if not given_rcps and (owner := req.effective_resource_account) is not None:
        stored_rcps = snap.rcp_levels(owner)  # given RCPs replace the stored organization's
        rcp_levels = [list(level) for level in stored_rcps] if stored_rcps is not None else None
    return _decide(
        req,
        built,
        Layers(identity, boundary, rp, required, levels, rcp_levels, session, rcps_given=given_rcps),
        used=used,
        warnings=tuple(warnings),
    )


def _key_policy(rp: PolicySource | None, resource: str, warnings: list[str]) -> bool:
    """Whether the resource policy is required (a KMS key's); warns when that policy was not given."""
    if not key_policy_required(resource):
        return False
    if rp is None:
        warnings.append(
            f"`{resource}` is a KMS key: its key policy must allow the request too; pass it as "
            "`resourcePolicy` (without it the answer assumes the key policy allows the account)"
        )
        return False
    return True


@dataclass(frozen=True)
class Layers:
    """Every policy taking part in one decision, as `evaluate` takes them."""

    identity: Sequence[PolicySource]
    boundary: Sequence[PolicySource] | None
    resource_policy: PolicySource | None
    required: bool
    scps: Sequence[Sequence[PolicySource]] | None
    rcps: Sequence[Sequence[PolicySource]] | None = None
    session: Sequence[PolicySource] | None = None
    rcps_given: bool = (
        True  # False: the stored organization's RCPs, which warn nothing when they do not apply
    )


def _unapplied(layers: Layers, ev: Evaluation, req: Request) -> list[str]:
    """Warnings for the layers given that do not apply to this request (their decisions are null)."""
    out = []
    if layers.scps is not None and ev.scp_decision is None:
        out.append(f"SCPs do not restrict `{req.principal_arn}` ({req.principal_type}): ignored")
    if layers.rcps is not None and layers.rcps_given and ev.rcp_decision is None:
        out.append(
            f"RCPs do not apply to `{req.action}` by `{req.principal_arn}` (only to the services that "
            "support them, never to service-linked roles): ignored"
        )
    if layers.session is not None and ev.session_decision is None:
        out.append(
            f"a session policy caps role sessions and federated users, not `{req.principal_arn}` "
            f"({req.principal_type}): ignored"
        )
    return out


def _decide(
    req: Request,
    built: RequestContext,
    layers: Layers,
    *,
    used: str | None,
    warnings: tuple[str, ...],
) -> Simulation:
    """The engine's decision on `req` and, when it is not ALLOWED, whether keys the caller controls would
    make it so (`allowed_if`)."""
    ev = evaluate(
        req,
        identity=layers.identity,
        boundaries=layers.boundary,
        resource_policy=layers.resource_policy,
        resource_policy_required=layers.required,
        scps=layers.scps,
        rcps=layers.rcps,
        session_policies=layers.session,
    )
    warnings = (*warnings, *_unapplied(layers, ev, req))
    hop = None
    if ev.decision is not Decision.ALLOWED:
        hop = allowed_if(
            req,
            identity=layers.identity,
            boundaries=layers.boundary,
            resource_policy=layers.resource_policy,
            resource_policy_required=layers.required,
            scps=layers.scps,
            rcps=layers.rcps,
            session_policies=layers.session,
            free=built.free,
            choices=built.choices,
        )
    return Simulation(
        evaluation=ev,
        principal_arn=req.principal_arn,
        action=req.action,
        resource=req.resource,
        context=built.values,
        resource_policy_used=used,
        warnings=warnings,
        conditional=hop is not None,
        required_conditions=() if hop is None else required_conditions(hop.conditions),
        allowed_evaluation=None if hop is None else hop.evaluation,
    )


def required_conditions(described: Sequence[dict[str, Any]]) -> tuple[HopCondition, ...]:
    """`policy.witness`'s condition descriptions as `HopCondition`s (the shape assumption chains use)."""
    return tuple(
        HopCondition(
            key=d["key"],
            operator=d["operator"],
            values=tuple(d["values"]),
            effect=d["effect"],
            policy_arn=d["policy"],
            statement_index=d["statement"],
        )
        for d in described
    )


def _owner(snap: Snapshot, resource: str) -> str | None:
    """The account owning `resource`: a stored principal's, or a stored resource's (an S3 ARN names no
    account, an object's is its bucket's)."""
    target = snap.principal(resource)
    if target is not None:
        return target.account
    stored = snap.governing_resource(resource)
    return stored.account if stored is not None else None


def simulate_custom(
    *,
    policies: Sequence[Any],
    action: str,
    resource: str = "*",
    context: ContextValues = NO_CONTEXT,
    caller: str | None = None,
    resource_owner: str | None = None,
    resource_policy: Any = None,
    permissions_boundary: Any = None,
    snap: Snapshot | None = None,
    scps: Sequence[Sequence[Any]] = (),
    rcps: Sequence[Sequence[Any]] = (),
    session_policy: Any = None,
) -> Simulation:
    """Decide a request against documents that are not (or not yet) in the graph."""
    check_action(action)
    levels = parse_scp_levels(scps)
    rcp_levels = parse_rcp_levels(rcps)
    session = parse_session_policy(session_policy)
    identity = [parse_input_policy(d, f"policies[{i}]") for i, d in enumerate(policies)]
    boundary = (
        (parse_input_policy(permissions_boundary, "permissionsBoundary", via="boundary"),)
        if permissions_boundary is not None
        else None
    )
    rp = (
        parse_input_policy(resource_policy, "resourcePolicy", kind="resource", via="resource")
        if resource_policy is not None
        else None
    )
    caller_arn = caller or "arn:aws:iam::123456789012:user/simulated-caller"
    try:
        ptype = caller_type(caller_arn)
    except ArnError as exc:
        raise InputError(f"`caller`: {exc}") from None
    if ptype == "Anonymous":
        caller_arn = "anonymous"
    stored = snap.principal(caller_arn) if snap is not None and caller else None
    built = build_context(stored, snap, resource, context)
    ctx = built.values
    if stored is None and caller:
        caller_keys(ctx, caller_arn, ptype)
    if stored is not None:
        ptype = stored.principal_type
    warnings = Catalog.default().request_warnings(action, resource)
    if levels is not None and (why := scp_exempt(caller_arn)) is not None:
        levels = None
        warnings.append(why)
    required = (bool(rp) and action.lower() in TRUST_ACTIONS) or _key_policy(rp, resource, warnings)
    req = Request(
        action=action,
        resource=resource,
        principal_arn=caller_arn,
        principal_account=account_of(caller_arn),
        principal_type=ptype,
        resource_account=resource_owner,
        context=ctx,
    )
    return _decide(
        req,
        built,
        Layers(identity, boundary, rp, required, levels, rcp_levels, session),
        used="given" if rp else None,
        warnings=tuple(warnings),
    )


def caller_keys(ctx: dict[str, Any], caller: str, ptype: str) -> None:
    """The keys AWS derives from a caller that is not in the graph (IAM User Guide, "AWS global condition
    context keys"), each set unless the request gave it: a session's `aws:PrincipalArn` is its role's ARN (the
    path, not in the session ARN, taken as `/`); a service principal has `aws:PrincipalServiceName` and
    `aws:PrincipalIsAWSService`; an anonymous caller has none."""
    given = {k.lower() for k in ctx}
    derived: dict[str, str] = {}
    if ptype == "Service":
        derived = {"aws:PrincipalServiceName": caller, "aws:PrincipalIsAWSService": "true"}
    elif ptype in ("User", "AssumedRole", "Account", "FederatedUser"):
        account = account_of(caller)
        derived = {
            "aws:PrincipalArn": role_arn_of_session(caller) if is_assumed_role_arn(caller) else caller,
            "aws:PrincipalType": ptype,
            "aws:PrincipalIsAWSService": "false",
            **({"aws:PrincipalAccount": account} if account else {}),
        }
    for key, value in derived.items():
        if key.lower() not in given:
            ctx[key] = value
