"""`graphiam diff` and `graphiam history` end to end: exit codes of the gates, JSON against
schema/diff.schema.json, SARIF against the SARIF 2.1.0 schema, --since over the recorded imports. Commands
run in this process (`cli.main.main`), one in a subprocess as a user runs it."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import jsonschema
import pytest

from graphiam.cli.main import main
from tests.helpers import ROOT, TESTS, drift_exports, run_cli, write

DIFF_SCHEMA = json.loads((ROOT / "schema" / "diff.schema.json").read_text())
SARIF_SCHEMA = json.loads((TESTS / "data" / "sarif" / "sarif-2.1.0-rtm.5.json").read_text())


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = Path(tmp_path_factory.mktemp("diffcli"))
    old, new = drift_exports()
    paths = {"old": write(tmp, "old.json", old), "new": write(tmp, "new.json", new), "db": tmp / "db"}
    for f in ("old", "new"):
        assert main(["load", str(paths[f]), "--db", str(paths["db"])]) == 0
    return paths


@pytest.fixture
def cli(capsys):
    """`cli("diff", ...)`: the command run in this process on the module's database, its output captured."""

    def run(*args: str) -> SimpleNamespace:
        capsys.readouterr()
        status = main([*args])
        out = capsys.readouterr()
        return SimpleNamespace(returncode=status, stdout=out.out, stderr=out.err)

    return run


def test_text_is_grouped_most_severe_first_and_exit_1(env):
    r = run_cli("diff", str(env["old"]), str(env["new"]), db=env["db"])  # as a user runs it
    assert r.returncode == 1, r.stderr
    out = r.stdout
    heads = [
        ln.split()[0]
        for ln in out.splitlines()
        if ln and ln.split()[0] in ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO")
    ]
    assert heads == ["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO"]
    assert "new user/dave is administrator" in out
    assert "role/App can now be assumed by arn:aws:iam::999999999999:root" in out
    assert '+ statements: {"Action":["s3:PutObject"]' in out
    assert "policy/reordered" not in out
    assert out.rstrip().endswith("2 info")


def test_an_import_against_itself_is_clean(env, cli):
    r = cli("diff", "--db", str(env["db"]), str(env["old"]), str(env["old"]))
    assert (r.returncode, r.stdout.splitlines()[-1]) == (0, "no changes"), r.stderr


@pytest.mark.parametrize(
    ("args", "status"),
    [
        (("--fail-on", "new-admin,new-escalation"), 1),
        (("--fail-on", "admin-removed"), 0),
        (("--fail-on", "admin-removed", "--fail-on", "new-public-access"), 1),
        (("--fail-on-severity", "critical"), 1),
        (("--fail-on", "bogus"), 2),
        (("--fail-on-severity", "urgent"), 2),
    ],
)
def test_gates(env, cli, args, status):
    r = cli("diff", "--db", str(env["db"]), "--since", "PREVIOUS", "--brief", *args)
    assert r.returncode == status, (r.stdout, r.stderr)
    if status == 2:
        assert r.stderr.startswith("graphiam: error: unknown") and len(r.stderr.splitlines()) == 1
    if status == 1 and args[0] == "--fail-on":
        assert "match the gate" in r.stderr


def test_going_back_trips_no_medium_gate(env, cli):
    r = cli("diff", "--db", str(env["db"]), str(env["new"]), str(env["old"]), "--fail-on-severity", "medium")
    assert r.returncode == 0, r.stdout
    assert "admin-removed" in r.stdout


@pytest.mark.parametrize(
    "args",
    [
        ("nope.json", "nope2.json"),
        ("--since", "PREVIOUS", "extra"),
        ("--since", "42"),
        (),
    ],
)
def test_input_errors_exit_2_in_one_line(env, cli, args):
    r = cli("diff", "--db", str(env["db"]), *args)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr


