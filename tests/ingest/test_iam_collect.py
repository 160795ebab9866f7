"""iam-collect's file store: read into accounts, resources and the organization, loaded all or nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from graphiam.changes.load import load_files
from graphiam.errors import IngestError
from graphiam.graph.snapshot import build_snapshot
from graphiam.ingest.iam_collect import is_iam_collect_store, read_store
from graphiam.ingest.reader import check_policy_document
from graphiam.store import reader
from tests.helpers import (
    COLLECT_A,
    COLLECT_B,
    COLLECT_DEV_OU,
    COLLECT_M,
    COLLECT_ORG,
    COLLECT_PROD_OU,
    COLLECT_RESOURCES,
    COLLECT_ROOT_OU,
    run_cli,
    write_iam_collect_store,
)

ALICE = f"arn:aws:iam::{COLLECT_A}:user/team/Alice"
APP_ROLE = f"arn:aws:iam::{COLLECT_A}:role/app-role"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_iam_collect_store(tmp_path_factory.mktemp("collect"))


def test_the_store_reads_into_accounts_and_the_organization(store: Path) -> None:
    got = read_store(store, check_document=check_policy_document)
    a, b = sorted(got.exports, key=lambda e: e.account_id)
    assert (a.account_id, b.account_id) == (COLLECT_A, COLLECT_B)
    assert a.format == "iam-collect" and a.parts == {"iam", "resources"}
    assert [len(x) for x in (a.users, a.groups, a.roles, a.instance_profiles, a.resources)] == [1, 1, 1, 1, 9]
    alice = a.users[0]
    assert (alice.arn, alice.name, alice.path, alice.group_names) == (ALICE, "Alice", "/team/", ("devs",))
    assert alice.attached_policy_arns == (f"arn:aws:iam::{COLLECT_A}:policy/ReadS3",)
    assert [p.name for p in alice.inline_policies] == ["kms-use"]
    assert {(t.key, t.value) for t in alice.tags} == {("team", "data")}
    role = a.roles[0]
    assert role.boundary_arn == f"arn:aws:iam::{COLLECT_A}:policy/Boundary"
    assert json.loads(role.trust_policy or "{}")["Statement"][0]["Principal"] == {
        "Service": "ec2.amazonaws.com"
    }
    assert a.instance_profiles[0].role_arns == (APP_ROLE,)
    assert a.instance_profiles[0].name == "app-profile"
    policies = {p.arn: p for p in a.policies}
    read_s3 = policies[f"arn:aws:iam::{COLLECT_A}:policy/ReadS3"]
    assert read_s3.default_version_id == "v2" and read_s3.default_document is not None
    assert policies["arn:aws:iam::aws:policy/ReadOnlyAccess"].kind == "aws-managed"
    assert {r.arn: r.type for r in a.resources} == COLLECT_RESOURCES
    by_arn = {r.arn: r for r in a.resources}
    assert by_arn["arn:aws:s3:::no-policy"].policy is None
    assert by_arn["arn:aws:s3:::shared-data"].region == "us-east-1"
    assert {(t.key, t.value) for t in by_arn["arn:aws:s3:::shared-data"].tags} == {("owner", "data")}
    assert json.loads(by_arn["arn:aws:s3:::public-site"].policy or "{}")["Statement"][0]["Principal"] == "*"
    assert all(r.account == COLLECT_A for r in a.resources)
    org = got.organization
    assert org is not None and org.id == COLLECT_ORG and org.management_account == COLLECT_M
    parents = {u.id: u.parent_id for u in org.units}
    assert parents == {
        COLLECT_ROOT_OU: None,
        COLLECT_PROD_OU: COLLECT_ROOT_OU,
        COLLECT_DEV_OU: COLLECT_ROOT_OU,
        COLLECT_A: COLLECT_PROD_OU,
        COLLECT_B: COLLECT_DEV_OU,
        COLLECT_M: COLLECT_ROOT_OU,
    }
    assert {p.id: set(p.targets) for p in org.policies}["p-noleave1"] == {COLLECT_PROD_OU}
    assert {p.id: set(p.targets) for p in org.rcps}["p-orgonly1"] == {COLLECT_ROOT_OU}
    assert got.files > 50


def test_load_takes_the_root_or_the_partition_folder(store: Path, make_db: Any) -> None:
    for given in (store, store / "aws" / "aws"):
        assert is_iam_collect_store(given)
        db = make_db()
        summary = load_files(db, [given])
        assert summary.accounts == (COLLECT_A, COLLECT_B) and summary.resources == 9
        assert "2 SCPs, 2 RCPs" in (summary.organization or "")
        counts = reader.account_counts(db)
        assert (counts[COLLECT_A].users, counts[COLLECT_A].roles, counts[COLLECT_A].resources) == (1, 1, 9)
        assert (counts[COLLECT_B].users, counts[COLLECT_B].roles, counts[COLLECT_B].resources) == (1, 1, 0)
        snap = build_snapshot(db)
        assert [[p.policy_id for p in level] for level in snap.rcp_levels(COLLECT_A) or ()] == [
            ["p-RCPFullAWSAccess", "p-orgonly1"],
            ["p-RCPFullAWSAccess"],
            ["p-RCPFullAWSAccess"],
        ]
        assert snap.rcp_levels(COLLECT_M) is None  # the management account: no SCP or RCP applies
        key = snap.resource(next(a for a, t in COLLECT_RESOURCES.items() if t == "kms:key"))
        assert key is not None and key.policy is not None and key.region == "us-east-1"
        alice = snap.principal(ALICE)
        assert alice is not None and {p.name for p in alice.identity} == {
            "ReadS3",
            "kms-use",
            "ReadOnlyAccess",
        }


def _broken(tmp_path: Path, relative: str, content: str) -> Path:
    root = write_iam_collect_store(tmp_path / "s")
    target = root / "aws" / "aws" / relative
    target.write_text(content)
    return root


@pytest.mark.parametrize(
    ("relative", "content", "message"),
    [
        (f"accounts/{COLLECT_A}/s3/shared-data/policy.json", '{"Statement": [', "not JSON"),
        (
            f"accounts/{COLLECT_A}/kms/us-east-1/key/1234abcd-12ab-34cd-56ef-1234567890ab/metadata.json",
            "{}",
            "arn",
        ),
        (f"accounts/{COLLECT_B}/iam/role/reader/trust-policy.json", '{"Statement": 3}', "Statement"),
        (
            f"organizations/{COLLECT_ORG}/ous.json",
            json.dumps({COLLECT_ROOT_OU: {"scps": ["arn:x"]}}),
            "arn:x",
        ),
    ],
)
def test_a_broken_file_loads_nothing_and_is_named(
    tmp_path: Path, make_db: Any, relative: str, content: str, message: str
) -> None:
    root = _broken(tmp_path, relative, content)
    db = make_db()
    with pytest.raises(IngestError) as caught:
        load_files(db, [root])
    text = str(caught.value)
    assert "\n" not in text and message in text
    assert str(Path(relative).parent) in text  # names the file (or its folder)
    assert reader.is_empty(db)


def test_cli_loads_a_store_and_refuses_a_broken_one_in_one_line(tmp_path: Path) -> None:
    root = write_iam_collect_store(tmp_path / "ok")
    done = run_cli("load", str(root), db=tmp_path / "db")
    assert done.returncode == 0, done.stderr
    assert "loaded 2 account(s)" in done.stdout and "9 resources" in done.stdout
    bad = _broken(tmp_path / "bad", f"accounts/{COLLECT_A}/sqs/us-east-1/jobs/policy.json", "[1, 2")
    failed = run_cli("load", str(bad), db=tmp_path / "db2")
    assert failed.returncode != 0
    lines = [ln for ln in failed.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "jobs/policy.json" in lines[0], failed.stderr
