"""The decision layers beyond identity and boundary: RCPs, SCP applicability, session policies, NotPrincipal
as documented, service principals and the account root (graphiam/policy/evaluate.py's docstring names
the AWS pages)."""

from __future__ import annotations

from typing import Any

from graphiam.policy import Decision, PolicySource, Request, evaluate, parse_policy

ACC = "111122223333"
OTHER = "444455556666"
ROLE = f"arn:aws:iam::{ACC}:role/app"
SESSION = f"arn:aws:sts::{ACC}:assumed-role/app/s1"
USER = f"arn:aws:iam::{ACC}:user/bob"
BUCKET_OBJ = "arn:aws:s3:::data/x"
QUEUE = f"arn:aws:sqs:us-east-1:{ACC}:q"
FUNCTION = f"arn:aws:lambda:us-east-1:{ACC}:function:f"


def src(doc: dict[str, Any], name: str = "p", kind: str = "custom") -> PolicySource:
    return PolicySource(
        document=parse_policy(doc, where=name), policy_id=name, name=name, kind=kind, via=kind
    )


def allow(action: str = "*", resource: str = "*", **extra: Any) -> PolicySource:
    return src(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": action, "Resource": resource, **extra}],
        }
    )


def deny(action: str = "*", resource: str = "*", **extra: Any) -> PolicySource:
    return src(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Deny", "Action": action, "Resource": resource, **extra}],
        }
    )


def grant(principal: Any, action: str = "*", effect: str = "Allow", key: str = "Principal") -> PolicySource:
    doc = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": effect, key: principal, "Action": action, "Resource": "*"}],
    }
    return src(doc, "resource", "resource")


def req(arn: str, action: str, resource: str, ptype: str, **kw: Any) -> Request:
    return Request(action=action, resource=resource, principal_arn=arn, principal_type=ptype, **kw)


NOT_FROM_ORG = {"StringNotEquals": {"aws:PrincipalOrgID": "o-1"}}
RCP_DENY = [[], [deny("s3:*", Principal="*", Condition=NOT_FROM_ORG)]]


# --- RCPs ---


def test_rcp_deny_on_a_supported_service_denies_even_a_granted_outsider() -> None:
    r = req(f"arn:aws:iam::{OTHER}:user/eve", "s3:GetObject", BUCKET_OBJ, "User", resource_account=ACC)
    ev = evaluate(r, identity=[allow()], resource_policy=grant({"AWS": OTHER}), rcps=RCP_DENY)
    assert ev.decision is Decision.EXPLICIT_DENY
    assert ev.rcp_decision is Decision.EXPLICIT_DENY


def test_rcp_levels_hold_only_denies_a_level_without_statements_still_allows() -> None:
    # RCPFullAWSAccess is attached at every level and cannot be detached: no RCP ever denies implicitly
    r = req(
        USER, "s3:GetObject", BUCKET_OBJ, "User", resource_account=ACC, context={"aws:PrincipalOrgID": "o-1"}
    )
    ev = evaluate(r, identity=[allow()], rcps=RCP_DENY)
    assert ev.decision is Decision.ALLOWED
    assert ev.rcp_decision is Decision.ALLOWED


def test_rcps_do_not_apply_to_services_that_do_not_support_them() -> None:
    rcps = [[deny("lambda:*", Principal="*")]]
    ev = evaluate(req(USER, "lambda:InvokeFunction", FUNCTION, "User"), identity=[allow()], rcps=rcps)
    assert ev.decision is Decision.ALLOWED
    assert ev.rcp_decision is None
    sqs = evaluate(
        req(USER, "sqs:SendMessage", QUEUE, "User"), identity=[allow()], rcps=[[deny("sqs:*", Principal="*")]]
    )
    assert sqs.decision is Decision.EXPLICIT_DENY


def test_rcps_do_not_restrict_service_linked_roles() -> None:
    slr = f"arn:aws:iam::{ACC}:role/aws-service-role/ops.amazonaws.com/AWSServiceRoleForOps"
    ev = evaluate(
        req(slr, "sqs:SendMessage", QUEUE, "AssumedRole"), identity=[allow()], rcps=[[deny(Principal="*")]]
    )
    assert ev.decision is Decision.ALLOWED and ev.rcp_decision is None


def test_rcps_apply_to_service_principals() -> None:
    r = req("events.amazonaws.com", "sqs:SendMessage", QUEUE, "Service", resource_account=ACC)
    rp = grant({"Service": "events.amazonaws.com"})
    assert evaluate(r, identity=[], resource_policy=rp).decision is Decision.ALLOWED
    ev = evaluate(r, identity=[], resource_policy=rp, rcps=[[deny("sqs:*", Principal="*")]])
    assert ev.decision is Decision.EXPLICIT_DENY


# --- SCPs ---


def test_scps_do_not_apply_to_service_principals() -> None:
    r = req("events.amazonaws.com", "sqs:SendMessage", QUEUE, "Service", resource_account=ACC)
    ev = evaluate(r, identity=[], resource_policy=grant({"Service": "events.amazonaws.com"}), scps=[[deny()]])
    assert ev.decision is Decision.ALLOWED and ev.scp_decision is None


def test_scps_still_apply_to_a_member_accounts_users() -> None:
    ev = evaluate(req(USER, "sqs:SendMessage", QUEUE, "User"), identity=[allow()], scps=[[allow("s3:*")]])
    assert ev.decision is Decision.IMPLICIT_DENY and ev.scp_decision is Decision.IMPLICIT_DENY