def test_a_bad_input_file_exits_2(env, cli, tmp_path):
    bad = write(tmp_path, "bad.json", {"UserDetailList": [{"UserName": 5}]})
    r = cli("diff", "--db", str(env["db"]), str(env["old"]), str(bad))
    assert r.returncode == 2 and "bad.json" in r.stderr, r.stderr


def test_json_validates_and_matches_the_since_form(env, cli):
    files = cli("diff", "--db", str(env["db"]), str(env["old"]), str(env["new"]), "--json")
    since = cli("diff", "--db", str(env["db"]), "--since", "1", "--json")
    a, b = json.loads(files.stdout), json.loads(since.stdout)
    for doc in (a, b):
        jsonschema.Draft202012Validator(DIFF_SCHEMA).validate(doc)
    assert a["items"] == b["items"] and a["summary"] == b["summary"]
    assert (b["old"]["kind"], b["old"]["importId"], b["new"]["importId"]) == ("import", 1, 2)
    assert a["old"]["kind"] == "files" and a["clean"] is False
    # the schema is strict enough to notice a wrong shape
    broken = json.loads(files.stdout)
    broken["items"][0]["details"].pop("reason")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(DIFF_SCHEMA).validate(broken)


def test_sarif_validates_against_the_sarif_schema(env, cli, tmp_path):
    out = tmp_path / "drift.sarif"
    r = cli("diff", "--db", str(env["db"]), "--since", "PREVIOUS", "--sarif", "-o", str(out))
    assert r.returncode == 1 and r.stdout == "", r.stderr
    log = json.loads(out.read_text())
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(log)
    run = log["runs"][0]
    levels = {x["ruleId"]: x["level"] for x in run["results"]}
    assert (
        levels["new-admin"] == "error"
        and levels["new-assume"] == "warning"
        and levels["entity-added"] == "note"
    )
    rules = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert all(rules[x["ruleIndex"]] == x["ruleId"] for x in run["results"])
    log["runs"][0]["results"][0]["level"] = "critical"  # not a SARIF level: the schema says so
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft4Validator(SARIF_SCHEMA).validate(log)


def test_history_lists_the_imports(env, cli):
    r = cli("history", "--db", str(env["db"]))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split()[:2] == ["id", "at"] and [ln.split()[0] for ln in lines[1:]] == ["1", "2"]
    assert lines[1].endswith("old.json") and lines[2].endswith("new.json")
    data = json.loads(cli("history", "--json", "--db", str(env["db"])).stdout)
    assert [i["id"] for i in data["imports"]] == [1, 2] and data["changedAfterLatest"] is None
    assert data["imports"][1]["counts"]["admins"] == data["imports"][0]["counts"]["admins"] + 1


def test_directories_and_database_sides(env, cli, tmp_path):
    d = tmp_path / "exports"
    d.mkdir()
    write(d, "a.json", json.loads(env["new"].read_text()))
    r = cli(
        "diff", "--db", str(env["db"]), str(env["db"]), str(d), "--brief"
    )  # the database now (import 2) against the same export
    assert (r.returncode, r.stdout.splitlines()[-1]) == (0, "no changes"), r.stdout + r.stderr
    r = cli(
        "diff",
        "--db",
        str(env["db"]),
        "--old",
        str(env["old"]),
        "--new",
        str(env["new"]),
        "--brief",
        "--fail-on",
        "new-admin",
    )
    assert r.returncode == 1


def test_text_limits_each_category(env, cli):
    r = cli("diff", "--db", str(env["db"]), "--since", "PREVIOUS", "--limit", "1", "--brief")
    lines = r.stdout.splitlines()
    at = lines.index(next(ln for ln in lines if ln.strip().startswith("new-assume (4)")))
    assert lines[at + 2].strip() == "… and 3 more (--limit 0 or --json shows every one)"
    assert sum(1 for ln in lines if ln.startswith("    ") and "more (--limit 0" not in ln) < 20
