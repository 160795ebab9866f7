"""Witness contexts: a request context under which the engine allows a request, and what it must supply.

An edge the graph draws from a policy decision (an escalation step, a CAN_ASSUME hop) holds when there is SOME
request context under which AWS allows the call (IAM User Guide "Policy evaluation logic"; "IAM JSON policy
elements: Condition"): a step that needs MFA, an external ID or a source IP is an edge that carries that need,
not a missing edge. The engine decides every request; this module only looks for a *witness* context to hand
it. Context keys are of two kinds (IAM User Guide "AWS global condition context keys"):

- keys AWS sets from the principal, the target resource and the time (`aws:PrincipalTag/*`,
  `aws:ResourceTag/*`, `aws:CurrentTime` …) are never invented: a condition on one that fails cannot hold.
  `fixed_key` says which keys the principal and the role determine; `set_by_aws` widens that to every key AWS
  sets for a principal of the graph, plus the keys an escalation technique fixes (`iam:PassedToService`,
  `iam:PolicyARN` …);
- keys the caller controls (`aws:MultiFactorAuthPresent`, `aws:SourceIp`, `sts:ExternalId`, OIDC `sub`/`aud`
  …) get a value read from the conditions themselves.

Two searches, for two questions:

- `settle` (escalation steps, asked for every permission of every technique and actor, so it must be cheap):
  the request with the keys AWS derives; if it is refused and statements tested keys the request lacked, ONE
  second try with a witness value per missing key (`witnesses`: favourable defaults such as MFA used, else a
  value read off an Allow condition, or one that defeats a Deny condition). The step needs those keys.
- `decide` (CAN_ASSUME hops): a bounded search over statement combinations, each value tested against its
  condition, that can switch a conditional Deny off and reports the conditions the hop needs (described
  statement by statement); for a principal outside the graph its own keys are free.

They are not one algorithm folded in two: `settle` treats more keys as set by AWS (organisation and account
keys, the source account, the technique's keys, the time) and never leaves a key absent, while `decide` can;
one run in place of the other would change which edges exist. What they share is the key vocabulary above and
`names_principal`.

`decide` in detail:

1. Split the context keys into FIXED ones, which the principal and the role determine (`aws:PrincipalArn`,
   `aws:PrincipalAccount`, `aws:PrincipalType`, `aws:username`, `aws:userid`, every `aws:PrincipalTag/*`,
   the role's `aws:ResourceTag/*`/`iam:ResourceTag/*`), and FREE ones the caller controls when calling STS.
   A fixed key absent from the context stays absent: a principal without a `team` tag cannot satisfy
   `aws:PrincipalTag/team`. For principals outside the graph (another account's root, `*`) the principal-side
   keys are free.
2. Evaluate with the fixed keys only. ALLOWED: an edge that needs nothing.
3. Otherwise try witness contexts, in a bounded order: for one trust statement, then optionally one identity
   and one boundary statement, whose Action/Resource/Principal match, pick for each of their conditions on a
   free key a value that satisfies it (tried against the condition itself: literals, wildcards filled,
   an address inside a CIDR, a number or date next to the bound, `true`/`false`, or leaving the key absent).
   If the engine then says EXPLICIT_DENY, try to switch the deny off by making one of its free-key conditions
   false without touching a key the allow needed; a deny with no such condition applies regardless of context
   and removes the hop. The first witness the engine ALLOWS gives the edge; the conditions it lists are the
   free-key conditions of the chosen allow statements (effect Allow: must hold) and of the denies switched off
   (effect Deny: must not hold).

The search is sound (every edge is an engine ALLOWED decision for a concrete context) and complete for the
condition shapes policies use in practice (each free key constrained by one statement of each part); two
statements constraining one key with different values are covered by trying each statement in turn.
"""

from __future__ import annotations

import ipaddress
import itertools
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from graphiam.policy import Decision, Evaluation, PolicySource, Request, Statement, StatementMatch, evaluate
from graphiam.policy.conditions import Condition
from graphiam.policy.principals import match_principal
from graphiam.policy.request import normalise_context

