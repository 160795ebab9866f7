"""Principal / NotPrincipal: normalisation and matching against the requesting principal.

Implements IAM User Guide "AWS JSON policy elements: Principal":
- `"Principal": "*"` is normalised to `{"AWS": ["*"]}` and matches every principal (anonymous too);
- an account id or `arn:aws:iam::ID:root` names the ACCOUNT: it matches every principal of that
  account, and only delegates — the principal still needs an identity-policy allow ("Specifying a
  principal": "you delegate authority to the account");
- an IAM user or role ARN names that principal (a role ARN also matches that role's sessions);
  an `assumed-role` ARN names one session. Wildcards inside ARNs are not supported by AWS
  ("You cannot use a wildcard to match part of a principal name or ARN"), so ARNs compare exactly;
- `Service`, `Federated`, `CanonicalUser` match principals of that type by name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphiam.arn import is_account_id, is_account_root, is_assumed_role_arn, is_role_arn, role_name
from graphiam.policy.raw import as_list

PRINCIPAL_TYPES = ("AWS", "Service", "Federated", "CanonicalUser")

# How a statement named the principal; evaluate.py turns this into same-account rules.
NAMED = "named"  # the principal's own ARN (user, role, session, service, federated provider)
ROLE = "role"  # a role ARN matching that role (capped by the role's permissions boundary)
ACCOUNT = "account"  # the principal's account: delegation, needs an identity allow
EVERYONE = "everyone"  # `*`

_FEDERATED_TYPES = frozenset({"FederatedUser", "WebIdentity", "SAML"})
# principals outside any account's IAM: no identity policies, the resource-based policy decides
ACCOUNTLESS_TYPES = frozenset({"Service", "Anonymous", "CanonicalUser"}) | _FEDERATED_TYPES


def normalise_principal(value: Any) -> dict[str, tuple[str, ...]]:
    """`"*"` → `{"AWS": ("*",)}`; every entry a tuple of strings."""
    if value == "*":
        return {"AWS": ("*",)}
    return {kind: tuple(str(v) for v in as_list(entries)) for kind, entries in value.items()}


def _aws_match(entry: str, arn: str, account: str | None, ptype: str) -> str | None:
    if entry == "*":
        return EVERYONE
    if ptype in ACCOUNTLESS_TYPES:
        return None
    if is_account_id(entry) or is_account_root(entry):
        entry_account = entry if is_account_id(entry) else entry.split(":")[4]
        return ACCOUNT if entry_account == account else None
    if entry == arn:
        return ROLE if ptype == "AssumedRole" and is_role_arn(arn) else NAMED
    if is_role_arn(entry) and is_assumed_role_arn(arn):
        # a role ARN names every session of the role; the session ARN carries no path
        same_account = entry.split(":")[4] == arn.split(":")[4]
        return ROLE if same_account and role_name(entry) == role_name(arn) else None
    return None


def match_principal(
    principals: Mapping[str, tuple[str, ...]], *, arn: str, account: str | None, ptype: str
) -> str | None:
    """How `principals` names the requester (`NAMED`, `ROLE`, `ACCOUNT`, `EVERYONE`), or None."""
    best: str | None = None
    for kind, entries in principals.items():
        for entry in entries:
            if kind == "AWS":
                how = _aws_match(entry, arn, account, ptype)
            elif kind == "Service":
                how = NAMED if ptype == "Service" and entry.lower() == arn.lower() else None
            elif kind == "Federated":
                how = NAMED if ptype in _FEDERATED_TYPES and entry == arn else None
            elif kind == "CanonicalUser":
                how = NAMED if ptype == "CanonicalUser" and entry == arn else None
            else:
                how = None
            if how is not None and (best is None or _RANK[how] > _RANK[best]):
                best = how
    return best


# A statement naming the principal directly outranks naming its account.
_RANK = {ACCOUNT: 0, EVERYONE: 1, ROLE: 2, NAMED: 3}
