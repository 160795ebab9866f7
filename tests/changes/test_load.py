"""Loading into kuzu: counts, replacement, all-or-nothing, schema version."""

from __future__ import annotations

import json
from typing import Any

import pytest

from graphiam.changes.load import load_files
from graphiam.errors import IngestError, SchemaVersionError
from graphiam.store import open_database
from graphiam.store import reader as R
from tests.helpers import CONFORMANCE, GAAD_EXAMPLE

TABLES = ("User", "IAMGroup", "Role", "Policy", "PolicyVersion", "InstanceProfile")


def _snapshot(db) -> dict[str, Any]:
    out = {
        t: sorted(
            r["k"]
            for r in db.execute(f"MATCH (n:{t}) RETURN {'n.key' if t == 'PolicyVersion' else 'n.arn'} AS k")
        )
        for t in TABLES
    }
    out["edges"] = sorted(
        (r["a"], r["b"], r["t"])
        for r in db.execute(
            "MATCH (a)-[e]->(b) RETURN coalesce(a.arn, a.key, a.name) AS a, "
            "coalesce(b.arn, b.key, b.name) AS b, label(e) AS t"
        )
    )
    return out


def test_two_accounts_in_one_graph(make_db):
    db = make_db(GAAD_EXAMPLE, CONFORMANCE / "gaad.json")
    assert R.count(db, "User", account="123456789012") == 20
    arns = {
        p["Arn"]
        for f in (GAAD_EXAMPLE, CONFORMANCE / "gaad.json")
        for p in json.loads(f.read_text())["Policies"]
    }
    assert R.count(db, "Policy") == len(arns)  # AWS-managed policies in both files are stored once
    assert {a.id for a in R.accounts(db)} == {"200611803367", "123456789012"}


def test_reloading_an_account_replaces_it(make_db, tmp_path):
    db = make_db(CONFORMANCE / "gaad.json")
    before = _snapshot(db)
    data = json.loads((CONFORMANCE / "gaad.json").read_text())
    removed = data["UserDetailList"].pop()
    f = tmp_path / "smaller.json"
    f.write_text(json.dumps(data))
    load_files(db, [f])
    after = _snapshot(db)
    assert removed["Arn"] not in after["User"]
    assert len(after["User"]) == len(before["User"]) - 1
    assert not [e for e in after["edges"] if removed["Arn"] in e[:2]]
    load_files(db, [CONFORMANCE / "gaad.json"])
    assert _snapshot(db) == before


@pytest.mark.parametrize(
    "content",
    [
        "not json at all",
        json.dumps({"UserDetailList": [{"UserName": "x"}]}),
        json.dumps(
            {
                "UserDetailList": [
                    {
                        "UserName": "x",
                        "Arn": "arn:aws:iam::123456789012:user/x",
                        "UserPolicyList": [{"PolicyName": "p", "PolicyDocument": "%7Bbroken"}],
                    }
                ]
            }
        ),
        json.dumps({"UserDetailList": [{"UserName": "x", "Arn": "arn:aws:iam::bad:user/x"}]}),
        json.dumps(
            {
                "RoleDetailList": [
                    {
                        "RoleName": "r",
                        "Arn": "arn:aws:iam::123456789012:role/r",
                        "AssumeRolePolicyDocument": {"Statement": [{"Effect": "Maybe"}]},
                    }
                ]
            }
        ),
    ],
    ids=["not-json", "missing-key", "undecodable-document", "bad-arn", "bad-policy"],
)
def test_bad_input_leaves_the_database_exactly_as_before(make_db, tmp_path, content):
    db = make_db(CONFORMANCE / "gaad.json")
    before = _snapshot(db)
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    with pytest.raises(IngestError) as err:
        load_files(db, [GAAD_EXAMPLE, bad])  # a good file beside a bad one: neither is loaded
    assert "bad.json" in str(err.value) and "\n" not in str(err.value)
    assert _snapshot(db) == before


