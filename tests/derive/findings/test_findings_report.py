"""The report over stored graphs: Cloudsplaining's example (privesc*, fp* and fn* fixtures) and the seeds."""

from __future__ import annotations

import json
from typing import Any

import pytest

from graphiam.changes.load import load_files, seed_files
from graphiam.derive.findings.rules import RiskCategory as C
from graphiam.graph.snapshot import build_snapshot
from graphiam.queries.findings import Exclusions, build_findings_index, policy_findings
from graphiam.store import open_database
from tests.helpers import GAAD_EXAMPLE, SEEDS

EX = "arn:aws:iam::200611803367:policy/"

# Cloudsplaining's example names each policy after the Rhino Security Labs method it enables; Cloudsplaining
# maps the methods to pathfinding.cloud ids (PRIVILEGE_ESCALATION_PATHFINDING_PATHS).
# SetExistingDefaultPolicyVersion has no pathfinding.cloud id: graphiam-001 is graphiam's technique for it.
EXPECTED_TECHNIQUE = {
    "privesc1-CreateNewPolicyVersion": "iam-001",
    "privesc2-SetExistingDefaultPolicyVersion": "graphiam-001",
    "privesc3-CreateEC2WithExistingInstanceProfile": "ec2-001",
    "privesc4-CreateAccessKey": "iam-002",
    "privesc5-CreateLoginProfile": "iam-004",
    "privesc6-UpdateLoginProfile": "iam-006",
    "privesc7-AttachUserPolicy": "iam-008",
    "privesc8-AttachGroupPolicy": "iam-010",
    "privesc9-AttachRolePolicy": "iam-009",
    "privesc10-PutUserPolicy": "iam-007",
    "privesc11-PutGroupPolicy": "iam-011",
    "privesc12-PutRolePolicy": "iam-005",
    "privesc13-AddUserToGroup": "iam-013",
    "privesc14-UpdatingAssumeRolePolicy": "iam-012",
    "privesc15-PassExistingRoleToNewLambdaThenInvoke": "lambda-001",
    "privesc16-PassRoleToNewLambdaThenTriggerWithNewDynamo": "lambda-002",
    "privesc17-EditExistingLambdaFunctionWithRole": "lambda-003",
    "privesc18-PassExistingRoleToNewGlueDevEndpoint": "glue-001",
    "privesc19-UpdateExistingGlueDevEndpoint": "glue-002",
    "privesc20-PassExistingRoleToCloudFormation": "cloudformation-001",
    "privesc21-PassExistingRoleToNewDataPipeline": "datapipeline-001",
    "privesc-CloudFormationUpdateStack": "cloudformation-002",
    "privesc-codeBuildCreateProjectPassRole-policy": "codebuild-001",
    "privesc-ec2InstanceConnect-policy": "ec2instanceconnect-003",
    "privesc-sageMakerCreateNotebookPassRole-policy": "sagemaker-001",
    "privesc-sageMakerCreatePresignedNotebookURL-policy": "sagemaker-004",
    "privesc-sageMakerCreateProcessingJobPassRole-policy": "sagemaker-003",
    "privesc-sageMakerCreateTrainingJobPassRole-policy": "sagemaker-002",
    "privesc-ssmSendCommand-policy": "ssm-002",
    "privesc-ssmStartSession-policy": "ssm-001",
}


@pytest.fixture(scope="module")
def example():
    db = open_database(None, buffer_pool_mb=256)
    load_files(db, [GAAD_EXAMPLE])
    index = build_findings_index(db, build_snapshot(db))
    yield index
    db.close()


@pytest.fixture(scope="module")
def seeds():
    db = open_database(None, buffer_pool_mb=256)
    load_files(db, seed_files(SEEDS))
    index = build_findings_index(db, build_snapshot(db))
    yield index
    db.close()


def by_arn(report) -> dict[Any, Any]:
    return {p.arn: p for p in report.policies}


def cats(policy) -> dict[Any, Any]:
    return {f.category: f for f in policy.findings}


