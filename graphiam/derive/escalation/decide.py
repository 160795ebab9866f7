"""Every fact an escalation step rests on, decided by the policy engine on a concrete request.

- `Decider.allowed`: may a principal do `action` on a concrete resource (a user, role, group, policy
  ARN …)? Decided as `queries.simulate.simulate` does on the snapshot: groups, boundary, Deny, NotAction,
  conditions and (for `sts:AssumeRole`) the role's trust policy all count; conditions an attacker can
  meet are filled by `policy.witness.settle` and reported as needed.
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
from dataclasses import dataclass
from typing import Any, Literal

from graphiam.arn import account_of, is_account_id, is_account_root
from graphiam.derive.escalation.classes import PRINCIPAL_KEYS, tag_refs, tag_signature
from graphiam.derive.escalation.probes import (
    ADMIN_POLICY_ARN,
    ALL_PROBES,
    ALLOW_ALL,
    PROBES,
    blind_otherwise,
    blind_statement,
    may_be_admin,
    probe_masks,
)
from graphiam.graph.context import TRUST_ACTIONS, build_context, environment, request_context
from graphiam.graph.resources import ResourceInfo
from graphiam.graph.scp_gate import ScpGate
from graphiam.graph.snapshot import PrincipalInfo, Snapshot
from graphiam.policy import (
    Evaluation,
    PolicyDocument,
    PolicySource,
    Request,
    Statement,
    StatementMatch,
    evaluate,
)
from graphiam.policy.request import normalise_context
from graphiam.policy.witness import names_principal, settle

__all__ = [
    "ADMIN_POLICY_ARN",
    "ALL_PROBES",
    "ALLOW_ALL",
    "PROBES",
    "Decider",
    "Use",
    "may_be_admin",
    "probe_masks",
    "names",
    "statement_label",
]

_MISS = object()
# a source's facts about the probes (`Decider._probe_info`)
_ProbeInfo = tuple[bool, int, bool, int, int, bool, int, int, int, int]
# the statements a resource class is read from (each with: its Resource is static) and the tags they test
_ClassStatements = tuple[tuple[tuple[Statement, bool], ...], frozenset[str]]


def names(st: Statement, p: PrincipalInfo) -> bool:
    """The statement of a resource policy applies to `p` as far as Principal / NotPrincipal go (as
    `policy.statement.scan` with `principal=True` reads them; without either it applies to nobody)."""
    return names_principal(st, arn=p.arn, account=p.account, ptype=p.principal_type)


def statement_label(m: StatementMatch) -> str:
    """`<policy id>#<statement index>` plus the Sid when there is one: enough to find the statement."""
    return f"{m.source.policy_id}#{m.index}" + (f" ({m.sid})" if m.sid else "")


@dataclass(frozen=True, kw_only=True)
class Use:
    """A permission an escalation step uses: the request, the statements that allow it, the keys it needs."""

    action: str
    resource: str
    statements: tuple[str, ...]
    needs: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "resource": self.resource,
            "statements": list(self.statements),
            "needs": list(self.needs),
        }


def _use(action: str, resource: str, ev: Evaluation, needs: tuple[str, ...]) -> Use:
    allows = [statement_label(m) for m in ev.matched if m.effect == "Allow"]
    return Use(action=action, resource=resource, statements=tuple(dict.fromkeys(allows)), needs=needs)


def _document_probe_facts(src: PolicySource) -> tuple[Any, ...]:
    """What `Decider._probe_info` reads of a source's document (the same for every source of it): has
    statements for a probe, all of them blind, `probe_masks`, takes part next to `ALLOW_ALL`, then the
    per-probe bit sets (has statements, a Deny or a conditional one, all blind, a Deny)."""
    per = [src.document.statements_for(a.lower()) for a in PROBES]
    stmts = [st for group in per for st in group]
    allow, deny = probe_masks((src,))
    taking_part = bool(per[0]) or any(st.effect == "Deny" or st.compiled_conditions for st in stmts)
    has = cond = blind = denies = 0
    for i, group in enumerate(per):
        bit = 1 << i
        if group:
            has |= bit
        if any(st.effect == "Deny" or st.compiled_conditions for st in group):
            cond |= bit
        if all(blind_statement(st) for st in group):
            blind |= bit
        if any(st.effect == "Deny" for st in group):
            denies |= bit
    all_blind = all(blind_statement(st) for st in stmts)
    return (bool(stmts), all_blind, allow, deny, taking_part, has, cond, blind, denies)


class Decider:
    """Engine decisions over one snapshot, memoised (edge derivation asks the same question often)."""

    def __init__(self, snap: Snapshot, *, share_blind: bool = True) -> None:
        """`share_blind`: an admin probe whose statements read nothing of the principal (`blind_statement`) is
        evaluated once for every principal of an account and type (False: once per principal)."""
        self.snap = snap
        self.share_blind = share_blind
        self.env = environment()
        self.gate = ScpGate(snap)
        self._admin: dict[tuple[Any, ...], Use | None] = {}
        self._trust: dict[tuple[str, str], Use | None] = {}
        self._same: dict[tuple[Any, ...], Use | None] = {}
        self._exact: dict[tuple[Any, ...], Use | None] = {}
        self._on_resource: dict[tuple[Any, ...], Use | None] = {}
        self._probes: dict[tuple[Any, ...], tuple[tuple[str, ...], tuple[str, ...]] | None] = {}
        self._ctx0: dict[str, tuple[dict[str, Any], Any]] = {}
        self._choices: dict[str, Any] = {}
        self._last_failed: dict[str, int] = {}
        self._fails: dict[tuple[Any, ...], int] = {}
        self._allow_docs: dict[tuple[int, str], bool] = {}
        self._allows: dict[tuple[Any, ...], tuple[Any, ...]] = {}
        self._ctx: dict[str, Any] = {}
        self._tag_ref_memo: dict[int, frozenset[str]] = {}  # statements live as long as the snapshot
        # memo keys name policies by a small int per (document, policy id) (`_source_key`), the sources kept
        # alive so that their ids stay theirs; per (source, action): has statements, key, blind
        self._source_keys: dict[int, tuple[PolicySource, int]] = {}
        self._doc_keys: dict[tuple[int, str], int] = {}
        self._source_action: dict[tuple[int, str], tuple[bool, int, bool]] = {}
        self._source_probes: dict[int, _ProbeInfo] = {}
        self._doc_probes: dict[int, tuple[PolicyDocument, tuple[Any, ...]]] = {}  # the document kept alive
        self._class_memo: dict[tuple[Any, ...], _ClassStatements | None] = {}
        self._gated: dict[tuple[str, int], bool] = {}
        self._trust_docs: dict[tuple[int, str], bool] = {}  # documents live as long as the snapshot
        # the stored principals' identity and boundary tuples live as long as the snapshot: memo keys by id
        self._stable = {id(t) for p in snap.principals.values() for t in (p.identity, p.boundary) if t}
        self._relevant_memo: dict[tuple[int, str], tuple[tuple[int, ...], bool]] = {}
        self._last_relevant: tuple[Any, str, tuple[tuple[int, ...], bool]] = (None, "", ((), True))
        self._probed_memo: dict[int, tuple[tuple[int, ...], bool]] = {}
        self._admin_facts_memo: dict[tuple[Any, ...], tuple[tuple[Any, ...], bool]] = {}

    def allowed(
        self, p: PrincipalInfo, action: str, resource: str, fixed: Mapping[str, Any] | None = None
    ) -> Use | None:
        """The principal may do `action` on `resource` (perhaps once it meets some conditions).

        As `queries.simulate.simulate` decides it (same context, the role's trust policy as the resource
        policy for `sts:AssumeRole*` on a stored role), but for the `PrincipalInfo` given, which may be a
        stored principal with changed policies (after joining a group, say). Resources the principal's
        statements for the action cannot tell apart (`_resource_class`: the same Resource/NotResource matches,
        the same tags where a statement looks at them, the same owner) get one decision, computed once."""
        use = self._decided(p, action, resource, fixed)
        # the stored organization's SCPs last, per resource: a class shares the identity side's decision only
        return use if use is None or self.gate.allows(p, action, resource) else None

    def _decided(
        self, p: PrincipalInfo, action: str, resource: str, fixed: Mapping[str, Any] | None
    ) -> Use | None:
        target = self.snap.principal(resource)
        owner = target.account if target is not None else None
        low = action.lower()
        # only sources with statements for the action take part in the decision (a group joined, a policy
        # added that says nothing about the action leave it as it was); when none of their statements reads
        # anything of the principal (`blind_statement`), every principal of the account and type with those
        # sources gets the same decision (up to the resource ARN): it is shared (`share_blind`), else the key
        # names the principal
        ik, iblind = self._relevant(p.identity, low)
        bk, bblind = (None, True) if p.boundary is None else self._relevant(p.boundary, low)
        shared = self.share_blind and iblind and bblind
        if (
            shared and low in TRUST_ACTIONS
        ):  # the role's trust policy decides too: shared if it names accounts
            shared = target is not None and target.kind == "role" and self._trust_by_account(target, low)
        who = (
            p.account if shared else p.arn,
            p.kind,
            ik,
            bk,
            action,
            tuple(sorted(fixed.items())) if fixed else (),
        )
        cls = self._resource_class(p, low, resource, target, (shared, *who[:4]))
        if cls is not None:
            key = (*who, owner, account_of(resource), cls)
            if key in self._same:
                hit = self._same[key]
            else:
                hit = self._same[key] = self._allowed(p, action, resource, fixed, target, owner)
            if hit is None or hit.resource == resource:
                return hit
            return Use(action=hit.action, resource=resource, statements=hit.statements, needs=hit.needs)
        exact = (*who, resource)
        if exact not in self._exact:
            self._exact[exact] = self._allowed(p, action, resource, fixed, target, owner)
        return self._exact[exact]

    def _trust_by_account(self, role: PrincipalInfo, low: str) -> bool:
        """The role's trust statements for the action name principals only as everyone (`*`) or an account,
        and read nothing else of the principal (`probes.blind_otherwise`): every principal of an account and
        type gets the same decision on it."""
        trust = role.trust
        if trust is None:
            return True
        key = (id(trust.document), low)
        hit = self._trust_docs.get(key)
        if hit is None:
            hit = self._trust_docs[key] = all(
                st.not_principals is None
                and all(
                    e == "*" or is_account_id(e) or is_account_root(e)
                    for e in (st.principals or {}).get("AWS", ())
                )
                and blind_otherwise(st)
                for st in trust.document.statements_for(low)
            )
        return hit

    def _resource_class(
        self,
        p: PrincipalInfo,
        low: str,
        resource: str,
        target: PrincipalInfo | None,
        memo: tuple[Any, ...],
    ) -> tuple[Any, ...] | None:
        """What the principal's statements for the action see of `resource` (see `escalation.classes`): each
        Resource/NotResource match, with variables resolved from the principal and unresolved (as
        `policy.witness.witnesses` reads them), and the tags the statements test. None (decide on its own) for
        a trust action or a Resource interpolating a key the request might define. `memo`: what the
        statements taking part depend on (their sources' keys, and the principal unless they are blind)."""
        if low in TRUST_ACTIONS:
            return None
        if memo in self._class_memo:
            found = self._class_memo[memo]
        else:
            found = self._class_memo[memo] = self._class_statements(p, low)
        if found is None:
            return None
        stmts, refs = found
        ctx = self._context(p)
        bits: list[bool] = []
        for st, static in stmts:
            bits.append(st.matches_resource(resource, ctx))
            if not static:
                bits.append(st.matches_resource(resource, {}))
        tags = tag_signature(target.tags, refs) if refs and target is not None else ()
        return tuple(bits), tags

    def _class_statements(self, p: PrincipalInfo, low: str) -> _ClassStatements | None:
        """The statements `_resource_class` matches (each with: its Resource is static) and the tags they
        test; None when a Resource interpolates a key the principal does not define."""
        ctx = self._context(p)
        stmts: list[tuple[Statement, bool]] = []
        refs: frozenset[str] = frozenset()
        for src in (*p.identity, *(p.boundary or ())):
            for st in src.document.statements_for(low):
                refs |= self._tag_refs(st)
                if st.resource_patterns is None:
                    continue
                if any(
                    k not in ctx and not k.startswith(PRINCIPAL_KEYS)
                    for pat in st.resource_patterns
                    for k in pat.variable_keys
                ):
                    return None
                stmts.append((st, all(pat.is_static for pat in st.resource_patterns)))
        return tuple(stmts), refs

    def _tag_refs(self, st: Statement) -> frozenset[str]:
        hit = self._tag_ref_memo.get(id(st))
        if hit is None:
            hit = self._tag_ref_memo[id(st)] = tag_refs(st)
        return hit

    def _context(self, p: PrincipalInfo) -> dict[str, Any]:
        ctx = self._ctx.get(p.arn)
        if ctx is None:
            ctx = self._ctx[p.arn] = normalise_context(p.derived_context())
        return ctx

    def signature(self, p: PrincipalInfo, actions: Sequence[str]) -> tuple[Any, ...]:
        """A key such that principals with equal keys get the same `allowed` and `may_allow` answers for these
        actions on every resource (up to the resource ARN in the proof): the sources with statements for each
        action, the account and type, the SCP levels; and the principal's ARN unless every statement taking
        part is blind and the SCPs read nothing of the principal (`share_blind`), or for a trust action."""
        shared = self.share_blind and self.gate.shared(p)
        parts = []
        for action in actions:
            low = action.lower()
            ik, iblind = self._relevant(p.identity, low)
            bk, bblind = (None, True) if p.boundary is None else self._relevant(p.boundary, low)
            shared = shared and iblind and bblind and low not in TRUST_ACTIONS
            parts.append((ik, bk))
        return (p.account if shared else p.arn, p.kind, None if p.scps is None else id(p.scps), tuple(parts))

    def _source_key(self, src: PolicySource) -> int:
        """A small int naming the source's (document, policy id): statement labels name the policy id."""
        hit = self._source_keys.get(id(src))
        if hit is None:
            k = self._doc_keys.setdefault((id(src.document), src.policy_id), len(self._doc_keys))
            hit = self._source_keys[id(src)] = (src, k)
        return hit[1]

    def _relevant(self, sources: Sequence[PolicySource], low: str) -> tuple[tuple[int, ...], bool]:
        """The keys of the sources with statements for the action, and whether all those are blind; memoised
        for the stored principals' own tuples (they live as long as the snapshot)."""
        if id(sources) in self._stable:
            hit = self._relevant_memo.get((id(sources), low))
            if hit is None:
                hit = self._relevant_memo[(id(sources), low)] = self._relevant_of(sources, low)
            return hit
        last = self._last_relevant  # `may_allow` then `_decided` ask the same changed principal in turn
        if last[0] is sources and last[1] == low:
            return last[2]
        out = self._relevant_of(sources, low)
        self._last_relevant = (sources, low, out)
        return out

    def _relevant_of(self, sources: Sequence[PolicySource], low: str) -> tuple[tuple[int, ...], bool]:
        keys: list[int] = []
        blind = True
        memo = self._source_action
        for src in sources:
            hit = memo.get((id(src), low))
            if hit is None:
                stmts = src.document.statements_for(low)
                k = self._source_key(src)  # keeps `src` alive: its id stays its own
                hit = memo[(id(src), low)] = (bool(stmts), k, all(blind_statement(st) for st in stmts))
            if hit[0]:
                keys.append(hit[1])
                blind = blind and hit[2]
        return tuple(keys), blind

    def may_allow(self, p: PrincipalInfo, action: str, resource: str) -> bool:
        """Cheap necessary condition for `allowed`: an identity Allow statement for the action whose Resource
        admits `resource` (variables resolved from the principal). Conditions and denies are left to the
        engine. Not for `sts:AssumeRole*`: a trust policy naming the principal needs no identity Allow."""
        low = action.lower()
        if low in TRUST_ACTIONS:
            return True
        key = (self._relevant(p.identity, low)[0], low)
        stmts = self._allows.get(key)
        if stmts is None:
            stmts = self._allows[key] = tuple(
                st for src in p.identity for st in src.document.statements_for(low) if st.effect == "Allow"
            )
        if not stmts:
            return False
        ctx = self._context(p)
        return any(st.matches_resource(resource, ctx) for st in stmts)

    def trust_may_name(self, p: PrincipalInfo, role_arn: str, action: str) -> bool:
        """Cheap necessary condition for `allowed` on a trust action (`sts:AssumeRole`): an Allow statement of
        the role's trust policy for `action` names the principal (conditions aside). Without one the trust
        allows nothing for the principal, and assuming a role needs the trust to allow. True for a resource
        that is not a stored role."""
        role = self.snap.principal(role_arn)
        if role is None or role.kind != "role":
            return True
        if role.trust is None:
            return False
        return any(
            st.effect == "Allow" and names(st, p) for st in role.trust.document.statements_for(action.lower())
        )

    def _allowed(
        self,
        p: PrincipalInfo,
        action: str,
        resource: str,
        fixed: Mapping[str, Any] | None,
        target: PrincipalInfo | None,
        owner: str | None,
        res: ResourceInfo | None = None,
    ) -> Use | None:
        # the request context every question uses (graph.context: the clock read once per Decider, a role
        # session's aws:TokenIssueTime, the target's tags as aws:/iam:ResourceTag), plus the technique's keys
        base: dict[str, Any] = {**self.env, **(fixed or {})}
        choices = self._choices.get(p.kind)  # they depend on the kind of principal only (graph.context)
        if choices is None:
            choices = self._choices[p.kind] = build_context(p, self.snap, "*", {}, env=self.env).choices
        sources: list[PolicySource] = [*p.identity, *(p.boundary or ())]
        trust = None
        if target is not None and target.kind == "role" and action.lower() in TRUST_ACTIONS:
            trust = target.trust
            if trust is None:
                return None
            sources.append(trust)
        rp, required, rcps = trust, trust is not None, None
        if res is not None:  # a stored resource: its policy (a KMS key's is required), its account's RCPs
            rp, required, rcps = res.policy, res.policy is not None and res.type == "kms:key", None
            levels = self.snap.rcp_levels(res.account)
            rcps = [list(level) for level in levels] if levels else None
            if res.policy is not None:
                sources.append(res.policy)

        def run(ctx: Mapping[str, Any]) -> Evaluation:
            req = Request(
                action=action,
                resource=resource,
                principal_arn=p.arn,
                principal_account=p.account,
                principal_type=p.principal_type,
                resource_account=owner,
                context=request_context(p, self.snap, resource, ctx, env=self.env),
            )
            return evaluate(
                req,
                identity=p.identity,
                boundaries=p.boundary,
                resource_policy=rp,
                resource_policy_required=required,
                rcps=rcps,
            )

        s = settle(run, base, sources, action, resource, choices)
        return None if s is None else _use(action, resource, s.evaluation, s.needs)

    def allowed_on_resource(
        self, p: PrincipalInfo, action: str, res: ResourceInfo, fixed: Mapping[str, Any] | None = None
    ) -> Use | None:
        """The principal may do `action` on the stored resource `res` (perhaps under some conditions): its
        identity policies, boundary and SCPs as `allowed`, and the resource's own policy (a KMS key's
        required), the RCPs of its account, the resource's account as owner. Decided per resource (a class of
        resources would mix different policies)."""
        key = (p.arn, action, res.arn, tuple(sorted((fixed or {}).items())))
        if key not in self._on_resource:
            use = self._allowed(p, action, res.arn, fixed, None, res.account, res=res)
            self._on_resource[key] = use if use is None or self.gate.allows(p, action, res.arn) else None
        return self._on_resource[key]

    def trusts_service(self, role: PrincipalInfo, service: str) -> Use | None:
        """The role's trust policy lets `service` assume it (`aws:SourceAccount`: the role's account)."""
        key = (role.arn, service)
        if key not in self._trust:
            self._trust[key] = self._service_trust(role, service)
        return self._trust[key]

    def _service_trust(self, role: PrincipalInfo, service: str) -> Use | None:
        trust = role.trust
        if trust is None:
            return None

        def run(ctx: Mapping[str, Any]) -> Evaluation:
            req = Request(
                action="sts:AssumeRole",
                resource=role.arn,
                principal_arn=service,
                principal_account=None,
                principal_type="Service",
                resource_account=role.account,
                context=ctx,
            )
            return evaluate(req, identity=(), resource_policy=trust, resource_policy_required=True)

        base = {**self.env, "aws:SourceAccount": role.account}
        s = settle(run, base, (trust,), "sts:AssumeRole", role.arn)
        return None if s is None else _use("sts:AssumeRole", role.arn, s.evaluation, s.needs)

    def admin_with(
        self,
        p: PrincipalInfo,
        identity: Sequence[PolicySource] | None = None,
        boundary: Sequence[PolicySource] | None | Literal[True] = True,
    ) -> Use | None:
        """Administrator with these identity policies and boundary (default: the principal's own; `None`:
        no boundary)? Returns the `*` probe's proof (every probe's needed keys merged), else None."""
        ident = tuple(p.identity if identity is None else identity)
        bound = p.boundary if boundary is True else boundary
        # only sources with statements for a probe take part (a group joined that says nothing about them
        # leaves the verdict and its proof as they were); `may_be_admin` reads those sources only, too
        key, possible = self._admin_facts(p, ident, bound)
        hit = self._admin.get(key, _MISS)
        if hit is _MISS:
            if not possible:
                self._admin[key] = None
                return None
            hit = self._admin[key] = self._probe(p, ident, bound)  # type: ignore[arg-type]
            if hit is None:
                self._fails[key] = self._last_failed[p.arn]
        if hit is not None and p.scps is not None and not self._gate_admin(p):
            return None  # an SCP of the principal's organization denies a probe: capped below administrator
        return hit  # type: ignore[return-value]

    def _gate_admin(self, p: PrincipalInfo) -> bool:
        """The stored organization's SCPs let the principal make every probe (they read the principal's keys,
        not its policies: a changed principal shares the stored one's answer)."""
        key = (p.arn, id(p.scps))
        hit = self._gated.get(key)
        if hit is None:
            hit = self._gated[key] = all(self.gate.allows(p, a, "*") for a in PROBES)
        return hit

    def has_allows(self, sources: Sequence[PolicySource], action: str) -> bool:
        """Some source has an Allow statement whose Action/NotAction admits `action`: without one, an identity
        policy evaluation (no resource policy) never allows it."""
        low = action.lower()
        for src in sources:
            key = (id(src.document), low)
            hit = self._allow_docs.get(key)
            if hit is None:
                hit = self._allow_docs[key] = any(
                    st.effect == "Allow" for st in src.document.statements_for(low)
                )
            if hit:
                return True
        return False

    def _admin_key(
        self, p: PrincipalInfo, ident: Sequence[PolicySource], bound: Sequence[PolicySource] | None
    ) -> tuple[Any, ...]:
        return self._admin_facts(p, tuple(ident), bound)[0]

    def _admin_facts(
        self, p: PrincipalInfo, ident: tuple[PolicySource, ...], bound: Sequence[PolicySource] | None
    ) -> tuple[tuple[Any, ...], bool]:
        """The memo key of `admin_with` and `may_be_admin(ident)`. The key: the sources with statements for a
        probe (by `_source_key`), and the principal's account and type when all of them are blind
        (`share_blind`: every principal of the account and type gets the same verdict and proof,
        `_probe_one`), else its ARN. With `ALLOW_ALL` in the identity and no boundary, only the sources
        `_probe` evaluates take part: those with a statement for the first probe, a Deny or a condition for a
        probe (an unconditional Allow adds nothing to `*` on `*`)."""
        stored = id(ident) in self._stable and (bound is None or id(bound) in self._stable)
        stable = (id(ident), None if bound is None else id(bound), p.arn, p.kind)
        if stored:
            hit = self._admin_facts_memo.get(stable)
            if hit is not None:
                return hit
        every = bound is None and any(s is ALLOW_ALL for s in ident)
        keys: list[int] = []
        blind = True
        allow = deny = 0
        memo = self._source_probes
        for src in ident:
            info = memo.get(id(src))
            if info is None:
                info = self._probe_info(src)
            allow |= info[3]
            deny |= info[4]
            if info[0] and (not every or info[5]):
                keys.append(info[1])
                blind = blind and info[2]
        bk, bblind = (None, True) if bound is None else self._probed_keys(bound)
        shared = self.share_blind and blind and bblind
        out = (
            (p.account if shared else p.arn, p.kind, every, tuple(keys), bk),
            allow == ALL_PROBES and not deny,
        )
        if stored:
            self._admin_facts_memo[stable] = out
        return out

    def _probe_info(self, src: PolicySource) -> _ProbeInfo:
        """Of a source's statements for the probes: has some, its key, all blind, its `probe_masks`, and has
        one `_probe` evaluates next to `ALLOW_ALL` (a statement for the first probe, a Deny, a condition);
        then per probe (bit i for `PROBES[i]`): has statements, a Deny or a conditional one (`_probe_one`'s
        `needs_only`), all blind, a Deny."""
        k = self._source_key(src)  # keeps `src` alive
        doc = src.document
        facts = self._doc_probes.get(id(doc))
        if facts is None or facts[0] is not doc:  # per document: sources of one policy share it
            facts = self._doc_probes[id(doc)] = (doc, _document_probe_facts(src))
        has_any, all_blind, allow, deny, taking_part, has, cond, blind, denies = facts[1]
        hit = self._source_probes[id(src)] = (
            has_any,
            k,
            all_blind,
            allow,
            deny,
            taking_part,
            has,
            cond,
            blind,
            denies,
        )
        return hit

    def _infos(self, sources: Sequence[PolicySource]) -> list[_ProbeInfo]:
        memo = self._source_probes
        return [memo.get(id(src)) or self._probe_info(src) for src in sources]

    def masks(self, sources: Sequence[PolicySource]) -> tuple[int, int]:
        """`probes.probe_masks(sources)`, from the per-source facts."""
        allow = deny = 0
        for info in self._infos(sources):
            allow |= info[3]
            deny |= info[4]
        return allow, deny

    def _probed_keys(self, sources: Sequence[PolicySource]) -> tuple[tuple[int, ...], bool]:
        if id(sources) in self._stable:
            hit = self._probed_memo.get(id(sources))
            if hit is None:
                hit = self._probed_memo[id(sources)] = self._probed_keys_of(sources)
            return hit
        return self._probed_keys_of(sources)

    def _probed_keys_of(self, sources: Sequence[PolicySource]) -> tuple[tuple[int, ...], bool]:
        keys: list[int] = []
        blind = True
        memo = self._source_probes
        for src in sources:
            hit = memo.get(id(src))
            if hit is None:
                hit = self._probe_info(src)
            if hit[0]:
                keys.append(hit[1])
                blind = blind and hit[2]
        return tuple(keys), blind

    def failed_probe(self, p: PrincipalInfo) -> int | None:
        """The index in `PROBES` of a probe the engine refuses the principal as it is (its own identity and
        boundary); None when it is administrator or when no probe was evaluated (`may_be_admin` failed). More
        identity policies without statements for that probe cannot make it administrator."""
        if self.admin_with(p) is not None:
            return None
        key, possible = self._admin_facts(p, p.identity, p.boundary)
        return self._fails.get(key) if possible else None

    def refusal(self, p: PrincipalInfo, identity: Sequence[PolicySource]) -> int | None:
        """Why `admin_with(p, identity)` (the principal's own boundary) is None: the index in `PROBES` of a
        probe the engine refused, or -1 for an unconditional Deny of a probe (`probe_masks`); None when it is
        administrator or a probe no Allow statement grants. More identity policies without statements for the
        refused probe (any policies, for -1) cannot make it administrator: only sources with statements for a
        probe take part in its evaluation."""
        ident = tuple(identity)
        if self.admin_with(p, ident) is not None:
            return None
        allow, deny = self.masks(ident)
        if deny:
            return -1
        if allow != ALL_PROBES:
            return None
        return self._fails.get(self._admin_key(p, ident, p.boundary))

    def touched_probes(self, sources: Sequence[PolicySource]) -> int:
        """Bit i set: a source has a statement (Allow or Deny) for `PROBES[i]`."""
        mask = 0
        for info in self._infos(sources):
            mask |= info[6]
        return mask

    def _probe(
        self, p: PrincipalInfo, ident: tuple[PolicySource, ...], bound: tuple[PolicySource, ...] | None
    ) -> Use | None:
        first: tuple[str, ...] | None = None
        needs: set[str] = set()
        infos = self._infos(ident)
        binfos = None if bound is None else self._infos(bound)
        # with an unconditional Allow * and no boundary, a probe no Deny statement names is allowed as is (no
        # keys needed): only the first probe (for its statements) and the denied ones are evaluated
        denied = -1
        if bound is None and any(s is ALLOW_ALL for s in ident):
            denied = 1
            for info in infos:
                denied |= info[9]
        # the probe that failed last for this principal goes first (a changed principal usually fails it too;
        # the verdict does not depend on the order)
        last = self._last_failed.get(p.arn, 0)
        for i in (last, *(j for j in range(len(PROBES)) if j != last)):
            if not denied >> i & 1:
                continue
            hit = self._probe_one(p, i, ident, infos, bound, binfos, needs_only=denied != -1 and i != 0)
            if hit is None:
                self._last_failed[p.arn] = i
                return None
            needs.update(hit[1])
            if i == 0:
                first = hit[0]
        assert first is not None
        return Use(action="*", resource="*", statements=first, needs=tuple(sorted(needs)))

    def _probe_one(
        self,
        p: PrincipalInfo,
        i: int,
        ident: tuple[PolicySource, ...],
        infos: list[_ProbeInfo],
        bound: tuple[PolicySource, ...] | None,
        binfos: list[_ProbeInfo] | None,
        *,
        needs_only: bool = False,
    ) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
        """Probe `PROBES[i]` (allowed statements, needed keys), decided on the sources with statements for
        it only: the others take no part in the evaluation, so changed principals that differ only there share
        it.
        `needs_only` (the identity holds `ALLOW_ALL`, there is no boundary, and only the verdict and needed
        keys are used): sources whose statements for the probe are all unconditional Allows are left out too —
        with an unconditional Allow * already there they change neither the verdict nor the keys missing."""
        action = PROBES[i]
        low = action.lower()
        bit = 1 << i
        if needs_only:
            ix = [k for k, src in enumerate(ident) if src is ALLOW_ALL or infos[k][7] & bit]
        else:
            ix = [k for k, info in enumerate(infos) if info[6] & bit]
        bx = None if binfos is None else [k for k, info in enumerate(binfos) if info[6] & bit]
        # statements that cannot tell principals apart give every principal of the account and type the same
        # evaluation, whichever principal's copy of the policies (labels name the policy, not the copy)
        shared = (
            self.share_blind
            and all(infos[k][8] & bit for k in ix)
            and (binfos is None or bx is None or all(binfos[k][8] & bit for k in bx))
        )
        key: tuple[Any, ...] = (
            (p.account, p.principal_type) if shared else p.arn,
            low,
            tuple(infos[k][1] for k in ix),
            None if binfos is None or bx is None else tuple(binfos[k][1] for k in bx),
        )
        if key in self._probes:
            return self._probes[key]
        idr = tuple(ident[k] for k in ix)
        bdr = None if bound is None or bx is None else tuple(bound[k] for k in bx)
        hit0 = self._ctx0.get(p.arn)
        if hit0 is None:
            built = build_context(p, self.snap, "*", {}, env=self.env)
            hit0 = self._ctx0[p.arn] = (built.values, built.choices)
        ctx0, choices = hit0

        def run(ctx: Mapping[str, Any]) -> Evaluation:
            req = Request(
                action=action,
                resource="*",
                principal_arn=p.arn,
                principal_account=p.account,
                principal_type=p.principal_type,
                resource_account=p.account,
                context=ctx,
            )
            return evaluate(req, identity=idr, boundaries=bdr)

        s = settle(run, ctx0, [*idr, *(bdr or ())], action, "*", choices)
        out = None if s is None else (_use("*", "*", s.evaluation, s.needs).statements, s.needs)
        self._probes[key] = out
        return out
