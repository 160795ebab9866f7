"""The command line: one-line errors, non-zero exits, nothing written on bad input."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.helpers import CONFORMANCE, run_cli


@pytest.mark.parametrize(
    "content, message",
    [
        ("{ nope", "not JSON"),
        (
            '{"UserDetailList": [{"UserName": "x", "Arn": "arn:aws:iam::123456789012:user/x", '
            '"UserPolicyList": [{"PolicyName": "p", "PolicyDocument": "%7Bbroken"}]}]}',
            "UserPolicyList[0].PolicyDocument",
        ),
        ('{"something": "else"}', "not a get-account-authorization-details export"),
    ],
    ids=["not-json", "broken-document", "not-gaad"],
)
def test_load_errors_are_one_line_and_change_nothing(tmp_path, content, message):
    db = tmp_path / "db"
    assert run_cli("load", str(CONFORMANCE / "gaad.json"), db=db).returncode == 0
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    r = run_cli("load", str(bad), db=db)
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "bad.json" in lines[0] and message in lines[0], r.stderr
    check = subprocess.run(
        [
            sys.executable,
            "-c",
            (
                "from graphiam.store import open_database; from graphiam.store import reader as R;"
                f"db = open_database({str(db)!r}); print(R.count(db, 'User'), [a.id for a in R.accounts(db)])"
            ),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert check.stdout.strip() == "20 ['123456789012']"


def test_export_schema_prints_sdl(tmp_path):
    r = run_cli("export-schema", db=tmp_path / "db")
    assert r.returncode == 0 and "type Query" in r.stdout


def test_reading_commands_refuse_a_missing_database_and_create_nothing(tmp_path):
    db = tmp_path / "typo" / "db"
    for args in (
        ("simulate", "--principal", "arn:aws:iam::123456789012:user/x", "--action", "s3:GetObject"),
        ("paths", "--from", "arn:aws:iam::123456789012:user/x"),
        ("report",),
        ("graph",),
    ):
        r = run_cli(*args, db=db)
        # report exits 1 for its --fail-on-severity gate, so its errors are 2 (as diff's)
        assert r.returncode == (2 if args == ("report",) else 1), (args, r.stderr)
        assert r.stderr.strip().splitlines() == [r.stderr.strip()] and f"no database at {db}" in r.stderr
    assert not db.exists()


def test_a_closed_pipe_ends_quietly(tmp_path):
    db = tmp_path / "db"
    assert run_cli("load", str(CONFORMANCE / "gaad.json"), db=db).returncode == 0
    env = {**os.environ, "GRAPHIAM_DB": str(db)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "graphiam.cli", "report"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline()  # read one line, then go away like `| head -1`
    proc.stdout.close()
    err = proc.stderr.read()
    proc.wait(timeout=120)
    assert "Traceback" not in err and "BrokenPipeError" not in err, err


def test_loading_a_directory_says_so(tmp_path):
    r = run_cli("load", str(tmp_path), db=tmp_path / "db")
    assert r.returncode == 1 and "is a directory" in r.stderr


def test_credential_rows_for_users_not_in_the_graph_are_warned_about_not_counted(tmp_path):
    db = tmp_path / "db"
    assert run_cli("load", str(CONFORMANCE / "gaad.json"), db=db).returncode == 0
    header = (
        "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,"
        "password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,"
        "access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,"
        "access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,"
        "access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,"
        "cert_2_active,cert_2_last_rotated"
    )
    row = (
        "zed,arn:aws:iam::123456789012:user/zed,2020-01-01T00:00:00+00:00,true,N/A,N/A,N/A,false,false,N/A,N/A,"
        "N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A"
    )
    report = tmp_path / "report.csv"
    report.write_text(header + "\n" + row + "\n")
    r = run_cli("load", str(report), db=db)
    assert r.returncode == 0, r.stderr
    assert "applied" not in r.stdout and "loaded 0 account" not in r.stdout
    assert "user/zed" in r.stdout and "not in the graph" in r.stdout
