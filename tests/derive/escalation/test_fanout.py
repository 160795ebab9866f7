"""Fan-out edges (one actor to a set of targets, decided once per class of targets) say exactly what the
per-target derivation says, and path answers over stored fans equal those over one edge per target.

The reference is `derive(..., fan_out=False)`: every edge decided by the engine on its own target (the
derivation graphiam had before fans). Hand-made cases pin the class boundaries that matter (a Resource pattern
covering part of the targets, a Deny on one target, `${aws:username}`, NotResource, resource-tag conditions,
trust policies naming the actor or its account); generated organisations exercise everything else.
"""

from __future__ import annotations

import collections
import json
from typing import Any

import pytest

from graphiam.changes.load import seed_files
from graphiam.derive.escalation import run as R
from graphiam.derive.escalation.derive import derive
from graphiam.derive.escalation.edges import DeriveOptions
from graphiam.derive.escalation.fanout import expand
from graphiam.graph.snapshot import build_snapshot
from graphiam.queries import escalation_paths as Q
from tests.helpers import (
    ACCT,
    GAAD_EXAMPLE,
    MFA,
    SEEDS,
    allow,
    arn,
    deny,
    export,
    generated_exports,
    role,
    user,
    write,
)


def rows(edges: Any) -> collections.Counter[str]:
    return collections.Counter(json.dumps(e.row(), sort_keys=True) for e in edges)


def both(db: Any, explicit_max: int = 0) -> tuple[collections.Counter[str], collections.Counter[str], Any]:
    snap = build_snapshot(db)
    facts = R.graph_facts(db, snap)
    ref = derive(snap, facts, fan_out=False)
    new = derive(snap, facts, fan_out=True, options=DeriveOptions(explicit_max=explicit_max))
    return rows(ref.edges), rows([*new.edges, *(e for f in new.fans for e in expand(f))]), new


def store(db: Any, explicit_max: int) -> R.Stats:
    """Derive and store the escalation edges of every account again, fans of at most `explicit_max` targets
    written one edge per target (the load stored them with the default)."""
    with db.transaction():
        snap = build_snapshot(db)
        touched = frozenset(p.account for p in snap.principals.values())
        return R.derive_with(db, snap, touched, DeriveOptions(explicit_max=explicit_max))


@pytest.mark.parametrize("n,seed,accounts", [(150, 3, 1), (120, 5, 1), (160, 11, 2)])
@pytest.mark.parametrize("explicit_max", [0, 16])
def test_fans_expand_to_the_per_target_edges_on_generated_orgs(
    make_db, tmp_path, n, seed, accounts, explicit_max
):
    ref, new, out = both(make_db(*generated_exports(tmp_path, n, seed, accounts)), explicit_max)
    assert sum(ref.values()) > 500  # the org has escalation edges to many targets
    assert new == ref
    if explicit_max == 0:
        assert out.fans and sum(f.size() for f in out.fans) > len(out.fans) * 5  # fans stand for many edges


@pytest.mark.parametrize("files", [[GAAD_EXAMPLE], "seeds"], ids=["iam-vulnerable test bed", "demo org"])
def test_fans_expand_to_the_per_target_edges_on_the_test_beds(make_db, files):
    ref, new, out = both(make_db(*(seed_files(SEEDS) if files == "seeds" else files)))
    assert ref and new == ref and out.fans


OPS = [user(f"ops{i}") for i in range(4)]
TEAM = [user(f"dev{i}", tags={"Team": "red" if i % 2 else "blue", "id": str(i)}) for i in range(4)]
ADMIN_ROLE_OF = "arn:aws:iam::aws:policy/AdministratorAccess"


def ops_user(name: str) -> dict[str, Any]:
    u = user(name)
    u["Arn"] = f"arn:aws:iam::{ACCT}:user/ops/{name}"
    u["Path"] = "/ops/"
    return u


def not_principal_role(name: str, excluded: str) -> dict[str, Any]:
    r = role(name, {"AWS": excluded})
    r["AssumeRolePolicyDocument"] = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "NotPrincipal": {"AWS": excluded}, "Action": "sts:AssumeRole"}],
    }
    return r


