"""A Deny in a resource-based policy beats an Allow in the caller's identity policies (IAM User Guide "Policy
evaluation logic": an explicit Deny in any applicable policy decides), in the same account and across
accounts, whenever the Deny statement names the caller (its ARN, its account, `*`, or a NotPrincipal that
leaves it out) and its Action, Resource and Condition apply; otherwise the identity Allow stands.

Decided by the policy engine's public API and by GraphQL simulateCustom (the `decide` fixture), and for a
stored principal by GraphQL simulate with a `resourcePolicy` argument.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers import ACCT, allow, arn, doc

BUCKET = "arn:aws:s3:::data"
OBJECT = f"{BUCKET}/reports/q1.csv"
ALICE = arn("user", "alice")
OTHER_ACCOUNT = "999999999999"
IDENTITY = [doc(allow("s3:*"))]


def deny_st(
    principal: Any = "*", action: Any = "s3:GetObject", resource: Any = f"{BUCKET}/*", **extra: Any
) -> dict[str, Any]:
    """A Deny statement (None leaves an element out)."""
    st = {"Effect": "Deny", "Principal": principal, "Action": action, "Resource": resource, **extra}
    return {k: v for k, v in st.items() if v is not None}


def grant(principal: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Principal": principal, "Action": "s3:GetObject", "Resource": f"{BUCKET}/*"}


def not_principal_deny(excluded: str) -> dict[str, Any]:
    st = deny_st(principal=None)
    st["NotPrincipal"] = {"AWS": excluded}
    return st


SECURE = {"Bool": {"aws:SecureTransport": "false"}}
GET = "s3:GetObject"
NOT_GET = {"action": None, "NotAction": GET}


def case(name: str, statements: list[dict[str, Any]], denies: bool, action: str = GET, **context: str) -> Any:
    """A resource policy, the request's action and context, and whether the policy's Deny applies."""
    return pytest.param(statements, action, context, denies, id=name)


SAME_ACCOUNT = [
    case("deny everyone", [deny_st()], True),
    case("deny the caller's ARN", [deny_st({"AWS": ALICE})], True),
    case("deny the caller's account root", [deny_st({"AWS": f"arn:aws:iam::{ACCT}:root"})], True),
    case("deny the caller's account id", [deny_st({"AWS": ACCT})], True),
    case("deny another user", [deny_st({"AWS": arn("user", "bob")})], False),
    case("deny another account", [deny_st({"AWS": OTHER_ACCOUNT})], False),
    case("NotPrincipal leaving out someone else", [not_principal_deny(arn("user", "bob"))], True),
    case("NotPrincipal leaving out the caller", [not_principal_deny(ALICE)], False),
    case("deny another action", [deny_st(action="s3:PutObject")], False),
    case("deny a wildcard action", [deny_st(action="s3:Get*")], True),
    case("deny NotAction, another action asked", [deny_st(**NOT_GET)], True, action="s3:PutObject"),
    case("deny NotAction, the excluded action asked", [deny_st(**NOT_GET)], False),
    case("deny another resource", [deny_st(resource="arn:aws:s3:::other/*")], False),
    case("deny a prefix holding the object", [deny_st(resource=f"{BUCKET}/reports/*")], True),
    case(
        "deny without TLS, plain request",
        [deny_st(Condition=SECURE)],
        True,
        **{"aws:SecureTransport": "false"},
    ),
    case(
        "deny without TLS, TLS request", [deny_st(Condition=SECURE)], False, **{"aws:SecureTransport": "true"}
    ),
    case("deny beside a grant to the caller", [grant({"AWS": ALICE}), deny_st({"AWS": ALICE})], True),
]


@pytest.mark.parametrize(("statements", "action", "context", "denies"), SAME_ACCOUNT)
def test_a_resource_policy_deny_beats_the_identity_allow_in_one_account(
    decide, statements, action, context, denies
):
    policy = doc(*statements)
    got = decide(IDENTITY, action, OBJECT, context=context, caller=ALICE, owner=ACCT, resource_policy=policy)
    assert got["identity"] == "ALLOWED"
    if denies:
        deny_index = next(i for i, st in enumerate(statements) if st["Effect"] == "Deny")
        assert (got["decision"], got["resource"]) == ("EXPLICIT_DENY", "EXPLICIT_DENY")
        assert got["matched"] == [("resourcePolicy", deny_index, "Deny")]
    else:
        assert got["decision"] == "ALLOWED" and got["resource"] != "EXPLICIT_DENY"


BOB = f"arn:aws:iam::{OTHER_ACCOUNT}:user/bob"
# (id, resource policy statements, the caller is allowed) — the caller is in another account
CROSS_ACCOUNT = [
    ("a grant alone", [grant({"AWS": BOB})], True),
    ("a grant and a deny of the caller", [grant({"AWS": BOB}), deny_st({"AWS": BOB})], False),
    (
        "a grant and a deny of the caller's account",
        [grant({"AWS": BOB}), deny_st({"AWS": OTHER_ACCOUNT})],
        False,
    ),
    ("a grant and a deny of everyone", [grant({"AWS": BOB}), deny_st()], False),
    ("a grant and a deny of the owner's account", [grant({"AWS": BOB}), deny_st({"AWS": ACCT})], True),
]


@pytest.mark.parametrize(
    ("statements", "allowed"), [c[1:] for c in CROSS_ACCOUNT], ids=[c[0] for c in CROSS_ACCOUNT]
)
def test_a_resource_policy_deny_beats_the_allows_across_accounts(decide, statements, allowed):
    got = decide(IDENTITY, "s3:GetObject", OBJECT, caller=BOB, owner=ACCT, resource_policy=doc(*statements))
    assert got["identity"] == "ALLOWED"
    assert got["decision"] == ("ALLOWED" if allowed else "EXPLICIT_DENY")
    assert got["resource"] == ("ALLOWED" if allowed else "EXPLICIT_DENY")


GRACE = "arn:aws:iam::111111111111:user/contractors/grace"  # ReadOnlyAccess: s3:Get* on everything
SIMULATE = """query($rp: JSON) { simulate(principal: "%s", action: "s3:GetObject", resource: "%s",
  resourceOwner: "111111111111", resourcePolicy: $rp) {
    decision identityDecision resourcePolicyDecision resourcePolicySource
    matchedStatements { policyArn effect } } }"""


@pytest.mark.parametrize(
    ("principal", "decision"),
    [
        (None, "ALLOWED"),  # no resource policy: the identity Allow decides
        ({"AWS": GRACE}, "EXPLICIT_DENY"),
        ({"AWS": "arn:aws:iam::111111111111:root"}, "EXPLICIT_DENY"),
        ("*", "EXPLICIT_DENY"),
        ({"AWS": "arn:aws:iam::111111111111:user/engineering/alice"}, "ALLOWED"),
    ],
    ids=["none", "grace", "her account", "everyone", "alice"],
)
def test_simulate_on_a_stored_principal_takes_the_resource_policys_deny(seeded_gql, principal, decision):
    policy = None if principal is None else doc(deny_st(principal))
    got = seeded_gql(SIMULATE % (GRACE, OBJECT), {"rp": policy})["simulate"]
    assert got["identityDecision"] == "ALLOWED" and got["decision"] == decision
    if decision == "EXPLICIT_DENY":
        assert got["resourcePolicySource"] == "given" and got["resourcePolicyDecision"] == "EXPLICIT_DENY"
        assert got["matchedStatements"] == [{"policyArn": "resourcePolicy", "effect": "DENY"}]
