"""`graphiam simulate --rcp FILE … --session-policy FILE`: RCP levels and a session policy from files."""

from __future__ import annotations

import json

from graphiam.changes.load import seed_files
from tests.helpers import SEEDS, run_cli

PLATFORM = "arn:aws:iam::111111111111:role/PlatformEngineerRole"
ORG_ONLY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "OrgOnly",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": "*",
            "Condition": {"StringNotEquals": {"aws:PrincipalOrgID": "o-mine"}},
        }
    ],
}
ONLY_LIST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:List*", "Resource": "*"}],
}


def test_cli_reads_rcp_levels_and_a_session_policy(tmp_path):
    db = tmp_path / "db"
    assert run_cli("load", *map(str, seed_files(SEEDS)), db=db).returncode == 0
    (tmp_path / "root.json").write_text(json.dumps([]))
    (tmp_path / "ou.json").write_text(json.dumps(ORG_ONLY))
    (tmp_path / "session.json").write_text(json.dumps(ONLY_LIST))
    base = ("simulate", "--principal", PLATFORM, "--action", "s3:GetObject", "--resource", "arn:aws:s3:::d/k")
    assert run_cli(*base, db=db).returncode == 0
    r = run_cli(*base, "--rcp", str(tmp_path / "root.json"), "--rcp", str(tmp_path / "ou.json"), db=db)
    assert r.returncode == 3 and "RCPs: EXPLICIT_DENY" in r.stdout and "OrgOnly" in r.stdout, r.stdout
    r = run_cli(*base, "--session-policy", str(tmp_path / "session.json"), "--json", db=db)
    assert r.returncode == 3, r.stderr
    out = json.loads(r.stdout)
    # no --rcp: the demo organization's stored RCPs for the resource's account apply, and allow
    assert (out["decision"], out["sessionDecision"], out["rcpDecision"]) == (
        "IMPLICIT_DENY",
        "IMPLICIT_DENY",
        "ALLOWED",
    )
    (tmp_path / "bad.json").write_text("{nope")
    r = run_cli(*base, "--session-policy", str(tmp_path / "bad.json"), db=db)
    assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1
    assert "--session-policy" in r.stderr and "bad.json" in r.stderr
