"""Escalation scenarios end to end: an IAM escalation test bed, the demo org's facts, and `graphiam paths`.

The test bed is `tests/data/gaad/cloudsplaining-example.json` (Cloudsplaining's sample, BSD-3): account
200611803367 holds BishopFox iam-vulnerable style principals. Each `privescN-…`/`privesc-…` user and role
carries the policy of one technique; `fnN-…` are escalations that action-name matchers miss and `fpN-…` ones
they wrongly report. Per starting principal we assert whether it reaches administrator and that the
expected technique starts one of its paths; for the rest, that there is NO path. The expectation follows from
the policy name and the export's facts (the test id says why), not from what the code happens to produce.
"""

from __future__ import annotations

import json

import pytest

from graphiam.changes.load import seed_files
from graphiam.cli import main
from graphiam.derive.escalation.techniques import technique
from graphiam.graph.snapshot import build_snapshot
from graphiam.queries.escalation_paths import build_index, escalation_paths, escalation_summary
from tests.helpers import GAAD_EXAMPLE, SEEDS

BED = "arn:aws:iam::200611803367:"

# (principal, technique that starts a path to admin, or None: no path) — the id explains the expectation
BED_CASES = [
    ("user/privesc1-CreateNewPolicyVersion-user", "iam-001", "CreatePolicyVersion on its own policy"),
    ("role/privesc1-CreateNewPolicyVersion-role", "iam-001", "CreatePolicyVersion on its own policy"),
    (
        "user/privesc2-SetExistingDefaultPolicyVersion-user",
        None,
        "SetDefaultPolicyVersion but the export stores no non-default version to switch to",
    ),
    ("role/privesc2-SetExistingDefaultPolicyVersion-role", None, "same: no stored non-default version"),
    (
        "user/privesc3-CreateEC2WithExistingInstanceProfile-user",
        "ec2-001",
        "PassRole + RunInstances to privesc-high-priv-service-role (trusts EC2, has an instance profile)",
    ),
    ("role/privesc3-CreateEC2WithExistingInstanceProfile-role", "ec2-001", "same as the user"),
    ("user/privesc4-CreateAccessKey-user", "iam-002", "CreateAccessKey on a user who can escalate (2 steps)"),
    ("role/privesc4-CreateAccessKey-role", "iam-002", "same as the user"),
    ("user/privesc5-CreateLoginProfile-user", "iam-004", "CreateLoginProfile on a user who can escalate"),
    ("role/privesc5-CreateLoginProfile-role", "iam-004", "same as the user"),
    ("user/privesc6-UpdateLoginProfile-user", "iam-006", "UpdateLoginProfile on a user who can escalate"),
    ("role/privesc6-UpdateLoginProfile-role", "iam-006", "same as the user"),
    ("user/privesc7-AttachUserPolicy-user", "iam-008", "AttachUserPolicy on itself"),
    (
        "role/privesc7-AttachUserPolicy-role",
        None,
        "AttachUserPolicy: a role is no user and gets no credentials",
    ),
    ("user/privesc8-AttachGroupPolicy-user", "iam-010", "AttachGroupPolicy on its own group"),
    ("role/privesc8-AttachGroupPolicy-role", None, "AttachGroupPolicy: a role is in no group"),
    (
        "user/privesc9-AttachRolePolicy-user",
        None,
        "AttachRolePolicy but no sts:AssumeRole and no trust policy names the user",
    ),
    ("role/privesc9-AttachRolePolicy-role", "iam-009", "AttachRolePolicy on itself"),
    ("user/privesc10-PutUserPolicy-user", "iam-007", "PutUserPolicy on itself"),
    ("role/privesc10-PutUserPolicy-role", None, "PutUserPolicy: a role is no user"),
    ("user/privesc11-PutGroupPolicy-user", "iam-011", "PutGroupPolicy on its own group"),
    ("role/privesc11-PutGroupPolicy-role", None, "PutGroupPolicy: a role is in no group"),
    ("user/privesc12-PutRolePolicy-user", None, "PutRolePolicy but cannot assume any role"),
    ("role/privesc12-PutRolePolicy-role", "iam-005", "PutRolePolicy on itself"),
    (
        "user/privesc13-AddUserToGroup-user",
        "iam-013",
        "AddUserToGroup to privesc-sre-group (iam:*), then AttachUserPolicy on itself",
    ),
    ("role/privesc13-AddUserToGroup-role", None, "AddUserToGroup: a role cannot join a group"),
    ("user/privesc14-UpdatingAssumeRolePolicy-user", "iam-012", "UpdateAssumeRolePolicy on an admin role"),
    ("role/privesc14-UpdatingAssumeRolePolicy-role", "iam-012", "same as the user"),
    (
        "user/privesc15-PassExistingRoleToNewLambdaThenInvoke-user",
        "lambda-001",
        "PassRole + CreateFunction + Invoke",
    ),
    (
        "user/privesc16-PassRoleToNewLambdaThenTriggerWithNewDynamo-user",
        "lambda-002",
        "PassRole + CreateFunction + CreateEventSourceMapping",
    ),
    (
        "user/privesc17-EditExistingLambdaFunctionWithRole-user",
        "lambda-003",
        "UpdateFunctionCode (assumes a function runs as the admin role)",
    ),
    ("user/privesc18-PassExistingRoleToNewGlueDevEndpoint-user", "glue-001", "PassRole + CreateDevEndpoint"),
    (
        "user/privesc19-UpdateExistingGlueDevEndpoint-user",
        "glue-002",
        "UpdateDevEndpoint (assumes an endpoint runs as the admin role)",
    ),
    ("user/privesc20-PassExistingRoleToCloudFormation-user", "cloudformation-001", "PassRole + CreateStack"),
    ("user/privesc21-PassExistingRoleToNewDataPipeline-user", "datapipeline-001", "PassRole + data pipeline"),
    ("role/privesc21-PassExistingRoleToNewDataPipeline-role", "datapipeline-001", "same as the user"),
    ("user/privesc-CloudFormationUpdateStack-user", "cloudformation-002", "UpdateStack on an existing stack"),
    (
        "user/privesc-codeBuildCreateProjectPassRole-user",
        "codebuild-001",
        "PassRole + CreateProject + StartBuild",
    ),
    (
        "user/privesc-ec2InstanceConnect-user",
        "ec2instanceconnect-003",
        "SendSSHPublicKey to an admin instance",
    ),
    (
        "user/privesc-sageMakerCreateNotebookPassRole-user",
        "sagemaker-001",
        "PassRole + CreateNotebookInstance",
    ),
    (
        "user/privesc-sageMakerCreatePresignedNotebookURL-user",
        "sagemaker-004",
        "presigned URL of an existing notebook",
    ),
    (
        "user/privesc-sageMakerCreateProcessingJobPassRole-user",
        "sagemaker-003",
        "PassRole + CreateProcessingJob",
    ),
    ("user/privesc-sageMakerCreateTrainingJobPassRole-user", "sagemaker-002", "PassRole + CreateTrainingJob"),
    ("user/privesc-ssmSendCommand-user", "ssm-002", "SendCommand to an admin instance"),
    ("user/privesc-ssmStartSession-user", "ssm-001", "StartSession on an admin instance"),
    ("user/privesc-sre-user", "iam-008", "its group grants iam:*: AttachUserPolicy on itself"),
    ("user/privesc-sre-user", "sts-001", "and privesc-sre-role trusts it by name"),
    ("role/privesc-sre-role", "iam-009", "iam:*: AttachRolePolicy on itself"),
    ("user/privesc-AssumeRole-start-user", None, "no policies at all"),
    ("role/privesc-AssumeRole-starting-role", "sts-001", "starting → intermediate → ending role (admin)"),
    ("role/privesc-AssumeRole-intermediate-role", "sts-001", "intermediate → ending role (admin)"),
    ("role/privesc-permissive-role-trust", None, "no policies at all"),
    (
        "user/fn1-privesc3-partial-user",
        "ec2-001",
        "FN case: PassRole and RunInstances split over two policies",
    ),
    ("role/fn1-privesc3-partial-role", "ec2-001", "FN case: split over two policies"),
    (
        "user/fn2-exploitableResourceConstraint-user",
        "iam-001",
        "FN case: resource policy/fn2-* includes its own policy",
    ),
    (
        "role/fn2-exploitableResourceConstraint-role",
        "iam-001",
        "FN case: resource pattern includes the target",
    ),
    (
        "user/fn3-exploitableConditionConstraint-user",
        "iam-001",
        "FN case: TokenIssueTime after 2020 can hold",
    ),
    ("role/fn3-exploitableConditionConstraint-role", "iam-001", "FN case: condition that can hold"),
    (
        "user/fn4-exploitableNotAction-user",
        "iam-007",
        "FN case: NotAction Update*/Create*/Attach* grants PutUserPolicy",
    ),
    ("role/fn4-exploitableNotAction-role", "iam-005", "FN case: NotAction grants PutRolePolicy"),
    ("user/fp1-allow-and-deny-user", None, "FP case: allow and deny iam:* in the same policy"),
    ("role/fp1-allow-and-deny-role", None, "FP case: allow and deny in the same policy"),
    ("user/fp2-allow-and-deny-multiple-policies-user", None, "FP case: allow * and deny * in two policies"),
    ("role/fp2-allow-and-deny-multiple-policies-role", None, "FP case: deny in another policy"),
    ("user/fp3-deny-iam-user", None, "FP case: only a deny"),
    (
        "user/fp4-nonExploitableResourceConstraint-user",
        None,
        "FP case: CreatePolicyVersion only on AWS-managed fp4-* policies",
    ),
    (
        "role/fp4-nonExploitableResourceConstraint-role",
        None,
        "FP case: resource constraint excludes the target",
    ),
    (
        "user/fp5-nonExploitableConditionConstraint-user",
        None,
        "FP case: TokenIssueTime before 2020 cannot hold",
    ),
    ("role/fp5-nonExploitableConditionConstraint-role", None, "FP case: condition that cannot hold"),
    (
        "role/aws-service-role/support.amazonaws.com/AWSServiceRoleForSupport",
        None,
        "a read-mostly service role",
    ),
    ("role/AWS-QuickSetup-EnableCRecording-1clff_us-east-1", None, "Config recording automation role"),
]


