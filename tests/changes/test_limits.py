"""IAM's own limits (issue 13 item 5; the IAM User Guide's "IAM and AWS STS quotas"): a mutation beyond one is
refused with the limit named and changes nothing; an export beyond one still loads, with a warning."""

from __future__ import annotations

import json
from typing import Any

import pytest

from graphiam.changes.apply import Change, apply_changes
from graphiam.changes.load import load_files
from graphiam.ingest import limits
from tests.helpers import SEEDS, graph_dump, mutate, one_user_export, write

A = "arn:aws:iam::111111111111:"
ALICE = A + "user/engineering/alice"  # one inline policy (170 characters), one managed policy, three groups
NETWORK = A + "group/ops/NetworkEngineers"  # no inline policy
ROLE = A + "role/ProductionAdminRole"
RELEASE = A + "policy/engineering/ReleaseManagerPolicy"


@pytest.fixture
def demo(gql):
    return gql(SEEDS / "demo-org.json", SEEDS / "partner-account.json")


def document(size: int, *, action: str = "s3:GetObject") -> dict[str, Any]:
    """An identity policy of exactly `size` characters as AWS counts them (it has no white space, so its
    compact JSON is what counts), padded in the resource name."""
    doc: dict[str, Any] = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": action, "Resource": ""}],
    }
    base = len(json.dumps(doc, separators=(",", ":")))
    assert size >= base + 14
    doc["Statement"][0]["Resource"] = "arn:aws:s3:::" + "b" * (size - base - 13)
    assert len(json.dumps(doc, separators=(",", ":"))) == size
    return doc


def trust(size: int) -> dict[str, Any]:
    """A trust policy of exactly `size` characters (no white space), padded in the external id."""
    doc: dict[str, Any] = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "ec2.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"sts:ExternalId": ""}},
            }
        ],
    }
    base = len(json.dumps(doc, separators=(",", ":")))
    doc["Statement"][0]["Condition"]["StringEquals"]["sts:ExternalId"] = "x" * (size - base)
    assert len(json.dumps(doc, separators=(",", ":"))) == size
    return doc


def refused(client: Any, name: str, input_type: str, value: dict[str, Any]) -> tuple[str, str, list[str]]:
    """(code, message, input path) of the one error of a refused mutation, checking that nothing changed."""
    before = graph_dump(client.db)
    result = mutate(client, name, input_type, value)
    assert not result["ok"] and len(result["errors"]) == 1, result
    assert graph_dump(client.db) == before
    e = result["errors"][0]
    return e["code"], e["message"], e["path"]


HUGE = {  # issue 13: 50 actions of 10,000 characters, about 500 KB, were stored
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["s3:" + "a" * 9997] * 50, "Resource": "*"}],
}
HUGE_SIZE = len(json.dumps(HUGE, separators=(",", ":")))

