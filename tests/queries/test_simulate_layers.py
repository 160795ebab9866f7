"""simulate and simulate_custom with the layers beyond identity policies: RCPs, session policies, KMS key
policies, and callers of every kind (graphiam/queries/simulate.py; the engine's rules: policy/evaluate.py)."""

from __future__ import annotations

from typing import Any

import pytest

from graphiam.errors import InputError, PolicyParseError
from graphiam.graph.snapshot import build_snapshot
from graphiam.policy import Decision
from graphiam.queries.simulate import key_policy_required, simulate, simulate_custom
from tests.helpers import SEEDS

ACCT = "111111111111"
OUTSIDE = "999988887777"
ALICE = f"arn:aws:iam::{ACCT}:user/engineering/alice"
PLATFORM = f"arn:aws:iam::{ACCT}:role/PlatformEngineerRole"
QUEUE = f"arn:aws:sqs:us-east-1:{ACCT}:jobs"
KEY = f"arn:aws:kms:us-east-1:{ACCT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"


@pytest.fixture(scope="module")
def snap():
    from graphiam.changes.load import load_files, seed_files
    from graphiam.store import open_database

    db = open_database(None, buffer_pool_mb=256)
    load_files(db, seed_files(SEEDS))
    yield build_snapshot(db)
    db.close()


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def st(effect: str, action: Any = "*", resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": effect, "Action": action, "Resource": resource, **extra}


ONLY_S3_LIST = doc(st("Allow", "s3:ListBucket"))


# --- session policies on a stored role --------------------------------------------------------------


def test_a_session_policy_caps_a_stored_role(snap):
    free = simulate(snap, principal=PLATFORM, action="s3:GetObject", resource="arn:aws:s3:::data/x")
    assert free.evaluation.decision is Decision.ALLOWED and free.evaluation.session_decision is None
    capped = simulate(
        snap,
        principal=PLATFORM,
        action="s3:GetObject",
        resource="arn:aws:s3:::data/x",
        session_policy=ONLY_S3_LIST,
    )
    assert capped.evaluation.decision is Decision.IMPLICIT_DENY
    assert capped.evaluation.session_decision is Decision.IMPLICIT_DENY
    widened = simulate(
        snap,
        principal=PLATFORM,
        action="s3:GetObject",
        resource="arn:aws:s3:::data/x",
        session_policy=doc(st("Allow", "s3:*")),
    )
    assert widened.evaluation.decision is Decision.ALLOWED
    assert any(m.source.via == "session" for m in widened.evaluation.matched)


def test_a_session_policy_for_a_user_is_ignored_with_a_warning(snap):
    s = simulate(snap, principal=ALICE, action="ec2:DescribeInstances", session_policy=ONLY_S3_LIST)
    assert s.evaluation.decision is Decision.ALLOWED and s.evaluation.session_decision is None
    assert any("session policy caps role sessions" in w for w in s.warnings), s.warnings


# --- RCPs -------------------------------------------------------------------------------------------


ORG_ONLY = doc(
    st(
        "Deny",
        ["s3:*", "sqs:*"],
        Principal="*",
        Condition={"StringNotEquals": {"aws:PrincipalOrgID": "o-mine"}},
    )
)


def test_an_rcp_denies_a_stored_role_outside_the_organization(snap):
    args: dict[str, Any] = {
        "principal": PLATFORM,
        "action": "s3:GetObject",
        "resource": "arn:aws:s3:::data/x",
    }
    s = simulate(snap, **args, rcps=[[ORG_ONLY], []])
    assert (
        s.evaluation.decision is Decision.EXPLICIT_DENY
        and s.evaluation.rcp_decision is Decision.EXPLICIT_DENY
    )
    assert any(m.source.kind == "rcp" for m in s.evaluation.matched)
    inside = simulate(snap, **args, rcps=[[ORG_ONLY], []], context={"aws:PrincipalOrgID": "o-mine"})
    assert (
        inside.evaluation.decision is Decision.ALLOWED and inside.evaluation.rcp_decision is Decision.ALLOWED
    )


def test_rcps_on_a_service_without_rcp_support_are_ignored_with_a_warning(snap):
    s = simulate(
        snap,
        principal=ALICE,
        action="lambda:InvokeFunction",
        resource=f"arn:aws:lambda:us-east-1:{ACCT}:function:f",
        rcps=[[doc(st("Deny", "*", Principal="*"))]],
    )
    assert s.evaluation.decision is Decision.ALLOWED and s.evaluation.rcp_decision is None
    assert any(w.startswith("RCPs do not apply to `lambda:InvokeFunction`") for w in s.warnings), s.warnings


# --- KMS key policies -------------------------------------------------------------------------------


def test_key_policy_required_for_kms_keys_only():
    assert key_policy_required(KEY)
    assert not key_policy_required(f"arn:aws:kms:us-east-1:{ACCT}:alias/app")
    assert not key_policy_required("arn:aws:s3:::b/k") and not key_policy_required("*")


def test_a_key_policy_must_allow_even_in_the_keys_account():
    identity = [doc(st("Allow", "kms:Decrypt"))]
    caller = f"arn:aws:iam::{ACCT}:user/bob"
    other = doc(st("Allow", "kms:*", Principal={"AWS": f"arn:aws:iam::{OUTSIDE}:root"}))
    account = doc(st("Allow", "kms:*", Principal={"AWS": f"arn:aws:iam::{ACCT}:root"}))
    common: dict[str, Any] = {
        "policies": identity,
        "action": "kms:Decrypt",
        "resource": KEY,
        "caller": caller,
    }
    assert simulate_custom(**common, resource_policy=other).evaluation.decision is Decision.IMPLICIT_DENY
    assert simulate_custom(**common, resource_policy=account).evaluation.decision is Decision.ALLOWED
    without = simulate_custom(**common)
    assert without.evaluation.decision is Decision.ALLOWED
    assert any("is a KMS key: its key policy must allow" in w for w in without.warnings)


# --- callers of every kind --------------------------------------------------------------------------


def test_a_service_principal_is_granted_by_the_resource_policy_with_its_source_keys():
    rp = doc(
        st(
            "Allow",
            "sqs:SendMessage",
            QUEUE,
            Principal={"Service": "events.amazonaws.com"},
            Condition={"StringEquals": {"aws:SourceAccount": ACCT}},
        )
    )
    common: dict[str, Any] = {
        "policies": [],
        "action": "sqs:SendMessage",
        "resource": QUEUE,
        "resource_policy": rp,
    }
    s = simulate_custom(**common, caller="events.amazonaws.com", context={"aws:SourceAccount": ACCT})
    assert s.evaluation.decision is Decision.ALLOWED
    assert s.context["aws:PrincipalServiceName"] == "events.amazonaws.com"
    assert s.context["aws:PrincipalIsAWSService"] == "true"
    other_source = simulate_custom(
        **common, caller="events.amazonaws.com", context={"aws:SourceAccount": OUTSIDE}
    )
    assert other_source.evaluation.decision is Decision.IMPLICIT_DENY
    # SCPs do not restrict a service principal
    scps = simulate_custom(
        **common, caller="events.amazonaws.com", context={"aws:SourceAccount": ACCT}, scps=[[doc(st("Deny"))]]
    )
    assert scps.evaluation.decision is Decision.ALLOWED and scps.evaluation.scp_decision is None
    assert any(w.startswith("SCPs do not restrict `events.amazonaws.com`") for w in scps.warnings)


def test_an_assumed_role_session_caller_and_its_session_policy():
    session = f"arn:aws:sts::{ACCT}:assumed-role/app/s1"
    role = f"arn:aws:iam::{ACCT}:role/app"
    common: dict[str, Any] = {
        "policies": [],
        "action": "sqs:SendMessage",
        "resource": QUEUE,
        "caller": session,
    }
    cap = doc(st("Allow", "s3:*"))
    by_session = doc(st("Allow", "sqs:SendMessage", QUEUE, Principal={"AWS": session}))
    by_role = doc(st("Allow", "sqs:SendMessage", QUEUE, Principal={"AWS": role}))
    s = simulate_custom(**common, resource_policy=by_session, session_policy=cap)
    assert s.evaluation.decision is Decision.ALLOWED
    assert s.evaluation.session_decision is Decision.IMPLICIT_DENY
    assert s.context["aws:PrincipalArn"] == role and s.context["aws:PrincipalType"] == "AssumedRole"
    r = simulate_custom(**common, resource_policy=by_role, session_policy=cap)
    assert r.evaluation.decision is Decision.IMPLICIT_DENY


def test_an_account_root_caller_and_an_anonymous_one():
    root = simulate_custom(
        policies=[], action="sqs:SendMessage", resource=QUEUE, caller=f"arn:aws:iam::{ACCT}:root"
    )
    assert root.evaluation.decision is Decision.ALLOWED
    public = doc(st("Allow", "sqs:SendMessage", QUEUE, Principal="*"))
    for caller in ("anonymous", "*"):
        s = simulate_custom(
            policies=[], action="sqs:SendMessage", resource=QUEUE, caller=caller, resource_policy=public
        )
        assert s.evaluation.decision is Decision.ALLOWED and s.principal_arn == "anonymous"
    private = doc(st("Allow", "sqs:SendMessage", QUEUE, Principal={"AWS": ACCT}))
    s = simulate_custom(
        policies=[], action="sqs:SendMessage", resource=QUEUE, caller="anonymous", resource_policy=private
    )
    assert s.evaluation.decision is Decision.IMPLICIT_DENY


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"caller": "bob"}, InputError, "`caller`: unknown caller `bob`"),
        (
            {"rcps": ["not a level"]},
            InputError,
            "resourceControlPolicies[0]: a level is a list of RCP documents",
        ),
        ({"rcps": [[{"Statement": "x"}]]}, PolicyParseError, "resourceControlPolicies[0][0]"),
        ({"session_policy": "{not json"}, PolicyParseError, "sessionPolicy"),
        ({"session_policy": doc(st("Alow"))}, PolicyParseError, "sessionPolicy: invalid policy document"),
    ],
    ids=["unknown-caller", "rcp-level", "bad-rcp", "session-not-json", "bad-session"],
)
def test_bad_input_is_named(kwargs, error, message):
    with pytest.raises(error) as err:
        simulate_custom(policies=[], action="s3:GetObject", **kwargs)
    assert message in str(err.value)
    assert "\n" not in str(err.value)