def test_every_privesc_policy_of_the_example_is_privilege_escalation(example):
    got = by_arn(policy_findings(example))
    for name, technique in EXPECTED_TECHNIQUE.items():
        assert technique in cats(got[EX + name])[C.PRIVILEGE_ESCALATION].techniques, name


def test_the_example_false_positive_traps(example):
    got = by_arn(policy_findings(example))
    # allow and deny in one policy, deny only, a constraint to AWS-managed policies, deny-all: none reported
    for name in ("fp1-allow-and-deny", "fp3-deny-iam", "fp4-nonExploitableResourceConstraint", "deny-all"):
        assert EX + name not in got, name
    # a Deny in another policy does not clean this one, but no principal it reaches is administrator
    fp2 = got[EX + "fp2-allow-all"]
    assert cats(fp2)[C.SERVICE_WILDCARD].actions == ("*",)
    assert {p.name for p in fp2.principals} == {
        "fp2-allow-and-deny-multiple-policies-user",
        "fp2-allow-and-deny-multiple-policies-role",
    }
    assert not fp2.reaches_admin


def test_the_example_false_negative_traps(example):
    got = by_arn(policy_findings(example))
    pe = cats(got[EX + "fn3-exploitableConditionConstraint"])[C.PRIVILEGE_ESCALATION]
    assert pe.techniques == ("iam-001",) and pe.conditional
    assert pe.conditions == ("#0: DateGreaterThan aws:TokenIssueTime ['2020-01-01T00:00:01Z']",)
    # its mirror fp5 (credentials issued before 2020) grants nothing now: conditions on the clock are judged,
    # and it is not reported
    assert EX + "fp5-nonExploitableConditionConstraint" not in got
    fn4 = cats(got[EX + "fn4-exploitableNotAction"])[C.PRIVILEGE_ESCALATION]
    assert {"iam-005", "iam-007", "iam-011", "iam-013"} <= set(fn4.techniques)  # Put*Policy, AddUserToGroup
    assert not {"iam-001", "iam-002", "iam-008"} & set(fn4.techniques)  # Create*, Attach* are excluded
    # a technique is reported when one policy allows all of it: fn1 splits ec2-001 over two policies
    for name in ("fn1-privesc3-partial", "fn1-passrole-star"):
        assert C.PRIVILEGE_ESCALATION not in cats(got[EX + name])
    # a resource constraint that still names the policy itself: left to escalationPaths, which proves it
    assert EX + "fn2-exploitableResourceConstraint" not in got


def test_admins_and_reach(example):
    got = by_arn(policy_findings(example))
    admin = got["arn:aws:iam::aws:policy/AdministratorAccess"]
    assert admin.reaches_admin and admin.kind == "aws-managed"
    via_group = [p for p in admin.principals if p.via is not None]
    assert via_group and all(p.kind == "user" for p in via_group)
    assert {p.via for p in via_group} <= {p.arn for p in admin.principals if p.kind == "group"}
    inline = got["arn:aws:iam::012345678901:group/biden#InlinePolicyForBidenGroup"]
    assert inline.kind == "inline" and inline.owner == "arn:aws:iam::012345678901:group/biden"
    assert {(p.kind, p.name, p.via) for p in inline.principals} == {
        ("group", "biden", None),
        ("user", "biden", "arn:aws:iam::012345678901:group/biden"),
    }


def test_aws_managed_policies_are_reported_only_when_attached(example):
    snap = example.snap
    reported = {p.arn for p in policy_findings(example).policies if p.kind == "aws-managed"}
    attached = {a for a, rows in example.targets.items() if rows}
    aws = {a for a, p in snap.policies.items() if p.kind == "aws-managed"}
    assert reported <= attached and aws - attached  # the export lists some it does not attach
    assert not (aws - attached) & reported


def test_summary_counts_the_policies(example):
    report = policy_findings(example)
    for row in report.summary:
        hits = [p for p in report.policies if any(f.category is row.category for f in p.findings)]
        assert row.policies == len(hits)
        assert row.principals == len({r.arn for p in hits for r in p.principals if r.kind != "group"})
    assert report.analysed >= len(report.policies)


