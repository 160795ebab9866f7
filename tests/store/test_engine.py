"""The engine adapter (graphiam/store/engine.py): the choice of kuzu or LadybugDB, the marker beside each
database, and the differences between the two engines that the adapter records."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import types

import pytest

from graphiam.errors import StoreError
from graphiam.store import open_database
from graphiam.store.db import Database
from graphiam.store.engine import (
    DEFAULT_ENGINE,
    ENGINES,
    check_engine,
    engine_name,
    load_engine,
    marker_path,
    recorded_engine,
)
from tests.helpers import ROOT, free_port

HAS_LADYBUG = importlib.util.find_spec("ladybug") is not None
needs_both = pytest.mark.skipif(
    not HAS_LADYBUG, reason="ladybug is not installed (pip install graphiam[ladybug])"
)


def test_the_engine_is_the_argument_else_the_environment_else_kuzu(monkeypatch):
    monkeypatch.delenv("GRAPHIAM_ENGINE", raising=False)
    assert engine_name() == DEFAULT_ENGINE == "kuzu"
    monkeypatch.setenv("GRAPHIAM_ENGINE", "ladybug")
    assert engine_name() == "ladybug"
    assert engine_name("kuzu") == "kuzu"
    with pytest.raises(StoreError, match="unknown graph engine `neo4j`"):
        engine_name("neo4j")


def test_a_new_database_records_its_engine_beside_it(tmp_path):
    db = open_database(tmp_path / "db")
    name = db.engine.name
    db.close()
    assert marker_path(tmp_path / "db").read_text().strip() == name
    assert recorded_engine(tmp_path / "db") == name
    assert recorded_engine(tmp_path / "none") is None


def test_a_database_without_a_marker_was_made_by_kuzu(tmp_path):
    """Databases made before the engine could be chosen carry no marker: kuzu made them."""
    (tmp_path / "old").write_bytes(b"")
    assert recorded_engine(tmp_path / "old") == "kuzu"


@pytest.mark.parametrize("made_by", ENGINES)
def test_a_database_of_the_other_engine_is_refused_in_one_line(tmp_path, made_by):
    other = next(e for e in ENGINES if e != made_by)
    (tmp_path / "db").write_bytes(b"")
    marker_path(tmp_path / "db").write_text(made_by + "\n")
    with pytest.raises(StoreError) as err:
        check_engine(tmp_path / "db", other)
    message = str(err.value)
    assert "\n" not in message
    assert f"made by {made_by}, not {other}" in message and f"graphiam migrate --to {other}" in message
    check_engine(tmp_path / "db", made_by)  # its own engine opens it


def test_the_second_engine_in_a_process_is_refused(monkeypatch):
    """The two packages register native types of the same names: loading both in one process crashes it."""
    running = load_engine().name
    other = next(e for e in ENGINES if e != running)
    monkeypatch.setitem(sys.modules, other, types.ModuleType(other))
    with pytest.raises(StoreError, match=f"{other} is already loaded in this process"):
        load_engine(running)


def test_the_engines_differ_in_what_a_rolled_back_copy_keeps():
    assert load_engine().copy_rollback_loses_rel_rows is (load_engine().name == "kuzu")


def test_each_engine_gets_its_own_default_buffer_pool_and_a_given_size_as_given():
    # LadybugDB needs about twice kuzu's pool for the same graph (docs/ENGINE.md); an explicit size is kept
    db = Database(None, buffer_pool_mb=None)
    given = Database(None, buffer_pool_mb=96)
    try:
        expected = {"kuzu": 512, "ladybug": 1024}[db.engine.name]
        assert db.buffer_pool_mb == db.engine.default_buffer_pool_mb == expected
        assert given.buffer_pool_mb == 96
        assert db.execute("RETURN 1 AS one")[0]["one"] == 1  # the database opened with it
    finally:
        db.close()
        given.close()


def test_a_whole_node_names_its_label_under_the_engines_key():
    db = open_database(None, buffer_pool_mb=64)
    row = db.execute("MATCH (n:Meta) RETURN n, label(n) AS label")[0]
    db.close()
    assert row["label"] == "Meta" and row["n"][db.engine.label_key] == "Meta"


@needs_both
@pytest.mark.parametrize("made_by", ENGINES)
def test_opening_a_database_with_the_other_engine_names_migrate(tmp_path, made_by):
    """Both directions, each engine in its own process (as the command line runs them)."""
    other = next(e for e in ENGINES if e != made_by)
    db = tmp_path / "db"
    load = [sys.executable, "-m", "graphiam.cli", "load", str(ROOT / "seeds" / "demo-org.json")]
    r = subprocess.run([*load, "--db", str(db), "--engine", made_by], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    before = db.read_bytes()
    beside = sorted(p.name for p in tmp_path.iterdir())
    # a reading command, and `serve` (which opens the database only once the server starts: the refusal must
    # come before, in one line, not as the server's startup traceback, and before it makes an admin token)
    for command in (["report"], ["serve", "--port", str(free_port())]):
        r = subprocess.run(
            [sys.executable, "-m", "graphiam.cli", *command, "--db", str(db), "--engine", other],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert r.returncode != 0, command
        assert r.stderr.strip().count("\n") == 0, r.stderr
        assert f"made by {made_by}, not {other}" in r.stderr and "graphiam migrate" in r.stderr
        assert db.read_bytes() == before  # untouched
        assert sorted(p.name for p in tmp_path.iterdir()) == beside  # no token, lock or log made


def test_connections_of_ended_threads_are_closed():
    """A thread pool per request (as the ASGI lifespan in tests makes) opens a connection per thread;
    LadybugDB keeps buffer-pool memory for each until it is closed, so those of ended threads are closed."""
    import threading

    db = open_database(None, buffer_pool_mb=64)
    db.execute("CREATE (:Meta {key: $k, value: $v})", {"k": "x", "v": "y" * 1000})
    errors: list[BaseException] = []

    def read() -> None:
        try:
            db.execute("MATCH (m:Meta) RETURN m ORDER BY m.key")
        except BaseException as exc:
            errors.append(exc)

    for _ in range(200):
        t = threading.Thread(target=read)
        t.start()
        t.join()
    db.execute("MATCH (m:Meta) RETURN count(m) AS c")
    assert errors == [] and len(db._conns) <= 2
    db.close()


SLOW = "UNWIND RANGE(1, 20000) AS x UNWIND RANGE(1, 2000) AS y RETURN COUNT(x + y) AS n"


def test_a_write_transaction_is_not_cut_by_the_per_statement_bound():
    # reads keep the bound; the statements (and the COMMIT) of a write do not: a large load's commit that
    # passed the bound used to throw the whole load away once its work was done
    db = Database(None, buffer_pool_mb=64, query_timeout_ms=20)
    try:
        with pytest.raises(StoreError, match="Interrupted"):
            db.execute(SLOW)
        with db.transaction():
            assert db.execute(SLOW) == [{"n": 40_000_000}]
        with pytest.raises(StoreError, match="Interrupted"):  # the bound is back after the write
            db.execute(SLOW)
    finally:
        db.close()


def test_a_full_buffer_pool_says_how_big_it_is_and_how_to_give_it_more():
    """The pool's size is fixed when the database opens, so the same load fails again until it gets more:
    the error says so, in one line (a 16 MiB pool runs out COPYing 300,000 rows on either engine)."""
    import pyarrow as pa

    db = Database(None, buffer_pool_mb=16)
    db.execute("CREATE NODE TABLE T(id STRING, v STRING, PRIMARY KEY(id))")
    rows = 300_000
    table = pa.table({"id": [f"id-{i}" for i in range(rows)], "v": ["x" * 200] * rows})
    with pytest.raises(StoreError) as caught, db.transaction():
        db.copy_from("T", table)
    message = str(caught.value)
    assert message.startswith("bulk load of T failed: ") and "buffer pool is full" in message.lower()
    assert "buffer pool is 16 MiB" in message and "GRAPHIAM_BUFFER_POOL_MB" in message
    assert "\n" not in message
    db.close()
