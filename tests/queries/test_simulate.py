"""simulate over the stored graph: context derivation and overrides, trust policies, inputs, errors.

Expected decisions are the ones documented for the demo org in seeds/README.md / seeds/facts.json.
"""

from __future__ import annotations

import json

import pytest

from graphiam.errors import InputError, NotFoundError, PolicyParseError
from graphiam.graph.snapshot import build_snapshot
from graphiam.policy import Decision
from graphiam.queries.simulate import simulate, simulate_custom
from tests.helpers import SEEDS

ACCT = "111111111111"
ALICE = f"arn:aws:iam::{ACCT}:user/engineering/alice"
GRACE = f"arn:aws:iam::{ACCT}:user/contractors/grace"
ERIN = f"arn:aws:iam::{ACCT}:user/security/erin"
PLATFORM = f"arn:aws:iam::{ACCT}:role/PlatformEngineerRole"


@pytest.fixture(scope="module")
def snap():
    from graphiam.changes.load import load_files, seed_files
    from graphiam.store import open_database

    db = open_database(None, buffer_pool_mb=256)
    load_files(db, seed_files(SEEDS))
    yield build_snapshot(db)
    db.close()


def test_context_is_derived_from_the_principal(snap):
    s = simulate(snap, principal=ALICE, action="s3:GetObject", resource="arn:aws:s3:::x/y")
    assert s.context["aws:username"] == "alice"
    assert s.context["aws:PrincipalArn"] == ALICE and s.context["aws:PrincipalType"] == "User"
    assert s.context["aws:PrincipalAccount"] == ACCT
    tags = {k: v for k, v in s.context.items() if k.startswith("aws:PrincipalTag/")}
    assert tags  # every demo user carries team and env tags
    role = simulate(snap, principal=PLATFORM, action="s3:GetObject", resource="*")
    assert role.context["aws:PrincipalType"] == "AssumedRole" and "aws:username" not in role.context


def test_caller_context_overrides_the_derived_one_case_insensitively(snap):
    s = simulate(snap, principal=ALICE, action="s3:GetObject", context={"AWS:USERNAME": "mallory"})
    assert s.context["AWS:USERNAME"] == "mallory" and "aws:username" not in s.context


def test_assume_role_uses_the_trust_policy_and_reports_missing_mfa(snap):
    s = simulate(snap, principal=ALICE, action="sts:AssumeRole", resource=PLATFORM)
    assert s.resource_policy_used == "trust"
    assert s.evaluation.decision.value == "IMPLICIT_DENY"
    assert "aws:MultiFactorAuthPresent" in s.evaluation.missing_context_keys
    ok = simulate(
        snap,
        principal=ALICE,
        action="sts:AssumeRole",
        resource=PLATFORM,
        context={"aws:MultiFactorAuthPresent": "true"},
    )
    assert ok.evaluation.decision.value == "ALLOWED"
    assert any(m.source.kind == "trust" for m in ok.evaluation.matched)


def test_permissions_boundary_caps_and_can_be_replaced(snap):
    # grace has ReadOnlyAccess capped by ContractorBoundary (seeds/README.md)
    s = simulate(
        snap,
        principal=GRACE,
        action="iam:ListUsers",
        resource="*",
        context={"aws:CurrentTime": "2025-06-01T12:00:00Z"},
    )
    assert s.evaluation.boundary_decision is not None
    open_boundary = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
    }
    replaced = simulate(
        snap,
        principal=GRACE,
        action="iam:ListUsers",
        resource="*",
        permissions_boundary=open_boundary,
        context={"aws:CurrentTime": "2025-06-01T12:00:00Z"},
    )
    assert replaced.evaluation.boundary_decision is Decision.ALLOWED


