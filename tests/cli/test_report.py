"""graphiam report: one line per finding, a summary, --json, --account; --format sarif|csv|html,
--fail-on-severity, Cloudsplaining's exclusions file, --since."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys

import jsonschema
import pytest

from graphiam.cli.main import main
from graphiam.queries import report_formats
from tests.helpers import GAAD_EXAMPLE, TESTS

SARIF_SCHEMA = json.loads((TESTS / "data" / "sarif" / "sarif-2.1.0-rtm.5.json").read_text())


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
    # one line per finding, the total, the summary, the warnings
    assert findings == len(text) - 1 - len(data["summary"]) - len(data["warnings"])
    assert all(p["account"] in ("012345678901", "aws") for p in data["policies"])


def test_exclusions_and_kinds(db):
    r = _run("report", "--kind", "DataExfiltration", "--exclude-policy", "InsecureUserPolicy", db=db)
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith(("high", "medium", "low"))]
    assert lines and all(" DataExfiltration " in ln and "#InsecureUserPolicy" not in ln for ln in lines)


# ---- formats, gates, exclusions file, --since (in this process: `cli.main.main`) ----


@pytest.fixture
def cli(capsys, db):
    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        status = main(["report", "--db", str(db), *args])
        out = capsys.readouterr()
        return status, out.out, out.err

    return run


def _findings(data) -> int:
    return sum(len(p["findings"]) for p in data["policies"])


def test_sarif_and_csv(cli, tmp_path):
    status, out, _ = cli("--format", "json")
    data = json.loads(out)
    status, _, err = cli("--format", "sarif", "-o", str(tmp_path / "r.sarif"))
    assert status == 0, err
    log = json.loads((tmp_path / "r.sarif").read_text())
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(log)
    results = log["runs"][0]["results"]
    assert len(results) == _findings(data)
    assert {r["ruleId"] for r in results} == {f["category"] for p in data["policies"] for f in p["findings"]}
    assert all(r["level"] in ("error", "warning", "note") for r in results)
    status, out, _ = cli("--format", "csv")
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0][:5] == ["record", "severity", "category", "account", "subject"]
    assert len(rows) - 1 == _findings(data) and {r[0] for r in rows[1:]} == {"finding"}


def test_html_is_offline_and_paginated_by_account(cli, tmp_path, monkeypatch):
    monkeypatch.setattr(report_formats, "PAGE_POLICIES", 10)
    out = tmp_path / "html"
    status, _, err = cli("--format", "html", "-o", str(out))
    assert status == 0, err
    names = sorted(p.name for p in out.iterdir())
    assert "index.html" in names and "account-012345678901.html" in names
    assert "account-200611803367-2.html" in names  # more than 10 policies with findings: several pages
    index = (out / "index.html").read_text()
    links = re.findall(r'href="([^"]+)"', index)
    assert links and all((out / link).is_file() for link in links)
    for page in out.iterdir():
        text = page.read_text()
        assert "<script" not in text and not re.search(r'(src|href)="(https?:)?//', text)
    status, _, err = cli("--format", "html")
    assert status == 2 and "-o DIR" in err


@pytest.mark.parametrize(
    ("args", "status"),
    [
        (("--fail-on-severity", "high"), 1),
        (("--fail-on-severity", "high", "--kind", "InfrastructureModification"), 0),
        (("--fail-on-severity", "low", "--kind", "InfrastructureModification"), 1),
        (("--fail-on-severity", "urgent"), 2),
    ],
)
def test_fail_on_severity(cli, args, status):
    code, _, err = cli(*args)
    assert code == status, err


def test_cloudsplaining_exclusions_file(cli, tmp_path):
    f = tmp_path / "exclusions.yml"
    f.write_text(
        "# Cloudsplaining's format\n"
        "policies:\n  - privesc1-*\n  - /service-role*\n"
        "roles:\n  - MyRole\n"
        'users:\n  - ""\n'
        "groups:\n  - biden\n"
        'include-actions:\n  - "s3:GetObject"\n'
        'exclude-actions:\n  - "s3:*"\n'
    )
    _, out, _ = cli("--json")
    before = {p["policyArn"]: p for p in json.loads(out)["policies"]}
    status, out, err = cli("--json", "--exclusions", str(f))
    assert status == 0, err
    after = {p["policyArn"]: p for p in json.loads(out)["policies"]}
    a = "arn:aws:iam::012345678901:"
    gone = {
        "arn:aws:iam::200611803367:policy/privesc1-CreateNewPolicyVersion",  # policies
        a + "role/MyRole#EC2-IAM-example",  # attached only to an excluded role
        a + "group/biden#InlinePolicyForBidenGroup",  # attached only to an excluded group
    }
    assert gone <= set(before) and not gone & set(after)
    user = {f["category"]: f["actions"] for f in after[a + "user/biden#InsecureUserPolicy"]["findings"]}
    assert "s3:GetObject" in user["DataExfiltration"]  # include-actions overrides exclude-actions
    assert not any(x.startswith("s3:") and x != "s3:GetObject" for acts in user.values() for x in acts)
    f.write_text("policies: [a]\nrolez: [b]\n")
    status, _, err = cli("--exclusions", str(f))
    assert status == 2 and "unknown key `rolez`" in err


def test_since(cli):
    status, out, err = cli("--json", "--since", "LATEST")
    assert status == 0, err
    assert json.loads(out)["changes"]["clean"] is True
    status, _, err = cli("--since", "PREVIOUS")
    assert status == 2 and "only one import" in err
