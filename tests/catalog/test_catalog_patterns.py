"""ARN formats of resource types, and the action-pattern compiler, as tables."""

from __future__ import annotations

import re

import pytest

from graphiam.catalog import Catalog, arn_pattern_matches
from graphiam.catalog.patterns import compile_action_pattern

BUCKET = "arn:${Partition}:s3:::${BucketName}"
OBJECT = "arn:${Partition}:s3:::${BucketName}/${ObjectName}"
ROLE = "arn:${Partition}:iam::${Account}:role/${RoleNameWithPath}"
INSTANCE = "arn:${Partition}:ec2:${Region}:${Account}:instance/${InstanceId}"
LOG_STREAM = (
    "arn:${Partition}:logs:${Region}:${Account}:log-group:${LogGroupName}:log-stream:${LogStreamName}"
)
BASE_PATHS = (
    "arn:${Partition}:apigateway:${Region}::/domainnames/${DomainName}+${DomainIdentifier}/basepathmappings"
)
CONNECT_QUEUES = "arn:${Partition}:connect:${Region}:${Account}:instance/${InstanceId}/queue/*"
HEALTH_EVENT = "arn:${Partition}:health:*::event/${Service}/${EventTypeCode}/*"

ARN_CASES = [
    # (id, arn_format, resource_arn, matches)
    ("bucket", BUCKET, "arn:aws:s3:::my-bucket", True),
    ("bucket-not-object", BUCKET, "arn:aws:s3:::my-bucket/key", False),
    ("bucket-other-partition", BUCKET, "arn:aws-us-gov:s3:::my-bucket", True),
    ("bucket-empty-name", BUCKET, "arn:aws:s3:::", False),
    ("bucket-with-region", BUCKET, "arn:aws:s3:us-east-1::my-bucket", False),
    ("bucket-other-service", BUCKET, "arn:aws:s3express:::my-bucket", False),
    ("object", OBJECT, "arn:aws:s3:::my-bucket/key", True),
    ("object-nested-key", OBJECT, "arn:aws:s3:::my-bucket/a/b/c.txt", True),
    ("object-not-bucket", OBJECT, "arn:aws:s3:::my-bucket", False),
    ("object-empty-key", OBJECT, "arn:aws:s3:::my-bucket/", False),
    ("role", ROLE, "arn:aws:iam::123456789012:role/admin", True),
    ("role-with-path", ROLE, "arn:aws:iam::123456789012:role/service-role/a/deployer", True),
    ("role-not-user", ROLE, "arn:aws:iam::123456789012:user/alice", False),
    ("role-empty-account", ROLE, "arn:aws:iam:::role/admin", False),
    ("role-empty-name", ROLE, "arn:aws:iam::123456789012:role/", False),
    ("role-case-sensitive", ROLE, "arn:aws:IAM::123456789012:role/admin", False),
    ("role-literal-case", ROLE, "arn:aws:iam::123456789012:Role/admin", False),
    ("instance", INSTANCE, "arn:aws:ec2:eu-west-1:123456789012:instance/i-0abc", True),
    ("instance-not-volume", INSTANCE, "arn:aws:ec2:eu-west-1:123456789012:volume/vol-1", False),
    ("instance-needs-region", INSTANCE, "arn:aws:ec2::123456789012:instance/i-0abc", False),
    ("instance-id-one-segment", INSTANCE, "arn:aws:ec2:eu-west-1:123456789012:instance/i-0abc/x", False),
    ("log-stream", LOG_STREAM, "arn:aws:logs:us-east-1:123456789012:log-group:app:log-stream:s1", True),
    ("log-stream-needs-stream", LOG_STREAM, "arn:aws:logs:us-east-1:123456789012:log-group:app", False),
    (
        "plus-is-literal",
        BASE_PATHS,
        "arn:aws:apigateway:us-east-1::/domainnames/ex.com+d1/basepathmappings",
        True,
    ),
    (
        "plus-not-repeat",
        BASE_PATHS,
        "arn:aws:apigateway:us-east-1::/domainnames/ex.comd1/basepathmappings",
        False,
    ),
    ("star-in-format", CONNECT_QUEUES, "arn:aws:connect:us-east-1:123456789012:instance/i1/queue/q1", True),
    ("star-may-be-empty", CONNECT_QUEUES, "arn:aws:connect:us-east-1:123456789012:instance/i1/queue/", True),
    (
        "star-needs-prefix",
        CONNECT_QUEUES,
        "arn:aws:connect:us-east-1:123456789012:instance/i1/flow/q1",
        False,
    ),
    ("star-in-region", HEALTH_EVENT, "arn:aws:health:us-east-1::event/EC2/AWS_EC2_X/e1", True),
    ("star-region-empty", HEALTH_EVENT, "arn:aws:health:::event/EC2/AWS_EC2_X/e1", True),
    ("not-an-arn", BUCKET, "my-bucket", False),
    ("dot-is-literal", "arn:${Partition}:s3:::a.b", "arn:aws:s3:::aXb", False),
]


@pytest.mark.parametrize(
    ("arn_format", "arn", "matches"), [c[1:] for c in ARN_CASES], ids=[c[0] for c in ARN_CASES]
)
def test_arn_pattern_matches(arn_format: str, arn: str, matches: bool) -> None:
    assert arn_pattern_matches(arn_format, arn) is matches


def _sample_arn(arn_format: str) -> str:
    """A concrete ARN of the format: placeholders filled, multi-segment ones with a `/`."""

    def fill(m: re.Match[str]) -> str:
        name = m.group(1)
        return "p1/q1" if name.endswith("Path") or name == "ObjectName" else "v1"

    return re.sub(r"\$\{([^}]*)\}", fill, arn_format).replace("*", "z9")


def test_every_resource_type_matches_a_sample_of_its_own_format() -> None:
    cat = Catalog.default()
    formats = {rt.arn_pattern for a in cat.actions() for rt in a.resource_types}
    assert len(formats) > 1000
    failures = [f for f in sorted(formats) if not arn_pattern_matches(f, _sample_arn(f))]
    assert failures == []


PATTERN_SHAPES = [
    # (pattern, field that must be set, value)
    ("s3:GetObject", "name", "getobject"),
    ("S3:Get*", "name_prefix", "get"),
    ("s3:*", "name_prefix", ""),
    ("iam:*Policy*", "name_regex", True),
    ("s3:Get?bject", "name_regex", True),
    ("s3*:Get*", "service_regex", True),
    ("s3*", "whole_regex", True),
    ("*", "matches_all", True),
    ("iam", "matches_nothing", True),
    ("a:b:c", "matches_nothing", True),
]


@pytest.mark.parametrize(("pattern", "field", "value"), PATTERN_SHAPES, ids=[c[0] for c in PATTERN_SHAPES])
def test_action_pattern_takes_the_fast_path_it_can(pattern: str, field: str, value: object) -> None:
    compiled = compile_action_pattern(pattern)
    got = getattr(compiled, field)
    if value is True:
        assert got is True or isinstance(got, re.Pattern)
    else:
        assert got == value
