"""CAN_ASSUME across accounts: a trust policy naming another account (its root, its bare id, or one of its
principals) lets that account's principals in only when their own identity policies (capped by their boundary)
also allow `sts:AssumeRole` on the role (IAM User Guide "Cross-account policy evaluation logic": both sides
must allow). Within one account, a trust naming a principal's ARN is enough on its own: the contrast shows the
tests tell the two rules apart.

Both accounts are loaded; the whole CAN_ASSUME edge set is read back through GraphQL `graph`, and `simulate`
agrees with it edge by edge.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.helpers import (
    ACCT,
    GraphQLClient,
    allow,
    arn,
    cm,
    deny,
    doc,
    export,
    managed_policy,
    role,
    user,
    write,
)

PARTNER = "222222222222"
SHARED, OTHER = arn("role", "Shared"), arn("role", "Other")
EDGES = "{ graph(edgeKinds: [CAN_ASSUME], maxNodes: 5000) { truncated edges { from to } } }"
SIMULATE = """query($p: String!, $r: String!) {
  simulate(principal: $p, action: "sts:AssumeRole", resource: $r) {
    decision identityDecision resourcePolicyDecision resourcePolicySource } }"""
CALLER = arn("user", "caller", PARTNER)
CALLER_ROLE = arn("role", "CallerRole", PARTNER)
PARTNER_ADMIN = arn("user", "admin", PARTNER)  # every export has an administrator (sts:AssumeRole on *)
NO_STS = cm("NoSts", PARTNER)  # a permissions boundary allowing s3 only


def load(gql: Any, tmp_path: Path, trusted: str, statements: list[dict[str, Any]]) -> GraphQLClient:
    """Home: roles Shared and Other trusting `trusted`. Partner: user `caller` and role `CallerRole`, both
    with `statements` as their identity policy (none when empty)."""
    home = export(roles=(role("Shared", {"AWS": trusted}), role("Other", {"AWS": trusted})))
    away = export(
        user("caller", *statements, account=PARTNER),
        roles=(role("CallerRole", {"Service": "ec2.amazonaws.com"}, *statements, account=PARTNER),),
        account=PARTNER,
    )
    files = [write(tmp_path, "home.json", home), write(tmp_path, "partner.json", away)]
    client: GraphQLClient = gql(*files)
    return client


def edges(client: GraphQLClient) -> set[tuple[str, str]]:
    g = client(EDGES)["graph"]
    assert not g["truncated"]
    return {(e["from"], e["to"]) for e in g["edges"]}


def decision(client: GraphQLClient, principal: str, target: str) -> dict[str, Any]:
    result: dict[str, Any] = client(SIMULATE, {"p": principal, "r": target})["simulate"]
    return result


TRUSTS = {"root": f"arn:aws:iam::{PARTNER}:root", "account id": PARTNER}
# (id, the callers' identity statements, the home roles they may assume)
CASES = [
    ("no identity policy", [], set()),
    ("an allow for other actions only", [allow(["s3:*", "sts:GetCallerIdentity"])], set()),
    ("sts:AssumeRole on *", [allow("sts:AssumeRole")], {SHARED, OTHER}),
    ("sts:* on *", [allow("sts:*")], {SHARED, OTHER}),
    ("sts:AssumeRole on Shared only", [allow("sts:AssumeRole", SHARED)], {SHARED}),
    ("sts:AssumeRole on a role pattern", [allow("sts:AssumeRole", f"arn:aws:iam::{ACCT}:role/S*")], {SHARED}),
    (
        "sts:AssumeRole on the partner's own roles only",
        [allow("sts:AssumeRole", arn("role", "*", PARTNER))],
        set(),
    ),
    ("an allow and a deny on Shared", [allow("sts:AssumeRole"), deny("sts:AssumeRole", SHARED)], {OTHER}),
]


@pytest.mark.parametrize("trust", sorted(TRUSTS), ids=sorted(TRUSTS))
@pytest.mark.parametrize(("statements", "reached"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_trust_naming_the_account_needs_the_callers_identity_allow(
    gql, tmp_path, trust, statements, reached
):
    client = load(gql, tmp_path, TRUSTS[trust], statements)
    admin = {(PARTNER_ADMIN, SHARED), (PARTNER_ADMIN, OTHER)}
    # the role in the partner account trusts EC2: that edge is the only one into the partner account
    service = {("ec2.amazonaws.com", CALLER_ROLE)}
    expected = admin | service | {(c, r) for c in (CALLER, CALLER_ROLE) for r in reached}
    assert edges(client) == expected
    for caller in (CALLER, CALLER_ROLE):
        for target in (SHARED, OTHER):
            d = decision(client, caller, target)
            assert d["resourcePolicySource"] == "trust" and d["resourcePolicyDecision"] == "ALLOWED"
            assert (d["decision"] == "ALLOWED") is (target in reached), (caller, target, d)


def test_a_boundary_without_sts_cuts_the_cross_account_edge(gql, tmp_path):
    client = load(gql, tmp_path, TRUSTS["root"], [allow("sts:AssumeRole")])
    assert (CALLER, SHARED) in edges(client)
    home = export(roles=(role("Shared", {"AWS": TRUSTS["root"]}),))
    away = export(
        user("caller", allow("sts:AssumeRole"), boundary=NO_STS, account=PARTNER),
        policies=(managed_policy(NO_STS, doc(allow("s3:*"))),),
        account=PARTNER,
    )
    bounded: GraphQLClient = gql(write(tmp_path, "h.json", home), write(tmp_path, "p.json", away))
    assert edges(bounded) == {(PARTNER_ADMIN, SHARED)}
    assert decision(bounded, CALLER, SHARED)["decision"] == "IMPLICIT_DENY"


@pytest.mark.parametrize(
    ("statements", "edge"),
    [([], False), ([allow("s3:GetObject")], False), ([allow("sts:AssumeRole", SHARED)], True)],
    ids=["no identity policy", "no sts allow", "sts allow"],
)
def test_a_trust_naming_the_callers_arn_in_another_account_still_needs_its_identity_allow(
    gql, tmp_path, statements, edge
):
    home = export(roles=(role("Shared", {"AWS": CALLER}),))
    away = export(user("caller", *statements, account=PARTNER), account=PARTNER)
    client: GraphQLClient = gql(write(tmp_path, "h.json", home), write(tmp_path, "p.json", away))
    assert edges(client) == ({(CALLER, SHARED)} if edge else set())
    d = decision(client, CALLER, SHARED)
    assert d["resourcePolicyDecision"] == "ALLOWED"
    assert d["identityDecision"] == ("ALLOWED" if edge else "IMPLICIT_DENY")
    assert d["decision"] == ("ALLOWED" if edge else "IMPLICIT_DENY")


def test_in_one_account_a_trust_naming_the_callers_arn_is_enough(gql, tmp_path):
    # the contrast: the same trust and no identity policy, but caller and role in the same account
    data = export(user("caller"), roles=(role("Shared", {"AWS": arn("user", "caller")}),))
    client: GraphQLClient = gql(write(tmp_path, "one.json", data))
    assert edges(client) == {(arn("user", "caller"), SHARED)}
    d = decision(client, arn("user", "caller"), SHARED)
    assert d["identityDecision"] == "IMPLICIT_DENY" and d["decision"] == "ALLOWED"
