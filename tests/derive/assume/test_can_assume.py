"""CAN_ASSUME derivation: the demo org's documented edges, hand-made exports for each AWS rule, and exact
agreement with brute force (`simulate` over enumerated request contexts) on a generated two-account org."""

from __future__ import annotations

import contextlib
import ipaddress
import itertools
import json
from typing import Any

import pytest

from graphiam.derive.assume.edges import affected_roles, compute_edges
from graphiam.errors import InputError, NotFoundError
from graphiam.graph.snapshot import PrincipalInfo, Snapshot, build_snapshot
from graphiam.policy import Decision
from graphiam.policy.witness import fixed_key
from graphiam.queries.chains import assumable_by, assumable_roles, assumption_chains
from graphiam.queries.simulate import simulate
from graphiam.store import Database
from graphiam.store import assume_store as S
from tests.helpers import (
    ALLOW_ASSUME,
    NO_STS_BOUNDARY,
    ROOT_TRUST,
    SEEDS,
    X,
    doc,
    trust,
)
from tests.helpers import assume_export as export
from tests.helpers import assume_role as role
from tests.helpers import assume_user as user

FACTS = json.loads((SEEDS / "facts.json").read_text())
NEEDS = {"mfa": "aws:MultiFactorAuthPresent", "source_ip": "aws:SourceIp", "external_id": "sts:ExternalId"}
A = "arn:aws:iam::111111111111:"
B = "arn:aws:iam::222222222222:"


def edges(db: Database) -> dict[tuple[str, str], dict[str, Any]]:
    return {(e["from"], e["to"]): e for e in S.all_edges(db)}


def needed_keys(edge: dict[str, Any]) -> set[str]:
    return {c[0] for c in json.loads(edge["conditions"]) if c[3] == "Allow"}


def test_demo_org_has_exactly_the_documented_edges_with_their_conditions(make_db):
    db = make_db(SEEDS / "demo-org.json", SEEDS / "partner-account.json")
    got = edges(db)
    want = {(f["from"], f["to"]): {NEEDS[n] for n in f["needs"]} for f in FACTS["can_assume"]}
    assert set(got) == set(want)
    for pair, keys in want.items():
        assert needed_keys(got[pair]) == keys, pair
        assert got[pair]["needs_conditions"] is bool(keys), pair
        assert got[pair]["action"] == "sts:AssumeRole"


def test_reasons_name_the_deciding_statements(make_db):
    db = make_db(SEEDS / "demo-org.json", SEEDS / "partner-account.json")
    got = edges(db)
    hop1 = json.loads(got[(A + "user/engineering/alice", A + "role/PlatformEngineerRole")]["statements"])
    assert hop1 == [["#trust", 0, "resource", "AliceWithMFA"]]  # named user: no identity allow needed
    boundary_hop = json.loads(
        got[(A + "role/delivery/DeploymentManagerRole", A + "role/ProductionAdminRole")]["statements"]
    )
    assert ["~policy/boundaries/DeliveryBoundary", 0, "boundary", "DeliveryServicesOnly"] in boundary_hop
    cross = json.loads(
        got[(A + "role/automation/CIDeployRole", B + "role/SharedArtifactsRole")]["statements"]
    )
    assert {s[2] for s in cross} == {"role", "resource"}  # cross account: identity AND trust
    mfa = json.loads(got[(A + "user/engineering/alice", A + "role/PlatformEngineerRole")]["conditions"])
    assert mfa == [["aws:MultiFactorAuthPresent", "Bool", None, "Allow", "#trust", 0]]  # values: in the trust
    hop = assumption_chains(db, A + "user/engineering/alice", max_depth=1).chains[0][0]
    assert [(c.key, c.values, c.policy_arn) for c in hop.conditions] == [
        ("aws:MultiFactorAuthPresent", ("true",), A + "role/PlatformEngineerRole#trust")
    ]
    hop = assumption_chains(db, A + "role/delivery/DeploymentManagerRole", max_depth=1).chains[0][0]
    assert (A + "policy/boundaries/DeliveryBoundary", "boundary", "DeliveryServicesOnly") in [
        (s.policy_arn, s.applies_via, s.sid) for s in hop.statements
    ]


