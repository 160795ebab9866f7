"""CAN_ASSUME edge reasons: stored once per distinct content (AssumeReason), named by edges through a digest
id."""

from __future__ import annotations

import json

import pytest

from graphiam.changes.load import load_files
from graphiam.derive.assume.edges import compute_edges
from graphiam.derive.assume.hops import reason_id
from graphiam.errors import StoreError
from graphiam.graph.snapshot import build_snapshot
from graphiam.store import assume_store as S
from tests.helpers import ROOT_TRUST, X, trust
from tests.helpers import assume_export as export
from tests.helpers import assume_role as role
from tests.helpers import assume_user as user

FIELDS = ("from", "to", "action", "statements", "conditions", "needs_conditions")


def stored_reasons(db) -> dict[str, tuple[str, str]]:
    return S.read_reasons(db)


def test_edge_reasons_read_back_identical_to_the_derivation(make_db, two_account_org):
    db = make_db(*two_account_org)
    snap = build_snapshot(db)
    roles = [p for p in snap.principals.values() if p.kind == "role"]
    derived = compute_edges(snap, roles, S.loaded_accounts(db)).all()
    stored = S.all_edges(db)
    assert len(stored) == len(derived) > 100
    assert sorted(tuple(e[f] for f in FIELDS) for e in stored) == sorted(
        tuple(e[f] for f in FIELDS) for e in derived
    )
    # each distinct reason once, under the digest of its content
    reasons = stored_reasons(db)
    assert reasons == {
        reason_id(e["statements"], e["conditions"]): (e["statements"], e["conditions"]) for e in derived
    }
    assert len(reasons) < len(stored) / 2


def test_a_reason_no_edge_names_any_more_is_dropped(make_db, tmp_path):
    mfa = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
    roles = [role("Plain", ROOT_TRUST), role("Mfa", trust({"AWS": X + "root"}, mfa))]
    db = make_db(export(tmp_path, [user("u")], roles))
    before = stored_reasons(db)
    assert len(before) == 2 and any("aws:MultiFactorAuthPresent" in c for _, c in before.values())
    load_files(db, [export(tmp_path, [user("u")], [role("Plain", ROOT_TRUST)], name="x2.json")])
    after = stored_reasons(db)
    assert after == {k: v for k, v in before.items() if "aws:MultiFactorAuthPresent" not in v[1]}
    (edge,) = S.all_edges(db)
    assert (edge["statements"], edge["conditions"]) == next(iter(after.values()))
    assert json.loads(edge["conditions"]) == []


def test_a_stored_reason_id_with_other_content_is_refused(make_db, tmp_path):
    db = make_db(export(tmp_path, [user("u")], [role("Target", ROOT_TRUST)]))
    ((rid, (statements, conditions)),) = stored_reasons(db).items()
    with pytest.raises(StoreError, match="digest collision"), db.transaction():
        S.write_reasons(db, {rid: (statements, conditions + " ")})
    assert stored_reasons(db) == {rid: (statements, conditions)}
    with db.transaction():  # the same content again is a no-op
        S.write_reasons(db, {rid: (statements, conditions)})
    assert stored_reasons(db) == {rid: (statements, conditions)}


def test_reason_ids_are_short_digests_of_the_content():
    a = reason_id('[["#trust",0,"resource"]]', "[]")
    assert len(a) == 12  # kuzu keeps strings up to 12 bytes inline
    assert a == reason_id('[["#trust",0,"resource"]]', "[]")
    assert a != reason_id('[["#trust",0,"resource"]]', "[ ]")
    assert reason_id("ab", "c") != reason_id("a", "bc")
