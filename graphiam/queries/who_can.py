"""Who can do `action` on `resource`: every stored user and role whose `simulate` decision is ALLOWED, and
every one that is allowed only if the request carries some keys it does not (`conditional`, with the
`required_conditions` that decide it: `iam:PassedToService`, MFA, a source IP …). A principal whose Allow can
never be satisfied (a date already past, a `Null` contradiction) is not listed. `conditional` (None: both)
filters.

Two steps. The database prefilter (store/access_store.py) keeps the principals that have an identity policy
whose Allow statements can name the action's service; for `sts:AssumeRole*` on a stored role the principals
its trust policy names directly are added, since a trust policy naming a user or role ARN allows without
any identity allow ("Policy evaluation logic": same-account resource-based policies that name the principal
grant access on their own). On a stored resource with a policy (an S3 object: its bucket's,
`queries.resource_grants`), the principals its Allow statements name by ARN are added the same way, and every
principal when one admits everyone (`*`, NotPrincipal): nothing else in the graph can allow a principal the
prefilter dropped. Then the engine decides each candidate as `simulate` does, with the resource's policy
(required for a KMS key), the RCPs of the resource's account and the SCPs of the caller's.

Each principal says `via` which side allows (`identity`, `resource`, `both`: `resource_grants.access_via`).
On a stored resource, `outside` lists what its policy grants beyond the stored users and roles: whole accounts
not loaded, named principals of other accounts, services, federated providers, everyone
(`resource_grants.outside_grants`), each conditional or not.

With `via_chains`, principals that reach an allowed role through CAN_ASSUME edges (the derived edges of the
role-assumption issue) are added with the shortest chain.

Principals whose decision rests on a policy without a document (a placeholder for a policy an export named
and omitted: `PrincipalInfo.incomplete`) are neither dropped nor counted as allowed: `with_unknown` lists them
in `unknown`, each with the missing documents — those the engine allows with the documents it has (a missing
identity policy may deny), and those it allows once every missing identity policy allowed `*` and a missing
boundary allowed everything (what the real documents might say). The others are denied whatever the missing
documents say, and left out.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from graphiam.arn import account_of, is_account_id, is_account_root
from graphiam.cancel import NEVER, Cancel
from graphiam.errors import InputError
from graphiam.graph.context import TRUST_ACTIONS, ContextValues, environment
from graphiam.graph.snapshot import PrincipalInfo, Snapshot
from graphiam.policy import Decision
from graphiam.queries.chains import HopCondition
from graphiam.queries.resource_grants import (
    VIA_IDENTITY,
    Governing,
    OutsideGrant,
    access_via,
    governing,
    outside_grants,
    policy_named,
)
from graphiam.queries.simulate import NO_CONTEXT, Simulation, check_action, simulate
from graphiam.store import Database
from graphiam.store import access_store as A

DEFAULT_CHAIN_DEPTH = 5


@dataclass(frozen=True, kw_only=True)
class Access:
    """One principal allowed, directly (`chain` empty) or by assuming the last role of `chain`."""

    principal_arn: str
    kind: str  # user | role
    account: str
    simulation: Simulation  # the decision for the principal itself, or for the role the chain reaches
    chain: tuple[str, ...] = ()  # principal first, the allowed role last
    chain_conditions: tuple[str, ...] = ()  # condition keys the chain's hops need (MFA, ExternalId …)
    incomplete: tuple[str, ...] = ()  # unknown: the policies without a document the decision rests on
    via: str = VIA_IDENTITY  # identity | resource | both: which side allows (resource_grants.access_via)

    @property
    def conditional(self) -> bool:
        """Allowed only under conditions the request does not carry (the decision's, or a hop's)."""
        return self.simulation.conditional or bool(self.chain_conditions)

    @property
    def required_conditions(self) -> tuple[HopCondition, ...]:
        """The conditions that decide the principal's (or the chain's last role's) access."""
        return self.simulation.required_conditions


@dataclass(frozen=True, kw_only=True)
class WhoCan:
    action: str
    resource: str
    allowed: tuple[Access, ...]
    candidates: int  # principals the prefilter handed to the engine
    principals: int  # principals in the graph
    unknown: tuple[Access, ...] = ()  # may be allowed: the decision rests on missing documents
    outside: tuple[OutsideGrant, ...] = ()  # granted by the resource's policy, not stored users or roles
    governed_by: str | None = None  # the stored resource whose policy took part (an object's bucket)


@dataclass(frozen=True, kw_only=True)
class TrustScope:
    """Whom a role's trust policy can admit for an `sts:AssumeRole*` action: principals it names by ARN (they
    need no identity allow), accounts it names (their principals still need one), or everyone (`*`,
    NotPrincipal)."""

    arns: frozenset[str]
    accounts: frozenset[str]
    everyone: bool

    def admits(self, p: PrincipalInfo) -> bool:
        return self.everyone or p.arn in self.arns or p.account in self.accounts


