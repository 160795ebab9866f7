"""One document at a time: which actions count as allowed without resource constraints, and in which category.

False-positive traps (a risky action that must NOT be reported), false-negative traps (one that must be)."""

from __future__ import annotations

from typing import Any

import pytest

from graphiam.catalog import Catalog
from graphiam.catalog.patterns import wildcard_regex
from graphiam.derive.findings.analyse import Analyser
from graphiam.derive.findings.resources import probes
from graphiam.derive.findings.rules import RiskCategory as C
from graphiam.derive.findings.rules import default_rules
from graphiam.policy import parse_policy


@pytest.fixture(scope="module")
def analyser() -> Analyser:
    return Analyser(Catalog.default(), default_rules())


def doc(*statements: dict[str, Any]) -> object:
    return parse_policy({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action, resource="*", **extra) -> dict[Any, Any]:
    key = "NotAction" if extra.pop("not_action", False) else "Action"
    res = "NotResource" if extra.pop("not_resource", False) else "Resource"
    return {"Effect": "Allow", key: action, res: resource, **extra}


def deny(action, resource="*", **extra) -> dict[Any, Any]:
    return {**allow(action, resource, **extra), "Effect": "Deny"}


def found(analyser, d, **kw) -> dict[Any, Any]:
    return {f.category: f for f in analyser.findings(d, **kw)}


# --- false positives -----------------------------------------------------------------------------------


def test_a_deny_on_star_in_the_same_policy_removes_the_action(analyser):
    assert found(analyser, doc(allow("iam:*"), deny("iam:*"))) == {}  # Cloudsplaining's fp1-allow-and-deny
    got = found(
        analyser, doc(allow(["iam:CreatePolicyVersion", "iam:CreateAccessKey"]), deny("iam:CreateAccessKey"))
    )
    assert got[C.PRIVILEGE_ESCALATION].actions == ("iam:CreatePolicyVersion",)
    assert got[C.PRIVILEGE_ESCALATION].techniques == ("iam-001",)
    assert C.CREDENTIALS_EXPOSURE not in got


def test_a_deny_with_a_condition_or_on_named_resources_removes_nothing(analyser):
    conditional = deny("iam:CreateAccessKey", Condition={"Bool": {"aws:MultiFactorAuthPresent": "false"}})
    named = deny("iam:CreateAccessKey", "arn:aws:iam::111111111111:user/alice")
    for d in (doc(allow("iam:CreateAccessKey"), conditional), doc(allow("iam:CreateAccessKey"), named)):
        assert found(analyser, d)[C.CREDENTIALS_EXPOSURE].actions == ("iam:CreateAccessKey",)


def test_a_deny_with_notresource_leaves_only_the_listed_resources_so_the_action_is_constrained(analyser):
    d = doc(allow("s3:GetObject"), deny("s3:GetObject", ["arn:aws:s3:::reports/*"], not_resource=True))
    assert found(analyser, d) == {}


def test_a_resource_constrained_statement_is_not_reported(analyser):
    # Cloudsplaining's fp4: CreatePolicyVersion on AWS-managed policies only
    assert found(analyser, doc(allow("iam:CreatePolicyVersion", "arn:aws:iam::aws:policy/fp4-*"))) == {}
    assert found(analyser, doc(allow("s3:GetObject", "arn:aws:s3:::reports/*"))) == {}
    # every s3 resource, so no IAM one: only the statement's form (ServiceWildcard, as Cloudsplaining) counts
    assert set(found(analyser, doc(allow("iam:*", "arn:aws:s3:::*")))) == {C.SERVICE_WILDCARD}


def test_a_notaction_that_names_the_risky_action_does_not_allow_it(analyser):
    got = found(analyser, doc(allow(["iam:*", "sts:*"], not_action=True)))
    assert not any(a.startswith(("iam:", "sts:")) for f in got.values() for a in f.actions)
    assert not any(t.startswith("iam-") for t in got[C.PRIVILEGE_ESCALATION].techniques)
    assert "iam:*" not in got[C.SERVICE_WILDCARD].actions and "s3:*" in got[C.SERVICE_WILDCARD].actions


def test_notresource_listing_star_allows_nothing(analyser):
    assert found(analyser, doc(allow("iam:CreateAccessKey", "*", not_resource=True))) == {}


def test_actions_without_resource_level_permissions_are_not_infrastructure_modification(analyser):
    # appsync:CreateApiKey, a Write action AWS grants on `*` only, returns credentials: no constraint exists
    got = found(analyser, doc(allow(["appsync:CreateApiKey", "s3:PutObject"])))
    assert got[C.CREDENTIALS_EXPOSURE].actions == ("appsync:CreateApiKey",)
    assert got[C.INFRASTRUCTURE_MODIFICATION].actions == ("s3:PutObject",)
    # and an ARN entry (even all wildcards) cannot grant it: its request resource is `*`
    assert C.CREDENTIALS_EXPOSURE not in found(
        analyser, doc(allow("appsync:CreateApiKey", "arn:aws:*:*:*:*"))
    )


# --- false negatives -----------------------------------------------------------------------------------


def test_a_notaction_statement_allows_what_it_does_not_name(analyser):
    # Cloudsplaining's fn4: NotAction iam:Update*, iam:Create*, iam:Attach* still allows iam:PutUserPolicy
    got = found(analyser, doc(allow(["iam:Update*", "iam:Create*", "iam:Attach*"], not_action=True)))
    pe = got[C.PRIVILEGE_ESCALATION]
    assert {"iam-007", "iam-005", "iam-011"} <= set(
        pe.techniques
    )  # PutUserPolicy, PutRolePolicy, PutGroupPolicy
    assert "iam-001" not in pe.techniques and "iam:CreatePolicyVersion" not in pe.actions
    assert "iam:PutUserPolicy" in got[C.RESOURCE_EXPOSURE].actions


@pytest.mark.parametrize("pattern", ["iam:*", "iam:Create*", "IAM:create*", "*"])
def test_wildcard_actions_are_expanded(analyser, pattern):
    got = found(analyser, doc(allow(pattern)))
    assert "iam-001" in got[C.PRIVILEGE_ESCALATION].techniques
    assert "iam:CreateAccessKey" in got[C.CREDENTIALS_EXPOSURE].actions


def test_a_single_character_wildcard_is_expanded(analyser):
    got = found(analyser, doc(allow("iam:CreatePolicyVer?ion")))
    assert got[C.PRIVILEGE_ESCALATION].actions == ("iam:CreatePolicyVersion",)


def test_a_condition_only_statement_is_counted_with_its_condition(analyser):
    # Cloudsplaining's fn3 / fp5: a Condition is no resource constraint
    st = allow(
        "iam:CreatePolicyVersion",
        Condition={"DateGreaterThan": {"aws:TokenIssueTime": "2020-01-01T00:00:01Z"}},
    )
    pe = found(analyser, doc(st))[C.PRIVILEGE_ESCALATION]
    assert pe.techniques == ("iam-001",) and pe.conditional
    assert pe.conditions == ("#0: DateGreaterThan aws:TokenIssueTime ['2020-01-01T00:00:01Z']",)
    # an unconditional grant of the same action makes it unconditional
    pe = found(analyser, doc(st, allow("iam:CreatePolicyVersion")))[C.PRIVILEGE_ESCALATION]
    assert not pe.conditional and pe.conditions == () and pe.statements == (0, 1)


def test_notresource_allows_everything_but_the_listed_resources(analyser):
    got = found(analyser, doc(allow("s3:GetObject", "arn:aws:s3:::public/*", not_resource=True)))
    assert got[C.DATA_EXFILTRATION].actions == ("s3:GetObject",)


def test_techniques_need_all_their_actions_in_the_one_policy(analyser):
    assert C.PRIVILEGE_ESCALATION not in found(analyser, doc(allow("ec2:RunInstances")))
    pe = found(analyser, doc(allow(["ec2:RunInstances", "iam:PassRole"])))[C.PRIVILEGE_ESCALATION]
    assert pe.techniques == ("ec2-001",) and pe.actions == ("ec2:RunInstances", "iam:PassRole")
    # sts:AssumeRole alone is a hop (assumption chains), not an escalation; it does expose credentials
    got = found(analyser, doc(allow("sts:AssumeRole")))
    assert C.PRIVILEGE_ESCALATION not in got and got[C.CREDENTIALS_EXPOSURE].actions == ("sts:AssumeRole",)


def test_service_wildcard(analyser):
    assert found(analyser, doc(allow("*")))[C.SERVICE_WILDCARD].actions == ("*",)
    assert found(analyser, doc(allow("s3:*", "arn:aws:s3:::bucket")))[C.SERVICE_WILDCARD].actions == ("s3:*",)
    assert C.SERVICE_WILDCARD not in found(analyser, doc(allow("s3:Get*")))
    # a Deny of one s3 action on `*` means s3 is no longer granted whole
    assert C.SERVICE_WILDCARD not in found(analyser, doc(allow("s3:*"), deny("s3:DeleteBucket")))


def test_service_wildcard_is_what_a_statement_says_not_what_its_actions_cover(analyser):
    # AWS ReadOnlyAccess: Get*/List* happen to cover consolidatedbilling (two actions), which is no wildcard
    assert C.SERVICE_WILDCARD not in found(
        analyser, doc(allow(["consolidatedbilling:Get*", "consolidatedbilling:List*", "s3:Get*"]))
    )
    # AmazonSSMManagedInstanceCore lists every ssmmessages action by name
    every = [a.full_name for a in Catalog.default().actions("ssmmessages")]
    assert C.SERVICE_WILDCARD not in found(analyser, doc(allow(every)))
    # nor do two statements that together name every action of a service
    half = len(every) // 2
    assert C.SERVICE_WILDCARD not in found(analyser, doc(allow(every[:half]), allow(every[half:])))
    # a whole-service pattern is reported with the statements that say it, not those that touch the service
    got = found(analyser, doc(allow("ssmmessages:OpenDataChannel"), allow(["ssmmessages:*", "s3:GetObject"])))
    assert got[C.SERVICE_WILDCARD].actions == ("ssmmessages:*",)
    assert got[C.SERVICE_WILDCARD].statements == (1,)
    # NotAction iam:* with Allow grants every other service whole
    got = found(analyser, doc(allow("iam:*", not_action=True)))
    assert len(got[C.SERVICE_WILDCARD].actions) == len(Catalog.default().services()) - 1
    assert "consolidatedbilling:*" in got[C.SERVICE_WILDCARD].actions


def test_categories_follow_the_catalogue_access_levels(analyser):
    got = found(analyser, doc(allow(["s3:PutBucketPolicy", "s3:PutObject", "s3:GetObject", "s3:ListBucket"])))
    assert got[C.RESOURCE_EXPOSURE].actions == ("s3:PutBucketPolicy",)
    assert got[C.INFRASTRUCTURE_MODIFICATION].actions == ("s3:PutBucketPolicy", "s3:PutObject")
    assert got[C.DATA_EXFILTRATION].actions == ("s3:GetObject",)


def test_excluded_actions_and_categories(analyser):
    d = doc(allow(["iam:CreatePolicyVersion", "s3:GetObject"]))
    got = found(analyser, d, exclude_actions=[wildcard_regex("iam:Create*")])
    assert C.PRIVILEGE_ESCALATION not in got and got[C.DATA_EXFILTRATION].actions == ("s3:GetObject",)
    assert set(found(analyser, d, categories=[C.DATA_EXFILTRATION])) == {C.DATA_EXFILTRATION}


@pytest.mark.parametrize(
    "resource,unconstrained",
    [
        ("*", True),
        ("arn:aws:s3:::*", True),
        ("arn:*:*:*:*:*", True),
        ("arn:aws:s3:::*/*", True),
        ("arn:aws:s3:::reports/*", False),
        ("arn:aws:s3:::*/public/*", False),
        ("arn:aws:s3:::${aws:username}/*", False),
        ("arn:aws:s3:::*", True),
    ],
)
def test_resources_that_name_every_object(analyser, resource, unconstrained):
    got = found(analyser, doc(allow("s3:GetObject", resource)))
    assert (C.DATA_EXFILTRATION in got) is unconstrained


@pytest.mark.parametrize(
    "resource,unconstrained",
    [
        ("arn:aws:iam::*:policy/*", True),
        ("arn:aws:iam::*:policy/fn2-*", False),
        ("arn:aws:iam::111111111111:policy/*", False),
        ("arn:aws:iam::*:role/*", False),
    ],
)
def test_resources_that_name_every_policy(analyser, resource, unconstrained):
    got = found(analyser, doc(allow("iam:CreatePolicyVersion", resource)))
    assert (C.PRIVILEGE_ESCALATION in got) is unconstrained


def test_bucket_actions_need_bucket_arns(analyser):
    # `*/*` names every object, but no bucket
    got = found(analyser, doc(allow(["s3:PutBucketPolicy", "s3:PutObjectAcl"], "arn:aws:s3:::*/*")))
    assert got[C.RESOURCE_EXPOSURE].actions == ("s3:PutObjectAcl",)


def test_probes_fill_every_placeholder():
    first, second = probes("arn:${Partition}:s3:::${BucketName}/${ObjectName}")
    assert first.startswith("arn:aws:s3:::") and "${" not in first + second and first != second


@pytest.mark.parametrize(
    ("condition", "reported"),
    [
        ({"DateLessThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}, False),  # already past
        ({"DateLessThan": {"aws:TokenIssueTime": "2020-01-01T00:00:00Z"}}, False),  # IAM Vulnerable's fp5
        ({"NumericLessThan": {"aws:EpochTime": "1577836800"}}, False),  # 2020-01-01 in epoch seconds
        ({"Null": {"aws:SourceIp": "true"}, "IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, False),
        (
            {"DateGreaterThan": {"aws:TokenIssueTime": "2020-01-01T00:00:00Z"}},
            True,
        ),  # fn3: credentials of now
        ({"DateLessThan": {"aws:CurrentTime": "2999-01-01T00:00:00Z"}}, True),
        ({"Bool": {"aws:MultiFactorAuthPresent": "true"}}, True),  # the caller's to meet
        ({"StringEquals": {"aws:PrincipalTag/team": "x"}}, True),  # whoever holds the policy may have it
    ],
)
def test_a_statement_no_request_satisfies_now_is_not_reported(analyser, condition, reported):
    d = doc(allow("iam:CreatePolicyVersion", Condition=condition))
    got = found(analyser, d)
    assert (C.PRIVILEGE_ESCALATION in got) is reported
    if reported:
        assert got[C.PRIVILEGE_ESCALATION].conditional


def test_an_impossible_statement_does_not_hide_a_possible_one(analyser):
    past = {"DateLessThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}
    d = doc(allow("iam:CreatePolicyVersion", Condition=past), allow("iam:CreatePolicyVersion"))
    f = found(analyser, d)[C.PRIVILEGE_ESCALATION]
    assert f.statements == (1,) and not f.conditional
