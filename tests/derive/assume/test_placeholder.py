"""A load that fills an AWS-managed policy's placeholder changes the principals of every account attached to
it: their derived edges are recomputed, so an incremental load ends where loading everything at once does."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from graphiam.changes.apply import Change, apply_changes
from graphiam.changes.load import load_files
from graphiam.store import Database
from graphiam.store import assume_store as S

A = "arn:aws:iam::333333333333:"
B = "arn:aws:iam::444444444444:"
ASSUME_ANY = "arn:aws:iam::aws:policy/AssumeAnyRole"
TRUST_A = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"AWS": A + "root"}, "Action": "sts:AssumeRole"}],
}


def _policy() -> dict[str, Any]:
    doc = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}],
    }
    return {
        "PolicyName": "AssumeAnyRole",
        "PolicyId": "ANPAASSUMEANY",
        "Arn": ASSUME_ANY,
        "Path": "/",
        "DefaultVersionId": "v1",
        "AttachmentCount": 2,
        "PermissionsBoundaryUsageCount": 0,
        "IsAttachable": True,
        "PolicyVersionList": [{"VersionId": "v1", "IsDefaultVersion": True, "Document": doc}],
    }


def _export(account_head: str, *, with_policy: bool) -> dict[str, Any]:
    """One user attached to ASSUME_ANY and one role trusting account A; the export omits the policy's document
    unless `with_policy` (a GAAD export lists the AWS-managed policies attached in its account)."""
    user = {
        "UserName": "u",
        "UserId": "AIDAU" + account_head[13:25],
        "Arn": account_head + "user/u",
        "Path": "/",
        "GroupList": [],
        "UserPolicyList": [],
        "Tags": [],
        "AttachedManagedPolicies": [{"PolicyName": "AssumeAnyRole", "PolicyArn": ASSUME_ANY}],
    }
    role = {
        "RoleName": "Target",
        "RoleId": "AROAT" + account_head[13:25],
        "Arn": account_head + "role/Target",
        "Path": "/",
        "AssumeRolePolicyDocument": TRUST_A,
        "InstanceProfileList": [],
        "AttachedManagedPolicies": [],
        "RolePolicyList": [],
        "Tags": [],
    }
    return {
        "UserDetailList": [user],
        "GroupDetailList": [],
        "RoleDetailList": [role],
        "Policies": [_policy()] if with_policy else [],
    }


def _write(tmp_path: Path, name: str, doc: dict[str, Any]) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return path


def _edges(db: Database) -> set[tuple[str, str, str, str]]:
    return {(e["from"], e["to"], e["statements"], e["conditions"]) for e in S.all_edges(db)}


def test_filling_a_placeholder_rederives_the_other_accounts_edges(make_db, tmp_path):
    a = _write(tmp_path, "a.json", _export(A, with_policy=False))
    b = _write(tmp_path, "b.json", _export(B, with_policy=True))
    db = make_db(a)
    assert _edges(db) == set()  # the placeholder grants nothing: A's user may not delegate
    load_files(db, [b])
    pairs = {(f, t) for f, t, _, _ in _edges(db)}
    # both roles trust account A, whose user now has the identity allow (the edge into A's role is the one a
    # recompute of the loaded account B alone would miss); B's user is not in account A
    assert pairs == {(A + "user/u", A + "role/Target"), (A + "user/u", B + "role/Target")}
    assert _edges(db) == _edges(make_db(a, b))


def test_an_import_that_fills_a_placeholder_rederives_the_other_accounts_edges(make_db, tmp_path):
    db = make_db(_write(tmp_path, "a.json", _export(A, with_policy=False)))
    result = apply_changes(db, [Change(op="importExport", args={"document": _export(B, with_policy=True)})])
    assert result.ok, result.problems
    pairs = {(f, t) for f, t, _, _ in _edges(db)}
    assert pairs == {(A + "user/u", A + "role/Target"), (A + "user/u", B + "role/Target")}
    assert _edges(db) == _edges(
        make_db(
            _write(tmp_path, "a2.json", _export(A, with_policy=False)),
            _write(tmp_path, "b2.json", _export(B, with_policy=True)),
        )
    )
