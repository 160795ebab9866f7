"""A write to a database file keeps the previous generation beside it until the write is on disk, and the next
open undoes a write that did not finish (graphiam/store/durability.py). tests/changes/test_crash_atomicity.py
kills real processes; here the steps are checked one at a time."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from graphiam.errors import StoreError
from graphiam.store import durability, open_database
from graphiam.store import reader as R


def _add_account(db_path: Path, account: str, *, finish: bool = True) -> None:
    """Write one Account node; `finish=False`: stop before the previous generation is dropped, as a process
    killed right after its COMMIT would."""
    db = open_database(db_path)
    try:
        if not finish:
            real = durability.drop_previous
            durability.drop_previous = lambda path: None
        try:
            with db.transaction():
                db.execute("CREATE (:Account {id: $id})", {"id": account})
        finally:
            if not finish:
                durability.drop_previous = real
    finally:
        db.close()


def _accounts(db_path: Path, *, read_only: bool = False) -> list[str]:
    db = open_database(db_path, read_only=read_only)
    try:
        return sorted(a.id for a in R.accounts(db))
    finally:
        db.close()


def test_a_finished_write_leaves_nothing_beside_the_database(tmp_path):
    _add_account(tmp_path / "db", "111111111111")
    assert _accounts(tmp_path / "db") == ["111111111111"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["db", "db.engine", "db.lock"]


def test_an_unfinished_write_is_undone_by_the_next_open(tmp_path):
    db = tmp_path / "db"
    _add_account(db, "111111111111")
    _add_account(db, "222222222222", finish=False)
    assert durability.previous_path(db).exists()  # the file holds the write, `.prev` the state before it
    assert _accounts(db) == ["111111111111"]
    assert not durability.previous_path(db).exists()
    _add_account(db, "333333333333")  # and it is writable again
    assert _accounts(db) == ["111111111111", "333333333333"]


def test_a_read_only_open_also_undoes_an_unfinished_write(tmp_path):
    db = tmp_path / "db"
    _add_account(db, "111111111111")
    _add_account(db, "222222222222", finish=False)
    assert _accounts(db, read_only=True) == ["111111111111"]
    assert not durability.previous_path(db).exists()


def test_a_half_made_copy_is_removed_and_the_database_kept(tmp_path):
    db = tmp_path / "db"
    _add_account(db, "111111111111")
    partial = Path(f"{db}{durability.PARTIAL}")
    partial.write_bytes(b"half a copy")
    assert _accounts(db) == ["111111111111"]
    assert not partial.exists()


def test_the_previous_generation_of_a_database_another_process_writes_is_left_alone(tmp_path):
    db = tmp_path / "db"
    _add_account(db, "111111111111")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from graphiam.store import open_database; "
            f"d = open_database({str(db)!r}); print('open', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == b"open"
        previous = durability.previous_path(db)
        previous.write_bytes(db.read_bytes())  # as that process's write in progress would have it
        for read_only in (False, True):
            with pytest.raises(StoreError, match="another process has it open"):
                open_database(db, read_only=read_only)
        assert previous.exists()
    finally:
        holder.kill()
        holder.wait()
    assert _accounts(db) == ["111111111111"]


def test_undoing_a_write_removes_the_engine_log_of_that_write_and_nothing_else(tmp_path):
    """The log of the unfinished write would replay onto the restored file: kuzu's `.wal` and `.shadow`, and
    LadybugDB's `.wal.checkpoint` and checkpoint locks (a killed checkpoint leaves them) all go."""
    db = tmp_path / "db"
    _add_account(db, "111111111111")
    _add_account(db, "222222222222", finish=False)
    log = [Path(f"{db}{s}") for s in (".wal", ".shadow", ".wal.checkpoint", ".checkpoint.apply.lock")]
    for p in log:
        p.write_bytes(b"not ours to replay")
    kept = Path(f"{db}.tokens.json")
    kept.write_text("{}")
    assert _accounts(db) == ["111111111111"]
    assert [p.name for p in log if p.exists()] == []
    assert kept.exists() and Path(f"{db}.engine").exists()