def test_the_three_role_chain_with_mfa_on_the_first_hop(make_db):
    db = make_db(SEEDS / "demo-org.json", SEEDS / "partner-account.json")
    chain = FACTS["chains"][0]
    found = assumption_chains(db, chain[0], to=chain[-1], max_depth=5)
    assert len(found.chains) == 1 and not found.truncated
    hops = found.chains[0]
    assert [hops[0].source, *(h.target for h in hops)] == chain
    assert [h.needs_conditions for h in hops] == [True, False, False]
    assert [c.key for c in hops[0].conditions] == ["aws:MultiFactorAuthPresent"]
    assert hops[0].statements[0].policy_arn == chain[1] + "#trust"


def test_chains_come_shortest_first_and_stop_at_cycles_and_the_cap(make_db):
    db = make_db(SEEDS / "demo-org.json", SEEDS / "partner-account.json")
    alice = FACTS["chains"][0][0]
    found = assumption_chains(db, alice, max_depth=10)
    assert [len(c) for c in found.chains] == [1, 2, 3, 4]  # ends at BreakGlassRole, which leads nowhere new
    cut = assumption_chains(db, alice, max_depth=10, limit=2)
    assert cut.truncated and [len(c) for c in cut.chains] == [1, 2]
    assert (
        assumption_chains(db, FACTS["chains"][1][0], max_depth=1).chains[0][0].target == FACTS["chains"][1][1]
    )
    with pytest.raises(InputError):
        assumption_chains(db, alice, max_depth=11)
    with pytest.raises(NotFoundError):
        assumption_chains(db, A + "user/nobody")


def test_cycles_do_not_repeat_nodes(make_db, tmp_path):
    roles = [
        role("R1", trust({"AWS": X + "role/R2"}), ALLOW_ASSUME),
        role("R2", trust({"AWS": X + "role/R1"}), ALLOW_ASSUME),
    ]
    db = make_db(export(tmp_path, [], roles))
    found = assumption_chains(db, X + "role/R1", max_depth=6)
    assert [[h.target for h in c] for c in found.chains] == [[X + "role/R2"]]
    reach = assumable_roles(db, X + "role/R1", max_depth=6)
    assert [(r.key, r.depth) for r in reach] == [(X + "role/R2", 1)]


def test_assumable_roles_and_assumable_by_mark_conditioned_paths(make_db):
    db = make_db(SEEDS / "demo-org.json", SEEDS / "partner-account.json")
    alice = FACTS["chains"][0][0]
    reach = {r.key: (r.depth, r.needs_conditions) for r in assumable_roles(db, alice, max_depth=5)}
    assert reach == {
        A + "role/PlatformEngineerRole": (1, True),
        A + "role/delivery/DeploymentManagerRole": (2, True),
        A + "role/ProductionAdminRole": (3, True),
        A + "role/BreakGlassRole": (4, True),
    }
    assert {r.key for r in assumable_roles(db, alice, max_depth=2)} == {
        A + "role/PlatformEngineerRole",
        A + "role/delivery/DeploymentManagerRole",
    }
    by = {
        (r.table, r.key): (r.depth, r.needs_conditions)
        for r in assumable_by(db, A + "role/ProductionAdminRole", max_depth=5)
    }
    assert by == {
        ("Role", A + "role/delivery/DeploymentManagerRole"): (1, False),
        ("Role", A + "role/PlatformEngineerRole"): (2, False),
        ("User", alice): (3, True),
    }


def test_service_principals_and_the_instance_profile_role(make_db):
    db = make_db(SEEDS / "demo-org.json", SEEDS / "partner-account.json")
    got = edges(db)
    ops = A + "role/service-role/OpsAutomationRole"
    assert got[("ec2.amazonaws.com", ops)]["from_table"] == "ServicePrincipal"
    assert build_snapshot(db).profiles[ops] == [A + "instance-profile/service-role/OpsAutomationProfile"]
    services = {k for k, _ in got if not k.startswith("arn:")}
    assert services == {"ec2.amazonaws.com", "lambda.amazonaws.com"}


