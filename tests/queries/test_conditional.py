"""Conditional access is an answer (issue 12 §1): allowed / allowed if / denied in simulate, whoCan and
effectivePermissions, with the request context of `graph.context` (time conditions judged against now).

Each export is written here: one user or role per condition shape, in account ACCT.
"""

from __future__ import annotations

from typing import Any

import pytest

from graphiam.graph.snapshot import build_snapshot
from graphiam.policy import Decision
from graphiam.queries.effective import effective_permissions
from graphiam.queries.simulate import simulate, simulate_custom
from graphiam.queries.who_can import who_can
from tests.helpers import ACCT, MFA, allow, arn, deny, export, role, user, write

BUCKET = "arn:aws:s3:::data/report.csv"
PAST = {"DateLessThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}
FUTURE = {"DateLessThan": {"aws:CurrentTime": "2999-01-01T00:00:00Z"}}
OFFICE = {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}
# Null says the key is absent, the other test needs a value: no request satisfies both
NULL_CONTRADICTION = {"Null": {"aws:SourceIp": "true"}, "IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}


def get(condition: dict[str, Any] | None = None) -> dict[str, Any]:
    return allow("s3:GetObject", "*", Condition=condition) if condition else allow("s3:GetObject")


USERS = {
    "plain": user("plain", get()),
    "mfa": user("mfa", allow("s3:GetObject", Condition=MFA)),
    "office": user("office", allow("s3:GetObject", Condition=OFFICE)),
    "expired": user("expired", allow("s3:GetObject", Condition=PAST)),
    "current": user("current", allow("s3:GetObject", Condition=FUTURE)),
    "contradiction": user("contradiction", allow("s3:GetObject", Condition=NULL_CONTRADICTION)),
    "tagged": user(
        "tagged", allow("s3:GetObject", Condition={"StringEquals": {"aws:PrincipalTag/team": "x"}})
    ),
    "denied-off-site": user(
        "denied-off-site",
        allow("s3:GetObject"),
        deny("s3:GetObject", Condition={"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}}),
    ),
    "denied-always": user(
        "denied-always",
        allow("s3:GetObject"),
        deny("s3:GetObject", Condition={"StringEquals": {"aws:PrincipalType": "User"}}),
    ),
    "passer": user(
        "passer",
        allow(
            "iam:PassRole",
            arn("role", "*"),
            Condition={"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}},
        ),
    ),
}


@pytest.fixture(scope="module")
def org(tmp_path_factory):
    from graphiam.changes.load import load_files
    from graphiam.store import open_database

    path = write(tmp_path_factory.mktemp("cond"), "org.json", export(*USERS.values()))
    db = open_database(None, buffer_pool_mb=256)
    load_files(db, [path])
    yield db, build_snapshot(db)
    db.close()


def sim(org: Any, name: str, action: str = "s3:GetObject", resource: str = BUCKET, **kw: Any) -> Any:
    return simulate(org[1], principal=arn("user", name), action=action, resource=resource, **kw)


@pytest.mark.parametrize(
    ("name", "decision", "conditional", "keys"),
    [
        ("plain", Decision.ALLOWED, False, []),
        ("mfa", Decision.IMPLICIT_DENY, True, [("aws:MultiFactorAuthPresent", "Allow")]),
        ("office", Decision.IMPLICIT_DENY, True, [("aws:SourceIp", "Allow")]),
        ("expired", Decision.IMPLICIT_DENY, False, []),  # a date already past: denied, not "allowed if"
        ("current", Decision.ALLOWED, False, []),  # judged against now: holds
        ("contradiction", Decision.IMPLICIT_DENY, False, []),
        ("tagged", Decision.IMPLICIT_DENY, False, []),  # a tag the principal lacks is not the caller's to add
        ("denied-off-site", Decision.EXPLICIT_DENY, True, [("aws:SourceIp", "Deny")]),
        ("denied-always", Decision.EXPLICIT_DENY, False, []),
    ],
)
def test_simulate_three_answers(org, name, decision, conditional, keys):
    s = sim(org, name)
    assert s.evaluation.decision is decision
    assert s.conditional is conditional
    assert [(c.key, c.effect) for c in s.required_conditions] == keys
    for c in s.required_conditions:  # each condition names its statement
        assert c.policy_arn == arn("user", name) + "#p" and c.statement_index in (0, 1)


def test_simulate_required_condition_carries_the_statement_values(org):
    (c,) = sim(org, "office").required_conditions
    assert (c.operator, c.values) == ("IpAddress", ("203.0.113.0/24",))
    # what the caller gives is fixed: the wrong address denies outright, the right one allows
    outside = sim(org, "office", context={"aws:SourceIp": "198.51.100.1"})
    assert outside.evaluation.decision is Decision.IMPLICIT_DENY and not outside.conditional
    inside = sim(org, "office", context={"aws:SourceIp": "203.0.113.9"})
    assert inside.evaluation.decision is Decision.ALLOWED and not inside.conditional


def test_simulate_time_is_now_unless_given(org):
    assert sim(org, "current").context["aws:CurrentTime"] > "2020"
    past = sim(org, "expired", context={"aws:CurrentTime": "2019-06-01T00:00:00Z"})
    assert past.evaluation.decision is Decision.ALLOWED
    assert past.context["aws:EpochTime"] == "1559347200"  # the clock moves with the given time


def test_simulate_custom_is_three_valued_too():
    s = simulate_custom(
        policies=[{"Version": "2012-10-17", "Statement": [get(OFFICE)]}], action="s3:GetObject"
    )
    assert s.conditional and [c.policy_arn for c in s.required_conditions] == ["policies[0]"]
    s = simulate_custom(policies=[{"Version": "2012-10-17", "Statement": [get(PAST)]}], action="s3:GetObject")
    assert not s.conditional and s.evaluation.decision is Decision.IMPLICIT_DENY


def test_who_can_lists_conditional_principals_and_filters(org):
    db, snap = org
    w = who_can(db, snap, action="s3:GetObject", resource=BUCKET)
    got = {a.principal_arn.rsplit("/", 1)[1]: a.conditional for a in w.allowed}
    assert got == {
        "admin": False,
        "plain": False,
        "current": False,
        "mfa": True,
        "office": True,
        "denied-off-site": True,
    }  # expired, contradiction, tagged and denied-always are absent: no request allows them
    only = who_can(db, snap, action="s3:GetObject", resource=BUCKET, conditional=True)
    assert {a.principal_arn for a in only.allowed} == {
        arn("user", n) for n in ("mfa", "office", "denied-off-site")
    }
    none = who_can(db, snap, action="s3:GetObject", resource=BUCKET, conditional=False)
    assert {a.principal_arn for a in none.allowed} == {arn("user", n) for n in ("admin", "plain", "current")}
    mfa = next(a for a in w.allowed if a.principal_arn == arn("user", "mfa"))
    assert [(c.key, c.operator, c.values) for c in mfa.required_conditions] == [
        ("aws:MultiFactorAuthPresent", "Bool", ("true",))
    ]


def test_who_can_pass_role_needs_the_passed_to_service_key(org):
    db, snap = org
    target = arn("role", "app")
    w = who_can(db, snap, action="iam:PassRole", resource=target)
    passer = next(a for a in w.allowed if a.principal_arn == arn("user", "passer"))
    assert passer.conditional
    assert [(c.key, c.values) for c in passer.required_conditions] == [
        ("iam:PassedToService", ("ec2.amazonaws.com",))
    ]
    given = who_can(
        db, snap, action="iam:PassRole", resource=target, context={"iam:PassedToService": "ec2.amazonaws.com"}
    )
    assert arn("user", "passer") in {a.principal_arn for a in given.allowed if not a.conditional}


def _access(eff: Any, action: str) -> Any:
    return next(a for a in eff.actions if a.action == action)


def test_effective_permissions_say_which_grants_are_conditional(org):
    snap = org[1]
    plain = _access(effective_permissions(snap, principal=arn("user", "plain")), "s3:GetObject")
    assert [g.conditional for g in plain.allowed] == [False]
    (grant,) = _access(effective_permissions(snap, principal=arn("user", "mfa")), "s3:GetObject").allowed
    assert grant.conditional
    assert [(c.key, c.effect, c.policy_arn, c.statement_index) for c in grant.required] == [
        ("aws:MultiFactorAuthPresent", "Allow", arn("user", "mfa") + "#p", 0)
    ]
    # a condition that holds now is not a condition the request must meet
    (grant,) = _access(effective_permissions(snap, principal=arn("user", "current")), "s3:GetObject").allowed
    assert not grant.conditional and grant.conditions  # the statement's conditions are still shown


@pytest.mark.parametrize("name", ["expired", "contradiction", "tagged"])
def test_effective_permissions_leave_out_statements_no_request_satisfies(org, name):
    eff = effective_permissions(org[1], principal=arn("user", name))
    assert "s3:GetObject" not in {a.action for a in eff.actions}


def test_effective_permissions_deny_that_always_applies_removes_the_action(org):
    snap = org[1]
    always = effective_permissions(snap, principal=arn("user", "denied-always"))
    assert "s3:GetObject" not in {a.action for a in always.actions}
    assert "s3:GetObject" in {a.action for a in always.blocked_actions}
    off_site = _access(effective_permissions(snap, principal=arn("user", "denied-off-site")), "s3:GetObject")
    (d,) = off_site.denied
    assert d.conditional and [(c.key, c.effect) for c in d.required] == [("aws:SourceIp", "Deny")]


def test_role_session_token_is_issued_now(make_db, tmp_path):
    """aws:TokenIssueTime: a role session's credentials are issued now; a user's long-term key has none, and
    only credentials issued now can be added (so a past date never holds)."""
    recent = {"DateGreaterThan": {"aws:TokenIssueTime": "2020-01-01T00:00:00Z"}}
    old = {"DateLessThan": {"aws:TokenIssueTime": "2020-01-01T00:00:00Z"}}
    data = export(
        user("u-recent", allow("s3:GetObject", Condition=recent)),
        user("u-old", allow("s3:GetObject", Condition=old)),
        roles=(
            role("r-recent", {"AWS": f"arn:aws:iam::{ACCT}:root"}, allow("s3:GetObject", Condition=recent)),
            role("r-old", {"AWS": f"arn:aws:iam::{ACCT}:root"}, allow("s3:GetObject", Condition=old)),
        ),
    )
    db = make_db(write(tmp_path, "t.json", data))
    snap = build_snapshot(db)

    def answer(kind: str, name: str) -> tuple[Decision, bool]:
        s = simulate(snap, principal=arn(kind, name), action="s3:GetObject", resource=BUCKET)
        return s.evaluation.decision, s.conditional

    assert answer("role", "r-recent") == (Decision.ALLOWED, False)
    assert answer("user", "u-recent") == (Decision.IMPLICIT_DENY, True)
    assert answer("role", "r-old") == (Decision.IMPLICIT_DENY, False)
    assert answer("user", "u-old") == (Decision.IMPLICIT_DENY, False)
    w = who_can(db, snap, action="s3:GetObject", resource=BUCKET)
    assert {a.principal_arn.rsplit("/", 1)[1]: a.conditional for a in w.allowed} == {
        "admin": False,
        "r-recent": False,
        "u-recent": True,
    }
