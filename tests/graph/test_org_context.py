"""The request context takes aws:PrincipalOrgID / aws:PrincipalOrgPaths from a stored organization."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from graphiam.changes.load import load_files
from graphiam.graph.context import build_context
from graphiam.graph.snapshot import build_snapshot
from graphiam.policy.conditions import Condition
from tests.helpers import RES_A, RES_B, RES_ORG, write_collect, write_resource_store

ORG_KEY = Condition("StringEquals", "aws:PrincipalOrgID", (RES_ORG,), variables=False)


def test_members_carry_the_organization_and_others_do_not(tmp_path: Path, make_db: Any) -> None:
    db = make_db()
    load_files(db, [write_resource_store(tmp_path, with_org=True)])
    snap = build_snapshot(db)
    assert snap.organization == RES_ORG and snap.org_member(RES_A) and not snap.org_member("333333333333")
    alice = snap.principal(f"arn:aws:iam::{RES_A}:user/alice")
    built = build_context(alice, snap, "*", {})
    assert built.values["aws:PrincipalOrgID"] == RES_ORG
    assert built.values["aws:PrincipalOrgPaths"] == [f"{RES_ORG}/r-test/"]
    assert not built.free(ORG_KEY)  # AWS sets it: a condition on it is decided


def test_outside_a_stored_organization_the_key_is_absent_and_fixed(tmp_path: Path, make_db: Any) -> None:
    store = write_collect(
        tmp_path,
        {RES_A: {"users": {"in": []}}, RES_B: {"users": {"out": []}}},
        org={"id": RES_ORG, "management": "999999999999", "members": [RES_A]},
    )
    db = make_db()
    load_files(db, [store])
    snap = build_snapshot(db)
    built = build_context(snap.principal(f"arn:aws:iam::{RES_B}:user/out"), snap, "*", {})
    assert "aws:PrincipalOrgID" not in built.values and not built.free(ORG_KEY)


def test_without_an_organization_the_key_is_the_callers(tmp_path: Path, make_db: Any) -> None:
    db = make_db()
    load_files(db, [write_resource_store(tmp_path, with_org=False)])
    snap = build_snapshot(db)
    built = build_context(snap.principal(f"arn:aws:iam::{RES_A}:user/alice"), snap, "*", {})
    assert "aws:PrincipalOrgID" not in built.values and built.free(ORG_KEY)
