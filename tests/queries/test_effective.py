"""effectivePermissions on the demo org (seeds/README.md facts), the pattern algebra, and agreement with
simulate."""

from __future__ import annotations

import json
import random

import pytest

from graphiam.catalog import Catalog
from graphiam.errors import NotFoundError
from graphiam.graph.context import TRUST_ACTIONS
from graphiam.graph.snapshot import build_snapshot
from graphiam.policy import Decision
from graphiam.queries.admin import admin_facts
from graphiam.queries.effective import ActionAccess, Effective, covers, effective_permissions, intersects
from graphiam.queries.escalation_paths import build_index
from graphiam.queries.simulate import simulate
from tests.helpers import CONFORMANCE, SEEDS, one_user_export

A = "arn:aws:iam::111111111111:"


@pytest.fixture(scope="module")
def loaded():
    from graphiam.changes.load import load_files
    from graphiam.store import open_database

    db = open_database(None, buffer_pool_mb=256)
    load_files(db, [SEEDS / "demo-org.json", SEEDS / "partner-account.json"])
    snap = build_snapshot(db)
    yield snap, build_index(db, snap)
    db.close()


@pytest.fixture(scope="module")
def snap(loaded):
    return loaded[0]


@pytest.fixture(scope="module")
def index(loaded):
    return loaded[1]


def by_action(e: Effective) -> dict[str, ActionAccess]:
    return {a.action: a for a in e.actions}


@pytest.mark.parametrize(
    ("a", "b", "covered", "overlap"),
    [
        ("*", "arn:aws:s3:::b/*", True, True),
        ("arn:aws:s3:::b/*", "arn:aws:s3:::b/k", True, True),
        ("arn:aws:s3:::b/*", "arn:aws:s3:::b/*/x", True, True),
        ("arn:aws:s3:::b/k", "arn:aws:s3:::b/*", False, True),
        ("arn:aws:s3:::b/?", "arn:aws:s3:::b/*", False, True),  # `?` is one character, `*` any number
        ("arn:aws:s3:::b/?", "arn:aws:s3:::b/?", True, True),
        ("arn:aws:s3:::a/*", "arn:aws:s3:::b/*", False, False),
        ("arn:aws:s3:::*-dev", "arn:aws:s3:::prod-*", False, True),  # prod-x-dev
        ("arn:aws:s3:::x", "arn:aws:s3:::X", False, False),  # ARNs compare case-sensitively
    ],
)
def test_pattern_algebra(a, b, covered, overlap):
    assert covers(a, b) is covered
    assert intersects(a, b) is overlap and intersects(b, a) is overlap


def test_administrator_has_every_service(snap, index):
    e = effective_permissions(snap, principal=A + "role/ProductionAdminRole")
    catalog = Catalog.default()
    assert admin_facts(index, A + "role/ProductionAdminRole").is_admin is True
    assert {a.service for a in e.actions} == {
        s.prefix for s in catalog.services() if catalog.actions(s.prefix)
    }
    assert len(e.entries) == len(catalog)
    assert all(len(a.allowed) == 1 and a.allowed[0].pattern == "*" and not a.denied for a in e.actions)


def test_conditional_deny_is_reported_and_does_not_remove_admin(snap, index):
    e = effective_permissions(snap, principal=A + "user/security/erin")
    facts = admin_facts(index, A + "user/security/erin")  # DenyWithoutMFA applies without MFA (BoolIfExists)
    assert facts.is_admin is True and facts.conditions == ("aws:MultiFactorAuthPresent",)
    create = by_action(e)["iam:CreateUser"]
    (deny,) = create.denied
    assert deny.pattern == "*" and deny.conditions[0].key == "aws:MultiFactorAuthPresent"
    assert deny.statements[0].effect == "Deny" and deny.statements[0].via == "group"


@pytest.mark.parametrize(
    "who",
    [
        "user/engineering/bob",
        "user/contractors/grace",
        "role/delivery/DeploymentManagerRole",
        "role/service-role/DataProcessorLambdaRole",
        "user/engineering/dave",
    ],
)
def test_not_admin(index, who):
    assert admin_facts(index, A + who).is_admin is False