# (mutation, input type, input, code, words the message must hold, input path)
BEYOND = [
    (
        "putUserPolicy",
        "PutInlinePolicyInput",
        {"arn": ALICE, "policyName": "huge", "document": HUGE},
        "LIMIT_EXCEEDED",
        (f"{HUGE_SIZE + 170:,} characters", "2,048", "a user's inline policies together"),
        ["input", "document"],
    ),
    (  # Alice's 170 characters count too
        "putUserPolicy",
        "PutInlinePolicyInput",
        {"arn": ALICE, "policyName": "more", "document": document(2048 - 169)},
        "LIMIT_EXCEEDED",
        ("user `" + ALICE + "`'s inline policies with this one: 2,049 characters", "2,048"),
        ["input", "document"],
    ),
    (
        "putGroupPolicy",
        "PutInlinePolicyInput",
        {"arn": NETWORK, "policyName": "p", "document": document(5121)},
        "LIMIT_EXCEEDED",
        ("5,121", "5,120", "a group's inline policies together"),
        ["input", "document"],
    ),
    (
        "putRolePolicy",
        "PutInlinePolicyInput",
        {"arn": ROLE, "policyName": "p", "document": document(10241)},
        "LIMIT_EXCEEDED",
        ("10,241", "10,240", "a role's inline policies together"),
        ["input", "document"],
    ),
    (
        "createPolicy",
        "CreatePolicyInput",
        {"account": "111111111111", "name": "big", "document": document(6145)},
        "LIMIT_EXCEEDED",
        ("6,145", "6,144", "a managed policy"),
        ["input", "document"],
    ),
    (
        "createPolicyVersion",
        "CreatePolicyVersionInput",
        {"policyArn": RELEASE, "document": document(6145)},
        "LIMIT_EXCEEDED",
        ("6,145", "6,144", "a managed policy"),
        ["input", "document"],
    ),
    (
        "createRole",
        "CreateRoleInput",
        {"account": "111111111111", "name": "r", "trustPolicy": trust(2049)},
        "LIMIT_EXCEEDED",
        ("2,049", "2,048", "trust policy (the default quota)"),
        ["input", "trustPolicy"],
    ),
    (
        "updateAssumeRolePolicy",
        "UpdateAssumeRolePolicyInput",
        {"roleArn": ROLE, "document": trust(2049)},
        "LIMIT_EXCEEDED",
        ("2,049", "2,048"),
        ["input", "document"],
    ),
    (
        "putUserPolicy",
        "PutInlinePolicyInput",
        {"arn": ALICE, "policyName": "p", "document": {**document(200), "Id": "\u4e2d"}},
        "INVALID_POLICY",
        ("U+4E2D", "U+0020-U+00FF"),
        ["input", "document"],
    ),
    (  # names are unique whatever their case ("IAM name requirements")
        "createUser",
        "CreateUserInput",
        {"account": "111111111111", "name": "ALICE"},
        "ALREADY_EXISTS",
        ("`" + ALICE + "`",),
        ["input", "name"],
    ),
    (  # issue 13: an empty path was taken for `/`
        "createGroup",
        "CreateGroupInput",
        {"account": "111111111111", "name": "g", "path": ""},
        "INVALID_INPUT",
        ("`` is not a valid IAM path", "starts and ends with `/`"),
        ["input", "path"],
    ),
    (
        "createUser",
        "CreateUserInput",
        {"account": "111111111111", "name": "u", "path": "/no-end"},
        "INVALID_INPUT",
        ("starts and ends with `/`",),
        ["input", "path"],
    ),
    (
        "createUser",
        "CreateUserInput",
        {"account": "111111111111", "name": "u", "path": "/" + "p" * 511 + "/"},
        "INVALID_INPUT",
        ("1-512",),
        ["input", "path"],
    ),
    (
        "createUser",
        "CreateUserInput",
        {"account": "111111111111", "name": "u", "tags": [{"key": f"k{i}", "value": ""} for i in range(51)]},
        "LIMIT_EXCEEDED",
        ("51 tags", "50"),
        ["input", "tags"],
    ),
    (
        "createUser",
        "CreateUserInput",
        {"account": "111111111111", "name": "u", "tags": [{"key": "k", "value": "v" * 257}]},
        "INVALID_INPUT",
        ("at most 256",),
        ["input", "tags", "0"],
    ),
    (
        "createPolicy",
        "CreatePolicyInput",
        {"account": "111111111111", "name": "d", "document": document(200), "description": "d" * 1001},
        "INVALID_INPUT",
        ("at most 1,000",),
        ["input", "description"],
    ),
]


@pytest.mark.parametrize(
    ("name", "input_type", "value", "code", "words", "path"),
    BEYOND,
    ids=[f"{b[0]}-{i}" for i, b in enumerate(BEYOND)],
)
def test_a_mutation_beyond_an_iam_limit_is_refused_naming_it(
    demo, name, input_type, value, code, words, path
):
    got_code, message, got_path = refused(demo, name, input_type, value)
    assert (got_code, got_path) == (code, path), message
    for w in words:
        assert w in message, message


# (mutation, input type, input) exactly at a limit
AT_THE_LIMIT = [
    (
        "putUserPolicy",
        "PutInlinePolicyInput",
        {"arn": ALICE, "policyName": "more", "document": document(2048 - 170)},
    ),
    (  # replaces Alice's policy of that name, whose 170 characters then no longer count
        "putUserPolicy",
        "PutInlinePolicyInput",
        {"arn": ALICE, "policyName": "AssumePlatformEngineer", "document": document(2048)},
    ),
    (
        "putGroupPolicy",
        "PutInlinePolicyInput",
        {"arn": NETWORK, "policyName": "p", "document": document(5120)},
    ),
    ("putRolePolicy", "PutInlinePolicyInput", {"arn": ROLE, "policyName": "p", "document": document(10240)}),
    (
        "createPolicy",
        "CreatePolicyInput",
        {"account": "111111111111", "name": "big", "document": document(6144)},
    ),
    ("createRole", "CreateRoleInput", {"account": "111111111111", "name": "r", "trustPolicy": trust(2048)}),
    ("createGroup", "CreateGroupInput", {"account": "111111111111", "name": "g", "path": "/a/b/"}),
    ("createGroup", "CreateGroupInput", {"account": "111111111111", "name": "g2"}),  # no path: `/`
]


