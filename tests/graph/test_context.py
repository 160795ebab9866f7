"""graph.context: the one request-context builder every question uses, and the README table documenting it."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from graphiam.graph.context import build_context, environment
from graphiam.graph.snapshot import PrincipalInfo, Snapshot
from graphiam.policy.conditions import Condition
from graphiam.policy.witness import ABSENT
from tests.helpers import ROOT

ACCT = "123456789012"
NOW = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)


def principal(kind: str, name: str, tags: dict[str, str] | None = None) -> PrincipalInfo:
    return PrincipalInfo(
        arn=f"arn:aws:iam::{ACCT}:{kind}/{name}",
        kind=kind,
        name=name,
        account=ACCT,
        unique_id=f"AIDA{name.upper()}" if kind == "user" else f"AROA{name.upper()}",
        tags=tags or {},
        identity=(),
        boundary=None,
        boundary_arn=None,
    )


USER = principal("user", "u", {"team": "blue"})
ROLE = principal("role", "r", {"env": "prod"})
SNAP = Snapshot(generation=1, principals={USER.arn: USER, ROLE.arn: ROLE}, policies={})


def cond(operator: str, key: str, *values: str) -> Condition:
    return Condition(operator, key, values, variables=True)


def test_clock_keys_are_now_and_a_role_session_token_is_issued_now():
    env = environment(NOW)
    assert env == {"aws:CurrentTime": "2024-05-06T07:08:09Z", "aws:EpochTime": str(int(NOW.timestamp()))}
    role = build_context(ROLE, SNAP, "*", {}, env=env)
    assert role.values["aws:TokenIssueTime"] == "2024-05-06T07:08:09Z"
    assert role.fixed("aws:TokenIssueTime") and role.fixed("aws:currenttime")
    user = build_context(USER, SNAP, "*", {}, env=env)
    # a user's long-term access key carries no token; temporary credentials would be issued now
    assert "aws:TokenIssueTime" not in user.values
    assert user.choices["aws:tokenissuetime"] == (ABSENT, "2024-05-06T07:08:09Z")
    assert not user.fixed("aws:TokenIssueTime")


def test_a_given_time_moves_the_clock():
    ctx = build_context(ROLE, SNAP, "*", {"aws:currenttime": "2019-06-01T00:00:00Z"}).values
    assert ctx["aws:currenttime"] == "2019-06-01T00:00:00Z"
    assert ctx["aws:EpochTime"] == "1559347200" and ctx["aws:TokenIssueTime"] == "2019-06-01T00:00:00Z"
    ctx = build_context(USER, SNAP, "*", {"aws:EpochTime": "1559347200"}).values
    assert ctx["aws:CurrentTime"] == "2019-06-01T00:00:00Z"


def test_principal_resource_and_direct_call_keys():
    built = build_context(USER, SNAP, ROLE.arn, {}, env=environment(NOW))
    v = built.values
    assert v["aws:PrincipalArn"] == USER.arn and v["aws:PrincipalType"] == "User" and v["aws:username"] == "u"
    assert v["aws:PrincipalTag/team"] == "blue" and v["aws:PrincipalIsAWSService"] == "false"
    assert v["aws:ResourceTag/env"] == v["iam:ResourceTag/env"] == "prod"  # the target role's tags
    assert v["aws:ViaAWSService"] == "false" and built.choices["aws:viaawsservice"] == ("false", "true")
    # keys AWS fixes, present or not, are never the caller's
    for key in ("aws:PrincipalTag/other", "aws:ResourceTag/other", "aws:SourceArn", "aws:username"):
        assert built.fixed(key), key
    # the caller's keys
    for key in ("aws:SourceIp", "aws:MultiFactorAuthPresent", "iam:PassedToService", "aws:RequestTag/x"):
        assert not built.fixed(key), key
    # a resource outside the graph: its tags are unknown, so the caller's to name
    assert not build_context(USER, SNAP, "arn:aws:s3:::b", {}).fixed("aws:ResourceTag/env")


def test_what_the_caller_gives_wins_and_is_fixed():
    built = build_context(ROLE, SNAP, "*", {"AWS:PrincipalTag/env": "dev", "aws:ViaAWSService": "true"})
    assert built.values["AWS:PrincipalTag/env"] == "dev" and "aws:PrincipalTag/env" not in built.values
    assert "aws:viaawsservice" not in built.choices and built.fixed("aws:ViaAWSService")


@pytest.mark.parametrize(
    ("condition", "free"),
    [
        (cond("Bool", "aws:MultiFactorAuthPresent", "true"), True),
        (cond("DateLessThan", "aws:CurrentTime", "2020-01-01T00:00:00Z"), False),
        (cond("StringEquals", "aws:PrincipalTag/team", "red"), False),
        (cond("IpAddress", "aws:SourceIp", "10.0.0.0/8"), True),
    ],
)
def test_free_conditions(condition, free):
    assert build_context(USER, SNAP, "*", {}).free(condition) is free


def _readme_table() -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index("**Request context.**")
    return text[start : text.index("\n\n", text.index("| key |", start))]


def test_the_readme_table_names_every_key_the_builder_sets_or_limits():
    table = _readme_table()
    named = {k.lower() for k in re.findall(r"`([a-z0-9]+:[A-Za-z/*]+)`", table)}
    for p in (USER, ROLE):
        built = build_context(p, SNAP, ROLE.arn, {})
        for key in [*built.values, *built.choices]:
            generic = re.sub(r"/.*", "/*", key.lower())
            assert key.lower() in named or generic in named, key