MAX_ATTEMPTS = 64
DENY_ROUNDS = 4
_TARGET_PREFIXES = ("aws:resourcetag/", "iam:resourcetag/")  # the target's tags
_PRINCIPAL_KEYS = frozenset(
    {"aws:principalarn", "aws:principalaccount", "aws:principaltype", "aws:username", "aws:userid"}
)
_PRINCIPAL_PREFIXES = ("aws:principaltag/",)
# the other keys AWS sets for a request of a principal of the graph: the rest of the principal's and the
# resource's keys (organisation, account …), the time, and the keys an escalation technique fixes
_ALSO_SET_BY_AWS = (
    "aws:principal",
    "aws:username",
    "aws:userid",
    "aws:resource",
    "aws:currenttime",
    "aws:epochtime",
    "aws:tokenissuetime",
    "iam:passedtoservice",
    "iam:policyarn",
    "iam:permissionsboundary",
    "aws:sourceaccount",
)
# what an attacker does anyway when a condition asks for it (`settle` still reports them as needed)
FAVOURABLE: Mapping[str, str] = {
    "aws:multifactorauthpresent": "true",
    "aws:multifactorauthage": "1",
    "aws:securetransport": "true",
    "aws:viaawsservice": "false",
}
_VAR = re.compile(r"\$\{([^}]*)\}")
ABSENT: Any = object()  # in a `Choices` tuple: the request may leave the key out
_ABSENT = ABSENT
# keys (lower-cased) a request can carry only with some values (ABSENT: or leave out): the way the caller
# signs in decides them (graphiam.graph.context), e.g. aws:TokenIssueTime of an IAM user: absent with a
# long-term access key, now with temporary credentials
Choices = Mapping[str, tuple[Any, ...]]
NO_CHOICES: Choices = {}


def fixed_key(key: str, *, principal_known: bool) -> bool:
    """Whether `key` is determined by the principal and the role rather than by the caller (`decide`)."""
    k = key.lower()
    if k.startswith(_TARGET_PREFIXES):
        return True
    if not principal_known:
        return False
    return k in _PRINCIPAL_KEYS or k.startswith(_PRINCIPAL_PREFIXES)


def set_by_aws(key: str) -> bool:
    """Whether `settle` must never invent a value for `key`: a fixed key of a known principal, or another key
    AWS sets from the principal, the resource or the time, or one the escalation technique fixes."""
    k = key.lower()
    return fixed_key(k, principal_known=True) or k.startswith(_ALSO_SET_BY_AWS)


def names_principal(st: Statement, *, arn: str, account: str | None, ptype: str) -> bool:
    """A resource-policy statement applies to this principal as far as Principal / NotPrincipal go (as
    `policy.statement.scan` reads them: a statement with neither applies to nobody)."""
    if st.principals is not None:
        return match_principal(st.principals, arn=arn, account=account, ptype=ptype) is not None
    if st.not_principals is not None:
        return match_principal(st.not_principals, arn=arn, account=account, ptype=ptype) is None
    return False


# ---- settle: one fill of the missing keys (escalation steps) ----


@dataclass(frozen=True, kw_only=True)
class Settled:
    """An allowed request: the evaluation, and the condition keys that had to be supplied."""

    evaluation: Evaluation
    needs: tuple[str, ...]


def settle(
    run: Callable[[Mapping[str, Any]], Evaluation],
    base: Mapping[str, Any],
    sources: Iterable[PolicySource],
    action: str,
    resource: str,
    choices: Choices = NO_CHOICES,
) -> Settled | None:
    """Allowed with `base`, or with `base` plus witnesses for the missing keys; else None. `run(ctx)`
    evaluates the request with context `ctx`; `sources` are the policies whose conditions witnesses are read
    from. A key listed in `choices` (aws:TokenIssueTime of a user: temporary credentials issued now) may be
    supplied even when AWS sets it, and only with a value listed there."""
    first = run(base)
    if first.decision is Decision.ALLOWED:
        return Settled(evaluation=first, needs=())
    present = {k.lower() for k in base}
    missing = [
        k
        for k in first.missing_context_keys
        if k.lower() not in present and (k.lower() in choices or not set_by_aws(k))
    ]
    if not missing:
        return None
    filled = witnesses(missing, sources, action.lower(), resource)
    for key in missing:
        options = choices.get(key.lower())
        if options is None:
            continue
        allowed = [v for v in options if v is not _ABSENT]
        if filled.get(key) not in allowed:
            if allowed:
                filled[key] = allowed[0]
            else:
                filled.pop(key, None)
    if not filled:
        return None
    second = run({**base, **filled})
    if second.decision is not Decision.ALLOWED:
        return None
    return Settled(evaluation=second, needs=tuple(sorted(filled)))