# (id, export, actor name, technique, target names that must be reached, names that must not)
CLASS_CASES = [
    (
        "a Resource pattern covering part of the users",
        export(
            user("actor", allow("iam:CreateAccessKey", f"arn:aws:iam::{ACCT}:user/ops/*")),
            *(ops_user(f"o{i}") for i in range(3)),
            *OPS,
        ),
        "actor",
        "iam-002",
        {"o0", "o1", "o2"},
        {"ops0", "ops1", "admin"},
    ),
    (
        "a Deny on one user splits it off",
        export(
            user("actor", allow("iam:CreateAccessKey"), deny("iam:CreateAccessKey", arn("user", "ops1"))),
            *OPS,
        ),
        "actor",
        "iam-002",
        {"ops0", "ops2", "ops3", "admin"},
        {"ops1"},
    ),
    (
        "${aws:username}: only itself, so nobody else",
        export(
            user("actor", allow("iam:CreateLoginProfile", f"arn:aws:iam::{ACCT}:user/${{aws:username}}")),
            *OPS,
        ),
        "actor",
        "iam-004",
        set(),
        {"ops0", "admin"},
    ),
    (
        "a Deny with ${aws:username} spares everyone else",
        export(
            user(
                "actor",
                allow("iam:CreateAccessKey"),
                deny("iam:CreateAccessKey", f"arn:aws:iam::{ACCT}:user/${{aws:username}}"),
            ),
            *OPS,
        ),
        "actor",
        "iam-002",
        {"ops0", "ops3", "admin"},
        set(),
    ),
    (
        "NotResource excludes one user",
        export(
            user(
                "actor",
                {"Effect": "Allow", "Action": "iam:CreateAccessKey", "NotResource": arn("user", "admin")},
            ),
            *OPS,
        ),
        "actor",
        "iam-002",
        {"ops0", "ops3"},
        {"admin"},
    ),
    (
        "a resource-tag condition matching the actor's team",
        export(
            user(
                "actor",
                allow(
                    "iam:CreateAccessKey",
                    Condition={"StringEquals": {"aws:ResourceTag/team": "${aws:PrincipalTag/team}"}},
                ),
                tags={"team": "red"},
            ),
            *TEAM,
        ),
        "actor",
        "iam-002",
        {"dev1", "dev3"},
        {"dev0", "dev2", "admin"},
    ),
    (
        "a condition the actor can meet (MFA) keeps every target",
        export(
            user("actor", allow("iam:UpdateAssumeRolePolicy", Condition=MFA)),
            roles=tuple(role(f"r{i}", {"Service": "ec2.amazonaws.com"}) for i in range(3)),
        ),
        "actor",
        "iam-012",
        {"r0", "r1", "r2"},
        set(),
    ),
    (
        "AttachRolePolicy + AssumeRole: only roles whose trust names the actor or its account",
        export(
            user("actor", allow(["iam:AttachRolePolicy", "sts:AssumeRole"])),
            roles=(
                role("byarn", {"AWS": arn("user", "actor")}),
                role("byroot", {"AWS": f"arn:aws:iam::{ACCT}:root"}),
                role("byid", {"AWS": ACCT}),
                role("other", {"AWS": arn("user", "admin")}),
                role("svc", {"Service": "ec2.amazonaws.com"}),
            ),
        ),
        "actor",
        "iam-014",
        {"byarn", "byroot", "byid"},
        {"other", "svc"},
    ),
    (
        "a trust with NotPrincipal: every actor but the one it lists",
        export(
            user("actor", allow(["iam:AttachRolePolicy", "sts:AssumeRole"])),
            user("other", allow(["iam:AttachRolePolicy", "sts:AssumeRole"])),
            roles=(
                not_principal_role("notme", arn("user", "actor")),
                not_principal_role("notother", arn("user", "other")),
                not_principal_role("notme2", arn("user", "actor")),
            ),
        ),
        "actor",
        "iam-014",
        {"notother"},
        {"notme", "notme2"},
    ),
    (
        "AssumeRole allowed only on some roles by the actor's own policy",
        export(
            user("actor", allow("iam:AttachRolePolicy"), allow("sts:AssumeRole", arn("role", "byroot"))),
            roles=(
                role("byroot", {"AWS": f"arn:aws:iam::{ACCT}:root"}),
                role("byroot2", {"AWS": f"arn:aws:iam::{ACCT}:root"}),
            ),
        ),
        "actor",
        "iam-014",
        {"byroot"},
        {"byroot2"},
    ),
]