def test_cross_account_trust_without_the_partner_is_an_external_principal_then_resolves(make_db):
    db = make_db(SEEDS / "demo-org.json")
    got = edges(db)
    root = B + "root"
    assert got[(root, A + "role/PartnerAuditRole")]["from_table"] == "ExternalPrincipal"
    assert needed_keys(got[(root, A + "role/PartnerAuditRole")]) == {"sts:ExternalId"}
    assert db.execute(
        "MATCH (e:ExternalPrincipal) RETURN e.arn AS arn, e.kind AS kind, e.account AS account"
    ) == [{"arn": root, "kind": "account", "account": "222222222222"}]
    assert not any(to.startswith(B) for _, to in got)  # the partner's roles are not in the graph

    from graphiam.changes.load import load_files

    load_files(db, [SEEDS / "partner-account.json"])  # loading the partner replaces the external principal
    got = edges(db)
    assert (root, A + "role/PartnerAuditRole") not in got
    assert (B + "user/auditor", A + "role/PartnerAuditRole") in got
    assert (A + "role/automation/CIDeployRole", B + "role/SharedArtifactsRole") in got
    assert db.execute("MATCH (e:ExternalPrincipal) RETURN e.arn AS arn") == []
    assert set(got) == {(f["from"], f["to"]) for f in FACTS["can_assume"]}


# ---- hand-made exports: one AWS rule each ----


ADMIN = doc({"Effect": "Allow", "Action": "*", "Resource": "*"})


def test_a_boundary_without_sts_assume_role_removes_the_edge(make_db, tmp_path):
    db = make_db(
        export(
            tmp_path, [user("free"), user("bounded", boundary=NO_STS_BOUNDARY)], [role("Target", ROOT_TRUST)]
        )
    )
    assert set(edges(db)) == {(X + "user/free", X + "role/Target")}


def test_trust_naming_the_user_is_not_capped_by_its_boundary_but_naming_a_role_is(make_db, tmp_path):
    bounded = user("bounded", policy=None, boundary=NO_STS_BOUNDARY)
    roles = [
        role("ForUser", trust({"AWS": X + "user/bounded"})),
        role("Caller", trust({"Service": "ec2.amazonaws.com"}), ALLOW_ASSUME, boundary=NO_STS_BOUNDARY),
        role("ForRole", trust({"AWS": X + "role/Caller"})),
    ]
    db = make_db(export(tmp_path, [bounded], roles))
    got = set(edges(db))
    assert (X + "user/bounded", X + "role/ForUser") in got
    assert (X + "role/Caller", X + "role/ForRole") not in got