@pytest.mark.parametrize(
    ("name", "input_type", "value"), AT_THE_LIMIT, ids=[f"{a[0]}-{i}" for i, a in enumerate(AT_THE_LIMIT)]
)
def test_a_mutation_at_an_iam_limit_is_applied(demo, name, input_type, value):
    result = mutate(demo, name, input_type, value)
    assert result["ok"], result["errors"]


def test_white_space_does_not_count(demo):
    doc = document(2048 - 170 - len(',"Condition":{"StringEquals":{"aws:username":"a"}}'))
    doc["Statement"][0]["Condition"] = {"StringEquals": {"aws:username": "a" + " " * 3000}}
    assert len(json.dumps(doc, separators=(",", ":"))) - 3000 == 2048 - 170  # with Alice's 170: 2,048
    result = mutate(
        demo, "putUserPolicy", "PutInlinePolicyInput", {"arn": ALICE, "policyName": "w", "document": doc}
    )
    assert result["ok"], result["errors"]


def _policies(n: int) -> list[Change]:
    return [
        Change(
            op="createPolicy", args={"account": "111111111111", "name": f"p{i}", "document": document(200)}
        )
        for i in range(n)
    ]


def test_a_principal_has_at_most_ten_managed_policies(demo):
    assert apply_changes(demo.db, _policies(10)).ok
    attach = [
        Change(op="attachPolicy", args={"policy_arn": A + f"policy/p{i}", "target_arn": ALICE})
        for i in range(9)
    ]
    assert apply_changes(demo.db, attach).ok  # with the one Alice had: ten
    code, message, path = refused(
        demo, "attachPolicy", "AttachPolicyInput", {"policyArn": A + "policy/p9", "targetArn": ALICE}
    )
    assert (code, path) == ("LIMIT_EXCEEDED", ["input", "policyArn"])
    assert "already has 10 managed policies attached" in message
    # attaching one of the ten again changes nothing and is no error, as in IAM
    again = {"policyArn": A + "policy/p0", "targetArn": ALICE}
    assert mutate(demo, "attachPolicy", "AttachPolicyInput", again)["ok"]


def test_a_user_is_in_at_most_ten_groups(demo):
    groups = [Change(op="createGroup", args={"account": "111111111111", "name": f"g{i}"}) for i in range(8)]
    assert apply_changes(demo.db, groups).ok
    join = [
        Change(op="addUserToGroup", args={"user_arn": ALICE, "group_arn": A + f"group/g{i}"})
        for i in range(7)
    ]
    assert apply_changes(demo.db, join).ok  # with Alice's three: ten
    code, message, path = refused(
        demo, "addUserToGroup", "GroupMembershipInput", {"userArn": ALICE, "groupArn": A + "group/g7"}
    )
    assert (code, path) == ("LIMIT_EXCEEDED", ["input", "groupArn"])
    assert "already in 10 groups" in message


def test_an_export_beyond_the_limits_loads_with_a_warning_per_entity(make_db, tmp_path):
    user = "arn:aws:iam::123456789012:user/big"
    export = one_user_export(user, document(3000))
    summary = load_files(make_db(), [write(tmp_path, "big.json", export)])
    assert summary.users == 1
    beyond = [w for w in summary.warnings if "AWS allows" in w]
    assert len(beyond) == 1 and "3,000 characters" in beyond[0] and "2,048" in beyond[0], summary.warnings
    assert beyond[0].endswith("(loaded anyway)")


def test_real_and_generated_exports_are_within_the_limits(tmp_path):
    from graphiam.ingest.gaad import read_gaad_file
    from tests.helpers import GAAD_EXAMPLE, generated_exports

    for path in [GAAD_EXAMPLE, SEEDS / "demo-org.json", *generated_exports(tmp_path, 300, seed=3)]:
        assert limits.export_warnings(read_gaad_file(path)) == [], path


def test_an_import_through_the_api_beyond_the_limits_loads_and_its_account_carries_the_warning(demo):
    user = "arn:aws:iam::123456789012:user/big"
    result = mutate(
        demo, "importExport", "ImportExportInput", {"document": one_user_export(user, document(3000))}
    )
    assert result["ok"], result["errors"]
    accounts = demo("{ accounts { id warnings } }")["accounts"]
    (warnings,) = [a["warnings"] for a in accounts if a["id"] == "123456789012"]
    assert any("3,000 characters" in w and "2,048" in w for w in warnings), warnings