@pytest.mark.parametrize(
    "data,actor,technique,reached,not_reached", [c[1:] for c in CLASS_CASES], ids=[c[0] for c in CLASS_CASES]
)
def test_classes_of_targets(make_db, tmp_path, data, actor, technique, reached, not_reached):
    ref, new, out = both(make_db(write(tmp_path, "e.json", data)))
    assert new == ref
    got = {
        json.loads(r)["to"].rsplit("/", 1)[-1]
        for r in new
        if json.loads(r)["from"].endswith(f"/{actor}") and json.loads(r)["technique"] == technique
    }
    assert reached <= got, f"missing {reached - got}"
    assert not (not_reached & got), f"unexpected {not_reached & got}"


def answers(db: Any) -> dict[str, Any]:
    """Every path answer the API gives, hydrated."""
    snap = build_snapshot(db)
    index = Q.build_index(db, snap)
    arns = sorted(snap.principals)
    return {
        "edges": sorted(json.dumps(r, sort_keys=True) for r in Q.edge_rows(db)),
        "summary": Q.escalation_summary(db, snap, index),
        "paths": {a: Q.escalation_paths(db, snap, index, a) for a in arns},
        "into": {a: Q.escalation_paths_to(db, snap, index, a, max_depth=3) for a in arns},
        "between": [
            Q.escalation_paths(db, snap, index, a, b, max_depth=3) for a in arns[::7] for b in arns[::5]
        ],
    }


@pytest.mark.parametrize("source", ["generated", "bed"])
def test_stored_fans_give_the_same_path_answers_as_one_edge_per_target(make_db, tmp_path, source):
    files = generated_exports(tmp_path, 120, 3) if source == "generated" else [GAAD_EXAMPLE]
    db = make_db(*files)
    assert store(db, 1 << 30).counts["fans"] == 0
    flat = answers(db)
    db = make_db(*files)
    counts = store(db, 0).counts
    assert counts["fans"] > 0 and counts["fan_edges"] > counts["fans"]
    fanned = answers(db)
    assert fanned["edges"] == flat["edges"]
    assert sum(len(p) for p in flat["paths"].values()) > 50
    for key in ("summary", "paths", "into", "between"):
        assert fanned[key] == flat[key], key


def test_reloading_replaces_the_fans_and_their_sets(make_db, tmp_path):
    # more targets than the default `explicit_max`: the load's own derivation stores a fan and its set
    many = [user(f"ops{i}") for i in range(DeriveOptions().explicit_max + 4)]
    first = export(user("actor", allow("iam:CreateAccessKey")), *many)
    db = make_db(write(tmp_path, "a.json", first))
    assert {r["technique"] for r in Q.edge_rows(db)} == {"iam-002"}
    sets = db.execute("MATCH (s:EscalationTargets) RETURN s.technique AS t")
    assert [r["t"] for r in sets] == ["iam-002"]
    from graphiam.changes.load import load_files

    load_files(db, [write(tmp_path, "b.json", export(user("actor", allow("iam:UpdateLoginProfile")), *many))])
    assert {r["technique"] for r in Q.edge_rows(db)} == {"iam-006"}
    sets = db.execute("MATCH (s:EscalationTargets) RETURN s.technique AS t")
    assert [r["t"] for r in sets] == ["iam-006"]


def test_edge_rows_for_wanted_steps_equal_the_full_expansion(make_db, tmp_path):
    """Path steps are hydrated from the parts of the targets asked for only (`_parts_of` finds them in the
    set's JSON without decoding the rest): the same rows, parallel parts included, as expanding everything."""
    db = make_db(*generated_exports(tmp_path, 150, 3))
    assert store(db, 0).counts["fans"] > 0
    full = Q.edge_rows(db)
    triples = sorted({(r["from"], r["to"], r["technique"]) for r in full})
    wanted = set(triples[::37]) | {("arn:aws:iam::000000000000:user/nobody", triples[0][1], triples[0][2])}
    sources = sorted({a for a, _, _ in wanted})
    expect = sorted(
        json.dumps(r, sort_keys=True) for r in full if (r["from"], r["to"], r["technique"]) in wanted
    )
    got = sorted(json.dumps(r, sort_keys=True) for r in Q.edge_rows(db, sources, wanted))
    assert len(expect) > 20 and got == expect
    parallel = collections.Counter((r["from"], r["to"], r["technique"]) for r in full)
    several = {k for k, v in parallel.items() if v > 1}
    if several:  # parallel edges (one per policy of a target) come back all, in stored order
        rows = Q.edge_rows(db, sorted({a for a, _, _ in several}), several)
        assert sorted(json.dumps(r, sort_keys=True) for r in rows) == sorted(
            json.dumps(r, sort_keys=True) for r in full if (r["from"], r["to"], r["technique"]) in several
        )
