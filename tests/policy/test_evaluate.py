"""Combining policy types into one decision (graphiam/policy/evaluate.py).

Rules: IAM User Guide "Policy evaluation logic" (explicit deny wins; SCPs must allow; same-account
resource-based policies), "Cross-account policy evaluation logic" (both sides must allow),
"Permissions boundaries for IAM entities" (user ARN not capped, role ARN capped, account root
delegates) and "How IAM roles differ from resource-based policies" (trust policy must allow).
"""

from __future__ import annotations

from typing import Any

import pytest

from graphiam.policy import Decision, PolicySource, Request, evaluate, parse_policy

ACCT, OTHER = "111111111111", "222222222222"
USER = f"arn:aws:iam::{ACCT}:user/alice"
ROLE = f"arn:aws:iam::{ACCT}:role/app/worker"
SESSION = f"arn:aws:sts::{ACCT}:assumed-role/worker/s1"
BUCKET_OBJ = "arn:aws:s3:::data/k"


def src(
    *statements: dict[str, Any], name: str = "p", kind: str = "custom", via: str = "user"
) -> PolicySource:
    doc = parse_policy({"Version": "2012-10-17", "Statement": list(statements)})
    return PolicySource(document=doc, policy_id=f"id/{name}", name=name, kind=kind, via=via)


def allow(action: str = "s3:GetObject", resource: str = "*", **more: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **more}


def deny(action: str = "s3:GetObject", resource: str = "*", **more: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **more}


def grant(principal: Any, action: str = "s3:GetObject", effect: str = "Allow") -> PolicySource:
    return src(
        {"Effect": effect, "Principal": principal, "Action": action, "Resource": "*"},
        name="resource",
        kind="resource",
        via="resource",
    )


def req(
    principal: str = USER,
    ptype: str = "User",
    *,
    action: str = "s3:GetObject",
    resource: str = BUCKET_OBJ,
    owner: str | None = None,
    context: dict[str, Any] | None = None,
) -> Request:
    return Request(
        action=action,
        resource=resource,
        principal_arn=principal,
        principal_type=ptype,
        resource_account=owner,
        context=context or {},
    )


S3_ONLY = [src(allow("s3:PutObject"), name="boundary", via="boundary")]
NOTHING = [src(allow("ec2:*"), name="boundary", via="boundary")]