@pytest.fixture(scope="module")
def bed():
    from graphiam.changes.load import load_files
    from graphiam.store import open_database

    db = open_database(None, buffer_pool_mb=256)
    load_files(db, [GAAD_EXAMPLE])
    snap = build_snapshot(db)
    yield db, snap, build_index(db, snap)
    db.close()


@pytest.mark.parametrize(
    "name,expected", [c[:2] for c in BED_CASES], ids=[f"{c[0].split('/')[-1]}: {c[2]}" for c in BED_CASES]
)
def test_test_bed(bed, name, expected):
    db, snap, index = bed
    arn = BED + name
    assert arn not in index.direct, "a starting principal must not be administrator already"
    paths = escalation_paths(db, snap, index, arn)
    if expected is None:
        assert paths == [], [[(s.technique, s.target) for s in p.steps] for p in paths[:3]]
        return
    assert paths and all(p.reaches_admin for p in paths)
    assert expected in {p.steps[0].technique for p in paths}
    for p in paths:  # every path ends in administrator
        last = p.steps[-1]
        assert last.admin or last.target in index.direct or last.source == last.target


def test_test_bed_administrators_need_no_path(bed):
    db, snap, index = bed
    admins = {a.split(":", 5)[-1] for a in index.direct if a.startswith(BED)}
    assert {
        "role/privesc-high-priv-service-role",
        "role/privesc-AssumeRole-ending-role",
        "role/OrganizationAccountAccessRole",
    } <= admins
    assert escalation_paths(db, snap, index, BED + "role/privesc-high-priv-service-role") == []