def test_schema_version_mismatch_is_named(tmp_path):
    path = tmp_path / "db"
    db = open_database(path)
    db.execute("MATCH (m:Meta {key: $k}) SET m.value = $v", {"k": "schema_version", "v": "0"})
    db.close()
    from graphiam.store.schema import schema_version

    with pytest.raises(
        SchemaVersionError, match=f"schema version `0`, this graphiam needs `{schema_version()}`"
    ):
        open_database(path)


def test_database_persists_and_cannot_be_opened_twice(tmp_path):
    path = tmp_path / "db"
    db = open_database(path)
    load_files(db, [CONFORMANCE / "gaad.json"])
    with pytest.raises(Exception, match="already open"):
        open_database(path)
    db.close()
    db = open_database(path)
    assert R.count(db, "User") == 20
    db.close()


@pytest.mark.parametrize("where", ["memory", "file"])
def test_a_failure_during_the_write_leaves_the_database_as_before(make_db, monkeypatch, tmp_path, where):
    """A load that fails after its bulk writes (here: a deriver raising) changes nothing. kuzu 0.11.3 cannot
    roll such a transaction back safely: a database file is put back as it was before the write (the copy
    `store/durability.py` keeps), an in-memory database is rehearsed on a private copy first."""
    from graphiam.changes import load as loading
    from graphiam.changes.load import seed_files
    from graphiam.derive import refresh as derived
    from tests.helpers import SEEDS

    if where == "memory":
        db = make_db(*seed_files(SEEDS))
    else:
        db = open_database(tmp_path / "db")
        load_files(db, seed_files(SEEDS))
    try:
        before = _snapshot(db)
        generation = db.generation
        clones: list[object] = []
        clone = getattr(loading, "clone_database")  # noqa: B009 (what load.py calls, spied on)

        def spy(d):
            clones.append(d)
            return clone(d)

        monkeypatch.setattr(loading, "clone_database", spy)

        def boom(_db, _snap, _touched):
            raise RuntimeError("deriver failed")

        monkeypatch.setattr(derived, "DERIVERS", [*derived.DERIVERS, ("boom", boom)])
        with pytest.raises(RuntimeError, match="deriver failed"):
            load_files(db, [SEEDS / "demo-org.json"])
        assert _snapshot(db) == before
        assert db.generation == generation
        user = "arn:aws:iam::111111111111:user/engineering/alice"
        assert db.execute("MATCH (u:User {arn: $a}) RETURN u.name AS n", {"a": user}) == [{"n": "alice"}]
        # a file is put back, not rehearsed on a copy
        assert len(clones) == (1 if where == "memory" else 0)
        monkeypatch.setattr(derived, "DERIVERS", derived.DERIVERS[:-1])
        load_files(db, [SEEDS / "demo-org.json"])  # the database takes the next write
        assert _snapshot(db) == before
    finally:
        if where == "file":
            db.close()


def test_readers_keep_reading_while_a_failed_load_puts_the_file_back(tmp_path, monkeypatch):
    """The engine is closed and opened again when a failed write puts its file back: reads that run meanwhile
    wait for it and then answer from the file as it was."""
    import threading

    from graphiam.changes.load import seed_files
    from graphiam.derive import refresh as derived
    from tests.helpers import SEEDS

    db = open_database(tmp_path / "db")
    try:
        load_files(db, seed_files(SEEDS))
        users = R.count(db, "User")
        answers: list[object] = []
        stop = threading.Event()

        def read() -> None:
            while not stop.is_set():
                try:
                    answers.append(R.count(db, "User"))
                except Exception as exc:  # every answer is checked below
                    answers.append(exc)

        def boom(_db, _snap, _touched):
            raise RuntimeError("deriver failed")

        monkeypatch.setattr(derived, "DERIVERS", [*derived.DERIVERS, ("boom", boom)])
        reader = threading.Thread(target=read)
        reader.start()
        try:
            for _ in range(2):
                with pytest.raises(RuntimeError, match="deriver failed"):
                    load_files(db, [SEEDS / "demo-org.json"])
        finally:
            stop.set()
            reader.join()
        assert answers and all(a == users for a in answers), [a for a in answers if a != users][:3]
        assert R.count(db, "User") == users
    finally:
        db.close()