def witnesses(keys: list[str], sources: Iterable[PolicySource], action: str, resource: str) -> dict[str, str]:
    """A value per key: favourable defaults, else read from an Allow (true) or a Deny (false) condition of a
    statement for `action` (lower-cased) whose Resource admits `resource` (variables unresolved)."""
    wanted = {k.lower(): k for k in keys}
    out: dict[str, str] = {}
    for low, key in wanted.items():
        if low in FAVOURABLE:
            out[key] = FAVOURABLE[low]
    for src in sources:
        for st in src.document.statements_for(action):
            if not st.matches_resource(resource, {}):
                continue
            for c in st.compiled_conditions:
                asked = wanted.get(c.key_lower)
                if asked is None or asked in out:
                    continue
                value = _witness(c, want=st.effect == "Allow")
                if value is not None:
                    out[asked] = value
    return out


def _witness(c: Condition, *, want: bool) -> str | None:
    """A request value that makes `c` evaluate to `want`, when one is easy to read off the policy."""
    base = c.spec.base
    name = base.name.lower()
    values = [v for v in c.values if "${" not in v]
    if base.presence:
        return "present" if any((v.lower() == "false") == want for v in values) else None
    if not values:
        return None
    if want and base.negated:
        return None  # a negated operator is already true for an absent key
    if not want and not base.negated:  # a Deny that applies (…IfExists): a value that does not match
        if name == "bool":
            return "false" if values[0].lower() == "true" else "true"
        return "graphiam-unmatched"
    # an Allow's positive test, or a Deny's negated test (false when the value matches)
    return _positive(name.replace("not", "", 1) if base.negated else name, values[0])


def _positive(name: str, value: str) -> str | None:
    """A value satisfying the positive operator `name` against policy `value`."""
    if name.startswith(("string", "arn")):
        return value.replace("*", "x").replace("?", "x")
    if name == "bool":
        return value.lower()
    if name == "ipaddress":
        try:
            return str(ipaddress.ip_network(value, strict=False).network_address)
        except ValueError:
            return None
    if name.startswith("numeric"):
        try:
            n = float(value)
        except ValueError:
            return None
        n = n - 1 if name.endswith("lessthan") else n + 1 if name.endswith("greaterthan") else n
        return str(int(n)) if n == int(n) else str(n)
    if name.startswith("date") and not name.endswith(("lessthan", "greaterthan")):
        return value
    return None


# ---- decide: a bounded search over statement combinations (CAN_ASSUME hops) ----


@dataclass(frozen=True, kw_only=True)
class Hop:
    """The engine's verdict on one (source, role) pair, with its reasons."""

    evaluation: Evaluation
    context: dict[str, Any]  # the witness (free keys only); empty when nothing is needed
    conditions: tuple[dict[str, Any], ...]

    @property
    def needs_conditions(self) -> bool:
        return bool(self.conditions) or bool(self.context)


Run = Callable[[Mapping[str, Any]], Evaluation]


@dataclass(frozen=True, kw_only=True)
class Parts:
    """The statements of each policy type that match the request apart from their conditions."""

    trust: tuple[tuple[PolicySource, Statement], ...]
    identity: tuple[tuple[PolicySource, Statement], ...]
    boundary: tuple[tuple[PolicySource, Statement], ...]


def candidate_statements(
    sources: Sequence[PolicySource],
    action: str,
    resource: str,
    ctx: Mapping[str, Any],
    *,
    effect: str = "Allow",
    principal: tuple[str, str | None, str] | None = None,
) -> tuple[tuple[PolicySource, Statement], ...]:
    """Statements with `effect` whose Action, Resource (and, for a resource policy, Principal) match."""
    out = []
    for src in sources:
        for st in src.document.statements_for(action):
            if st.effect != effect or not st.matches_resource(resource, ctx):
                continue
            if principal is not None:
                arn, account, ptype = principal
                if not names_principal(st, arn=arn, account=account, ptype=ptype):
                    continue
            out.append((src, st))
    return tuple(out)