def test_extra_policies_and_resource_policy(snap):
    extra = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "iam:*", "Resource": "*"}]}
    base = simulate(
        snap,
        principal=ERIN,
        action="iam:CreateUser",
        resource="*",
        context={"aws:MultiFactorAuthPresent": "true"},
    )
    assert base.evaluation.decision.value == "ALLOWED"
    denied = simulate(
        snap,
        principal=ERIN,
        action="iam:CreateUser",
        resource="*",
        extra_policies=[json.dumps(extra)],
        context={"aws:MultiFactorAuthPresent": "true"},
    )
    assert denied.evaluation.decision.value == "EXPLICIT_DENY"
    assert [m.source.policy_id for m in denied.evaluation.matched] == ["extraPolicies[0]"]
    bucket = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": GRACE},
                "Action": "s3:PutObject",
                "Resource": "arn:aws:s3:::drop/*",
            }
        ],
    }
    s = simulate(
        snap,
        principal=GRACE,
        action="s3:PutObject",
        resource="arn:aws:s3:::drop/a",
        resource_policy=bucket,
        resource_owner=ACCT,
    )
    assert s.evaluation.resource_decision is Decision.ALLOWED
    assert (
        s.evaluation.decision.value == "ALLOWED"
    )  # same account, names the user: not capped by her boundary


def test_simulate_custom_without_the_graph():
    doc = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "s3:Get*",
                "Resource": "arn:aws:s3:::b/*",
                "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
            }
        ],
    }
    s = simulate_custom(
        policies=[doc],
        action="s3:GetObject",
        resource="arn:aws:s3:::b/k",
        context={"aws:SourceIp": "10.1.2.3"},
    )
    assert s.evaluation.decision.value == "ALLOWED"
    s = simulate_custom(policies=[doc], action="s3:GetObject", resource="arn:aws:s3:::b/k")
    assert s.evaluation.decision.value == "IMPLICIT_DENY" and s.evaluation.missing_context_keys == (
        "aws:SourceIp",
    )


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"principal": "arn:aws:iam::111111111111:user/nobody"}, NotFoundError, "is not in the graph"),
        ({"action": "GetObject"}, InputError, "is not of the form service:Action"),
        (
            {"extra_policies": [{"Statement": [{"Effect": "Alow", "Action": "*", "Resource": "*"}]}]},
            PolicyParseError,
            "extraPolicies[0]: invalid policy document: $.Statement[0].Effect",
        ),
        ({"resource_policy": "{not json"}, PolicyParseError, "resourcePolicy"),
    ],
    ids=["unknown-principal", "bad-action", "bad-extra-policy", "bad-resource-policy"],
)
def test_bad_input_is_named(snap, kwargs, error, message):
    args = {"principal": ALICE, "action": "s3:GetObject", "resource": "*", **kwargs}
    with pytest.raises(error) as err:
        simulate(snap, **args)
    assert message in str(err.value)


def test_a_typo_in_the_request_is_named_with_the_closest_known_action(snap):
    s = simulate(snap, principal=ALICE, action="s3:GetObjekt", resource="arn:aws:s3:::x/y")
    assert s.evaluation.decision == Decision.IMPLICIT_DENY
    assert "unknown action `s3:GetObjekt`: did you mean s3:GetObject?" in s.warnings
    s = simulate(snap, principal=ALICE, action="s33:GetObject")
    assert "unknown service `s33` in `s33:GetObject`: did you mean s3:GetObject?" in s.warnings
    s = simulate(snap, principal=ALICE, action="s3:GetObject", resource="arn:aws:s3:x")
    assert any(w.startswith("resource `arn:aws:s3:x`: not an ARN") for w in s.warnings), s.warnings
    # a well-formed request gets none of these
    s = simulate(snap, principal=ALICE, action="s3:GetObject", resource="arn:aws:s3:::x/y")
    assert not [w for w in s.warnings if "unknown" in w or "ARN" in w]
    c = simulate_custom(policies=[], action="iam:CreateUsr", resource="bucket")
    assert c.warnings == (
        "unknown action `iam:CreateUsr`: did you mean iam:CreateUser?",
        "resource `bucket`: not an ARN: `bucket`: expected `arn:partition:service:region:account:resource`",
    )
    assert simulate_custom(policies=[], action="iam:CreateUser").warnings == ()
