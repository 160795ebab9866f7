"""Escalation edges per technique family, on small hand-written exports fed to the real loader.

Each case is an export (Python dicts in GAAD shape), the edges that must be derived (actor, technique, target)
and edges that must NOT be: the false positives action-name matchers report (a Deny in the same or another
policy, a resource constraint excluding the target, a condition that cannot hold, a boundary) and the false
negatives they miss (permissions split across policies and groups, a resource pattern including the target,
a NotAction that grants).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from graphiam.graph.snapshot import build_snapshot
from graphiam.queries.admin import admin_facts
from graphiam.queries.escalation_paths import build_index
from graphiam.store import escalation_store as S
from tests.helpers import (
    ACCT,
    ADMIN_ARN,
    MFA,
    allow,
    arn,
    cm,
    deny,
    doc,
    export,
    group,
    managed_policy,
    role,
    user,
)

EC2_ADMIN_ROLE = role("Ec2Admin", {"Service": "ec2.amazonaws.com"}, managed=(ADMIN_ARN,), profile=True)
LAMBDA_ADMIN_ROLE = role("LambdaAdmin", {"Service": "lambda.amazonaws.com"}, managed=(ADMIN_ARN,))
TRUSTING_ROLE = role("AdminRole", {"AWS": f"arn:aws:iam::{ACCT}:root"}, managed=(ADMIN_ARN,))
PLAIN_ROLE = role("Plain", {"AWS": f"arn:aws:iam::{ACCT}:root"}, allow("s3:GetObject"))


# (id, export, edges that must exist, edges that must not) — an edge is (actor name, technique, target name)
CASES = [
    # --- self-escalation: a policy on oneself, one's group, a version, a boundary -------------------------
    (
        "iam-007 PutUserPolicy on self",
        export(user("u", allow("iam:PutUserPolicy", arn("user", "u")))),
        {("u", "iam-007", "u")},
        set(),
    ),
    (
        "iam-008 AttachUserPolicy on self",
        export(user("u", allow("iam:AttachUserPolicy", arn("user", "u")))),
        {("u", "iam-008", "u")},
        set(),
    ),
    (
        "iam-008 blocked: iam:PolicyARN pinned to a read-only policy",
        export(
            user(
                "u",
                allow(
                    "iam:AttachUserPolicy",
                    arn("user", "u"),
                    Condition={"ArnEquals": {"iam:PolicyARN": "arn:aws:iam::aws:policy/ReadOnlyAccess"}},
                ),
            )
        ),
        set(),
        {("u", "iam-008", "u")},
    ),
    (
        "iam-005/iam-009 a role puts / attaches a policy on itself",
        export(
            roles=(
                role(
                    "r",
                    {"Service": "ec2.amazonaws.com"},
                    allow(["iam:PutRolePolicy", "iam:AttachRolePolicy"], arn("role", "r")),
                ),
            )
        ),
        {("r", "iam-005", "r"), ("r", "iam-009", "r")},
        set(),
    ),
    (
        "iam-010/iam-011 a policy on the actor's own group",
        export(
            user("u", groups=("g",)),
            groups=(group("g", allow(["iam:AttachGroupPolicy", "iam:PutGroupPolicy"], arn("group", "g"))),),
        ),
        {("u", "iam-010", "u"), ("u", "iam-011", "u")},
        set(),
    ),
    (
        "iam-013 joining an administrators' group",
        export(
            user("u", allow("iam:AddUserToGroup", arn("group", "admins"))),
            groups=(group("admins", managed=(ADMIN_ARN,)), group("readers", allow("s3:Get*"))),
        ),
        {("u", "iam-013", "u")},
        set(),
    ),
    (
        "iam-013 false positive: only a group that grants little may be joined",
        export(
            user("u", allow("iam:AddUserToGroup", arn("group", "readers"))),
            groups=(group("admins", managed=(ADMIN_ARN,)), group("readers", allow("s3:Get*"))),
        ),
        set(),
        {("u", "iam-013", "u")},
    ),
    (
        "iam-001 CreatePolicyVersion on a policy attached to oneself",
        export(
            user("u", managed=(cm("ops"),)),
            policies=(managed_policy(cm("ops"), doc(allow("iam:CreatePolicyVersion", cm("ops")))),),
        ),
        {("u", "iam-001", "u")},
        set(),
    ),
    (
        "graphiam-001 SetDefaultPolicyVersion: a stored non-default version allows *",
        export(
            user("u", managed=(cm("rel"),)),
            policies=(
                managed_policy(
                    cm("rel"),
                    doc(allow("*")),
                    doc(allow("iam:SetDefaultPolicyVersion", cm("rel"))),
                    default=1,
                ),
            ),
        ),
        {("u", "graphiam-001", "u")},
        set(),
    ),
    (
        "graphiam-001 false positive: the other versions grant no more",
        export(
            user("u", managed=(cm("rel"),)),
            policies=(
                managed_policy(
                    cm("rel"),
                    doc(allow("s3:GetObject")),
                    doc(allow("iam:SetDefaultPolicyVersion", cm("rel"))),
                    default=1,
                ),
            ),
        ),
        set(),
        {("u", "graphiam-001", "u")},
    ),
    (
        "graphiam-003 removing one's own boundary, which is what stops being admin",
        export(
            user("u", allow("*"), boundary=cm("bound")),
            policies=(
                managed_policy(cm("bound"), doc(allow(["s3:*", "iam:DeleteUserPermissionsBoundary"]))),
            ),
        ),
        {("u", "graphiam-003", "u")},
        set(),
    ),
    (
        "graphiam-004/006 a role removes or replaces its boundary",
        export(
            roles=(role("r", {"Service": "ec2.amazonaws.com"}, allow("*"), boundary=cm("bound")),),
            policies=(managed_policy(cm("bound"), doc(allow(["s3:*", "iam:*RolePermissionsBoundary"]))),),
        ),
        {("r", "graphiam-004", "r"), ("r", "graphiam-006", "r")},
        set(),
    ),
    # --- principal access ----------------------------------------------------------------------------------
    (
        "iam-002 CreateAccessKey on another user",
        export(user("u", allow("iam:CreateAccessKey"))),
        {("u", "iam-002", "admin")},
        set(),
    ),
    (
        "iam-004/iam-006 login profiles (no credential report: both possible)",
        export(user("u", allow(["iam:CreateLoginProfile", "iam:UpdateLoginProfile"], arn("user", "admin")))),
        {("u", "iam-004", "admin"), ("u", "iam-006", "admin")},
        set(),
    ),
    (
        "iam-012 UpdateAssumeRolePolicy on a role",
        export(user("u", allow("iam:UpdateAssumeRolePolicy")), roles=(PLAIN_ROLE,)),
        {("u", "iam-012", "Plain")},
        set(),
    ),
    (
        "iam-014 AttachRolePolicy + AssumeRole on a role trusting the account",
        export(
            user("u", allow(["iam:AttachRolePolicy", "sts:AssumeRole"], arn("role", "Plain"))),
            roles=(PLAIN_ROLE,),
        ),
        {("u", "iam-014", "Plain")},
        set(),
    ),
    (
        "iam-014 needs AssumeRole too: AttachRolePolicy alone is no edge",
        export(user("u", allow("iam:AttachRolePolicy")), roles=(PLAIN_ROLE,)),
        set(),
        {("u", "iam-014", "Plain")},
    ),
    (
        "iam-016 CreatePolicyVersion on a role's policy + AssumeRole",
        export(
            user("u", allow(["iam:CreatePolicyVersion", "sts:AssumeRole"])),
            roles=(role("Ops", {"AWS": f"arn:aws:iam::{ACCT}:root"}, managed=(cm("opsrole"),)),),
            policies=(managed_policy(cm("opsrole"), doc(allow("s3:GetObject"))),),
        ),
        {("u", "iam-016", "Ops")},
        set(),
    ),
    # --- passing a role to a service -----------------------------------------------------------------------
    (
        "ec2-001 PassRole + RunInstances to a role trusting EC2 with an instance profile",
        export(
            user("u", allow(["iam:PassRole", "ec2:RunInstances"])), roles=(EC2_ADMIN_ROLE, LAMBDA_ADMIN_ROLE)
        ),
        {("u", "ec2-001", "Ec2Admin")},
        {("u", "ec2-001", "LambdaAdmin")},
    ),
    (
        "ec2-001 needs an instance profile",
        export(
            user("u", allow(["iam:PassRole", "ec2:RunInstances"])),
            roles=(role("NoProfile", {"Service": "ec2.amazonaws.com"}, managed=(ADMIN_ARN,)),),
        ),
        set(),
        {("u", "ec2-001", "NoProfile")},
    ),
    (
        "ec2-001 false positive: PassRole only to Lambda (iam:PassedToService)",
        export(
            user(
                "u",
                allow("ec2:RunInstances"),
                allow(
                    "iam:PassRole",
                    Condition={"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}},
                ),
            ),
            roles=(EC2_ADMIN_ROLE,),
        ),
        set(),
        {("u", "ec2-001", "Ec2Admin")},
    ),
    (
        "lambda-001 PassRole + CreateFunction + InvokeFunction",
        export(
            user("u", allow(["iam:PassRole", "lambda:CreateFunction", "lambda:InvokeFunction"])),
            roles=(LAMBDA_ADMIN_ROLE, EC2_ADMIN_ROLE),
        ),
        {("u", "lambda-001", "LambdaAdmin")},
        {("u", "lambda-001", "Ec2Admin")},
    ),
    (
        "lambda-003 UpdateFunctionCode: an existing function is assumed",
        export(user("u", allow("lambda:UpdateFunctionCode")), roles=(LAMBDA_ADMIN_ROLE,)),
        {("u", "lambda-003", "LambdaAdmin")},
        set(),
    ),
    (
        "cloudformation-001 PassRole + CreateStack",
        export(
            user("u", allow(["iam:PassRole", "cloudformation:CreateStack"])),
            roles=(role("Cfn", {"Service": "cloudformation.amazonaws.com"}, managed=(ADMIN_ARN,)),),
        ),
        {("u", "cloudformation-001", "Cfn")},
        set(),
    ),
    (
        "glue-001 PassRole + CreateDevEndpoint",
        export(
            user("u", allow(["iam:PassRole", "glue:CreateDevEndpoint"])),
            roles=(role("Glue", {"Service": "glue.amazonaws.com"}, managed=(ADMIN_ARN,)),),
        ),
        {("u", "glue-001", "Glue")},
        set(),
    ),
    # --- false positives -----------------------------------------------------------------------------------
    (
        "FP: allow and deny in the same policy",
        export(user("u", allow("iam:PutUserPolicy"), deny("iam:PutUserPolicy"))),
        set(),
        {("u", "iam-007", "u")},
    ),
    (
        "FP: a deny in another policy (a group's)",
        export(user("u", allow("iam:*"), groups=("g",)), groups=(group("g", deny("iam:*")),)),
        set(),
        {("u", "iam-007", "u"), ("u", "iam-002", "admin")},
    ),
    (
        "FP: a resource constraint that excludes the target",
        export(user("u", allow("iam:CreateAccessKey", arn("user", "svc-*")))),
        set(),
        {("u", "iam-002", "admin")},
    ),
    (
        "FP: a condition that cannot hold (a tag the principal lacks)",
        export(
            user(
                "u",
                allow("iam:PutUserPolicy", Condition={"StringEquals": {"aws:PrincipalTag/team": "sec"}}),
                tags={"team": "web"},
            )
        ),
        set(),
        {("u", "iam-007", "u")},
    ),
    (
        "FP: a condition that cannot hold (a time window in the past)",
        export(
            user(
                "u",
                allow(
                    "iam:PutUserPolicy",
                    Condition={"DateLessThan": {"aws:CurrentTime": "2001-01-01T00:00:00Z"}},
                ),
            )
        ),
        set(),
        {("u", "iam-007", "u")},
    ),
    (
        "FP: a boundary that blocks",
        export(
            user("u", allow("iam:*"), boundary=cm("s3only")),
            policies=(managed_policy(cm("s3only"), doc(allow("s3:*"))),),
        ),
        set(),
        {("u", "iam-007", "u"), ("u", "iam-002", "admin")},
    ),
    # --- false negatives -----------------------------------------------------------------------------------
    (
        "FN: permissions split across a user policy and a group policy",
        export(
            user("u", allow("iam:PassRole"), groups=("g",)),
            groups=(group("g", allow("ec2:RunInstances")),),
            roles=(EC2_ADMIN_ROLE,),
        ),
        {("u", "ec2-001", "Ec2Admin")},
        set(),
    ),
    (
        "FN: a resource pattern that includes the target",
        export(user("u", allow("iam:CreateAccessKey", arn("user", "adm*")))),
        {("u", "iam-002", "admin")},
        set(),
    ),
    (
        "FN: a NotAction that grants",
        export(user("u", {"Effect": "Allow", "NotAction": "s3:*", "Resource": "*"})),
        {("u", "iam-007", "u"), ("u", "iam-008", "u")},
        set(),
    ),
    (
        "a principal that can make itself admin keeps only its self-loops",
        export(user("u", allow(["iam:PutUserPolicy", "iam:CreateAccessKey"]))),
        {("u", "iam-007", "u")},
        {("u", "iam-002", "admin")},
    ),
    (
        "FN: a condition the attacker can meet (MFA) keeps the edge",
        export(user("u", allow("iam:PutUserPolicy", Condition=MFA))),
        {("u", "iam-007", "u")},
        set(),
    ),
]


def load(make_db: Any, tmp_path: Any, data: dict[str, Any]) -> Any:
    path = tmp_path / "export.json"
    path.write_text(json.dumps(data))
    return make_db(path)


def stored_edges(db: Any) -> dict[tuple[str, str, str], dict[str, Any]]:
    sources = sorted({r["source"] for r in S.path_edges(db) if r["kind"] == "ESCALATES_TO"})
    return {
        (r["source"].rsplit("/", 1)[-1], r["technique"], r["target"].rsplit("/", 1)[-1]): r
        for r in S.escalation_details(db, sources)
    }


@pytest.mark.parametrize("data,present,absent", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_edges(make_db, tmp_path, data, present, absent):
    edges = stored_edges(load(make_db, tmp_path, data))
    assert present <= set(edges), f"missing {present - set(edges)}"
    assert not (absent & set(edges)), f"unexpected {absent & set(edges)}"


def test_edge_records_permissions_statements_and_needed_conditions(make_db, tmp_path):
    db = load(
        make_db,
        tmp_path,
        export(
            user("u", allow("iam:PassRole"), allow("ec2:RunInstances", Condition=MFA)),
            roles=(EC2_ADMIN_ROLE,),
        ),
    )
    edge = stored_edges(db)[("u", "ec2-001", "Ec2Admin")]
    perms = {p["action"]: p for p in json.loads(edge["permissions"])}
    assert perms["iam:PassRole"]["resource"] == arn("role", "Ec2Admin")
    assert perms["iam:PassRole"]["statements"] == [f"{arn('user', 'u')}#p#0"]
    assert perms["ec2:RunInstances"]["needs"] == ["aws:MultiFactorAuthPresent"]
    assert json.loads(edge["details"])["needs"] == ["aws:MultiFactorAuthPresent"]


def test_reloading_replaces_the_edges_of_the_account(make_db, tmp_path):
    db = load(make_db, tmp_path, export(user("u", allow("iam:PutUserPolicy"))))
    assert ("u", "iam-007", "u") in stored_edges(db)
    from graphiam.changes.load import load_files

    path = tmp_path / "export2.json"
    path.write_text(json.dumps(export(user("u", allow("s3:GetObject")))))
    load_files(db, [path])
    assert not stored_edges(db)


# (is_admin, can_become_admin, conditions): `queries.admin`'s two facts
ADMIN_CASES = [
    ("allow * on *", export(user("u", allow("*"))), (True, False, ())),
    ("allow * with a deny of iam:*", export(user("u", allow("*"), deny("iam:*"))), (False, False, ())),
    (
        "allow * capped by a boundary",
        export(
            user("u", allow("*"), boundary=cm("b")), policies=(managed_policy(cm("b"), doc(allow("s3:*"))),)
        ),
        (False, False, ()),
    ),
    (
        "NotAction sparing IAM is not admin (PowerUser)",
        export(user("u", {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})),
        (False, False, ()),
    ),
    ("iam:* makes itself admin in one step", export(user("u", allow("iam:*"))), (False, True, ())),
    (
        "admin when MFA is used: administrator, under that condition",
        export(
            user(
                "u",
                allow("*"),
                deny("*", Condition={"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}),
            )
        ),
        (True, False, ("aws:MultiFactorAuthPresent",)),
    ),
    ("nothing", export(user("u", allow("s3:GetObject"))), (False, False, ())),
]


@pytest.mark.parametrize("data,expected", [c[1:] for c in ADMIN_CASES], ids=[c[0] for c in ADMIN_CASES])
def test_admin_facts(make_db, tmp_path, data, expected):
    db = load(make_db, tmp_path, data)
    facts = admin_facts(build_index(db, build_snapshot(db)), arn("user", "u"))
    assert (facts.is_admin, facts.can_become_admin, facts.conditions) == expected, facts.reason
    assert facts.reason and facts.incomplete == ()


@pytest.mark.parametrize("conditional, free", [("a-first", "z-last"), ("z-last", "a-first")])
def test_an_edge_needs_the_fewest_conditions_of_its_ways(make_db, tmp_path, conditional, free):
    """Setting a stored version default lets `u` create a version of either of two attached policies, one on
    condition of MFA, one unconditionally: the edge needs nothing, whichever policy comes first."""
    db = load(
        make_db,
        tmp_path,
        export(
            user("u", managed=(cm("rel"), cm(conditional), cm(free))),
            policies=(
                managed_policy(
                    cm("rel"),
                    doc(allow("iam:SetDefaultPolicyVersion", cm("rel"))),
                    doc(
                        allow("iam:CreatePolicyVersion", cm(conditional), Condition=MFA),
                        allow("iam:CreatePolicyVersion", cm(free)),
                    ),
                ),
                managed_policy(cm(conditional), doc(allow("s3:GetObject"))),
                managed_policy(cm(free), doc(allow("s3:GetObject"))),
            ),
        ),
    )
    details = json.loads(stored_edges(db)[("u", "graphiam-001", "u")]["details"])
    assert details["needs"] == []
    assert details["via"]["then"] == "iam-001"
    assert [u["resource"] for u in details["proof"] if u["action"] == "iam:CreatePolicyVersion"] == [cm(free)]
