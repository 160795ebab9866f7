"""whoCan: the demo org's documented facts, and exact agreement with brute force (simulate on every
principal).

The brute-force checks prove the database prefilter drops nobody: for sampled (action, resource, context)
triples on a generated two-account org and on the conformance export, `who_can` must return exactly
{p : simulate(p, a, r).decision == ALLOWED} over all users and roles as its unconditional answers, and
{p : simulate(p, a, r).conditional} as its conditional ones.
"""

from __future__ import annotations

import json
import random
import re
import sys
from typing import Any

import pytest

from graphiam.errors import InputError
from graphiam.graph.context import ContextValues
from graphiam.graph.snapshot import Snapshot, build_snapshot
from graphiam.policy import Decision
from graphiam.queries.simulate import simulate
from graphiam.queries.who_can import WhoCan, who_can
from graphiam.store import Database
from graphiam.store.access_store import policy_services
from tests.helpers import CONFORMANCE, ROOT, SEEDS, one_user_export

A = "arn:aws:iam::111111111111:"
PROD_ADMIN = A + "role/ProductionAdminRole"
PLATFORM = A + "role/PlatformEngineerRole"
BREAK_GLASS = A + "role/BreakGlassRole"
MFA = {"aws:MultiFactorAuthPresent": "true"}


@pytest.fixture
def demo(make_db):
    db = make_db(SEEDS / "demo-org.json", SEEDS / "partner-account.json")
    return db, build_snapshot(db)


def arns(result: WhoCan) -> set[str]:
    """The principals allowed as the request is (not those allowed only under further conditions)."""
    return {a.principal_arn for a in result.allowed if not a.conditional}


def conditional_arns(result: WhoCan) -> set[str]:
    return {a.principal_arn for a in result.allowed if a.conditional}


