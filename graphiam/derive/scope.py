"""Which principals a derivation for a change to some accounts must see.

A change to the touched accounts alters (derive/refresh.py): the escalation edges leaving their principals
(escalation is account-local), the CAN_ASSUME edges into their roles, and the CAN_ASSUME edges from their
principals (and from the external principal standing for the account) into roles elsewhere whose trust policy
names a touched account, one of its principals, `*` or NotPrincipal (`assume.edges.affected_roles`). Deciding
those needs:

- every user and role of the touched accounts;
- the roles elsewhere whose trust policy names them (`affected_roles` picks them from the snapshot);
- what the trust policies of the touched accounts' roles can admit: each user or role named by ARN, and of
  each loaded account named as a whole, its principals that hold an identity policy with an Allow statement
  for `sts:AssumeRole` whose Resource may match one of these roles (`may_admit`: delegation needs an identity
  Allow). A trust that names `*` or uses NotPrincipal can admit anyone: then the derivation sees the whole
  graph.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from graphiam.arn import account_of, is_account_id, is_account_root
from graphiam.derive.assume.edges import trust_mentions
from graphiam.policy import PolicyDocument
from graphiam.policy.document import parse_stored
from graphiam.store import Database
from graphiam.store import partial as P
from graphiam.store.assume_store import loaded_accounts


@dataclass(frozen=True, kw_only=True)
class Scope:
    accounts: frozenset[str]  # the touched accounts: every user and role of them
    arns: frozenset[str]  # other users and roles the derivation reads
    whole: bool  # the derivation needs every principal of the graph


def scope_of(db: Database, touched: Iterable[str]) -> Scope:
    """The principals a derivation for `touched` accounts reads (module docstring)."""
    accounts = frozenset(touched)
    if not accounts:
        return Scope(accounts=accounts, arns=frozenset(), whole=False)
    loaded = set(loaded_accounts(db))
    if loaded <= accounts:
        return Scope(accounts=accounts, arns=frozenset(), whole=True)
    arns: set[str] = set()
    for role in P.roles_maybe_naming(db, sorted(accounts)):
        if role.account in accounts or role.trust_policy is None:
            continue
        if trust_mentions(parse_stored(role.trust_policy, where=f"{role.arn} trust policy"), accounts):
            arns.add(role.arn)
    _users, roles = P.principal_rows(db, accounts=sorted(accounts), arns=[])
    role_arns = [r.arn for r in roles]
    named_accounts: set[str] = set()
    for role in roles:
        if role.trust_policy is None:
            continue
        doc = parse_stored(role.trust_policy, where=f"{role.arn} trust policy")
        for st in doc.statements:
            if st.not_principals is not None:
                return Scope(accounts=accounts, arns=frozenset(), whole=True)
            for entry in (st.principals or {}).get("AWS", ()):
                if entry == "*":
                    return Scope(accounts=accounts, arns=frozenset(), whole=True)
                if is_account_id(entry) or is_account_root(entry):
                    named_accounts.add(entry if is_account_id(entry) else entry.split(":")[4])
                elif account_of(entry) is not None:
                    arns.add(entry)
    others = sorted((named_accounts & loaded) - accounts)
    if others:
        policies = P.assume_policies(db, others)
        mine = sorted(accounts)
        admitting = [
            arn
            for arn, text in policies.items()
            if _may_admit_text(text, mine) and may_admit(parse_stored(text, where=arn), role_arns)
        ]
        arns.update(P.holders(db, sorted(admitting), others))
    return Scope(accounts=accounts, arns=frozenset(arns), whole=False)


def _may_admit_text(text: str, accounts: Sequence[str]) -> bool:
    """A cheap necessary condition for `may_admit` on a stored document's JSON (no parse): an Allow statement
    whose Action may name an action of `sts` (or a NotAction) and whose Resource is missing, a NotResource, or
    holds an account id of `accounts`, a wildcard or a policy variable (a role ARN of those accounts matches
    nothing else)."""
    try:
        statements = json.loads(text).get("Statement", [])
    except (ValueError, AttributeError):
        return True
    for st in [statements] if isinstance(statements, dict) else statements:
        if not isinstance(st, dict) or st.get("Effect") != "Allow":
            continue
        actions = st.get("Action")
        if actions is not None and not any(
            not isinstance(a, str)
            or any(c in a.split(":", 1)[0] for c in "*?")
            or a.lower().startswith("sts:")
            for a in ([actions] if isinstance(actions, str) else actions)
        ):
            continue  # names no action of sts (NotAction may name any)
        resources = st.get("Resource")
        if resources is None or "NotResource" in st:
            return True
        for r in [resources] if isinstance(resources, str) else resources:
            if not isinstance(r, str) or any(c in r for c in "*?$") or any(a in r for a in accounts):
                return True
    return False


def may_admit(doc: PolicyDocument, role_arns: Sequence[str]) -> bool:
    """Whether an identity policy has an Allow statement for `sts:AssumeRole` whose Resource may match one of
    `role_arns` (one with a policy variable, or a NotResource, may): only then can a trust policy naming the
    holder's account admit the holder (`assume.candidates`: a candidate needs such a statement)."""
    for st in doc.statements_for("sts:assumerole"):
        if st.effect != "Allow":
            continue
        if st.resources is None or any("$" in r for r in st.resources):
            return True
        if any(st.matches_resource(arn, {}) for arn in role_arns):
            return True
    return False