@pytest.mark.parametrize(
    ("condition", "edge", "needs"),
    [
        ({"Bool": {"aws:MultiFactorAuthPresent": "true"}}, True, {"aws:MultiFactorAuthPresent"}),
        (
            {"StringEquals": {"aws:PrincipalTag/team": "blue"}},
            True,
            set(),
        ),  # the user's tag is blue: holds already
        ({"StringEquals": {"aws:PrincipalTag/team": "red"}}, False, None),  # can never hold for this user
        ({"StringEquals": {"aws:PrincipalTag/missing": "x"}}, False, None),  # no such tag on the user
        ({"ArnEquals": {"aws:PrincipalArn": X + "user/someone-else"}}, False, None),
        (
            {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}, "StringEquals": {"sts:ExternalId": "e-1"}},
            True,
            {"aws:SourceIp", "sts:ExternalId"},
        ),
        (
            {
                "Bool": {"aws:MultiFactorAuthPresent": "true"},
                "BoolIfExists": {"aws:MultiFactorAuthPresent": "false"},
            },
            False,
            None,
        ),  # contradictory: no context satisfies both
        # time is the clock's, not the caller's (graph.context): judged against now
        ({"DateLessThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}, False, None),  # already past
        ({"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}, True, set()),  # holds now
        # a user's credentials: a long-term key (no aws:TokenIssueTime) or temporary ones issued now
        ({"DateLessThan": {"aws:TokenIssueTime": "2020-01-01T00:00:00Z"}}, False, None),
        ({"DateGreaterThan": {"aws:TokenIssueTime": "2020-01-01T00:00:00Z"}}, True, {"aws:TokenIssueTime"}),
        ({"Null": {"aws:SourceIp": "true"}, "IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, False, None),
    ],
)
def test_trust_conditions_are_needed_or_impossible(make_db, tmp_path, condition, edge, needs):
    db = make_db(
        export(
            tmp_path,
            [user("u", tags={"team": "blue"})],
            [role("Target", trust({"AWS": X + "root"}, condition))],
        )
    )
    got = edges(db)
    pair = (X + "user/u", X + "role/Target")
    assert (pair in got) is edge
    if edge:
        assert needed_keys(got[pair]) == needs
        assert got[pair]["needs_conditions"] is bool(needs)


@pytest.mark.parametrize(
    ("deny", "edge"),
    [
        (
            {"Effect": "Deny", "Action": "sts:AssumeRole", "Resource": "*"},
            False,
        ),  # applies whatever the context
        (
            {
                "Effect": "Deny",
                "Action": "sts:*",
                "Resource": "*",
                "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
            },
            True,
        ),  # switched off by MFA
        (
            {
                "Effect": "Deny",
                "NotAction": "s3:*",
                "Resource": "*",
                "Condition": {"NotIpAddress": {"aws:SourceIp": "192.0.2.0/24"}},
            },
            True,
        ),  # switched off from that network
    ],
)
def test_explicit_denies_remove_the_edge_only_when_no_context_avoids_them(make_db, tmp_path, deny, edge):
    policy = doc({"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}, deny)
    db = make_db(export(tmp_path, [user("u", policy)], [role("Target", ROOT_TRUST)]))
    got = edges(db)
    pair = (X + "user/u", X + "role/Target")
    assert (pair in got) is edge
    if edge:
        assert got[pair]["needs_conditions"] is True
        assert any(c[3] == "Deny" for c in json.loads(got[pair]["conditions"]))


def test_self_assumption_needs_the_role_named_explicitly(make_db, tmp_path):
    root_self = role("RootTrust", ROOT_TRUST, ADMIN)
    named_self = role("NamedTrust", trust({"AWS": X + "role/NamedTrust"}), ADMIN)
    db = make_db(export(tmp_path, [], [root_self, named_self]))
    got = set(edges(db))
    assert (X + "role/RootTrust", X + "role/RootTrust") not in got
    assert (X + "role/NamedTrust", X + "role/NamedTrust") in got
    assert (X + "role/NamedTrust", X + "role/RootTrust") in got  # admin, same account, root trust


def test_federated_everyone_and_unknown_account_principals(make_db, tmp_path):
    saml = X + "saml-provider/Okta"
    oidc = "token.actions.githubusercontent.com"
    roles = [
        role(
            "Saml",
            trust(
                {"Federated": saml},
                {"StringEquals": {"SAML:aud": "https://signin.aws.amazon.com/saml"}},
                "sts:AssumeRoleWithSAML",
            ),
        ),
        role(
            "Oidc",
            trust(
                {"Federated": oidc},
                {
                    "StringLike": {f"{oidc}:sub": "repo:org/app:*"},
                    "StringEquals": {f"{oidc}:aud": "sts.amazonaws.com"},
                },
                "sts:AssumeRoleWithWebIdentity",
            ),
        ),
        role("Anyone", trust({"AWS": "*"}, {"StringEquals": {"aws:PrincipalOrgID": "o-123"}})),
        role("Vendor", trust({"AWS": "arn:aws:iam::999999999999:role/VendorRole"})),
    ]
    db = make_db(export(tmp_path, [user("u", policy=None)], roles))
    got = edges(db)
    assert got[(saml, X + "role/Saml")]["action"] == "sts:AssumeRoleWithSAML"
    assert needed_keys(got[(oidc, X + "role/Oidc")]) == {f"{oidc}:sub", f"{oidc}:aud"}
    assert got[(oidc, X + "role/Oidc")]["action"] == "sts:AssumeRoleWithWebIdentity"
    assert needed_keys(got[("*", X + "role/Anyone")]) == {"aws:PrincipalOrgID"}
    assert (X + "user/u", X + "role/Anyone") in got  # `*` names the user itself: no identity allow needed
    assert got[("arn:aws:iam::999999999999:role/VendorRole", X + "role/Vendor")]["needs_conditions"] is False
    kinds = {
        r["arn"]: r["kind"]
        for r in db.execute("MATCH (e:ExternalPrincipal) RETURN e.arn AS arn, e.kind AS kind")
    }
    assert kinds == {
        saml: "federated",
        oidc: "federated",
        "*": "everyone",
        "arn:aws:iam::999999999999:role/VendorRole": "role",
    }


def test_reloading_an_account_replaces_its_edges(make_db, tmp_path):
    from graphiam.changes.load import load_files

    db = make_db(export(tmp_path, [user("u")], [role("Target", ROOT_TRUST)]))
    assert set(edges(db)) == {(X + "user/u", X + "role/Target")}
    load_files(
        db,
        [
            export(
                tmp_path,
                [user("u")],
                [role("Target", trust({"Service": "ec2.amazonaws.com"}))],
                name="x2.json",
            )
        ],
    )
    assert set(edges(db)) == {("ec2.amazonaws.com", X + "role/Target")}


def test_affected_roles_are_the_touched_accounts_and_trusts_naming_them(make_db):
    db = make_db(SEEDS / "demo-org.json", SEEDS / "partner-account.json")
    snap = build_snapshot(db)
    touched = {r.arn for r in affected_roles(snap, frozenset({"222222222222"}))}
    assert touched == {
        B + "role/SharedArtifactsRole",
        B + "role/service-role/AuditAutomationRole",
        A + "role/PartnerAuditRole",
    }


# ---- brute force on a generated org ----


def _values(op: str, values: tuple[str, ...]) -> list[str]:
    """Request values worth trying for one condition: its own values, an address in each range, booleans."""
    out = list(values) + ["true", "false"]
    for v in values:
        with contextlib.suppress(ValueError):
            out.append(str(ipaddress.ip_network(v, strict=False).network_address))
    return out


def brute_force_contexts(
    snap: Snapshot, principal: PrincipalInfo, target: PrincipalInfo
) -> list[dict[str, str]]:
    """Every combination (absent or one candidate value) of the free condition keys the trust, the principal's
    identity policies and its boundary test: an exhaustive search, independent of assume_witness."""
    assert target.trust is not None  # a role
    statements = [st for st in target.trust.document.statements]
    for src in (*principal.identity, *(principal.boundary or ())):
        statements += src.document.statements_for("sts:assumerole")
    choices: dict[str, set[str]] = {}
    for st in statements:
        for op, block in (st.conditions or {}).items():
            for key, values in block.items():
                if not fixed_key(key, principal_known=True):
                    choices.setdefault(key, set()).update(_values(op, values))
    keys = sorted(choices)
    out = []
    for combo in itertools.product(*[[None, *sorted(choices[k])] for k in keys]):
        out.append({k: v for k, v in zip(keys, combo, strict=True) if v is not None})
    return out


def test_edges_equal_brute_force_with_simulate_on_a_generated_org(make_db, two_account_org):
    db = make_db(*two_account_org)
    snap = build_snapshot(db)
    stored = {
        (e["from"], e["to"]): e["needs_conditions"]
        for e in S.all_edges(db)
        if e["from_table"] in ("User", "Role")
    }
    principals = list(snap.principals.values())
    roles = [p for p in principals if p.kind == "role"]
    expected: dict[tuple[str, str], bool] = {}
    for p in principals:
        for r in roles:
            assert r.trust is not None
            if p.arn == r.arn and r.arn not in json.dumps(r.trust.document.raw):
                continue  # self-assumption needs the trust to name the role itself
            for i, ctx in enumerate(brute_force_contexts(snap, p, r)):
                sim = simulate(snap, principal=p.arn, action="sts:AssumeRole", resource=r.arn, context=ctx)
                if sim.evaluation.decision is Decision.ALLOWED:
                    expected[(p.arn, r.arn)] = bool(ctx) or i > 0
                    break
    assert len(expected) > 50  # the org is big enough to say something
    assert stored.keys() == expected.keys()
    assert {k for k, v in stored.items() if not v} == {k for k, v in expected.items() if not v}


def test_shared_verdicts_equal_deciding_every_pair_alone(make_db, two_account_org):
    snap = build_snapshot(make_db(*two_account_org))
    roles = [p for p in snap.principals.values() if p.kind == "role"]
    shared = {
        (r["from"], r["to"], r["statements"], r["conditions"]) for r in compute_edges(snap, roles).all()
    }
    alone = {
        (r["from"], r["to"], r["statements"], r["conditions"])
        for r in compute_edges(snap, roles, share=False).all()
    }
    assert shared == alone
