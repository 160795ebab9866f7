"""A permissions boundary caps what the identity policies allow (IAM User Guide "Permissions boundaries for
IAM entities": the effective permissions are the intersection). Identity allows and the boundary does not:
IMPLICIT_DENY, with the identity verdict ALLOWED and the boundary's IMPLICIT_DENY (the boundary is what
denies); both allow: ALLOWED, the boundary's statement among the deciding ones; the boundary alone grants
nothing; a Deny in it denies.

On the demo organisation (grace: ReadOnlyAccess capped by ContractorBoundary, seeds/README.md) through GraphQL
`simulate`, and on a hand-made export through `graphiam.queries.simulate.simulate`.
"""

from __future__ import annotations

from typing import Any

import pytest

from graphiam.changes.load import load_files
from graphiam.graph.snapshot import build_snapshot
from graphiam.queries.simulate import simulate
from graphiam.store import open_database
from tests.helpers import allow, arn, cm, deny, doc, export, managed_policy, role, user, write

GRACE = "arn:aws:iam::111111111111:user/contractors/grace"
BOUNDARY = "arn:aws:iam::111111111111:policy/boundaries/ContractorBoundary"
IN_CONTRACT = [{"key": "aws:CurrentTime", "values": ["2025-06-01T12:00:00Z"], "type": "DATE"}]
QUERY = """query($p: String!, $a: String!, $r: String!, $c: [ContextEntryInput!], $b: JSON) {
  simulate(principal: $p, action: $a, resource: $r, context: $c, permissionsBoundary: $b) {
    decision identityDecision boundaryDecision
    matchedStatements { policyArn appliesVia sid effect } } }"""


def grace(client: Any, action: str, resource: str, boundary: dict[str, Any] | None = None) -> dict[str, Any]:
    variables = {"p": GRACE, "a": action, "r": resource, "c": IN_CONTRACT, "b": boundary}
    result: dict[str, Any] = client(QUERY, variables)["simulate"]
    return result


@pytest.mark.parametrize(
    ("action", "resource"),
    [
        ("iam:ListUsers", "*"),
        ("dynamodb:GetItem", "arn:aws:dynamodb:us-east-1:111111111111:table/orders"),
        ("cloudtrail:LookupEvents", "*"),
    ],
)
def test_identity_allows_and_the_boundary_does_not(seeded_gql, action, resource):
    s = grace(seeded_gql, action, resource)
    assert (s["decision"], s["identityDecision"], s["boundaryDecision"]) == (
        "IMPLICIT_DENY",
        "ALLOWED",
        "IMPLICIT_DENY",
    )
    # only the identity Allow matched (beside the organization's FullAWSAccess SCP): nothing of the boundary
    assert {m["appliesVia"] for m in s["matchedStatements"]} - {"SCP"} == {"USER"}
    who = seeded_gql("query($a: String!) { user(arn: $a) { permissionsBoundary { arn } } }", {"a": GRACE})
    assert who["user"]["permissionsBoundary"] == {"arn": BOUNDARY}  # the boundary that denies


@pytest.mark.parametrize(
    ("action", "resource", "sid"),
    [
        ("s3:GetObject", "arn:aws:s3:::examplecorp-finance/ledger.csv", "ReadAndSelfService"),
        ("ec2:DescribeVpcs", "*", "ReadAndSelfService"),
        ("s3:PutObject", "arn:aws:s3:::examplecorp-contractor-uploads/grace/cv.pdf", "Uploads"),
    ],
)
def test_identity_and_boundary_both_allow(seeded_gql, action, resource, sid):
    s = grace(seeded_gql, action, resource)
    assert (s["decision"], s["identityDecision"], s["boundaryDecision"]) == ("ALLOWED", "ALLOWED", "ALLOWED")
    assert {"policyArn": BOUNDARY, "appliesVia": "BOUNDARY", "sid": sid, "effect": "ALLOW"} in s[
        "matchedStatements"
    ]


