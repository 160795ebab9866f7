"""IAM Vulnerable's fp5 and fn3 (in Cloudsplaining's example export, tests/data/gaad): time conditions judged
against now, the same way by simulate, whoCan, escalationPaths and the policy findings.

- fp5 allows iam:CreatePolicyVersion only with `DateLessThan aws:TokenIssueTime 2020-01-01`: no credentials
  issued today satisfy it (a user's long-term key carries no aws:TokenIssueTime at all), so nobody can use it.
- fn3 allows it with `DateGreaterThan aws:TokenIssueTime 2020-01-01`: a role session (issued now) is allowed;
  a user is allowed if it calls with temporary credentials (conditional on aws:TokenIssueTime).
"""

from __future__ import annotations

import pytest

from graphiam.derive.findings.rules import RiskCategory
from graphiam.graph.snapshot import build_snapshot
from graphiam.policy import Decision
from graphiam.queries.escalation_paths import build_index, escalation_paths
from graphiam.queries.findings import build_findings_index, policy_findings
from graphiam.queries.simulate import simulate
from graphiam.queries.who_can import who_can
from tests.helpers import GAAD_EXAMPLE

A = "arn:aws:iam::200611803367:"
FP5 = "fp5-nonExploitableConditionConstraint"
FN3 = "fn3-exploitableConditionConstraint"
ACTION = "iam:CreatePolicyVersion"
TARGET = A + "policy/privesc1-CreateNewPolicyVersion"


@pytest.fixture(scope="module")
def loaded():
    from graphiam.changes.load import load_files
    from graphiam.store import open_database

    db = open_database(None, buffer_pool_mb=256)
    load_files(db, [GAAD_EXAMPLE])
    yield db, build_snapshot(db)
    db.close()


@pytest.mark.parametrize(
    ("principal", "decision", "conditional"),
    [
        (f"user/{FP5}-user", Decision.IMPLICIT_DENY, False),
        (f"role/{FP5}-role", Decision.IMPLICIT_DENY, False),
        (f"user/{FN3}-user", Decision.IMPLICIT_DENY, True),
        (f"role/{FN3}-role", Decision.ALLOWED, False),
    ],
)
def test_simulate(loaded, principal, decision, conditional):
    s = simulate(loaded[1], principal=A + principal, action=ACTION, resource=TARGET)
    assert (s.evaluation.decision, s.conditional) == (decision, conditional)
    if conditional:
        assert [(c.key, c.operator) for c in s.required_conditions] == [
            ("aws:TokenIssueTime", "DateGreaterThan")
        ]


def test_who_can(loaded):
    db, snap = loaded
    w = who_can(db, snap, action=ACTION, resource=TARGET)
    got = {
        a.principal_arn: a.conditional for a in w.allowed if FP5 in a.principal_arn or FN3 in a.principal_arn
    }
    assert got == {A + f"role/{FN3}-role": False, A + f"user/{FN3}-user": True}


def test_escalation_paths(loaded):
    db, snap = loaded
    index = build_index(db, snap)
    for who in (f"user/{FP5}-user", f"role/{FP5}-role"):
        assert escalation_paths(db, snap, index, A + who) == []
    (role_path,) = escalation_paths(db, snap, index, A + f"role/{FN3}-role")
    assert role_path.steps[0].technique == "iam-001" and not role_path.steps[0].needs
    (user_path,) = escalation_paths(db, snap, index, A + f"user/{FN3}-user")
    # the user's step needs temporary credentials: the same condition simulate reports
    assert "aws:TokenIssueTime" in user_path.steps[0].needs


def test_policy_findings(loaded):
    db, snap = loaded
    report = policy_findings(build_findings_index(db, snap))
    by_name = {p.name: p for p in report.policies}
    assert FP5 not in by_name  # its only statement can never be satisfied now: it grants nothing
    fn3 = {f.category: f for f in by_name[FN3].findings}
    assert fn3[RiskCategory.PRIVILEGE_ESCALATION].conditional