def test_boundary_caps_read_only_access(snap):
    e = effective_permissions(snap, principal=A + "user/contractors/grace")
    assert e.boundary_arn == A + "policy/boundaries/ContractorBoundary"
    assert {a.service for a in e.actions} == {"s3", "ec2", "cloudwatch", "iam"}
    ok = ("s3:get", "s3:list", "ec2:describe", "cloudwatch:get", "cloudwatch:list", "cloudwatch:describe")
    for a in e.actions:
        assert a.action.lower().startswith(ok) or a.action in (
            "iam:ChangePassword",
            "iam:GetAccountPasswordPolicy",
            "s3:PutObject",
        ), a.action
    assert "dynamodb:GetItem" not in by_action(e)  # ReadOnlyAccess allows it; the boundary does not
    assert "dynamodb:GetItem" in {a.action for a in e.blocked_actions}
    (put,) = by_action(e)["s3:PutObject"].allowed
    # identity grants uploads/grace/* (variable substituted), the boundary uploads/*: the narrower one remains
    assert put.pattern == "arn:aws:s3:::examplecorp-contractor-uploads/grace/*"
    assert {c.key for c in put.conditions} == {"aws:CurrentTime"}
    assert {s.via for s in put.statements} == {"user", "boundary"}


def test_boundary_removes_iam_from_deployment_manager(snap):
    e = effective_permissions(snap, principal=A + "role/delivery/DeploymentManagerRole")
    assert not [a for a in e.actions if a.service == "iam"]
    assert "iam:CreateUser" in {a.action for a in e.blocked_actions}
    assert by_action(e)["sts:AssumeRole"].allowed[0].pattern == A + "role/ProductionAdminRole"


def test_denies_remove_covered_patterns_and_are_listed(snap):
    e = effective_permissions(snap, principal=A + "user/engineering/bob")
    delete = by_action(e)["s3:DeleteObject"]
    allowed = {g.pattern for g in delete.allowed}
    assert "arn:aws:s3:::examplecorp-dev-*/*" in allowed
    assert not any("prod" in p for p in allowed)  # DenyProdDataDeletion covers them, unconditionally
    assert {g.pattern for g in delete.denied} >= {"arn:aws:s3:::examplecorp-prod-*/*"}
    get = {g.pattern for g in by_action(e)["s3:GetObject"].allowed}
    assert "arn:aws:s3:::examplecorp-team-data/payments/*" in get  # ${aws:PrincipalTag/team} = payments


def test_not_resource_deny_that_spares_the_allowed_patterns_is_not_listed(snap):
    # Deny s3:* NotResource [data-lake, data-lake/*]: the allowed data-lake/* is exactly what it spares
    e = effective_permissions(snap, principal=A + "role/service-role/DataProcessorLambdaRole")
    get = by_action(e)["s3:GetObject"]
    assert [g.pattern for g in get.allowed] == ["arn:aws:s3:::examplecorp-data-lake/*"] and not get.denied
    assert "s3:DeleteBucket" not in by_action(e)


def test_principal_variables_undefined_for_a_role_drop_the_pattern(snap):
    # IAMUserChangePassword: iam:ChangePassword on user/${aws:username}; a role has no aws:username
    e = effective_permissions(snap, principal=A + "user/engineering/bob")
    (cp,) = by_action(e)["iam:ChangePassword"].allowed
    assert cp.pattern == "arn:aws:iam::*:user/bob"


