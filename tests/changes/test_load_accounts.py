"""Loads that never surprise: one file per ARN, moves only when asked, counts that say what they count, and
removing one account as if it had never been loaded."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from graphiam.changes.apply import Change, apply_changes
from graphiam.changes.load import load_files
from graphiam.errors import IngestError
from graphiam.ingest.gaad import parse_gaad
from graphiam.store import reader as R
from tests.helpers import (
    ADMIN_ARN,
    allow,
    arn,
    cm,
    doc,
    export,
    graph_dump,
    managed_policy,
    role,
    user,
    write,
)

A, B = "111111111111", "222222222222"
SHARED_USER = arn("user", "shared", A)
POLICY = cm("Ops", A)


def _file(tmp_path: Path, name: str, data: dict[str, Any]) -> Path:
    return write(tmp_path, name, data)


def _a(tmp_path: Path) -> Path:
    """Account A: `shared` (a user), `alice` attached to A's policy Ops, a role trusting B's root."""
    return _file(
        tmp_path,
        "a.json",
        export(
            user("shared", account=A),
            user("alice", managed=(POLICY,), account=A),
            roles=(role("Audit", {"AWS": f"arn:aws:iam::{B}:root"}, account=A),),
            policies=(managed_policy(POLICY, doc(allow("s3:GetObject"))),),
            account=A,
        ),
    )


def _b_with(tmp_path: Path, *extra_users: dict[str, Any], policies: tuple[dict[str, Any], ...] = ()) -> Path:
    """Account B (two users of its own, so the file is B's), plus `extra_users` of any account."""
    return _file(
        tmp_path,
        "b.json",
        export(
            user("bob", allow("sts:AssumeRole"), account=B),
            *extra_users,
            policies=policies,
            account=B,
        ),
    )


def test_two_files_defining_one_arn_fail_naming_both_files_and_paths(make_db, tmp_path):
    db = make_db(_a(tmp_path))
    before = graph_dump(db)
    b = _b_with(tmp_path, user("shared", account=A))
    with pytest.raises(IngestError) as exc:
        load_files(db, [_a(tmp_path), b])
    message = str(exc.value)
    assert "\n" not in message
    assert str(b) in message and str(tmp_path / "a.json") in message, message
    assert f"`{SHARED_USER}`" in message
    assert "$.UserDetailList[1].Arn" in message and "$.UserDetailList[0].Arn" in message, message
    assert graph_dump(db) == before


def test_a_policy_two_files_define_is_named_too(make_db, tmp_path):
    b = _b_with(tmp_path, policies=(managed_policy(POLICY, doc(allow("s3:*"))),))
    db = make_db()
    with pytest.raises(
        IngestError, match=r"\$\.Policies\[1\]\.Arn.*also defined in .*a\.json.* at \$\.Policies\["
    ):
        load_files(db, [_a(tmp_path), b])
    assert R.is_empty(db)


def test_a_later_load_that_moves_an_arn_is_refused_unless_replace(make_db, tmp_path):
    db = make_db(_a(tmp_path))
    before = graph_dump(db)
    b = _b_with(tmp_path, user("shared", account=A), policies=(managed_policy(POLICY, doc(allow("s3:*"))),))
    with pytest.raises(IngestError) as exc:
        load_files(db, [b])
    message = str(exc.value)
    assert f"`{POLICY}` is already loaded with account `{A}` (from `{tmp_path / 'a.json'}`)" in message
    assert f"with account `{B}` would move it (and 1 more ARN)" in message and "--replace" in message
    assert message.startswith(f"{b}: $.Policies[1].Arn: "), message
    assert graph_dump(db) == before

    summary = load_files(db, [b], replace=True)
    assert f"moved 2 ARN(s) from account {A} to account {B}" in summary.lines()
    rows = {
        r["arn"]: r["x"]
        for r in db.execute(
            "MATCH (n) WHERE n.arn IN $a RETURN n.arn AS arn, n.export AS x", {"a": [SHARED_USER, POLICY]}
        )
    }
    assert rows == {SHARED_USER: B, POLICY: B}
    # alice (still A's) keeps her attachment: it is her export that says so; the policy is B's version now
    attached = db.execute(
        "MATCH (p:Policy)-[:ATTACHED_TO]->(u:User) WHERE u.arn = $u RETURN p.arn AS p, p.document AS d",
        {"u": arn("user", "alice", A)},
    )
    assert [r["p"] for r in attached] == [POLICY] and '"s3:*"' in attached[0]["d"]


def test_import_export_refuses_a_move_unless_replace(make_db, tmp_path):
    db = make_db(_a(tmp_path))
    document = json.loads(_b_with(tmp_path, user("shared", account=A)).read_text())
    refused = apply_changes(db, [Change(op="importExport", args={"document": document})])
    assert not refused.ok and refused.problems[0].code == "CONFLICT"
    assert f"`{SHARED_USER}` is already loaded with account `{A}`" in refused.problems[0].message
    done = apply_changes(db, [Change(op="importExport", args={"document": document, "replace": True})])
    assert done.ok, done.problems
    assert db.execute("MATCH (u:User {arn: $a}) RETURN u.export AS x", {"a": SHARED_USER}) == [{"x": B}]


def test_a_policy_one_file_omits_and_another_defines_loads_once(make_db, tmp_path):
    """A's export names B's policy without holding it (a placeholder); B's export holds it: one node, the
    real one, attached to A's user."""
    foreign = cm("Shared", B)
    a = _file(tmp_path, "a.json", export(user("alice", managed=(foreign,), account=A), account=A))
    b = _b_with(tmp_path, policies=(managed_policy(foreign, doc(allow("ec2:*"))),))
    db = make_db(a, b)
    rows = db.execute(
        "MATCH (p:Policy {arn: $p}) OPTIONAL MATCH (p)-[:ATTACHED_TO]->(u:User) "
        "RETURN p.missing AS m, u.arn AS u",
        {"p": foreign},
    )
    assert rows == [{"m": False, "u": arn("user", "alice", A)}]


def test_a_later_load_fills_a_placeholder_another_account_attached(make_db, tmp_path):
    """The same, in two loads: the placeholder A's load made is not a definition, so B's load fills it without
    --replace, and alice keeps her attachment."""
    foreign = cm("Shared", B)
    a = _file(tmp_path, "a.json", export(user("alice", managed=(foreign,), account=A), account=A))
    db = make_db(a)
    summary = load_files(db, [_b_with(tmp_path, policies=(managed_policy(foreign, doc(allow("ec2:*"))),))])
    assert summary.moved == ()
    rows = db.execute(
        "MATCH (p:Policy {arn: $p}) OPTIONAL MATCH (p)-[:ATTACHED_TO]->(u:User) "
        "RETURN p.missing AS m, p.export AS x, u.arn AS u",
        {"p": foreign},
    )
    assert rows == [{"m": False, "x": B, "u": arn("user", "alice", A)}]


def test_the_foreign_arn_warning_counts_every_arn_it_names():
    data = export(
        user("alice"),
        user("x", account=B),
        roles=(role("r", {"Service": "ec2.amazonaws.com"}, account=B, profile=True),),
        policies=(managed_policy(cm("P", B), doc(allow("s3:*"))),),
    )
    e = parse_gaad(data, source="f.json")
    (warning,) = e.warnings
    assert "4 ARNs (1 user, 1 role, 1 policy, 1 instance profile) name account `222222222222`" in warning


def test_managed_policies_are_counted_once(make_db, tmp_path):
    a = _file(tmp_path, "a.json", export(user("alice", account=A), account=A))
    b = _b_with(tmp_path)
    db = make_db()
    summary = load_files(db, [a, b])
    assert summary.managed_policies == 1 == R.count(db, "Policy")  # AdministratorAccess, in both files


# ---- remove-account ----


def _two_accounts(tmp_path: Path) -> tuple[Path, Path]:
    a = _a(tmp_path)
    b = _b_with(
        tmp_path,
        user("carol", managed=(cm("Bp", B), ADMIN_ARN), account=B),
        policies=(managed_policy(cm("Bp", B), doc(allow("iam:PassRole"), allow("ec2:RunInstances"))),),
    )
    return a, b


def _comparable(dump: dict[str, list[str]]) -> dict[str, list[str]]:
    """A graph dump without the load time of the accounts, nor the import history (which records every
    load, the removed account's included: history, not the graph's content)."""
    nodes = []
    for line in dump["nodes"]:
        node = json.loads(line)
        if node.get("label") == "Import" or node.get("key") == "changed_after_import":
            continue  # the history and its "a mutation followed the last import" mark
        node.pop("loaded_at", None)
        nodes.append(json.dumps(node, sort_keys=True))
    return {"nodes": sorted(nodes), "edges": dump["edges"]}


def test_removing_an_account_leaves_the_graph_as_if_it_was_never_loaded(make_db, tmp_path):
    a, b = _two_accounts(tmp_path)
    db = make_db(a, b)
    assert db.execute(  # B's bob may assume A's Audit role: a derived edge that depends on both accounts
        "MATCH (u:User)-[:CAN_ASSUME]->(r:Role) WHERE u.arn = $u RETURN r.arn AS r",
        {"u": arn("user", "bob", B)},
    ) == [{"r": arn("role", "Audit", A)}]
    result = apply_changes(db, [Change(op="removeAccount", args={"account": B})])
    assert result.ok, result.problems
    only_a = make_db(a)
    assert _comparable(graph_dump(db)) == _comparable(graph_dump(only_a))
    assert [x.id for x in R.accounts(db)] == [A]


def test_removing_an_account_keeps_other_accounts_attachments_as_placeholders(make_db, tmp_path):
    foreign = cm("Shared", B)
    a = _file(tmp_path, "a.json", export(user("alice", managed=(foreign,), account=A), account=A))
    b = _b_with(tmp_path, policies=(managed_policy(foreign, doc(allow("ec2:*"))),))
    db = make_db(a, b)
    assert apply_changes(db, [Change(op="removeAccount", args={"account": B})]).ok
    assert _comparable(graph_dump(db)) == _comparable(graph_dump(make_db(a)))


def test_removing_an_account_is_all_or_nothing(make_db, tmp_path, monkeypatch):
    a, b = _two_accounts(tmp_path)
    db = make_db(a, b)
    before = graph_dump(db)
    unknown = apply_changes(db, [Change(op="removeAccount", args={"account": "333333333333"})])
    assert not unknown.ok and unknown.problems[0].code == "NOT_FOUND"
    assert graph_dump(db) == before

    import graphiam.changes.apply as apply_module

    def broken(*_: Any) -> None:
        raise RuntimeError("derivation failed")

    monkeypatch.setattr(apply_module, "refresh_derived", broken)
    with pytest.raises(RuntimeError):
        apply_changes(db, [Change(op="removeAccount", args={"account": B})])
    assert graph_dump(db) == before


def test_account_counts_say_what_each_load_made(make_db, tmp_path):
    a, b = _two_accounts(tmp_path)
    db = make_db(a, b)
    counts = R.account_counts(db)
    assert (counts[A].users, counts[A].roles, counts[A].policies, counts[A].inline_policies) == (3, 1, 1, 0)
    assert (counts[B].users, counts[B].policies, counts[B].inline_policies) == (3, 1, 1)


def test_trust_mentions_keep_external_principals_after_removal(make_db, tmp_path):
    """A's role trusts B's root: once B is gone, B is an account not loaded, as if only A was loaded."""
    a, b = _two_accounts(tmp_path)
    db = make_db(a, b)
    apply_changes(db, [Change(op="removeAccount", args={"account": B})])
    rows = db.execute("MATCH (e:ExternalPrincipal)-[:CAN_ASSUME]->(r:Role) RETURN e.arn AS e, r.arn AS r")
    assert rows == [{"e": f"arn:aws:iam::{B}:root", "r": arn("role", "Audit", A)}]