def test_a_replaced_boundary_caps_by_its_own_statements(seeded_gql):
    lists = doc(allow("iam:List*"))
    s = grace(seeded_gql, "iam:ListUsers", "*", boundary=lists)
    assert (s["decision"], s["boundaryDecision"]) == ("ALLOWED", "ALLOWED")
    assert {
        "policyArn": "permissionsBoundary",
        "appliesVia": "BOUNDARY",
        "sid": None,
        "effect": "ALLOW",
    } in s["matchedStatements"]
    s = grace(seeded_gql, "s3:GetObject", "arn:aws:s3:::examplecorp-finance/ledger.csv", boundary=lists)
    assert (s["decision"], s["identityDecision"], s["boundaryDecision"]) == (
        "IMPLICIT_DENY",
        "ALLOWED",
        "IMPLICIT_DENY",
    )


S3_ONLY, DENY_DELETE = cm("S3Only"), cm("NoDeletes")
BOUNDARIES = (
    managed_policy(S3_ONLY, doc(allow("s3:*"))),
    managed_policy(DENY_DELETE, doc(allow("*"), deny("s3:Delete*"))),
)
EC2 = {"Service": "ec2.amazonaws.com"}
WIDE = allow(["s3:*", "iam:*"])


@pytest.fixture(scope="module")
def capped(tmp_path_factory):
    """Users and roles allowed s3:* and iam:*, under no boundary or under S3Only / NoDeletes."""
    data = export(
        user("free", WIDE),
        user("s3only", WIDE, boundary=S3_ONLY),
        user("nodeletes", WIDE, boundary=DENY_DELETE),
        user("nothing", allow("sts:GetCallerIdentity"), boundary=DENY_DELETE),  # the boundary allows *
        roles=(role("S3OnlyRole", EC2, WIDE, boundary=S3_ONLY), role("FreeRole", EC2, WIDE)),
        policies=BOUNDARIES,
    )
    db = open_database(None, buffer_pool_mb=256)
    load_files(db, [write(tmp_path_factory.mktemp("capped"), "export.json", data)])
    yield build_snapshot(db)
    db.close()


# (principal, action, decision, identity verdict, boundary verdict, boundary policies among the deciding
# statements: None when not checked)
CASES = [
    (arn("user", "free"), "iam:CreateUser", "ALLOWED", "ALLOWED", None, set()),
    (arn("user", "s3only"), "iam:CreateUser", "IMPLICIT_DENY", "ALLOWED", "IMPLICIT_DENY", set()),
    (arn("user", "s3only"), "s3:PutObject", "ALLOWED", "ALLOWED", "ALLOWED", {S3_ONLY}),
    (arn("role", "FreeRole"), "iam:CreateUser", "ALLOWED", "ALLOWED", None, set()),
    (arn("role", "S3OnlyRole"), "iam:CreateUser", "IMPLICIT_DENY", "ALLOWED", "IMPLICIT_DENY", set()),
    (arn("role", "S3OnlyRole"), "s3:PutObject", "ALLOWED", "ALLOWED", "ALLOWED", {S3_ONLY}),
    (arn("user", "nodeletes"), "s3:DeleteObject", "EXPLICIT_DENY", "ALLOWED", "EXPLICIT_DENY", {DENY_DELETE}),
    (arn("user", "nodeletes"), "iam:CreateUser", "ALLOWED", "ALLOWED", "ALLOWED", {DENY_DELETE}),
    (arn("user", "nothing"), "iam:CreateUser", "IMPLICIT_DENY", "IMPLICIT_DENY", "ALLOWED", None),
]


@pytest.mark.parametrize(
    ("principal", "action", "decision", "identity", "boundary", "named"),
    CASES,
    ids=[f"{p.rsplit('/', 1)[-1]}-{a}" for p, a, *_ in CASES],
)
def test_the_boundary_caps_users_and_roles(capped, principal, action, decision, identity, boundary, named):
    ev = simulate(capped, principal=principal, action=action, resource="*").evaluation
    assert ev.decision.value == decision
    assert ev.identity_decision.value == identity
    assert (ev.boundary_decision and ev.boundary_decision.value) == boundary
    if named is not None:
        assert {m.source.policy_id for m in ev.matched if m.source.via == "boundary"} == named
