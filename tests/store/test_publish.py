"""Copies other processes open read-only (graphiam/store/publish.py): a consistent copy of an open database,
the generations a writer publishes after each write, and the pruning of those nobody has open."""

from __future__ import annotations

from pathlib import Path

import pytest

from graphiam.errors import StoreError
from graphiam.store import open_database
from graphiam.store import reader as R
from graphiam.store.publish import (
    Publisher,
    copy_database,
    generation_path,
    generations_dir,
    open_published,
    read_current,
)


def _add_account(db, account: str) -> None:
    with db.transaction():
        db.execute("CREATE (:Account {id: $id})", {"id": account})


def _accounts(path: Path) -> list[str]:
    db = open_database(path, read_only=True)
    try:
        return sorted(a.id for a in R.accounts(db))
    finally:
        db.close()


def test_a_copy_of_a_database_open_read_write_holds_every_committed_write(tmp_path):
    db = open_database(tmp_path / "db")
    try:
        _add_account(db, "111111111111")
        _add_account(db, "222222222222")
        (tmp_path / "copy").mkdir()
        copy = copy_database(db, tmp_path / "copy" / "db")
    finally:
        db.close()
    assert sorted(p.name for p in copy.parent.iterdir()) == ["db", "db.engine", "db.lock"]
    assert _accounts(copy) == ["111111111111", "222222222222"]


def test_a_copy_of_a_read_only_database(tmp_path):
    writer = open_database(tmp_path / "db")
    _add_account(writer, "111111111111")
    writer.close()
    db = open_database(tmp_path / "db", read_only=True)
    try:
        (tmp_path / "copy").mkdir()
        copy = copy_database(db, tmp_path / "copy" / "db")
    finally:
        db.close()
    assert _accounts(copy) == ["111111111111"]


def test_every_write_publishes_a_generation_and_unused_ones_are_pruned(tmp_path):
    db = open_database(tmp_path / "db")
    root = generations_dir(tmp_path / "db")
    try:
        publisher = Publisher(tmp_path / "db")
        assert publisher.publish(db) == 1
        db.after_write.append(publisher.after_write)
        _add_account(db, "111111111111")
        assert read_current(root) == 2
        assert not generation_path(root, 1).exists()  # nobody had it open
        number, reader = open_published(root, lambda p: open_database(p, read_only=True))
        try:
            assert number == 2 and sorted(a.id for a in R.accounts(reader)) == ["111111111111"]
            _add_account(db, "222222222222")
            assert read_current(root) == 3
            assert generation_path(root, 2).exists()  # open in a reader: kept
        finally:
            reader.close()
        assert publisher.prune() == [2]
        _add_account(db, "333333333333")
        assert read_current(root) == 4
        assert _accounts(generation_path(root, 4)) == ["111111111111", "222222222222", "333333333333"]
    finally:
        db.close()
    # numbers go on across restarts of the writer
    assert Publisher(tmp_path / "db").number == 4


def test_a_rolled_back_write_publishes_nothing(tmp_path):
    db = open_database(tmp_path / "db")
    root = generations_dir(tmp_path / "db")
    try:
        publisher = Publisher(tmp_path / "db")
        publisher.publish(db)
        db.after_write.append(publisher.after_write)
        with pytest.raises(RuntimeError), db.transaction():
            db.execute("CREATE (:Account {id: $id})", {"id": "111111111111"})
            raise RuntimeError("changed my mind")
        assert read_current(root) == 1
    finally:
        db.close()


def test_a_generation_gone_before_it_is_opened_is_looked_up_again(tmp_path):
    root = tmp_path / "gens"
    root.mkdir()
    (root / "current").write_text('{"generation": 7}\n')
    with pytest.raises(StoreError, match="generation 7 is gone"):
        open_published(root, lambda p: p)
    (root / "7").write_text("")
    assert open_published(root, lambda p: p.name) == (7, "7")
    with pytest.raises(StoreError, match="nothing published"):
        open_published(tmp_path / "none", lambda p: p)
