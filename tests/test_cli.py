"""The command line: one-line errors, non-zero exits, nothing written on bad input."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import CONFORMANCE


def _run(*args, db):
    env = {**os.environ, "GRAPHIAM_DB": str(db)}
    return subprocess.run([sys.executable, "-m", "graphiam.cli", *args], env=env, capture_output=True, text=True,
                          timeout=120)


@pytest.mark.parametrize("content, message", [
    ("{ nope", "not JSON"),
    ('{"UserDetailList": [{"UserName": "x", "Arn": "arn:aws:iam::123456789012:user/x", '
     '"UserPolicyList": [{"PolicyName": "p", "PolicyDocument": "%7Bbroken"}]}]}', "UserPolicyList[0].PolicyDocument"),
    ('{"something": "else"}', "not a get-account-authorization-details export"),
], ids=["not-json", "broken-document", "not-gaad"])
def test_load_errors_are_one_line_and_change_nothing(tmp_path, content, message):
    db = tmp_path / "db"
    assert _run("load", str(CONFORMANCE / "gaad.json"), db=db).returncode == 0
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    r = _run("load", str(bad), db=db)
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "bad.json" in lines[0] and message in lines[0], r.stderr
    check = subprocess.run([sys.executable, "-c", (
        "from graphiam.store import open_database; from graphiam.store import reader as R;"
        f"db = open_database({str(db)!r}); print(R.count(db, 'User'), [a.id for a in R.accounts(db)])")],
        capture_output=True, text=True, timeout=60)
    assert check.stdout.strip() == "20 ['123456789012']"


def test_export_schema_prints_sdl(tmp_path):
    r = _run("export-schema", db=tmp_path / "db")
    assert r.returncode == 0 and "type Query" in r.stdout