def test_unknown_actions_are_reported(make_db, tmp_path):
    user = "arn:aws:iam::123456789012:user/pat"
    doc = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:NotARealAction", "madeup:*", "s3:GetObjekt"],
                "Resource": "*",
            },
            {"Effect": "Deny", "NotAction": "nosuchservice:Thing", "Resource": "arn:aws:s3:::secret/*"},
            {"Effect": "Deny", "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::public/*"},
        ],
    }
    gaad = one_user_export(user, doc)
    (tmp_path / "pat.json").write_text(json.dumps(gaad))
    snap = build_snapshot(make_db(tmp_path / "pat.json"))
    e = effective_permissions(snap, principal=user)
    assert [(u.action, u.effect, u.not_action) for u in e.unknown_actions] == [
        ("s3:NotARealAction", "Allow", False),
        ("madeup:*", "Allow", False),
        ("s3:GetObjekt", "Allow", False),
        ("nosuchservice:Thing", "Deny", True),
    ]
    # the catalogue check simulate uses: the closest known action, when one is close
    assert [u.did_you_mean for u in e.unknown_actions][2] == "s3:GetObject"
    assert [a.action for a in e.actions] == ["s3:GetObject"]
    get = by_action(e)["s3:GetObject"]
    assert [g.pattern for g in get.allowed] == [
        "*"
    ]  # the NotResource deny spares public/*: not entirely denied
    assert [(d.pattern, d.excluding) for d in get.denied] == [
        ("arn:aws:s3:::secret/*", ()),
        ("*", ("arn:aws:s3:::public/*",)),
    ]


def test_unknown_principal(snap):
    with pytest.raises(NotFoundError, match="not in the graph"):
        effective_permissions(snap, principal=A + "user/nobody")


def test_filters_and_summary(snap):
    e = effective_permissions(snap, principal=A + "role/ProductionAdminRole")
    s3 = e.filtered(service="S3")
    assert s3.entries and all(x[0].service == "s3" for x in s3.entries)
    writes = e.filtered(service="s3", access_level="Write")
    assert {x[0].access_level for x in writes.entries} == {"Write"}
    assert sum(n for svc, _lvl, n in e.summary() if svc == "s3") == len(s3.entries)
    assert sum(n for _s, _l, n in e.summary()) == len(e.entries)


# ---- agreement with the engine -----------------------------------------------------------------------------


def _concrete(pattern: str) -> str:
    return pattern.replace("*", "x").replace("?", "q")


@pytest.mark.parametrize("source", ["seeds", "conformance"])
def test_agrees_with_simulate(make_db, source):
    """Every unconditional, unqualified grant is ALLOWED by simulate on a concrete resource of the principal's
    account (or EXPLICIT_DENY when a listed deny applies); no action outside the answer is ALLOWED on `*` or
    on the granted resources. Trust-policy actions on stored roles are left out: a trust policy is not an
    identity permission."""
    files = (
        [SEEDS / "demo-org.json", SEEDS / "partner-account.json"]
        if source == "seeds"
        else [CONFORMANCE / "gaad.json"]
    )
    snap = build_snapshot(make_db(*files))
    rng = random.Random(1)
    catalog = Catalog.default()
    all_actions = [a.full_name for a in catalog.actions()]
    checked = 0
    for arn in sorted(snap.principals):
        e = effective_permissions(snap, principal=arn)
        owner = snap.principals[arn].account
        entries = e.actions
        resources = {"*"}
        for a in rng.sample(entries, min(40, len(entries))):
            for g in a.allowed:
                if g.conditions or g.excluding or g.also_matching or "${" in g.pattern:
                    continue
                r = _concrete(g.pattern)
                if a.action.lower() in TRUST_ACTIONS and snap.principal(r) is not None:
                    continue
                resources.add(r)
                d = simulate(
                    snap, principal=arn, action=a.action, resource=r, resource_owner=owner
                ).evaluation.decision
                assert d is Decision.ALLOWED or (a.denied and d is Decision.EXPLICIT_DENY), (
                    arn,
                    a.action,
                    r,
                    d,
                )
                checked += 1
        allowed = {a.action for a in entries}
        outside = [x for x in all_actions if x not in allowed and x.lower() not in TRUST_ACTIONS]
        for name in rng.sample(outside, min(40, len(outside))):
            for r in sorted(resources)[:5]:
                d = simulate(
                    snap, principal=arn, action=name, resource=r, resource_owner=owner
                ).evaluation.decision
                assert d is not Decision.ALLOWED, (arn, name, r)
    assert checked > 50