def decide(
    run: Run,
    parts_of: Callable[[], Parts],
    base: Mapping[str, Any],
    *,
    principal_known: bool,
    choices: Choices = NO_CHOICES,
) -> Hop | None:
    """An edge if some context allows the hop (see the module docstring), else None.

    `run(witness)` evaluates the request with `base` (the fixed keys) plus `witness`; `parts_of()` gives the
    statements to draw witnesses from (only called when the fixed keys alone do not allow); `principal_known`
    says whether the principal's own keys (tags, ARN, user name) are known, i.e. fixed even when absent;
    `choices` limits the values of the keys the way of signing in decides.
    """
    first = run({})
    if first.decision is Decision.ALLOWED:
        return Hop(evaluation=first, context={}, conditions=())
    parts = parts_of()
    if not parts.trust:
        return None
    base_keys = {k.lower() for k in base}

    def free(cond: Condition) -> bool:
        return cond.key_lower not in base_keys and not fixed_key(cond.key, principal_known=principal_known)

    return search(
        run,
        ((parts.trust, False), (parts.identity, True), (parts.boundary, True)),
        base,
        free=free,
        choices=choices,
    )


Part = tuple[tuple[tuple[PolicySource, Statement], ...], bool]  # candidate statements, may none be chosen


def search(
    run: Run,
    parts: Sequence[Part],
    base: Mapping[str, Any],
    *,
    free: Callable[[Condition], bool],
    choices: Choices = NO_CHOICES,
    max_attempts: int = MAX_ATTEMPTS,
) -> Hop | None:
    """A witness context under which `run` ALLOWS, with the conditions it needs; None when none is found.

    One statement is chosen per part (none, for an optional part), fewest demands first; for each condition of
    the chosen statements on a `free` key a value is picked that satisfies it (within `choices` for the keys
    listed there), consistently across the statements; then conditional Denies the engine reports are switched
    off the same way. Every answer is an ALLOWED evaluation of a concrete context.
    """
    attempts = 0
    for chosen in _combinations(parts):
        attempts += 1
        if attempts > max_attempts:
            return None
        witness: dict[str, Any] = {}
        pinned: set[str] = set()
        required: list[dict[str, Any]] = []
        ok = True
        for src, st in chosen:
            for cond in st.compiled_conditions:
                if not free(cond):
                    continue
                ctx = normalise_context({**base, **witness})
                if (
                    cond.key_lower in pinned
                ):  # another chosen statement set the key: it must suit this one too
                    ok = cond.test(ctx)
                else:
                    value = _pick(cond, ctx, want=True, choices=choices)
                    if value is None:  # unsatisfiable
                        ok = False
                        break
                    if value is _ABSENT or ctx.get(cond.key_lower, _ABSENT) == value:
                        continue  # holds as the request is (the key absent, or the value it has)
                    witness[cond.key] = value
                    pinned.add(cond.key_lower)
                if not ok:
                    break
                required.append(_describe(cond, src, st, "Allow"))
            if not ok:
                break
        if not ok:
            continue
        ev = run(witness)
        for _ in range(DENY_ROUNDS):
            if ev.decision is not Decision.EXPLICIT_DENY:
                break
            switched = _switch_off_denies(ev.matched, base, witness, pinned, free, required, choices)
            if not switched:
                break
            ev = run(witness)
        if ev.decision is Decision.ALLOWED:
            return Hop(evaluation=ev, context=dict(witness), conditions=tuple(_dedupe(required)))
    return None


def satisfiable(
    conditions: Iterable[Condition],
    ctx: Mapping[str, Any],
    *,
    free: Callable[[Condition], bool],
    choices: Choices = NO_CHOICES,
) -> tuple[bool, tuple[Condition, ...]]:
    """Can one request satisfy all `conditions` (a statement's, AND-ed) given the keys of `ctx` (normalised)?
    Conditions on keys that are not `free` are tested against `ctx` as they are; the free ones need a value
    per key that satisfies every condition on it (`Null` true with a value test on the same key cannot).
    Returns the verdict and the conditions on free keys (what a request must still carry)."""
    by_key: dict[str, list[Condition]] = {}
    needed: list[Condition] = []
    for c in conditions:
        if not free(c):
            if not c.test(ctx):
                return False, ()
            continue
        by_key.setdefault(c.key_lower, []).append(c)
        needed.append(c)
    for key, conds in by_key.items():
        options: Iterable[Any] | None = choices.get(key)
        if options is None:
            options = itertools.chain((_ABSENT,), *(_candidates(c, ctx) for c in conds))
        if not any(all(c.test(_with(ctx, key, v)) for c in conds) for v in options):
            return False, ()
    return True, tuple(needed)