SCENARIOS = [
    # id, request, kwargs, expected
    ("same-account-identity-allow", req(), dict(identity=[src(allow())]), Decision.ALLOWED),
    (
        "explicit-deny-in-resource-policy-wins",
        req(),
        dict(identity=[src(allow())], resource_policy=grant({"AWS": USER}, effect="Deny")),
        Decision.EXPLICIT_DENY,
    ),
    (
        "resource-policy-user-arn-not-capped-by-boundary",
        req(),
        dict(identity=[], boundaries=NOTHING, resource_policy=grant({"AWS": USER})),
        Decision.ALLOWED,
    ),
    (
        "resource-policy-role-arn-capped-by-boundary",
        req(ROLE, "AssumedRole"),
        dict(identity=[], boundaries=NOTHING, resource_policy=grant({"AWS": ROLE})),
        Decision.IMPLICIT_DENY,
    ),
    (
        "resource-policy-role-arn-boundary-allows",
        req(ROLE, "AssumedRole"),
        dict(identity=[], boundaries=[src(allow(), via="boundary")], resource_policy=grant({"AWS": ROLE})),
        Decision.ALLOWED,
    ),
    (
        "resource-policy-role-arn-no-boundary",
        req(ROLE, "AssumedRole"),
        dict(identity=[], resource_policy=grant({"AWS": ROLE})),
        Decision.ALLOWED,
    ),
    (
        "resource-policy-role-arn-matches-session",
        req(SESSION, "AssumedRole"),
        dict(identity=[], resource_policy=grant({"AWS": ROLE})),
        Decision.ALLOWED,
    ),
    (
        "resource-policy-session-arn-not-capped",
        req(SESSION, "AssumedRole"),
        dict(identity=[], boundaries=NOTHING, resource_policy=grant({"AWS": SESSION})),
        Decision.ALLOWED,
    ),
    (
        "resource-policy-account-delegates-needs-identity",
        req(),
        dict(identity=[], resource_policy=grant({"AWS": ACCT})),
        Decision.IMPLICIT_DENY,
    ),
    (
        "resource-policy-account-plus-identity",
        req(),
        dict(identity=[src(allow())], resource_policy=grant({"AWS": f"arn:aws:iam::{ACCT}:root"})),
        Decision.ALLOWED,
    ),
    (
        "resource-policy-other-user-no-effect",
        req(),
        dict(identity=[], resource_policy=grant({"AWS": f"arn:aws:iam::{ACCT}:user/bob"})),
        Decision.IMPLICIT_DENY,
    ),
    (
        "boundary-caps-identity",
        req(),
        dict(identity=[src(allow())], boundaries=S3_ONLY),
        Decision.IMPLICIT_DENY,
    ),
    (
        "empty-boundary-list-grants-nothing",
        req(),
        dict(identity=[src(allow())], boundaries=[]),
        Decision.IMPLICIT_DENY,
    ),
    ("cross-account-identity-only", req(owner=OTHER), dict(identity=[src(allow())]), Decision.IMPLICIT_DENY),
    (
        "cross-account-resource-only",
        req(owner=OTHER),
        dict(identity=[], resource_policy=grant({"AWS": USER})),
        Decision.IMPLICIT_DENY,
    ),
    (
        "cross-account-both",
        req(owner=OTHER),
        dict(identity=[src(allow())], resource_policy=grant({"AWS": USER})),
        Decision.ALLOWED,
    ),
    (
        "cross-account-resource-names-account",
        req(owner=OTHER),
        dict(identity=[src(allow())], resource_policy=grant({"AWS": ACCT})),
        Decision.ALLOWED,
    ),
    (
        "cross-account-boundary-caps",
        req(owner=OTHER),
        dict(identity=[src(allow())], boundaries=NOTHING, resource_policy=grant({"AWS": USER})),
        Decision.IMPLICIT_DENY,
    ),
    (
        "cross-account-owner-from-resource-arn",
        req(resource=f"arn:aws:sqs:us-east-1:{OTHER}:q", action="sqs:SendMessage"),
        dict(identity=[src(allow("sqs:*"))]),
        Decision.IMPLICIT_DENY,
    ),
    (
        "trust-required-identity-alone-not-enough",
        req(action="sts:AssumeRole", resource=ROLE),
        dict(
            identity=[src(allow("sts:AssumeRole"))],
            resource_policy=grant({"AWS": f"arn:aws:iam::{ACCT}:user/bob"}, "sts:AssumeRole"),
            resource_policy_required=True,
        ),
        Decision.IMPLICIT_DENY,
    ),
    (
        "trust-not-required-identity-suffices",
        req(action="sts:AssumeRole", resource=ROLE),
        dict(
            identity=[src(allow("sts:AssumeRole"))],
            resource_policy=grant({"AWS": f"arn:aws:iam::{ACCT}:user/bob"}, "sts:AssumeRole"),
        ),
        Decision.ALLOWED,
    ),
    (
        "trust-required-no-policy",
        req(action="sts:AssumeRole", resource=ROLE),
        dict(identity=[src(allow("sts:AssumeRole"))], resource_policy_required=True),
        Decision.IMPLICIT_DENY,
    ),
    (
        "service-principal-trusted",
        req("ec2.amazonaws.com", "Service", action="sts:AssumeRole", resource=ROLE),
        dict(
            identity=[],
            resource_policy=grant({"Service": "ec2.amazonaws.com"}, "sts:AssumeRole"),
            resource_policy_required=True,
        ),
        Decision.ALLOWED,
    ),
    (
        "service-principal-other",
        req("lambda.amazonaws.com", "Service", action="sts:AssumeRole", resource=ROLE),
        dict(
            identity=[],
            resource_policy=grant({"Service": "ec2.amazonaws.com"}, "sts:AssumeRole"),
            resource_policy_required=True,
        ),
        Decision.IMPLICIT_DENY,
    ),
    (
        "service-principal-not-matched-by-account",
        req("ec2.amazonaws.com", "Service", action="sts:AssumeRole", resource=ROLE, owner=ACCT),
        dict(
            identity=[], resource_policy=grant({"AWS": ACCT}, "sts:AssumeRole"), resource_policy_required=True
        ),
        Decision.IMPLICIT_DENY,
    ),
    (
        "federated-principal",
        req(
            f"arn:aws:iam::{ACCT}:saml-provider/okta", "SAML", action="sts:AssumeRoleWithSAML", resource=ROLE
        ),
        dict(
            identity=[],
            resource_policy=grant(
                {"Federated": f"arn:aws:iam::{ACCT}:saml-provider/okta"}, "sts:AssumeRoleWithSAML"
            ),
            resource_policy_required=True,
        ),
        Decision.ALLOWED,
    ),
    ("principal-star-everyone", req(), dict(identity=[], resource_policy=grant("*")), Decision.ALLOWED),
    (
        "notprincipal-deny-others",
        req(),
        dict(
            identity=[src(allow())],
            resource_policy=src(
                {
                    "Effect": "Deny",
                    "NotPrincipal": {"AWS": f"arn:aws:iam::{ACCT}:user/bob"},
                    "Action": "s3:*",
                    "Resource": "*",
                },
                kind="resource",
                via="resource",
            ),
        ),
        Decision.EXPLICIT_DENY,
    ),
    (
        "notprincipal-deny-spares-listed",
        req(),
        dict(
            identity=[src(allow())],
            resource_policy=src(
                {"Effect": "Deny", "NotPrincipal": {"AWS": USER}, "Action": "s3:*", "Resource": "*"},
                kind="resource",
                via="resource",
            ),
        ),
        Decision.ALLOWED,
    ),
    (
        "resource-statement-without-principal-applies-to-nobody",
        req(),
        dict(identity=[], resource_policy=src(allow(), kind="resource", via="resource")),
        Decision.IMPLICIT_DENY,
    ),
    (
        "scp-allows",
        req(),
        dict(identity=[src(allow())], scps=[[src(allow("*"))], [src(allow("s3:*"))]]),
        Decision.ALLOWED,
    ),
    (
        "scp-one-level-silent",
        req(),
        dict(identity=[src(allow())], scps=[[src(allow("*"))], [src(allow("ec2:*"))]]),
        Decision.IMPLICIT_DENY,
    ),
    (
        "scp-deny",
        req(),
        dict(identity=[src(allow())], scps=[[src(allow("*"), deny("s3:*"))]]),
        Decision.EXPLICIT_DENY,
    ),
    ("scp-does-not-grant", req(), dict(identity=[], scps=[[src(allow("*"))]]), Decision.IMPLICIT_DENY),
]


