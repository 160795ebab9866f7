"""Conditions an attacker can meet: find a request context under which the engine allows a request.

An escalation step is decided by the engine on a concrete request. The first try uses only what AWS
derives (the principal's keys, the target's tags, the current time) plus the keys the technique fixes
(`iam:PassedToService`, `iam:PolicyARN` …). When that is not allowed and statements that otherwise
matched tested keys the request lacked ("missing context keys"), a second try fills those keys with a
*witness*: a value the caller controls (MFA used, a source IP in the allowed range, an ExternalId …)
read from the conditions themselves. Only if the engine then allows is the step kept, marked with the
keys it needs. Keys that describe the principal, the target or the time are never invented: a
condition on them that fails cannot hold (IAM User Guide "AWS global condition context keys":
`aws:PrincipalTag`, `aws:ResourceTag`, `aws:CurrentTime`, `aws:TokenIssueTime` … are set by AWS).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from graphiam.policy import Decision, Evaluation, PolicySource
from graphiam.policy.conditions import Condition

# keys AWS sets from the principal, the resource, the time or the technique: never invented
PROTECTED_PREFIXES = (
    "aws:principal",
    "aws:username",
    "aws:userid",
    "aws:resource",
    "iam:resourcetag/",
    "aws:currenttime",
    "aws:epochtime",
    "aws:tokenissuetime",
    "iam:passedtoservice",
    "iam:policyarn",
    "iam:permissionsboundary",
    "aws:sourceaccount",
)
# what an attacker does anyway when a condition asks for it (they are still reported as needed)
FAVOURABLE: Mapping[str, str] = {
    "aws:multifactorauthpresent": "true",
    "aws:multifactorauthage": "1",
    "aws:securetransport": "true",
    "aws:viaawsservice": "false",
}


def environment() -> dict[str, str]:
    """The request-time keys AWS always sets: now (a session token issued now, too)."""
    now = datetime.now(UTC)
    return {
        "aws:CurrentTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "aws:EpochTime": str(int(now.timestamp())),
        "aws:TokenIssueTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


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
) -> Settled | None:
    """Allowed with `base`, or with `base` plus witnesses for the missing keys; else None."""
    first = run(base)
    if first.decision is Decision.ALLOWED:
        return Settled(evaluation=first, needs=())
    present = {k.lower() for k in base}
    missing = [
        k
        for k in first.missing_context_keys
        if k.lower() not in present and not k.lower().startswith(PROTECTED_PREFIXES)
    ]
    if not missing:
        return None
    filled = witnesses(missing, sources, action.lower(), resource)
    if not filled:
        return None
    second = run({**base, **filled})
    if second.decision is not Decision.ALLOWED:
        return None
    return Settled(evaluation=second, needs=tuple(sorted(filled)))


def witnesses(keys: list[str], sources: Iterable[PolicySource], action: str, resource: str) -> dict[str, str]:
    """A value per key: favourable defaults, else read from an Allow (true) or a Deny (false) condition."""
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
                key = wanted.get(c.key_lower)
                if key is None or key in out:
                    continue
                value = _witness(c, want=st.effect == "Allow")
                if value is not None:
                    out[key] = value
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