def trust_scope(snap: Snapshot, action: str, resource: str) -> TrustScope | None:
    """For `sts:AssumeRole*` on a stored role, who its trust policy can admit; None for any other request.

    The trust policy must allow for every principal, same account or not ("Role trust policies"; evaluate.py
    `resource_policy_required`), so nobody outside this scope can be allowed. A role without a trust policy
    admits nobody.
    """
    if action.lower() not in TRUST_ACTIONS:
        return None
    role = snap.principal(resource)
    if role is None or role.kind != "role":
        return None
    arns: set[str] = set()
    accounts: set[str] = set()
    for st in role.trust.document.statements if role.trust is not None else ():
        if st.effect != "Allow" or not st.may_match_action(action):
            continue
        if st.not_principals is not None:
            return TrustScope(arns=frozenset(), accounts=frozenset(), everyone=True)
        for entry in (st.principals or {}).get("AWS", ()):
            if entry == "*":
                return TrustScope(arns=frozenset(), accounts=frozenset(), everyone=True)
            if is_account_id(entry):
                accounts.add(entry)
            elif is_account_root(entry):
                accounts.add(entry.split(":")[4])
            elif entry in snap.principals:
                arns.add(entry)
    return TrustScope(arns=frozenset(arns), accounts=frozenset(accounts), everyone=False)


def trust_named(snap: Snapshot, action: str, resource: str) -> set[str]:
    """Stored users and roles that `resource`'s trust policy names itself (not via an account) for
    `action`."""
    scope = trust_scope(snap, action, resource)
    if scope is None:
        return set()
    return set(snap.principals) if scope.everyone else set(scope.arns)


def candidates(
    db: Database, snap: Snapshot, action: str, resource: str, named: set[str] | None = None
) -> set[str]:
    """Principals that can possibly be allowed: the database prefilter plus the trust policy's named ones."""
    service = action.split(":", 1)[0]
    found = A.principals_for_service(db, service) | (
        trust_named(snap, action, resource) if named is None else named
    )
    return {arn for arn in found if arn in snap.principals}


def who_can(
    db: Database,
    snap: Snapshot,
    *,
    action: str,
    resource: str,
    context: ContextValues = NO_CONTEXT,
    resource_owner: str | None = None,
    via_chains: bool = False,
    max_depth: int = DEFAULT_CHAIN_DEPTH,
    conditional: bool | None = None,
    cancel: Cancel = NEVER,
    exclude: frozenset[str] = frozenset(),
) -> WhoCan:
    """Every principal allowed `action` on `resource`, unconditionally or under conditions the request does
    not carry (sorted by ARN; chained ones after, shortest first); `conditional` keeps only one kind.
    `cancel` is checked once per candidate (and the chain query stops with it: `Database.interruptible`).
    `exclude`: principals not to decide (resourceAccess: those a level already holds)."""
    check_action(action)
    if not resource:
        raise InputError("`resource` is empty: pass an ARN or `*`")
    if not 1 <= max_depth <= A.MAX_CHAIN_DEPTH:
        raise InputError(f"`maxDepth` must be between 1 and {A.MAX_CHAIN_DEPTH}, got {max_depth}")
    scope = trust_scope(snap, action, resource)
    gov = governing(snap, action, resource) if scope is None else None
    named = set() if scope is None else set(snap.principals) if scope.everyone else set(scope.arns)
    if gov is not None:
        named |= policy_named(snap, gov.policy, action, resource)
        resource_owner = resource_owner or gov.resource.account
    found = candidates(db, snap, action, resource, named)
    if scope is not None:
        found = {arn for arn in found if scope.admits(snap.principals[arn])}
    lowered = action.lower()
    allowed: list[Access] = []
    env = environment()  # one clock for every principal of the answer
    for arn in sorted(found - exclude):
        cancel.check()
        p = snap.principals[arn]
        if arn not in named and not _identity_may_allow(p, lowered, resource):
            continue
        sim = _simulate(snap, gov, arn, action, resource, context, resource_owner, env)
        if sim.evaluation.decision is Decision.ALLOWED or sim.conditional:
            owner = resource_owner or _resource_account(snap, resource) or p.account
            via = access_via(
                sim,
                cross_account=owner != p.account,
                required=gov.required if gov else sim.resource_policy_used == "trust",
            )
            allowed.append(replace(_access(p, sim), via=via))
    outside: list[OutsideGrant] = []
    if gov is not None:
        outside = outside_grants(snap, gov, action=action, resource=resource, context=context, env=env)
    if via_chains and allowed:
        with db.interruptible(cancel):
            allowed += _chained(db, snap, allowed, max_depth)
    if conditional is not None:
        allowed = [a for a in allowed if a.conditional is conditional]
        outside = [o for o in outside if o.conditional is conditional]
    answer = WhoCan(
        action=action,
        resource=resource,
        allowed=tuple(allowed),
        candidates=len(found),
        principals=len(snap.principals),
        outside=tuple(outside),
        governed_by=gov.resource.arn if gov is not None else None,
    )
    return with_unknown(snap, answer, context=context, resource_owner=resource_owner, gov=gov, env=env)