def _with(ctx: Mapping[str, Any], key: str, value: Any) -> dict[str, Any]:
    trial = dict(ctx)
    if value is _ABSENT:
        trial.pop(key, None)
    else:
        trial[key] = value
    return trial


def _combinations(parts: Sequence[Part]) -> Iterator[tuple[tuple[PolicySource, Statement], ...]]:
    """One statement per part (or none for an optional part), in order: for CAN_ASSUME one trust statement,
    then optionally one identity and one boundary statement: fewest demands first. The choice of no statement
    at all is skipped (that is the request as it is)."""
    options = [([None] if optional else []) + list(stmts) for stmts, optional in parts]
    for combo in itertools.product(*options):
        chosen = tuple(x for x in combo if x is not None)
        if chosen:
            yield chosen


def _switch_off_denies(
    matched: Sequence[StatementMatch],
    base: Mapping[str, Any],
    witness: dict[str, Any],
    pinned: set[str],
    free: Callable[[Condition], bool],
    required: list[dict[str, Any]],
    choices: Choices = NO_CHOICES,
) -> bool:
    switched = False
    for m in matched:
        if m.effect != "Deny":
            continue
        st = m.source.document.statements[m.index]
        for cond in st.compiled_conditions:
            if not free(cond) or cond.key_lower in pinned:
                continue
            ctx = normalise_context({**base, **witness})
            value = _pick(cond, ctx, want=False, choices=choices)
            if value is None:
                continue
            if value is _ABSENT:
                for k in [k for k in witness if k.lower() == cond.key_lower]:
                    del witness[k]
            else:
                witness[cond.key] = value
            pinned.add(cond.key_lower)
            required.append(_describe(cond, m.source, st, "Deny"))
            switched = True
            break
    return switched


def _pick(cond: Condition, ctx: dict[str, Any], *, want: bool, choices: Choices = NO_CHOICES) -> Any:
    """A value for `cond.key` (or `_ABSENT`) under which `cond` tests `want`; None if there is none. A key
    listed in `choices` takes only the values listed there."""
    options = choices.get(cond.key_lower)
    for value in options if options is not None else itertools.chain((_ABSENT,), _candidates(cond, ctx)):
        if cond.test(_with(ctx, cond.key_lower, value)) == want:
            return value
    return None


def _resolve(text: str, ctx: Mapping[str, Any]) -> str:
    def sub(m: re.Match[str]) -> str:
        inner = m.group(1)
        if inner in ("*", "?", "$"):
            return inner
        key, _, default = inner.partition(",")
        v = ctx.get(key.strip().lower())
        if isinstance(v, str):
            return v
        return default.strip().strip("'\"") if default else ""

    return _VAR.sub(sub, text)


def _candidates(cond: Condition, ctx: Mapping[str, Any]) -> Iterator[str]:
    """Values to try for `cond.key`, each once, most likely first; lazy: `_pick` stops at the first that
    works."""
    seen: set[str] = set()
    for value in _candidate_stream(cond, ctx):
        if value not in seen:
            seen.add(value)
            yield value


def _candidate_stream(cond: Condition, ctx: Mapping[str, Any]) -> Iterator[str]:
    for raw in cond.values:
        v = _resolve(raw, ctx)
        yield from (v, v.replace("*", "x").replace("?", "x"), v.replace("*", "").replace("?", "x"))
        try:
            net = ipaddress.ip_network(v.strip(), strict=False)
            yield from (str(net.network_address), str(net[-1]))
        except ValueError:
            pass
        try:
            n = float(v)
            yield from (str(int(n) + 1), str(int(n) - 1), str(n))
        except (ValueError, OverflowError):
            pass
        try:
            d = datetime.fromisoformat(v.strip().replace("Z", "+00:00"))
            if d.tzinfo is None:
                d = d.replace(tzinfo=UTC)
            for delta in (timedelta(days=1), -timedelta(days=1)):
                yield (d + delta).strftime("%Y-%m-%dT%H:%M:%SZ")
        except (ValueError, OverflowError):
            pass
    yield from ("true", "false", "graphiam-witness", "0.0.0.0", "::1", "0")


def _describe(cond: Condition, src: PolicySource, st: Statement, effect: str) -> dict[str, Any]:
    return {
        "key": cond.key,
        "operator": cond.operator,
        "values": list(cond.values),
        "effect": effect,
        "policy": src.policy_id,
        "statement": st.index,
        "sid": st.sid,
    }


