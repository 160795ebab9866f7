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


def _everyone_trust(condition: dict[str, Any]) -> dict[str, Any]:
    return doc(
        {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole", "Condition": condition}
    )


def test_principals_on_the_same_side_of_a_trust_condition_on_their_own_keys_share_one_verdict(
    tmp_path, monkeypatch
):
    # six users holding the same statement: the trusts test their ARN (a pattern) and a tag; the users on one
    # side of a test get one verdict, decided once, and the edges are those of deciding each pair alone
    from graphiam.derive.assume import edges as E

    names = ("team-a-1", "team-a-2", "team-a-3", "other-1", "other-2", "other-3")
    data = export(
        *(user(n, managed=(STAR,), tags={"team": "red" if n.endswith("1") else "blue"}) for n in names),
        roles=(
            _role(
                "by-arn",
                _everyone_trust({"ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{ACCT}:user/team-a-*"}}),
            ),
            _role("by-tag", _everyone_trust({"StringEquals": {"aws:PrincipalTag/team": "red"}})),
            # a key the trust interpolates is still told apart by its value
            _role(
                "by-name",
                _everyone_trust({"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:user/${aws:username}"}}),
            ),
        ),
        policies=(managed_policy(STAR, doc(allow("sts:AssumeRole"))),),
    )
    snap = _snapshot(tmp_path, data)
    decided: list[tuple[str, str]] = []
    from graphiam.derive.assume.hops import decide_hop as real

    def counted(snap: Snapshot, src: Any, role: Any, env: Any) -> Any:
        if src.kind == "user":  # (not the roles, nor the external `*` a trust naming everyone also admits)
            decided.append((src.id.rsplit("/", 1)[1], role.arn.rsplit("/", 1)[1]))
        return real(snap, src, role, env)

    monkeypatch.setattr(E, "decide_hop", counted)  # as `edges` calls it
    shared = _edges(snap, share=True)
    by_role = {
        r: sorted(u for u, rr in decided if rr == r and u in names) for r in ("by-arn", "by-tag", "by-name")
    }
    assert len(by_role["by-arn"]) == 2 and len(by_role["by-tag"]) == 2  # one per side
    assert len(by_role["by-name"]) == len(names)
    decided.clear()
    assert shared == _edges(snap, share=False)
    assert len(decided) >= 3 * len(names)  # alone: every pair decided
    pairs = {(e[0].rsplit("/", 1)[-1], e[1].rsplit("/", 1)[-1]) for e in shared}
    pairs = {(u, r) for u, r in pairs if u in names}
    assert {u for u, r in pairs if r == "by-arn"} == {"team-a-1", "team-a-2", "team-a-3"}
    assert {u for u, r in pairs if r == "by-tag"} == {"team-a-1", "other-1"}
    assert {u for u, r in pairs if r == "by-name"} == set(names)


def test_a_wide_generated_org_gets_the_edges_of_deciding_each_pair_alone(tmp_path):
    # the generator's other shape: trusts naming everyone under aws:PrincipalOrgID or an aws:PrincipalArn
    # pattern, many conditions, boundaries on half the principals
    from tests.helpers import generator_module

    exports = generator_module().generate_org(
        users=40, roles=30, policies=30, accounts=3, seed=5, shape="wide"
    )
    db = open_database(None, buffer_pool_mb=256)
    try:
        load_files(db, [write(tmp_path, f"wide-{i}.json", e) for i, e in enumerate(exports)])
        snap = build_snapshot(db)
    finally:
        db.close()
    shared = _edges(snap, share=True)
    assert len(shared) > 500 and shared == _edges(snap, share=False)