def test_kinds_keep_some_categories(example):
    report = policy_findings(example, categories=[C.DATA_EXFILTRATION])
    assert [r.category for r in report.summary] == [C.DATA_EXFILTRATION]
    assert report.policies and all(
        {f.category for f in p.findings} == {C.DATA_EXFILTRATION} for p in report.policies
    )


def test_exclusions(example):
    got = by_arn(policy_findings(example, exclusions=Exclusions(policies=("privesc*",))))
    assert not any(p.name.startswith("privesc") for p in got.values())
    # fp2-allow-all is attached only to the excluded principals: gone; AdministratorAccess loses them only
    got = by_arn(
        policy_findings(example, exclusions=Exclusions(principals=("fp2-*", "arn:aws:iam::*:group/admin")))
    )
    assert EX + "fp2-allow-all" not in got
    admin = got["arn:aws:iam::aws:policy/AdministratorAccess"]
    assert all(
        p.arn.split("/")[-1] != "admin" and p.via is None for p in admin.principals if p.kind != "role"
    )
    got = by_arn(policy_findings(example, exclusions=Exclusions(actions=("iam:CreatePolicyVersion",))))
    assert EX + "privesc1-CreateNewPolicyVersion" not in got
    assert "iam-001" not in cats(got[EX + "fp2-allow-all"])[C.PRIVILEGE_ESCALATION].techniques


def test_account_scope(example):
    report = policy_findings(example, account="012345678901")
    assert report.policies
    for p in report.policies:
        assert p.account in ("012345678901", "aws")
        assert p.principals and all(r.account == "012345678901" for r in p.principals)
    with pytest.raises(Exception, match="not in the graph"):
        policy_findings(example, account="999999999999")


def test_seed_admins_are_the_facts(seeds):
    facts = json.loads((SEEDS / "facts.json").read_text())
    admins = {r.arn for p in policy_findings(seeds).policies for r in p.principals if r.is_admin}
    assert admins == set(facts["admin_equivalent"])


def test_seed_boundaries_grant_nothing(seeds):
    got = by_arn(policy_findings(seeds))
    boundary = got["arn:aws:iam::111111111111:policy/boundaries/DeliveryBoundary"]
    assert boundary.principals == () and boundary.boundary_of == (
        "arn:aws:iam::111111111111:role/delivery/DeploymentManagerRole",
    )
    # DeploymentManagerPolicy grants iam:* (the boundary removes it at run time, not in the policy)
    dm = cats(got["arn:aws:iam::111111111111:policy/delivery/DeploymentManagerPolicy"])
    assert "iam:*" in dm[C.SERVICE_WILDCARD].actions


def test_a_change_reanalyses_only_the_documents_whose_text_it_changed(tmp_path):
    from graphiam.queries.findings import FindingsIndexCache
    from tests.helpers import CONFORMANCE

    data = json.loads((CONFORMANCE / "gaad.json").read_text())
    path = tmp_path / "gaad.json"
    path.write_text(json.dumps(data))
    db = open_database(None, buffer_pool_mb=256)
    try:
        load_files(db, [path])
        cache = FindingsIndexCache()
        before = policy_findings(cache.get(db, build_snapshot(db)))
        assert cache.analyser is not None
        analysed = cache.analyser.analysed
        # one customer-managed policy's default version now allows all of IAM on everything
        pol = next(p for p in data["Policies"] if ":aws:policy/" not in p["Arn"])
        version = next(v for v in pol["PolicyVersionList"] if v["IsDefaultVersion"])
        version["Document"] = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "iam:*", "Resource": "*"}],
        }
        path.write_text(json.dumps(data))
        load_files(db, [path])
        after = policy_findings(cache.get(db, build_snapshot(db)))
        assert (
            cache.analyser.analysed == analysed + 1
        )  # the other documents are the same text: not analysed again
        fresh = policy_findings(
            build_findings_index(db, build_snapshot(db))
        )  # a new analyser, everything analysed
        assert after.policies == fresh.policies and after.summary == fresh.summary
        changed = by_arn(after)[pol["Arn"]]
        assert C.PRIVILEGE_ESCALATION in cats(changed) and after.policies != before.policies
    finally:
        db.close()