def _dedupe(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen, out = set(), []
    for d in items:
        k = (d["key"].lower(), d["operator"], tuple(d["values"]), d["effect"], d["policy"], d["statement"])
        if k not in seen:
            seen.add(k)
            out.append(d)
    return out


# ---- allowed_if: the three-valued answer of a question (simulate, whoCan) ----


def allowed_if(
    request: Request,
    *,
    identity: Sequence[PolicySource],
    boundaries: Sequence[PolicySource] | None = None,
    resource_policy: PolicySource | None = None,
    resource_policy_required: bool = False,
    scps: Sequence[Sequence[PolicySource]] | None = None,
    rcps: Sequence[Sequence[PolicySource]] | None = None,
    session_policies: Sequence[PolicySource] | None = None,
    free: Callable[[Condition], bool],
    choices: Choices = NO_CHOICES,
) -> Hop | None:
    """For a request the engine does not allow as it is: a context, differing only in keys the caller still
    controls (`free`, within `choices`), under which it is allowed, with the conditions that decide it;
    None when there is none (the request is denied whatever the caller does).

    The parts are those of `evaluate`: the identity policies, the boundary, the session policy, the resource
    policy (statements naming the principal) and each SCP level (RCPs only ever deny); from each, at most
    one Allow statement with a condition on a free key is chosen (a statement whose conditions are all on
    fixed keys already holds or never will).
    Denies with conditions on free keys are switched off, first from the request as it is, then by `search`.
    """
    action = request.action.lower()
    every = (
        *identity,
        *(boundaries or ()),
        *(session_policies or ()),
        *((resource_policy,) if resource_policy else ()),
        *(s for level in scps or () for s in level),
        *(s for level in rcps or () for s in level),
    )
    if not any(
        free(c) for src in every for st in src.document.statements_for(action) for c in st.compiled_conditions
    ):
        return None  # nothing the caller controls takes part: the answer is the engine's as it is
    ctx = normalise_context(request.context)
    principal = (request.principal_arn, request.effective_principal_account, request.principal_type)

    def conditional(
        sources: Sequence[PolicySource], *, named: bool = False
    ) -> tuple[tuple[PolicySource, Statement], ...]:
        found = candidate_statements(
            sources, action, request.resource, ctx, principal=principal if named else None
        )
        return tuple((src, st) for src, st in found if any(free(c) for c in st.compiled_conditions))

    parts: list[Part] = [(conditional(identity), True)]
    if boundaries is not None:
        parts.append((conditional(boundaries), True))
    if session_policies is not None:
        parts.append((conditional(session_policies), True))
    if resource_policy is not None:
        parts.append((conditional((resource_policy,), named=True), True))
    for level in scps or ():
        parts.append((conditional(level), True))
    denies_free = any(
        free(c)
        for src in every
        for st in src.document.statements_for(action)
        if st.effect == "Deny"
        for c in st.compiled_conditions
    )
    if not any(stmts for stmts, _ in parts) and not denies_free:
        return None  # no statement that could apply to this request tests a key the caller controls

    def run(witness: Mapping[str, Any]) -> Evaluation:
        return evaluate(
            Request(
                action=request.action,
                resource=request.resource,
                principal_arn=request.principal_arn,
                principal_account=request.principal_account,
                principal_type=request.principal_type,
                resource_account=request.resource_account,
                context={**request.context, **witness},
            ),
            identity=identity,
            boundaries=boundaries,
            resource_policy=resource_policy,
            resource_policy_required=resource_policy_required,
            scps=scps,
            rcps=rcps,
            session_policies=session_policies,
        )

    if denies_free:
        # first from the request as it is: only a conditional Deny may stand in the way
        ev = run({})
        witness: dict[str, Any] = {}
        required: list[dict[str, Any]] = []
        for _ in range(DENY_ROUNDS):
            if ev.decision is not Decision.EXPLICIT_DENY:
                break
            if not _switch_off_denies(ev.matched, request.context, witness, set(), free, required, choices):
                break
            ev = run(witness)
        if ev.decision is Decision.ALLOWED:
            return Hop(evaluation=ev, context=witness, conditions=tuple(_dedupe(required)))
    return search(run, parts, request.context, free=free, choices=choices)