def _simulate(
    snap: Snapshot,
    gov: Governing | None,
    principal: str,
    action: str,
    resource: str,
    context: ContextValues,
    resource_owner: str | None,
    env: dict[str, str] | None = None,
    **extra: Any,
) -> Simulation:
    """`simulate`, with the governing resource's policy and RCPs when there is one."""
    layers: dict[str, Any] = {}
    if gov is not None:
        if gov.policy is not None:
            layers["resource_policy"] = gov.policy
        if gov.rcps:
            layers["rcps"] = [list(level) for level in gov.rcps]
    return simulate(
        snap,
        principal=principal,
        action=action,
        resource=resource,
        context=context,
        resource_owner=resource_owner,
        env=env,
        **layers,
        **extra,
    )


def _resource_account(snap: Snapshot, resource: str) -> str | None:
    target = snap.principal(resource)
    if target is not None:
        return target.account
    return account_of(resource)


_ALLOW_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def with_unknown(
    snap: Snapshot,
    answer: WhoCan,
    *,
    context: ContextValues = NO_CONTEXT,
    resource_owner: str | None = None,
    gov: Governing | None = None,
    env: dict[str, str] | None = None,
) -> WhoCan:
    """`answer` with the principals whose decision rests on a policy without a document moved or added to
    `unknown` (module docstring), sorted by ARN; `env`: the answer's clock (one for every principal)."""
    env = env if env is not None else environment()
    incomplete = {arn: p for arn, p in snap.principals.items() if p.incomplete}
    if not incomplete:
        return answer
    allowed: list[Access] = []
    unknown: dict[str, Access] = {}
    for a in answer.allowed:
        p = incomplete.get(a.principal_arn)
        if p is not None and not a.chain and p.missing_identity:
            unknown[a.principal_arn] = replace(a, incomplete=p.missing_identity)
        else:
            allowed.append(a)
    direct = {a.principal_arn for a in answer.allowed if not a.chain}
    for arn, p in sorted(incomplete.items()):
        if arn in direct:
            continue
        ask = (snap, gov, arn, answer.action, answer.resource, context, resource_owner, env)
        hopeful = _simulate(
            *ask,
            extra_policies=[_ALLOW_ALL] if p.missing_identity else (),
            permissions_boundary=_ALLOW_ALL if p.boundary == () else None,
        )
        if hopeful.evaluation.decision is Decision.ALLOWED:
            unknown[arn] = _access(p, _simulate(*ask), incomplete=p.incomplete)
    return replace(answer, allowed=tuple(allowed), unknown=tuple(unknown[k] for k in sorted(unknown)))


def _identity_may_allow(p: PrincipalInfo, action: str, resource: str) -> bool:
    """False only when no identity Allow statement can match: then (no resource policy naming the principal)
    the engine cannot allow. Uses the engine's memoised per-action statement index; resource patterns with
    policy variables are not resolved here and count as possible matches."""
    for src in p.identity:
        for st in src.document.statements_for(action):
            if st.effect != "Allow":
                continue
            pats = st.resource_patterns
            if pats is None or not all(x.is_static for x in pats) or st.matches_resource(resource, {}):
                return True
    return False


def _access(
    p: PrincipalInfo,
    sim: Simulation,
    chain: tuple[str, ...] = (),
    conditions: tuple[str, ...] = (),
    incomplete: tuple[str, ...] = (),
) -> Access:
    return Access(
        principal_arn=p.arn,
        kind=p.kind,
        account=p.account,
        simulation=sim,
        chain=chain,
        chain_conditions=conditions,
        incomplete=incomplete,
    )


def _chained(db: Database, snap: Snapshot, direct: list[Access], max_depth: int) -> list[Access]:
    by_role = {a.principal_arn: a for a in direct if a.kind == "role"}
    done = {a.principal_arn for a in direct}
    best: dict[str, dict[str, Any]] = {}
    for row in A.principals_reaching(db, by_role, max_depth=max_depth):
        src = row["source"]
        if src in done or src not in snap.principals:
            continue
        old = best.get(src)
        if old is None or (len(row["hops"]), row["hops"]) < (len(old["hops"]), old["hops"]):
            best[src] = row
    out = []
    for src, row in best.items():
        hops = tuple(row["hops"])
        last = by_role[hops[-1]]
        out.append(
            replace(
                _access(snap.principals[src], last.simulation, hops, _hop_conditions(row["conditions"])),
                via=last.via,
            )
        )
    return sorted(out, key=lambda a: (len(a.chain), a.principal_arn))


def _hop_conditions(per_hop: Iterable[str | None]) -> tuple[str, ...]:
    """Union of the condition keys the hops need. CAN_ASSUME.conditions is JSON: a list with one entry per
    condition, `[key, operator, values, ...]` (a bare key or a `{"key": ...}` object is read too)."""
    keys: dict[str, None] = {}
    for text in per_hop:
        if not text:
            continue
        try:
            value = json.loads(text)
        except ValueError:
            keys[text] = None
            continue
        for item in value if isinstance(value, list) else [value]:
            key = (
                item
                if isinstance(item, str)
                else item[0]
                if isinstance(item, list) and item and isinstance(item[0], str)
                else item.get("key")
                if isinstance(item, dict)
                else None
            )
            if isinstance(key, str):
                keys[key] = None
    return tuple(keys)