@pytest.mark.parametrize(
    ("request_", "kwargs", "expected"), [s[1:] for s in SCENARIOS], ids=[s[0] for s in SCENARIOS]
)
def test_scenario(request_: Request, kwargs: dict[str, Any], expected: Decision) -> None:
    assert evaluate(request_, **kwargs).decision is expected


def test_explicit_deny_reports_deny_statements_and_part_decisions() -> None:
    identity = [src(allow(), name="a"), src(deny(Sid="NoGet"), name="d", via="group")]
    result = evaluate(req(), identity=identity, boundaries=[src(allow("s3:*"), via="boundary")])
    assert result.decision is Decision.EXPLICIT_DENY
    assert [(m.source.name, m.index, m.sid, m.effect) for m in result.matched] == [("d", 0, "NoGet", "Deny")]
    assert result.identity_decision is Decision.EXPLICIT_DENY
    assert result.boundary_decision is Decision.ALLOWED
    assert result.resource_decision is None and result.scp_decision is None


def test_allow_reports_identity_and_boundary_statements() -> None:
    result = evaluate(
        req(), identity=[src(allow(), allow("s3:*"))], boundaries=[src(allow("s3:*"), via="boundary")]
    )
    assert result.decision is Decision.ALLOWED
    assert [(m.source.via, m.index) for m in result.matched] == [("user", 0), ("user", 1), ("boundary", 0)]


def test_implicit_deny_reports_insufficient_statements() -> None:
    result = evaluate(req(), identity=[src(allow())], boundaries=NOTHING)
    assert result.decision is Decision.IMPLICIT_DENY
    assert [m.source.via for m in result.matched] == ["user"]
    assert result.boundary_decision is Decision.IMPLICIT_DENY


def test_missing_context_keys() -> None:
    identity = [
        src(
            allow(
                Condition={
                    "Bool": {"aws:MultiFactorAuthPresent": "true"},
                    "StringEquals": {"aws:SourceVpc": "v", "aws:RequestedRegion": "us-east-1"},
                }
            ),
            allow("ec2:*", Condition={"Bool": {"aws:ViaAWSService": "true"}}),
        )
    ]
    result = evaluate(req(context={"aws:RequestedRegion": "us-east-1"}), identity=identity)
    assert result.decision is Decision.IMPLICIT_DENY
    assert result.missing_context_keys == ("aws:MultiFactorAuthPresent", "aws:SourceVpc")


def test_context_keys_case_insensitive_and_variables_resolved() -> None:
    identity = [src(allow(resource="arn:aws:s3:::data/${aws:username}"))]
    assert (
        evaluate(
            req(resource="arn:aws:s3:::data/alice", context={"AWS:UserName": "alice"}), identity=identity
        ).decision
        is Decision.ALLOWED
    )


@pytest.mark.parametrize(
    ("decision", "aws_name"),
    [
        (Decision.ALLOWED, "allowed"),
        (Decision.EXPLICIT_DENY, "explicitDeny"),
        (Decision.IMPLICIT_DENY, "implicitDeny"),
    ],
    ids=["allowed", "explicit", "implicit"],
)
def test_decision_names(decision: Decision, aws_name: str) -> None:
    assert decision.aws_name == aws_name
    assert decision.value == decision.name