@pytest.mark.parametrize(
    ("document", "services", "allow"),
    [
        ({"Statement": [{"Effect": "Allow", "Action": "S3:GetObject", "Resource": "*"}]}, ["s3"], ["s3"]),
        (
            {"Statement": {"Effect": "Allow", "Action": ["ec2:*", "iam:Get*"], "Resource": "*"}},
            ["ec2", "iam"],
            ["ec2", "iam"],
        ),
        ({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}, ["*"], ["*"]),
        ({"Statement": [{"Effect": "Allow", "Action": "s3*:Get", "Resource": "*"}]}, ["*"], ["*"]),
        ({"Statement": [{"Effect": "Allow", "Action": "s?:Get", "Resource": "*"}]}, ["*"], ["*"]),
        ({"Statement": [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]}, ["*"], ["*"]),
        (
            {
                "Statement": [
                    {"Effect": "Deny", "Action": "iam:*", "Resource": "*"},
                    {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"},
                ]
            },
            ["iam", "sts"],
            ["sts"],
        ),
        (
            {"Statement": [{"Effect": "Allow", "Action": "s3", "Resource": "*"}]},
            [],
            [],
        ),  # no `:`: matches no action
    ],
)
def test_policy_services_columns(document, services, allow):
    assert policy_services(json.dumps(document)) == (services, allow)


def test_unreadable_document_counts_as_every_service():
    assert policy_services("{not json") == (["*"], ["*"])
    assert policy_services(None) == ([], [])


def test_who_can_create_user_is_the_unbounded_administrators(demo):
    db, snap = demo
    # erin is an administrator, but the Admins group's BoolIfExists deny applies without MFA context
    result = who_can(db, snap, action="iam:CreateUser", resource="*")
    assert arns(result) == {
        PROD_ADMIN,
        BREAK_GLASS,
        A + "role/service-role/OpsAutomationRole",
    }
    # ... so she is listed as allowed if MFA is present (the deny avoided)
    (erin,) = [a for a in result.allowed if a.conditional]
    assert erin.principal_arn == A + "user/security/erin"
    assert [(c.key, c.operator, c.values, c.effect) for c in erin.required_conditions] == [
        ("aws:MultiFactorAuthPresent", "BoolIfExists", ("false",), "Deny")
    ]
    with_mfa = who_can(db, snap, action="iam:CreateUser", resource="*", context=MFA)
    assert A + "user/security/erin" in arns(with_mfa)
    # DeploymentManagerRole's policy grants iam:* but its boundary removes it
    assert A + "role/delivery/DeploymentManagerRole" not in arns(with_mfa)


def test_only_deployment_manager_can_assume_production_admin(demo):
    db, snap = demo
    result = who_can(db, snap, action="sts:AssumeRole", resource=PROD_ADMIN)
    assert arns(result) == {A + "role/delivery/DeploymentManagerRole"}
    (access,) = result.allowed
    kinds = {m.source.kind for m in access.simulation.evaluation.matched}
    assert "trust" in kinds and kinds & {"customer-managed", "inline"}


def test_trust_policy_naming_a_user_needs_no_identity_allow_and_conditions_count(demo):
    db, snap = demo
    assert arns(who_can(db, snap, action="sts:AssumeRole", resource=PLATFORM)) == set()
    allowed = who_can(db, snap, action="sts:AssumeRole", resource=PLATFORM, context=MFA)
    assert arns(allowed) == {A + "user/engineering/alice"}
    # the partner's auditor is named through its account: ExternalId needed, identity allow too
    audit = A + "role/PartnerAuditRole"
    ext = {"sts:ExternalId": "ExampleCorp-Audit-5f1c"}
    assert "arn:aws:iam::222222222222:user/auditor" in arns(
        who_can(db, snap, action="sts:AssumeRole", resource=audit, context=ext)
    )
    assert arns(who_can(db, snap, action="sts:AssumeRole", resource=audit)) == set()


def test_explicit_deny_removes_a_principal(demo):
    db, snap = demo
    prod = "arn:aws:s3:::examplecorp-prod-assets/logo.png"
    dev = "arn:aws:s3:::examplecorp-dev-assets/logo.png"
    bob = A + "user/engineering/bob"
    assert bob in arns(who_can(db, snap, action="s3:DeleteObject", resource=dev))
    assert bob not in arns(who_can(db, snap, action="s3:DeleteObject", resource=prod))
    assert (
        simulate(snap, principal=bob, action="s3:DeleteObject", resource=prod).evaluation.decision
        is Decision.EXPLICIT_DENY
    )


def test_source_ip_condition_decides(demo):
    db, snap = demo
    frank = A + "user/ops/network/frank"
    office = who_can(db, snap, action="ec2:CreateVpc", resource="*", context={"aws:SourceIp": "203.0.113.10"})
    elsewhere = who_can(
        db, snap, action="ec2:CreateVpc", resource="*", context={"aws:SourceIp": "192.0.2.10"}
    )
    assert frank in arns(office) and frank not in arns(elsewhere)


def test_missing_context_keys_are_reported_for_allowed_principals(make_db, tmp_path):
    user = "arn:aws:iam::123456789012:user/pat"
    doc = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"},
            {
                "Effect": "Allow",
                "Action": "s3:*",
                "Resource": "*",
                "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
            },
        ],
    }
    gaad = one_user_export(user, doc)
    path = tmp_path / "pat.json"
    path.write_text(json.dumps(gaad))
    db = make_db(path)
    snap = build_snapshot(db)
    (access,) = who_can(db, snap, action="s3:GetObject", resource="arn:aws:s3:::b/k").allowed
    assert access.simulation.evaluation.missing_context_keys == ("aws:SourceIp",)
    assert arns(who_can(db, snap, action="s3:PutObject", resource="arn:aws:s3:::b/k")) == set()
    assert arns(
        who_can(
            db, snap, action="s3:PutObject", resource="arn:aws:s3:::b/k", context={"aws:SourceIp": "10.1.2.3"}
        )
    ) == {user}


@pytest.mark.parametrize("action", ["iam", "iam:", ":CreateUser", ""])
def test_bad_action_is_an_input_error(demo, action):
    db, snap = demo
    with pytest.raises(InputError, match="action"):
        who_can(db, snap, action=action, resource="*")


