"""graphiam report: one line per finding, a summary, --json, --account."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.helpers import GAAD_EXAMPLE


def _run(*args, db):
    env = {**os.environ, "GRAPHIAM_DB": str(db)}
    return subprocess.run(
        [sys.executable, "-m", "graphiam.cli", *args], env=env, capture_output=True, text=True, timeout=180
    )


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    path = tmp_path_factory.mktemp("report") / "db"
    assert _run("load", str(GAAD_EXAMPLE), db=path).returncode == 0
    return path


def test_text_report(db):
    r = _run("report", db=db)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    privesc = [ln for ln in lines if "policy/privesc1-CreateNewPolicyVersion " in ln]
    assert any(
        ln.startswith("high   PrivilegeEscalation")
        and "iam:CreatePolicyVersion" in ln
        and "[techniques: iam-001]" in ln
        and "reaches 2" in ln
        for ln in privesc
    ), privesc
    fn3 = [ln for ln in lines if "fn3-exploitableConditionConstraint " in ln and "PrivilegeEscalation" in ln]
    assert fn3 and "only under conditions: #0: DateGreaterThan aws:TokenIssueTime" in fn3[0]
    assert not any("fp1-allow-and-deny" in ln for ln in lines)
    # fp5's only statement needs credentials issued before 2020 (DateLessThan aws:TokenIssueTime): judged
    # against now, it grants nothing and is not reported
    assert not any("fp5-nonExploitableConditionConstraint" in ln for ln in lines)
    summary = lines.index(next(ln for ln in lines if ln.endswith("policies have findings")))
    assert [ln.split()[0] for ln in lines[summary + 1 :]] == [
        "PrivilegeEscalation",
        "ResourceExposure",
        "DataExfiltration",
        "CredentialsExposure",
        "InfrastructureModification",
        "ServiceWildcard",
    ]


def test_json_report_matches_the_text_one(db):
    text = _run("report", "--account", "012345678901", db=db).stdout.splitlines()
    r = _run("report", "--account", "012345678901", "--json", db=db)
    data = json.loads(r.stdout)
    findings = sum(len(p["findings"]) for p in data["policies"])
    assert findings == len(text) - 1 - len(data["summary"])  # one line per finding, the total, the summary
    assert all(p["account"] in ("012345678901", "aws") for p in data["policies"])


def test_exclusions_and_kinds(db):
    r = _run("report", "--kind", "DataExfiltration", "--exclude-policy", "InsecureUserPolicy", db=db)
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith(("high", "medium", "low"))]
    assert lines and all(" DataExfiltration " in ln and "#InsecureUserPolicy" not in ln for ln in lines)