# --- the demo org (seeds/facts.json) --------------------------------------------------------------------
FACTS = json.loads((SEEDS / "facts.json").read_text())


@pytest.fixture(scope="module")
def demo():
    from graphiam.changes.load import load_files
    from graphiam.store import open_database

    db = open_database(None, buffer_pool_mb=256)
    load_files(db, seed_files(SEEDS))
    snap = build_snapshot(db)
    yield db, snap, build_index(db, snap)
    db.close()


@pytest.mark.parametrize(
    "fact", FACTS["escalations"], ids=[f["from"].rsplit("/", 1)[-1] for f in FACTS["escalations"]]
)
def test_demo_escalations(demo, fact):
    db, snap, index = demo
    paths = escalation_paths(db, snap, index, fact["from"])
    first = [p.steps[0] for p in paths]
    names = {s.technique for s in first} | {technique(s.technique).name for s in first}
    assert fact["technique"] in names
    step = next(s for s in first if fact["technique"] in (s.technique, technique(s.technique).name))
    assert {u["action"] for u in step.permissions} >= set(fact["permissions"])
    if "to" in fact:
        assert step.target == fact["to"]
    else:
        assert step.target == step.source  # a self-escalation


def test_demo_has_a_multi_hop_path_and_admins_match_the_facts(demo):
    db, snap, index = demo
    assert set(index.direct) == set(FACTS["admin_equivalent"])
    alice = escalation_paths(db, snap, index, "arn:aws:iam::111111111111:user/engineering/alice")
    assert [alice[0].steps[0].source] + [s.target for s in alice[0].steps] == FACTS["chains"][0]
    assert alice[0].needs == ("aws:MultiFactorAuthPresent",)