def test_via_chains_adds_principals_reaching_an_allowed_role(demo):
    db, snap = demo
    result = who_can(db, snap, action="iam:CreateUser", resource="*", via_chains=True)
    chains = {a.principal_arn: a.chain for a in result.allowed if a.chain}
    assert chains[A + "role/delivery/DeploymentManagerRole"] == (
        A + "role/delivery/DeploymentManagerRole",
        PROD_ADMIN,
    )
    assert chains[A + "user/engineering/alice"] == (
        A + "user/engineering/alice",
        PLATFORM,
        A + "role/delivery/DeploymentManagerRole",
        PROD_ADMIN,
    )
    # erin is listed herself, allowed if MFA is present: no chain for her
    erin = next(a for a in result.allowed if a.principal_arn == A + "user/security/erin")
    assert erin.conditional and not erin.chain
    alice = next(a for a in result.allowed if a.principal_arn == A + "user/engineering/alice")
    assert any("multifactor" in k.lower() for k in alice.chain_conditions)
    assert not set(chains) & {PROD_ADMIN, BREAK_GLASS}  # directly allowed ones are listed once, without chain


# ---- independent check: exact equality with brute force ----------------------------------------------------


def brute_force(
    snap: Snapshot,
    action: str,
    resource: str,
    context: ContextValues,
    owner: str | None = None,
    *,
    conditional: bool = False,
) -> set[str]:
    out = set()
    for arn in snap.principals:
        sim = simulate(
            snap, principal=arn, action=action, resource=resource, context=context, resource_owner=owner
        )
        if sim.conditional if conditional else sim.evaluation.decision is Decision.ALLOWED:
            out.add(arn)
    return out


CONTEXTS: tuple[ContextValues, ...] = (
    {},
    MFA,
    {"aws:SourceIp": "203.0.113.7", "aws:MultiFactorAuthPresent": "false"},
    {"aws:CurrentTime": "2024-06-01T00:00:00Z", "aws:RequestedRegion": "us-east-1", "aws:TagKeys": ["team"]},
)


def _concrete(resource: str, rng: random.Random) -> str:
    text = re.sub(r"\$\{[^}]*\}", lambda _m: rng.choice(("alice-smith", "payments", "x")), resource)
    return text.replace("*", rng.choice(("x", "data/1", "a/b*c"))).replace("?", "q")


def sampled_pairs(snap: Snapshot, rng: random.Random, n: int) -> list[tuple[str, str]]:
    """(action, resource) pairs drawn from the stored statements, plus sts:AssumeRole on every role."""
    pairs: set[tuple[str, str]] = set()
    roles = sorted(a for a, p in snap.principals.items() if p.kind == "role")
    pairs |= {("sts:AssumeRole", r) for r in roles}
    statements = [st for p in snap.principals.values() for s in p.identity for st in s.document.statements]
    statements.sort(
        key=lambda st: json.dumps(st.raw if hasattr(st, "raw") else [st.actions, st.resources], default=str)
    )
    from graphiam.catalog import Catalog

    catalog = Catalog.default()
    for st in rng.sample(statements, k=min(n, len(statements))):
        pats = st.actions or st.not_actions or ()
        pat = rng.choice(pats)
        hits = catalog.expand(pat) if st.actions else catalog.expand("s3:*")
        action = rng.choice(hits).full_name if hits else pat.replace("*", "Get")
        res = st.resources or st.not_resources or ("*",)
        pairs.add((action, _concrete(rng.choice(res), rng)))
        pairs.add((action, "*"))
    pairs |= {
        ("iam:CreateUser", "*"),
        ("iam:PassRole", roles[0] if roles else "*"),
        ("s3:GetObject", "arn:aws:s3:::x/y"),
    }
    return sorted(pairs)


def _check(db: Database, snap: Snapshot, pairs: list[tuple[str, str]], rng: random.Random) -> int:
    checked = 0
    for action, resource in pairs:
        ctx = rng.choice(CONTEXTS)
        w = who_can(db, snap, action=action, resource=resource, context=ctx)
        assert arns(w) == brute_force(snap, action, resource, ctx), (action, resource, ctx)
        assert conditional_arns(w) == brute_force(snap, action, resource, ctx, conditional=True), (
            action,
            resource,
            ctx,
        )
        checked += 1
    return checked


