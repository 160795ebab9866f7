"""A stored AWS organization: loading its description, the SCPs `simulate` and `whoCan` then apply, the API
view.

AWS: SCPs govern the users and roles of member accounts — at every level from the root to the account some SCP
must allow, a Deny anywhere denies — and not the management account nor service-linked roles.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from graphiam.changes.load import load_files, seed_files
from graphiam.errors import IngestError
from graphiam.store import Database, open_database
from tests.helpers import SEEDS, TESTS, GraphQLClient

DEMO_ORG = TESTS / "data" / "organizations" / "demo-org.json"
ALICE = "arn:aws:iam::111111111111:user/engineering/alice"
BREAK_GLASS = "arn:aws:iam::111111111111:role/BreakGlassRole"
FULL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def org(
    management: str = "999999999999",
    deny: dict[str, Any] | None = None,
    *,
    deny_target: str = "ou-ex12-members1",
) -> dict[str, Any]:
    """Both demo accounts in one OU under the root; the management account is another one."""
    policies = [
        {
            "Id": "p-FullAWSAccess",
            "Name": "FullAWSAccess",
            "AwsManaged": True,
            "Content": FULL,
            "Targets": list(
                dict.fromkeys(["r-ex12", "ou-ex12-members1", "111111111111", "222222222222", management])
            ),
        }
    ]
    if deny is not None:
        policies.append(
            {"Id": "p-guardrail1", "Name": "Guardrail", "Content": deny, "Targets": [deny_target]}
        )
    return {
        "Organization": {"Id": "o-exampleorg1", "MasterAccountId": management},
        "Roots": [{"Id": "r-ex12", "Name": "Root"}],
        "OrganizationalUnits": [{"Id": "ou-ex12-members1", "Name": "Members", "ParentId": "r-ex12"}],
        "Accounts": [{"Id": management, "Name": "management", "ParentId": "r-ex12"}]
        + [
            {"Id": a, "Name": a, "ParentId": "ou-ex12-members1"}
            for a in ("111111111111", "222222222222")
            if a != management
        ],
        "Policies": policies,
    }


NO_EC2 = {
    "Version": "2012-10-17",
    "Statement": [{"Sid": "NoEc2", "Effect": "Deny", "Action": "ec2:*", "Resource": "*"}],
}
NO_IAM_CREATE_BUT_BREAK_GLASS = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "OnlyBreakGlassCreates",
            "Effect": "Deny",
            "Action": "iam:Create*",
            "Resource": "*",
            "Condition": {"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/BreakGlassRole"}},
        }
    ],
}


@pytest.fixture
def db():
    d = open_database(None, buffer_pool_mb=256)
    load_files(d, seed_files(SEEDS))
    yield d
    d.close()


def write(tmp_path: Path, data: Any, name: str = "org.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


def decide(db: Database, principal: str, action: str, **args: Any) -> dict[str, Any]:
    q = GraphQLClient(db)
    answer: dict[str, Any] = q(
        """query($p: String!, $a: String!, $l: [[JSON!]!]) { simulate(principal: $p, action: $a,
                serviceControlPolicies: $l) { decision scpDecision identityDecision warnings
                matchedStatements { policyArn kind appliesVia sid effect } } }""",
        {"p": principal, "a": action, "l": args.get("levels")},
    )["simulate"]
    return answer


def test_loaded_scps_apply_to_member_accounts(db, tmp_path):
    assert decide(db, ALICE, "ec2:DescribeInstances")["decision"] == "ALLOWED"
    summary = load_files(db, [write(tmp_path, org(deny=NO_EC2))])
    assert summary.organization == "o-exampleorg1: 3 accounts, 1 OUs, 2 SCPs"
    d = decide(db, ALICE, "ec2:DescribeInstances")
    assert d["decision"] == "EXPLICIT_DENY" and d["scpDecision"] == "EXPLICIT_DENY"
    assert d["identityDecision"] == "ALLOWED"
    assert {
        "policyArn": "p-guardrail1",
        "kind": "SCP",
        "appliesVia": "SCP",
        "sid": "NoEc2",
        "effect": "DENY",
    } in d["matchedStatements"]
    # an action the guardrail leaves alone: every level (root, OU, account) allows it through FullAWSAccess
    other = decide(db, ALICE, "sts:GetCallerIdentity")
    assert other["scpDecision"] == "ALLOWED"


def test_the_management_account_is_not_governed(db, tmp_path):
    load_files(db, [write(tmp_path, org(management="111111111111", deny=NO_EC2, deny_target="r-ex12"))])
    d = decide(db, ALICE, "ec2:DescribeInstances")
    assert d["decision"] == "ALLOWED" and d["scpDecision"] is None


def test_a_level_without_an_allow_denies(db, tmp_path):
    data = org()
    data["Policies"][0]["Targets"].remove(
        "ou-ex12-members1"
    )  # the OU keeps no SCP: nothing is allowed below it
    summary = load_files(db, [write(tmp_path, data)])
    assert any("ou-ex12-members1" in w and "no SCP attached" in w for w in summary.warnings)
    d = decide(db, ALICE, "ec2:DescribeInstances")
    assert d["decision"] == "IMPLICIT_DENY" and d["scpDecision"] == "IMPLICIT_DENY"


def test_given_scps_replace_the_stored_ones(db, tmp_path):
    load_files(db, [write(tmp_path, org(deny=NO_EC2))])
    assert decide(db, ALICE, "ec2:DescribeInstances", levels=[[FULL]])["decision"] == "ALLOWED"


def test_who_can_honours_scp_conditions(db, tmp_path):
    q = GraphQLClient(db)
    query = '{ whoCan(action: "iam:CreateUser", resource: "*") { principalArn } }'
    before = {x["principalArn"] for x in q(query)["whoCan"]}
    assert BREAK_GLASS in before and len(before) > 1
    load_files(db, [write(tmp_path, org(deny=NO_IAM_CREATE_BUT_BREAK_GLASS))])
    assert {x["principalArn"] for x in q(query)["whoCan"]} == {BREAK_GLASS}


def test_reloading_replaces_the_organization(db, tmp_path):
    load_files(db, [write(tmp_path, org(deny=NO_EC2), "a.json")])
    assert decide(db, ALICE, "ec2:DescribeInstances")["decision"] == "EXPLICIT_DENY"
    load_files(db, [write(tmp_path, org(), "b.json")])
    assert decide(db, ALICE, "ec2:DescribeInstances")["decision"] == "ALLOWED"
    units = GraphQLClient(db)("{ organization { serviceControlPolicies { id } } }")["organization"]
    assert [p["id"] for p in units["serviceControlPolicies"]] == ["p-FullAWSAccess"]


def test_organization_view(db):
    load_files(db, [DEMO_ORG])
    d = GraphQLClient(db)("""{ organization { id managementAccountId
        units { id kind name parentId isManagementAccount serviceControlPolicies { id } }
        serviceControlPolicies { id name awsManaged targetIds document }
        partner: scpLevels(account: "222222222222") { unit { id } serviceControlPolicies { name } }
        management: scpLevels(account: "111111111111") { unit { id } }
        stranger: scpLevels(account: "333333333333") { unit { id } } } }""")["organization"]
    assert d["id"] == "o-exampleorg1" and d["managementAccountId"] == "111111111111"
    assert [(u["id"], u["kind"], u["parentId"]) for u in d["units"]] == [
        ("111111111111", "account", "r-ex12"),
        ("222222222222", "account", "ou-ex12-partners"),
        ("ou-ex12-partners", "ou", "r-ex12"),
        ("r-ex12", "root", None),
    ]
    assert [p["id"] for p in d["serviceControlPolicies"]] == [
        "p-FullAWSAccess",
        "p-denyiam01",
    ]  # tag policy skipped
    assert (
        d["serviceControlPolicies"][0]["document"]["Statement"][0]["Action"] == "*"
    )  # Content was JSON text
    assert [(lv["unit"]["id"], [p["name"] for p in lv["serviceControlPolicies"]]) for lv in d["partner"]] == [
        ("r-ex12", ["FullAWSAccess"]),
        ("ou-ex12-partners", ["FullAWSAccess", "PartnersNoIamWrites"]),
        ("222222222222", ["FullAWSAccess"]),
    ]
    assert d["management"] is None and d["stranger"] is None


def test_no_organization_is_null():
    d = open_database(None, buffer_pool_mb=256)
    load_files(d, [SEEDS / "demo-org.json", SEEDS / "partner-account.json"])  # the exports, no organization
    assert GraphQLClient(d)("{ organization { id } }")["organization"] is None
    d.close()


def _broken(mutate: Callable[[dict[str, Any]], object]) -> dict[str, Any]:
    data = copy.deepcopy(org(deny=NO_EC2))
    mutate(data)
    return data


@pytest.mark.parametrize(
    "data, path, message",
    [
        (
            _broken(lambda d: d["Organization"].update(Id="org-1")),
            "$.Organization.Id",
            "not an organization id",
        ),
        (_broken(lambda d: d.pop("Roots")), "$.Roots", "missing required key"),
        (
            _broken(lambda d: d["Accounts"][1].update(ParentId="ou-ex12-nowhere1")),
            "$.Accounts[1].ParentId",
            "not a root or OU of this file",
        ),
        (
            _broken(
                lambda d: d["OrganizationalUnits"].append(
                    {"Id": "ou-ex12-loopxxxx", "ParentId": "ou-ex12-loopxxxx"}
                )
            ),
            "$.OrganizationalUnits[1].ParentId",
            "loop",
        ),
        (
            _broken(lambda d: d["Policies"][1]["Targets"].append("444444444444")),
            "$.Policies[1].Targets[1]",
            "not a root, OU or account",
        ),
        (
            _broken(lambda d: d["Policies"][1]["Content"]["Statement"][0].update(Effect="Maybe")),
            "$.Policies[1].Content.Statement[0].Effect",
            "",
        ),
        (_broken(lambda d: d["Accounts"][2].update(Id="12345")), "$.Accounts[2].Id", "12-digit"),
    ],
    ids=["org-id", "no-roots", "unknown-parent", "loop", "unknown-target", "bad-scp", "bad-account"],
)
def test_bad_descriptions_are_refused_with_the_json_path_and_nothing_written(
    db, tmp_path, data, path, message
):
    load_files(db, [write(tmp_path, org(deny=NO_IAM_CREATE_BUT_BREAK_GLASS), "good.json")])
    before = decide(db, ALICE, "iam:CreateUser")
    with pytest.raises(IngestError) as err:
        load_files(db, [write(tmp_path, data)])
    assert f"org.json: {path}" in str(err.value) and message in str(err.value)
    assert decide(db, ALICE, "iam:CreateUser") == before
    ids = GraphQLClient(db)("{ organization { serviceControlPolicies { id } } }")["organization"]
    assert [p["id"] for p in ids["serviceControlPolicies"]] == ["p-FullAWSAccess", "p-guardrail1"]


def test_an_organization_alone_in_an_empty_database_keeps_the_seeds_out(tmp_path):
    from graphiam.changes.load import load_seeds_if_empty

    d = open_database(None, buffer_pool_mb=256)
    try:
        load_files(d, [DEMO_ORG])
        assert load_seeds_if_empty(d) is None
    finally:
        d.close()


def _assumable(db: Database, principal: str) -> set[str]:
    q = GraphQLClient(db)
    rows = q("query($p: String!) { assumableRoles(from: $p, maxDepth: 1) { arn } }", {"p": principal})
    return {r["arn"] for r in rows["assumableRoles"]}


def test_can_assume_edges_follow_the_scps(db, tmp_path):
    before = _assumable(db, ALICE)
    assert before  # the demo gives alice roles to assume
    no_assume = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Deny", "Action": "sts:AssumeRole", "Resource": "*"}],
    }
    load_files(db, [write(tmp_path, org(deny=no_assume), "deny.json")])
    assert _assumable(db, ALICE) == set()
    # a Deny whose condition reads a key the graph cannot know (the caller's region) leaves the edges drawn
    regional = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "Action": "sts:AssumeRole",
                "Resource": "*",
                "Condition": {"StringNotEquals": {"aws:RequestedRegion": "eu-west-1"}},
            }
        ],
    }
    load_files(db, [write(tmp_path, org(deny=regional), "regional.json")])
    assert _assumable(db, ALICE) == before
    # a Deny on a principal tag alice does not carry is certain: the graph knows her tags
    tagged = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "Action": "sts:AssumeRole",
                "Resource": "*",
                "Condition": {"StringNotEquals": {"aws:PrincipalTag/clearance": "high"}},
            }
        ],
    }
    load_files(db, [write(tmp_path, org(deny=tagged), "tagged.json")])
    assert _assumable(db, ALICE) == set()
    load_files(db, [write(tmp_path, org(), "open.json")])
    assert _assumable(db, ALICE) == before


def _effective(
    db: Database, principal: str, service: str | None, *, every_name: bool = True
) -> dict[str, Any]:
    q = GraphQLClient(db)
    out: dict[str, Any] = {}
    names: set[str] = set()
    after = None
    while True:  # every allowed action, a page of 100 at a time
        d = q(
            """query($p: String!, $s: String, $a: String) { effectivePermissions(principal: $p, service: $s) {
                 isAdmin actionCount blockedActionCount actions(first: 100, after: $a) {
                 nodes { action } pageInfo { hasNextPage endCursor } } } }""",
            {"p": principal, "s": service, "a": after},
        )["effectivePermissions"]
        out = d
        names |= {n["action"] for n in d["actions"]["nodes"]}
        if not every_name or not d["actions"]["pageInfo"]["hasNextPage"]:
            break
        after = d["actions"]["pageInfo"]["endCursor"]
    out["names"] = names
    assert len(names) == out["actionCount"] or not every_name
    return out


def test_effective_permissions_are_capped_by_every_scp_level(db, tmp_path):
    ec2 = _effective(db, ALICE, "ec2")
    assert ec2["actionCount"] > 0 and ec2["blockedActionCount"] == 0
    load_files(db, [write(tmp_path, org(deny=NO_EC2), "deny.json")])
    capped = _effective(db, ALICE, "ec2")
    assert capped["actionCount"] == 0 and capped["blockedActionCount"] == ec2["actionCount"]
    # a level allowing only ec2:Describe*: what alice keeps is the intersection
    only_describe = org()
    only_describe["Policies"][0]["Targets"].remove("ou-ex12-members1")
    only_describe["Policies"].append(
        {
            "Id": "p-describe01",
            "Name": "DescribeOnly",
            "Targets": ["ou-ex12-members1"],
            "Content": {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*"}],
            },
        }
    )
    load_files(db, [write(tmp_path, only_describe, "describe.json")])
    kept = _effective(db, ALICE, "ec2")
    names, before = kept["names"], ec2["names"]
    assert names and all(a.split(":")[1].startswith("Describe") for a in names)
    assert names == {a for a in before if a.split(":")[1].startswith("Describe")}


def test_an_administrator_capped_by_an_scp_is_not_admin(db, tmp_path):
    assert _effective(db, BREAK_GLASS, None, every_name=False)["isAdmin"] is True
    load_files(db, [write(tmp_path, org(deny=NO_EC2))])
    assert _effective(db, BREAK_GLASS, None, every_name=False)["isAdmin"] is False


def _summary(db: Database) -> dict[str, str]:
    rows = GraphQLClient(db)("{ escalationSummary { arn firstTechnique } }")["escalationSummary"]
    return {r["arn"]: r["firstTechnique"] for r in rows}


def test_escalation_follows_the_scps(db, tmp_path):
    before = _summary(db)
    bob = "arn:aws:iam::111111111111:user/engineering/bob"
    assert before.get(bob) == "ec2-001"
    no_pass_role = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Deny", "Action": "iam:PassRole", "Resource": "*"}],
    }
    load_files(db, [write(tmp_path, org(deny=no_pass_role), "nopass.json")])
    after = _summary(db)
    assert bob not in after  # bob's only way up passes a role to EC2
    assert set(after) < set(before)
    # an SCP denying IAM writes to everyone but BreakGlassRole caps every other administrator
    load_files(db, [write(tmp_path, org(deny=NO_IAM_CREATE_BUT_BREAK_GLASS), "glass.json")])
    q = GraphQLClient(db)

    def admin(arn: str) -> Any:  # the JSON value as it is: the asserts below check it `is` True or False
        return q("query($a: String!) { principal(arn: $a) { isAdmin } }", {"a": arn})["principal"]["isAdmin"]

    assert admin(BREAK_GLASS) is True
    assert admin("arn:aws:iam::111111111111:role/ProductionAdminRole") is False
    load_files(db, [write(tmp_path, org(), "open.json")])
    assert _summary(db) == before


def test_rcps_load_along_the_tree_beside_the_scps(tmp_path: Path) -> None:
    from graphiam.graph.snapshot import build_snapshot
    from graphiam.ingest.organizations import parse_organization

    data = org()
    deny_public = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": "*",
                "Condition": {"StringNotEqualsIfExists": {"aws:PrincipalOrgID": "o-exampleorg1"}},
            }
        ],
    }
    data["Policies"] += [
        {
            "Id": "p-RCPFullAWSAccess",
            "Name": "RCPFullAWSAccess",
            "Type": "RESOURCE_CONTROL_POLICY",
            "AwsManaged": True,
            "Content": FULL,
            "Targets": ["r-ex12", "ou-ex12-members1", "111111111111"],
        },
        {
            "Id": "p-rcpdata1",
            "Name": "DataPerimeter",
            "Type": "RESOURCE_CONTROL_POLICY",
            "Content": json.dumps(deny_public),
            "Targets": [{"TargetId": "ou-ex12-members1"}],
        },
        {"Id": "p-tags1", "Type": "TAG_POLICY", "Content": {}, "Targets": []},
    ]
    parsed = parse_organization(data, source="org.json")
    assert [p.id for p in parsed.policies] == ["p-FullAWSAccess"]
    assert [p.id for p in parsed.rcps] == ["p-RCPFullAWSAccess", "p-rcpdata1"]
    assert any("TAG_POLICY, not an SCP or RCP" in w for w in parsed.warnings)
    path = tmp_path / "org.json"
    path.write_text(json.dumps(data))
    db = open_database(None)
    summary = load_files(db, [path])
    assert "1 SCPs, 2 RCPs" in (summary.organization or "")
    snap = build_snapshot(db)
    levels = snap.rcp_levels("111111111111")
    assert levels is not None
    assert [[p.policy_id for p in level] for level in levels] == [
        ["p-RCPFullAWSAccess"],
        ["p-RCPFullAWSAccess", "p-rcpdata1"],
        ["p-RCPFullAWSAccess"],
    ]
    assert levels[1][1].document.statements[0].effect == "Deny"
    assert snap.rcp_levels("999999999999") is None  # the management account
    # the SCP levels are unchanged by the RCPs
    assert [[p.policy_id for p in level] for level in snap.scp_levels("111111111111") or ()] == [
        ["p-FullAWSAccess"]
    ] * 3
