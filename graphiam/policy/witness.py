"""Decide one assume-role hop, including the hops that only succeed under some request context.

A CAN_ASSUME edge means: there is a request context under which AWS allows the call (IAM User Guide "Policy
evaluation logic"; "Cross-account policy evaluation logic"; "IAM JSON policy elements: Condition"). A hop that
needs MFA, an external ID or a source IP is an edge that carries those conditions, not a missing edge.

The engine decides every candidate; this module only looks for a *witness* context to hand it:

1. Split the context keys into FIXED ones, which the principal and the role determine (`aws:PrincipalArn`,
   `aws:PrincipalAccount`, `aws:PrincipalType`, `aws:username`, `aws:userid`, every `aws:PrincipalTag/*`,
   the role's `aws:ResourceTag/*`/`iam:ResourceTag/*`), and FREE ones the caller controls when calling STS
   (`aws:MultiFactorAuthPresent`, `aws:SourceIp`, `sts:ExternalId`, OIDC `sub`/`aud`, ...). A fixed key absent
   from the context stays absent: a principal without a `team` tag cannot satisfy `aws:PrincipalTag/team`.
   For principals outside the graph (another account's root, `*`) the principal-side keys are free.
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
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from graphiam.policy import Decision, Evaluation, PolicySource, Statement, StatementMatch
from graphiam.policy.conditions import Condition
from graphiam.policy.principals import match_principal
from graphiam.policy.request import normalise_context

MAX_ATTEMPTS = 64
DENY_ROUNDS = 4
_FIXED_KEYS = frozenset(
    {"aws:principalarn", "aws:principalaccount", "aws:principaltype", "aws:username", "aws:userid"}
)
_FIXED_PREFIXES = ("aws:principaltag/", "aws:resourcetag/", "iam:resourcetag/")
_VAR = re.compile(r"\$\{([^}]*)\}")
_ABSENT = object()


def fixed_key(key: str, *, principal_known: bool) -> bool:
    """Whether `key` is determined by the principal and the role rather than by the caller."""
    k = key.lower()
    if k.startswith(("aws:resourcetag/", "iam:resourcetag/")):
        return True
    if not principal_known:
        return False
    return k in _FIXED_KEYS or k.startswith(_FIXED_PREFIXES)


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
                if st.principals is not None:
                    if match_principal(st.principals, arn=arn, account=account, ptype=ptype) is None:
                        continue
                elif st.not_principals is not None:
                    if match_principal(st.not_principals, arn=arn, account=account, ptype=ptype) is not None:
                        continue
                else:
                    continue
            out.append((src, st))
    return tuple(out)


def decide(
    run: Run, parts_of: Callable[[], Parts], base: Mapping[str, Any], *, principal_known: bool
) -> Hop | None:
    """An edge if some context allows the hop (see the module docstring), else None.

    `run(witness)` evaluates the request with `base` (the fixed keys) plus `witness`; `parts_of()` gives the
    statements to draw witnesses from (only called when the fixed keys alone do not allow); `principal_known` says
    whether the principal's own keys (tags, ARN, user name) are known, i.e. fixed even when absent.
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

    attempts = 0
    for chosen in _combinations(parts):
        attempts += 1
        if attempts > MAX_ATTEMPTS:
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
                    value = _pick(cond, ctx, want=True)
                    ok = value is not None
                    if value is None or value is _ABSENT:  # unsatisfiable, or holds with the key absent
                        if not ok:
                            break
                        continue
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
            switched = _switch_off_denies(ev.matched, base, witness, pinned, free, required)
            if not switched:
                break
            ev = run(witness)
        if ev.decision is Decision.ALLOWED:
            return Hop(evaluation=ev, context=dict(witness), conditions=tuple(_dedupe(required)))
    return None


def _combinations(parts: Parts) -> Iterator[tuple[tuple[PolicySource, Statement], ...]]:
    """One trust statement, then optionally one identity and one boundary statement: fewest demands first."""
    idents: list[tuple[PolicySource, Statement] | None] = [None, *parts.identity]
    bounds: list[tuple[PolicySource, Statement] | None] = [None, *parts.boundary]
    for t in parts.trust:
        for i in idents:
            for b in bounds:
                yield tuple(x for x in (t, i, b) if x is not None)


def _switch_off_denies(
    matched: Sequence[StatementMatch],
    base: Mapping[str, Any],
    witness: dict[str, Any],
    pinned: set[str],
    free: Callable[[Condition], bool],
    required: list[dict[str, Any]],
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
            value = _pick(cond, ctx, want=False)
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


def _pick(cond: Condition, ctx: dict[str, Any], *, want: bool) -> Any:
    """A value for `cond.key` (or `_ABSENT`) under which `cond` tests `want`; None if there is none."""
    for value in (_ABSENT, *_candidates(cond, ctx)):
        trial = dict(ctx)
        if value is _ABSENT:
            trial.pop(cond.key_lower, None)
        else:
            trial[cond.key_lower] = value
        if cond.test(trial) == want:
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


def _candidates(cond: Condition, ctx: Mapping[str, Any]) -> list[str]:
    out: list[str] = []
    for raw in cond.values:
        v = _resolve(raw, ctx)
        out += [v, v.replace("*", "x").replace("?", "x"), v.replace("*", "").replace("?", "x")]
        try:
            net = ipaddress.ip_network(v.strip(), strict=False)
            out += [str(net.network_address), str(net[-1])]
        except ValueError:
            pass
        try:
            n = float(v)
            out += [str(int(n) + 1), str(int(n) - 1), str(n)]
        except ValueError:
            pass
        try:
            d = datetime.fromisoformat(v.strip().replace("Z", "+00:00"))
            if d.tzinfo is None:
                d = d.replace(tzinfo=UTC)
            out += [
                (d + delta).strftime("%Y-%m-%dT%H:%M:%SZ")
                for delta in (timedelta(days=1), -timedelta(days=1))
            ]
        except ValueError:
            pass
    out += ["true", "false", "graphiam-witness", "0.0.0.0", "::1", "0"]
    return list(dict.fromkeys(out))


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