def test_matches_brute_force_on_a_generated_org(make_db, tmp_path):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from generate_org import account_of, generate_org
    finally:
        sys.path.pop(0)
    files = []
    for export in generate_org(users=60, roles=40, policies=60, accounts=2, seed=11):
        path = tmp_path / f"{account_of(export)}.json"
        path.write_text(json.dumps(export))
        files.append(path)
    db = make_db(*files)
    snap = build_snapshot(db)
    rng = random.Random(5)
    pairs = sampled_pairs(snap, rng, 80)
    assert _check(db, snap, pairs, rng) >= 150
    # the prefilter did prune: a typical action is handed to the engine for a fraction of the principals
    w = who_can(db, snap, action="dynamodb:GetItem", resource="*")
    assert w.candidates < w.principals


def test_matches_brute_force_on_the_conformance_export(make_db):
    db = make_db(CONFORMANCE / "gaad.json")
    snap = build_snapshot(db)
    requests = [
        json.loads(line) for line in (CONFORMANCE / "requests.jsonl").read_text().splitlines() if line.strip()
    ]
    rng = random.Random(3)
    picked = rng.sample(requests, 60)
    for req in picked:
        ctx = req["context"]
        owner = req.get("resourceAccount")
        w = who_can(
            db, snap, action=req["action"], resource=req["resourceArn"], context=ctx, resource_owner=owner
        )
        assert arns(w) == brute_force(snap, req["action"], req["resourceArn"], ctx, owner), req["id"]
        assert conditional_arns(w) == brute_force(
            snap, req["action"], req["resourceArn"], ctx, owner, conditional=True
        ), req["id"]
    assert _check(db, snap, sampled_pairs(snap, rng, 40), rng) > 40


def test_seed_org_matches_brute_force_for_every_documented_decision(demo):
    db, snap = demo
    facts = json.loads((SEEDS / "facts.json").read_text())["simulate"]
    for f in facts:
        resource = f.get("resource", "*")
        got = arns(who_can(db, snap, action=f["action"], resource=resource, context=f["context"]))
        assert got == brute_force(snap, f["action"], resource, f["context"])
        assert (f["principal"] in got) == (f["decision"] == "ALLOWED"), f


@pytest.mark.parametrize(
    ("trust", "admitted"),
    [
        ({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}, True),
        (
            {
                "Effect": "Allow",
                "NotPrincipal": {"AWS": "arn:aws:iam::123456789012:user/other"},
                "Action": "sts:AssumeRole",
            },
            True,
        ),
        (
            {
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::123456789012:user/nobody"},
                "Action": "sts:AssumeRole",
            },
            True,
        ),
        # an account principal only delegates: without an identity allow nobody is admitted
        ({"Effect": "Allow", "Principal": {"AWS": "123456789012"}, "Action": "sts:AssumeRole"}, False),
    ],
)
def test_trust_policy_alone_admits_principals_without_policies(make_db, tmp_path, trust, admitted):
    acct = "123456789012"
    users: list[dict[str, Any]] = [
        {
            "Path": "/",
            "UserName": n,
            "UserId": f"AIDA{n.upper()}",
            "Arn": f"arn:aws:iam::{acct}:user/{n}",
            "CreateDate": "2024-01-01T00:00:00Z",
            "GroupList": [],
            "AttachedManagedPolicies": [],
            "UserPolicyList": [],
        }
        for n in ("nobody", "other")
    ]
    role = {
        "Path": "/",
        "RoleName": "open",
        "RoleId": "AROAOPEN",
        "Arn": f"arn:aws:iam::{acct}:role/open",
        "CreateDate": "2024-01-01T00:00:00Z",
        "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [trust]},
        "InstanceProfileList": [],
        "RolePolicyList": [],
        "AttachedManagedPolicies": [],
        "Tags": [],
    }
    (tmp_path / "o.json").write_text(
        json.dumps({"UserDetailList": users, "GroupDetailList": [], "RoleDetailList": [role], "Policies": []})
    )
    db = make_db(tmp_path / "o.json")
    snap = build_snapshot(db)
    got = arns(who_can(db, snap, action="sts:AssumeRole", resource=f"arn:aws:iam::{acct}:role/open"))
    assert got == brute_force(snap, "sts:AssumeRole", f"arn:aws:iam::{acct}:role/open", {})
    assert (f"arn:aws:iam::{acct}:user/nobody" in got) is admitted