# --- service principals ---


def test_a_service_principal_is_decided_by_the_resource_policy_and_its_source_conditions() -> None:
    rp = src(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "events.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": QUEUE,
                    "Condition": {"ArnEquals": {"aws:SourceArn": f"arn:aws:events:us-east-1:{ACC}:rule/r"}},
                }
            ],
        },
        "resource",
        "resource",
    )
    good = {"aws:SourceArn": f"arn:aws:events:us-east-1:{ACC}:rule/r", "aws:SourceAccount": ACC}
    bad = {"aws:SourceArn": f"arn:aws:events:us-east-1:{OTHER}:rule/r", "aws:SourceAccount": OTHER}
    for ctx, want in ((good, Decision.ALLOWED), (bad, Decision.IMPLICIT_DENY)):
        r = req(
            "events.amazonaws.com", "sqs:SendMessage", QUEUE, "Service", resource_account=ACC, context=ctx
        )
        assert evaluate(r, identity=[], resource_policy=rp).decision is want
    other = req("sns.amazonaws.com", "sqs:SendMessage", QUEUE, "Service", resource_account=ACC, context=good)
    assert evaluate(other, identity=[], resource_policy=rp).decision is Decision.IMPLICIT_DENY


# --- session policies ---


def test_a_session_policy_caps_the_identity_side() -> None:
    r = req(SESSION, "sqs:SendMessage", QUEUE, "AssumedRole")
    ev = evaluate(r, identity=[allow()], session_policies=[allow("s3:*")])
    assert ev.decision is Decision.IMPLICIT_DENY and ev.session_decision is Decision.IMPLICIT_DENY
    ok = evaluate(r, identity=[allow()], session_policies=[allow("sqs:*")])
    assert ok.decision is Decision.ALLOWED and ok.session_decision is Decision.ALLOWED
    assert evaluate(r, identity=[allow()], session_policies=[allow(), deny("sqs:*")]).decision is (
        Decision.EXPLICIT_DENY
    )


def test_a_resource_policy_naming_the_role_is_capped_by_the_session_policy_naming_the_session_is_not() -> (
    None
):
    r = req(SESSION, "sqs:SendMessage", QUEUE, "AssumedRole")
    session = [allow("s3:*")]
    by_role = evaluate(r, identity=[], resource_policy=grant({"AWS": ROLE}), session_policies=session)
    assert by_role.decision is Decision.IMPLICIT_DENY
    by_session = evaluate(r, identity=[], resource_policy=grant({"AWS": SESSION}), session_policies=session)
    assert by_session.decision is Decision.ALLOWED
    assert by_session.session_decision is Decision.IMPLICIT_DENY


def test_a_session_policy_does_not_apply_to_an_iam_user() -> None:
    ev = evaluate(
        req(USER, "sqs:SendMessage", QUEUE, "User"), identity=[allow()], session_policies=[allow("s3:*")]
    )
    assert ev.decision is Decision.ALLOWED and ev.session_decision is None


# --- NotPrincipal ---


def test_a_deny_with_not_principal_exempts_only_a_caller_named_by_its_own_arn() -> None:
    r = req(SESSION, "sqs:SendMessage", QUEUE, "AssumedRole")
    for named, want in (
        ([SESSION, ROLE, f"arn:aws:iam::{ACC}:root"], Decision.ALLOWED),
        ([ROLE, f"arn:aws:iam::{ACC}:root"], Decision.EXPLICIT_DENY),  # only through its role and account
        ([ACC], Decision.EXPLICIT_DENY),
    ):
        rp = grant({"AWS": named}, effect="Deny", key="NotPrincipal")
        assert evaluate(r, identity=[allow()], resource_policy=rp).decision is want, named


def test_a_deny_with_not_principal_always_denies_a_caller_with_a_boundary() -> None:
    r = req(USER, "sqs:SendMessage", QUEUE, "User")
    rp = grant({"AWS": [USER]}, effect="Deny", key="NotPrincipal")
    assert evaluate(r, identity=[allow()], resource_policy=rp).decision is Decision.ALLOWED
    bounded = evaluate(r, identity=[allow()], boundaries=[allow()], resource_policy=rp)
    assert bounded.decision is Decision.EXPLICIT_DENY


# --- the account root ---


def test_the_account_root_has_every_permission_in_its_account_but_scps_and_key_policies_still_apply() -> None:
    root = f"arn:aws:iam::{ACC}:root"
    assert evaluate(req(root, "sqs:SendMessage", QUEUE, "Account"), identity=[]).decision is Decision.ALLOWED
    assert evaluate(
        req(root, "sqs:SendMessage", QUEUE, "Account"), identity=[], scps=[[allow("s3:*")]]
    ).decision is (Decision.IMPLICIT_DENY)
    key = f"arn:aws:kms:us-east-1:{ACC}:key/k"
    r = req(root, "kms:Decrypt", key, "Account")
    assert evaluate(
        r, identity=[], resource_policy=grant({"AWS": OTHER}), resource_policy_required=True
    ).decision is (Decision.IMPLICIT_DENY)
    assert evaluate(
        r, identity=[], resource_policy=grant({"AWS": ACC}), resource_policy_required=True
    ).decision is (Decision.ALLOWED)
