"""`queries.admin`: isAdmin and canBecomeAdmin, and honest gaps when an export omits a policy document.

One small export written here: a role whose only policy is an AdministratorAccess placeholder (the export
names it and omits it), users under a permissions boundary the export omits, a user that can attach a policy
to itself, one that can assume the placeholder role, one holding a policy the export omits, and plain ones.
Facts that rest on a missing document are None (never a confident False) and name it; simulate, whoCan,
escalation paths, chains and the findings report say so too.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from graphiam.changes.load import load_files
from graphiam.graph.snapshot import build_snapshot
from graphiam.policy import Decision
from graphiam.queries import chains as C
from graphiam.queries.admin import admin_facts, all_admin_facts
from graphiam.queries.escalation_paths import build_index, escalation_paths, path_incomplete
from graphiam.queries.findings import build_findings_index, policy_findings
from graphiam.queries.simulate import simulate
from graphiam.queries.who_can import who_can
from graphiam.store import open_database
from tests.helpers import ACCT, ADMIN_ARN, allow, arn, cm, doc, managed_policy, role, user

OMITTED = cm("OmittedBoundary")  # a boundary the export names and omits
OMITTED_POLICY = cm("OmittedPolicy")  # an identity policy the export names and omits
FULL = cm("FullAccess")  # a customer-managed Allow * on * the export holds
OPS = arn("role", "Ops")


def gappy_export() -> dict[str, Any]:
    """An export that omits AdministratorAccess (attached to role Ops) and the boundary OMITTED."""
    return {
        "UserDetailList": [
            user("admin", managed=(FULL,)),
            user("bounded", allow("*"), boundary=OMITTED),
            user("reader", allow("s3:GetObject"), boundary=OMITTED),
            user("esc", allow("iam:AttachUserPolicy")),  # on `*`: itself included
            user("assumer", allow("sts:AssumeRole", OPS)),
            user("plain", allow("s3:GetObject")),
            # can attach a policy to itself, and holds a policy whose document is missing
            user("partial", allow("iam:AttachUserPolicy", arn("user", "partial")), managed=(OMITTED_POLICY,)),
        ],
        "GroupDetailList": [],
        "RoleDetailList": [role("Ops", {"AWS": f"arn:aws:iam::{ACCT}:root"}, managed=(ADMIN_ARN,))],
        "Policies": [managed_policy(FULL, doc(allow("*")))],
    }


def write_export(directory: Path, data: dict[str, Any]) -> Path:
    path = directory / "gappy.json"
    path.write_text(json.dumps(data))
    return path


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    db = open_database(None, buffer_pool_mb=128)
    load_files(db, [write_export(tmp_path_factory.mktemp("gappy"), gappy_export())])
    snap = build_snapshot(db)
    yield db, snap, build_index(db, snap)
    db.close()


def facts(loaded, name: str, kind: str = "user") -> Any:
    return admin_facts(loaded[2], arn(kind, name))


def test_an_administrator_access_placeholder_makes_is_admin_unknown(loaded):
    ops = facts(loaded, "Ops", "role")
    # today's main: isAdmin false (the placeholder "grants nothing")
    assert ops.is_admin is None and ops.can_become_admin is None
    assert ops.incomplete == (ADMIN_ARN,) and ADMIN_ARN in ops.reason


def test_an_omitted_boundary_makes_the_facts_unknown_unless_nothing_could_change_them(loaded):
    bounded = facts(loaded, "bounded")
    assert bounded.is_admin is None and bounded.can_become_admin is None
    assert bounded.incomplete == (OMITTED,)
    # s3:GetObject is not administrator whatever the boundary says; whether it can escalate is unknown
    reader = facts(loaded, "reader")
    assert reader.is_admin is False and reader.can_become_admin is None and reader.incomplete == (OMITTED,)


def test_can_become_admin_with_an_escalation_path(loaded):
    esc = facts(loaded, "esc")
    assert esc.is_admin is False and esc.can_become_admin is True and esc.incomplete == ()
    assert esc.technique is not None and esc.technique in esc.reason
    plain = facts(loaded, "plain")
    assert (plain.is_admin, plain.can_become_admin, plain.incomplete) == (False, False, ())
    admin = facts(loaded, "admin")
    assert (admin.is_admin, admin.can_become_admin, admin.conditions) == (True, False, ())


def test_reaching_a_principal_with_a_missing_document_is_unknown(loaded):
    assumer = facts(loaded, "assumer")  # can assume Ops, whose administrator policy has no document
    assert assumer.is_admin is False and assumer.can_become_admin is None
    assert assumer.incomplete == (ADMIN_ARN,)


def test_every_principal_has_the_same_facts_in_bulk(loaded):
    index = loaded[2]
    bulk = all_admin_facts(index)
    assert set(bulk) == set(loaded[1].principals)
    for principal_arn, f in bulk.items():
        one = admin_facts(index, principal_arn)
        assert (f.is_admin, f.can_become_admin, f.incomplete) == (
            one.is_admin,
            one.can_become_admin,
            one.incomplete,
        )


def test_simulate_names_the_missing_document(loaded):
    _, snap, _ = loaded
    sim = simulate(snap, principal=OPS, action="s3:GetObject")
    assert sim.evaluation.decision is Decision.IMPLICIT_DENY
    assert any(ADMIN_ARN in w for w in sim.warnings)
    sim = simulate(snap, principal=arn("user", "bounded"), action="s3:GetObject")
    assert any(OMITTED in w for w in sim.warnings)


def test_who_can_lists_principals_resting_on_a_missing_document_as_unknown(loaded):
    db, snap, _ = loaded
    w = who_can(db, snap, action="s3:GetObject", resource="*")
    assert {a.principal_arn for a in w.allowed} == {arn("user", n) for n in ("admin", "plain")}
    unknown = {a.principal_arn: a.incomplete for a in w.unknown}
    assert unknown == {
        OPS: (ADMIN_ARN,),
        arn("user", "bounded"): (OMITTED,),
        arn("user", "reader"): (OMITTED,),
        arn("user", "partial"): (OMITTED_POLICY,),
    }
    assert all(a.simulation.evaluation.decision is Decision.IMPLICIT_DENY for a in w.unknown)
    # the reader's own policy never allows ec2: it is denied whatever the boundary says
    w = who_can(db, snap, action="ec2:RunInstances", resource="*")
    assert {a.principal_arn for a in w.unknown} == {OPS, arn("user", "bounded"), arn("user", "partial")}


def test_a_principal_holding_an_omitted_policy(loaded):
    partial = facts(loaded, "partial")
    assert partial.is_admin is None and partial.can_become_admin is None
    assert partial.incomplete == (OMITTED_POLICY,)


def test_paths_and_chains_name_the_documents_they_rest_on(loaded):
    db, snap, index = loaded
    # the self-escalation of `partial` rests on its omitted policy (it may deny iam:AttachUserPolicy)
    [path] = [p for p in escalation_paths(db, snap, index, arn("user", "partial")) if len(p.steps) == 1]
    assert path_incomplete(snap, path) == (OMITTED_POLICY,)
    loop = [p for p in escalation_paths(db, snap, index, arn("user", "esc")) if len(p.steps) == 1]
    assert loop and path_incomplete(snap, loop[0]) == ()
    # assumer -> Ops: the hop rests on assumer's policies (complete), not on what Ops holds
    assert [list(p) for p in C.chain_paths(db, arn("user", "assumer"), max_depth=2).paths] == [
        [arn("user", "assumer"), OPS]
    ]
    assert C.missing_documents(snap, [arn("user", "assumer")]) == ()
    # `bounded` may assume nothing while its boundary is missing: the warning names it
    assert C.chain_paths(db, arn("user", "bounded"), max_depth=2).paths == []
    [warning] = C.missing_warnings(snap, [arn("user", "bounded"), arn("user", "plain")])
    assert OMITTED in warning


def test_the_findings_report_names_unanalysed_placeholders(loaded):
    db, snap, index = loaded
    report = policy_findings(build_findings_index(db, snap, escalation=index))
    assert any(ADMIN_ARN in w for w in report.warnings)
    assert any(OMITTED in w and "boundary" in w for w in report.warnings)
    reached = {r.arn: r for p in report.policies for r in p.principals}
    assert reached[arn("user", "admin")].is_admin is True
    assert reached[arn("user", "bounded")].is_admin is None
    assert reached[arn("user", "esc")].can_become_admin is True
