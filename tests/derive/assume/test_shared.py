"""CAN_ASSUME per class of principals and per group of roles (`derive/assume/shared.py`): always the edges
and reasons of deciding every (principal, role) pair alone."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from graphiam.changes.load import load_files
from graphiam.derive.assume.edges import compute_edges
from graphiam.graph.snapshot import Snapshot, build_snapshot
from graphiam.store import open_database
from tests.helpers import (
    ACCT,
    allow,
    arn,
    cm,
    doc,
    export,
    generated_exports,
    group,
    managed_policy,
    user,
    write,
)

STAR = cm("AssumeAny")
ROLES = cm("AssumeRoles")
TEAM = cm("AssumeTeamRoles")


def _role(name: str, trust: dict[str, Any], tags: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "RoleName": name,
        "Arn": arn("role", name),
        "Path": "/",
        "AssumeRolePolicyDocument": trust,
        "AttachedManagedPolicies": [],
        "RolePolicyList": [],
        "InstanceProfileList": [],
        "Tags": [{"Key": k, "Value": v} for k, v in (tags or {}).items()],
    }


def _account_trust(condition: dict[str, Any] | None = None) -> dict[str, Any]:
    st: dict[str, Any] = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:root"}}
    st["Action"] = "sts:AssumeRole"
    if condition:
        st["Condition"] = condition
    return doc(st)


def _edges(snap: Snapshot, *, share: bool) -> set[tuple[str, str, str, str, bool]]:
    roles = [p for p in snap.principals.values() if p.kind == "role"]
    return {
        (r["from"], r["to"], r["statements"], r["conditions"], r["needs_conditions"])
        for r in compute_edges(snap, roles, share=share).all()
    }


def _snapshot(tmp_path: Path, data: dict[str, Any]) -> Snapshot:
    db = open_database(None, buffer_pool_mb=256)
    try:
        load_files(db, [write(tmp_path, "gaad.json", data)])
        return build_snapshot(db)
    finally:
        db.close()


def test_principals_holding_the_same_statements_in_another_order_keep_their_own_order(tmp_path):
    # ann holds AssumeRoles (through group a-roles) before AssumeAny (b-any); bo the other way round: the
    # same statements, and a verdict lists them in the order the principal holds them
    data = export(
        user("ann", groups=("a-roles", "b-any")),
        user("bo", groups=("c-any", "d-roles")),
        groups=(
            group("a-roles", managed=(ROLES,)),
            group("b-any", managed=(STAR,)),
            group("c-any", managed=(STAR,)),
            group("d-roles", managed=(ROLES,)),
        ),
        roles=tuple(_role(f"target-{i}", _account_trust()) for i in range(3)),
        policies=(
            managed_policy(STAR, doc(allow("sts:AssumeRole"))),
            managed_policy(ROLES, doc(allow("sts:AssumeRole", f"arn:aws:iam::{ACCT}:role/target-*"))),
        ),
    )
    snap = _snapshot(tmp_path, data)
    shared = _edges(snap, share=True)
    assert shared == _edges(snap, share=False)
    order = {
        (e[0], e[1]): [s[0] for s in json.loads(e[2]) if s[0] != "#trust"]
        for e in shared
        if e[0] in (arn("user", "ann"), arn("user", "bo"))
    }
    assert order[(arn("user", "ann"), arn("role", "target-0"))] == [
        "~policy/AssumeRoles",
        "~policy/AssumeAny",
    ]
    assert order[(arn("user", "bo"), arn("role", "target-0"))] == ["~policy/AssumeAny", "~policy/AssumeRoles"]


def test_roles_alike_but_for_loose_trust_values_and_unread_tags_share_verdicts(tmp_path):
    # one verdict per group of roles: trusts that differ only in an ExternalId value, tags a statement reads
    # (team) telling roles apart, other tags (env) not
    team_only = doc(
        allow(
            "sts:AssumeRole", Condition={"StringEquals": {"aws:ResourceTag/team": "${aws:PrincipalTag/team}"}}
        )
    )
    roles = [
        _role(
            f"r-{i}",
            _account_trust({"StringEquals": {"sts:ExternalId": f"ext-{i}"}} if i % 2 else None),
            {"team": ("red", "blue")[i % 3 % 2], "env": f"e{i}"},
        )
        for i in range(8)
    ]
    data = export(
        user("red-1", groups=("any",), tags={"team": "red"}),
        user("red-2", managed=(TEAM,), tags={"team": "red"}),
        user("blue-1", managed=(TEAM,), tags={"team": "blue"}),
        user("nobody"),
        groups=(group("any", managed=(STAR,)),),
        roles=tuple(roles),
        policies=(managed_policy(STAR, doc(allow("sts:AssumeRole"))), managed_policy(TEAM, team_only)),
    )
    snap = _snapshot(tmp_path, data)
    shared = _edges(snap, share=True)
    assert shared == _edges(snap, share=False)
    pairs = {(e[0].rsplit("/", 1)[1], e[1].rsplit("/", 1)[1]) for e in shared}
    red = {f"r-{i}" for i in range(8) if i % 3 % 2 == 0}
    assert {r for u, r in pairs if u == "red-2"} == red
    assert {r for u, r in pairs if u == "blue-1"} == {f"r-{i}" for i in range(8)} - red
    assert {r for u, r in pairs if u == "red-1"} == {f"r-{i}" for i in range(8)}
    assert not any(u == "nobody" for u, _ in pairs)


def test_a_generated_org_gets_the_edges_of_deciding_each_pair_alone(tmp_path):
    db = open_database(None, buffer_pool_mb=256)
    try:
        load_files(db, generated_exports(tmp_path, 180, seed=13, accounts=2))
        snap = build_snapshot(db)
    finally:
        db.close()
    shared = _edges(snap, share=True)
    assert len(shared) > 500 and shared == _edges(snap, share=False)
