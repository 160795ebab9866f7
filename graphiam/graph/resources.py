"""Resources as the engine sees them, and what a resource policy names.

`ResourceInfo` is a stored resource with its policy parsed once (a `PolicySource` the engine takes as the
resource-based policy). `named_by` lists what a policy's statements name: the Principal / NotPrincipal entries
(accounts, principals, services, federated providers, canonical users, everyone) and the condition keys that
name an account, an organization or a principal (aws:PrincipalOrgID, aws:PrincipalAccount…).
`is_public` says whether an Allow is open to anyone: Principal `*` (or NotPrincipal) with no condition that
limits the caller to an account, organization, source, network or principal.
"""

from __future__ import annotations

from dataclasses import dataclass

from graphiam.arn import is_account_id, is_account_root
from graphiam.policy import PolicyDocument, PolicySource
from graphiam.policy.document import Statement


@dataclass(frozen=True, kw_only=True)
class ResourceInfo:
    """A stored resource: `policy` its resource-based policy (None: it has none)."""

    arn: str
    type: str  # service:kind, e.g. s3:bucket
    account: str
    region: str | None
    name: str | None
    tags: dict[str, str]
    policy: PolicySource | None
    policy_text: str | None
    source: str | None
    role: str | None = None  # the IAM role it runs as (a Lambda function's execution role), when known


@dataclass(frozen=True, kw_only=True)
class Named:
    """One thing a statement of a resource policy names.

    kind: account | principal (an IAM ARN) | service | federated | canonical-user | everyone | organization |
    org-path; principal_kind: the Principal element's key (AWS, Service, Federated, CanonicalUser), or the
    condition key that named it (aws:PrincipalOrgID…); not_principal: named by NotPrincipal."""

    kind: str
    value: str
    effect: str
    conditional: bool
    principal_kind: str
    not_principal: bool = False


_PRINCIPAL_KINDS = {"Service": "service", "Federated": "federated", "CanonicalUser": "canonical-user"}
# condition keys (lower case) whose values name an account, an organization (path) or a principal
_CONDITION_NAMES = {
    "aws:principalorgid": "organization",
    "aws:sourceorgid": "organization",
    "aws:principalorgpaths": "org-path",
    "aws:sourceorgpaths": "org-path",
    "aws:principalaccount": "account",
    "aws:sourceaccount": "account",
    "aws:sourceowner": "account",
    "kms:calleraccount": "account",
    "aws:principalarn": "principal",
}
# condition keys (lower case) that limit who can call: an Allow to `*` with one of them (tested positively,
# without IfExists, with some value other than `*`) is not open to anyone
LIMITING_KEYS = frozenset(
    {
        *_CONDITION_NAMES,
        "aws:sourcearn",
        "aws:sourcevpc",
        "aws:sourcevpce",
        "aws:sourceip",
        "aws:vpcsourceip",
        "aws:userid",
        "aws:username",
        "aws:vpceaccount",
        "aws:vpceorgid",
        "aws:vpceorgpaths",
        "aws:principalservicename",
        "s3:dataaccesspointaccount",
        "s3:dataaccesspointarn",
        "lambda:functionurlauthtype",
    }
)


def _aws_entry(value: str) -> tuple[str, str]:
    if value == "*":
        return "everyone", "*"
    if is_account_id(value):
        return "account", value
    if is_account_root(value):
        return "account", value.split(":")[4]
    return "principal", value


def named_by(doc: PolicyDocument) -> list[Named]:
    """What the statements of `doc` name, each once per (kind, value, effect, conditional, how)."""
    out: dict[tuple[str, str, str, bool, str, bool], None] = {}
    for st in doc.statements:
        conditional = bool(st.conditions)
        for negated, principals in ((False, st.principals), (True, st.not_principals)):
            for pkind, values in (principals or {}).items():
                for v in values:
                    if pkind == "AWS":
                        kind, value = _aws_entry(v)
                    else:
                        kind, value = _PRINCIPAL_KINDS.get(pkind, pkind.lower()), v
                    if v == "*" and pkind != "AWS":
                        kind = "everyone"
                    out[(kind, value, st.effect, conditional, pkind, negated)] = None
        for _operator, keys in (st.conditions or {}).items():
            for key, values in keys.items():
                named = _CONDITION_NAMES.get(key.lower())
                if named is None:
                    continue
                for v in values:
                    out[(named, v, st.effect, True, key, False)] = None
    return [
        Named(kind=k, value=v, effect=e, conditional=c, principal_kind=pk, not_principal=np)
        for (k, v, e, c, pk, np) in out
    ]


def _limits(st: Statement) -> bool:
    """Whether a condition of `st` limits the caller (`LIMITING_KEYS`, tested positively)."""
    for operator, keys in (st.conditions or {}).items():
        op = operator.lower()
        if "not" in op.replace("forallvalues:", "").replace("foranyvalue:", "") or op.endswith("ifexists"):
            continue
        if op == "null":
            continue
        for key, values in keys.items():
            if key.lower() in LIMITING_KEYS and any(v != "*" for v in values):
                return True
    return False


def public_statements(doc: PolicyDocument) -> list[Statement]:
    """The Allow statements of `doc` open to anyone: Principal `*` / `{"AWS": "*"}` (or a NotPrincipal) with
    no condition that limits the caller."""
    out = []
    for st in doc.statements:
        if st.effect != "Allow":
            continue
        everyone = st.not_principals is not None or any(
            "*" in values for values in (st.principals or {}).values()
        )
        if everyone and not _limits(st):
            out.append(st)
    return out


def is_public(doc: PolicyDocument | None) -> bool:
    return doc is not None and bool(public_statements(doc))