NOT_ESCALATING = [
    "user/ops/network/frank",
    "user/contractors/grace",
    "user/automation/legacy-reporting",
    "role/service-role/WebAppInstanceRole",
    "role/service-role/DataProcessorLambdaRole",
    "role/PartnerAuditRole",
]


@pytest.mark.parametrize("name", NOT_ESCALATING)
def test_demo_principals_that_cannot_escalate_have_no_path(demo, name):
    db, snap, index = demo
    arn = "arn:aws:iam::111111111111:" + name
    assert escalation_paths(db, snap, index, arn) == []
    assert arn not in {e.principal for e in escalation_summary(db, snap, index)}


def test_summary_lists_exactly_the_escalating_principals(demo):
    db, snap, index = demo
    summary = {e.principal.rsplit("/", 1)[-1]: e for e in escalation_summary(db, snap, index)}
    assert {"bob", "carol", "dave", "alice"} <= set(summary)
    assert summary["carol"].self_escalation and summary["carol"].first_technique == "iam-001"
    assert summary["bob"].shortest == 1 and summary["bob"].first_technique == "ec2-001"
    assert summary["alice"].shortest == 3
    assert not set(summary) & {"erin", "ProductionAdminRole", "frank", "grace"}


def test_cli_paths(tmp_path, capsys):
    db_dir = tmp_path / "db"
    assert main(["load", *map(str, seed_files(SEEDS)), "--db", str(db_dir)]) == 0
    capsys.readouterr()
    assert (
        main(["paths", "--from", "arn:aws:iam::111111111111:user/engineering/alice", "--db", str(db_dir)])
        == 0
    )
    out = capsys.readouterr().out
    assert (
        "user/engineering/alice --sts-001 (sts:AssumeRole)--> "
        "arn:aws:iam::111111111111:role/PlatformEngineerRole [needs: aws:MultiFactorAuthPresent]" in out
    )
    assert (
        main(["paths", "--from", "arn:aws:iam::111111111111:user/engineering/bob", "--db", str(db_dir)]) == 0
    )
    assert (
        "--ec2-001 (ec2:RunInstances, iam:PassRole)--> "
        "arn:aws:iam::111111111111:role/service-role/OpsAutomationRole" in capsys.readouterr().out
    )
    assert (
        main(["paths", "--from", "arn:aws:iam::111111111111:user/ops/network/frank", "--db", str(db_dir)])
        == 0
    )
    assert "no path from" in capsys.readouterr().out
    assert main(["paths", "--from", "arn:aws:iam::111111111111:user/nobody", "--db", str(db_dir)]) == 1
    assert "is not in the graph" in capsys.readouterr().err
