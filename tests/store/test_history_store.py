"""The Import table: rows written and read back, a summary of megabytes in one STRING property, the mark a
mutation leaves, and clones that leave the history behind."""

from __future__ import annotations

import random
import string

from graphiam.store import history_store as H
from graphiam.store import open_database
from graphiam.store.clone import clone_database, row_counts


def _write(db, id: int, summary: str) -> None:
    with db.transaction():
        H.write_import(
            db,
            id=id,
            at=f"2026-01-0{id}T00:00:00+00:00",
            files='[{"name": "a.json", "bytes": 1, "sha256": "00"}]',
            accounts=["111122223333"],
            counts='{"users": 1}',
            warnings=["w"],
            summary=summary,
        )


def test_rows_and_a_summary_of_megabytes(tmp_path):
    db = open_database(tmp_path / "db", buffer_pool_mb=128)
    try:
        rng = random.Random(1)
        big = "".join(
            rng.choices(string.ascii_letters, k=6_000_000)
        )  # base64-like text that does not compress
        assert H.next_import_id(db) == 1
        _write(db, 1, "small")
        _write(db, H.next_import_id(db), big)
        assert [r.id for r in H.imports(db)] == [1, 2]
        row = H.import_row(db, 1)
        assert row is not None and row.accounts == ("111122223333",) and row.warnings == ("w",)
        assert H.import_summary(db, 3) is None and H.import_row(db, 3) is None
    finally:
        db.close()
    db = open_database(tmp_path / "db", read_only=True, buffer_pool_mb=128)  # read back from the file
    try:
        assert H.import_summary(db, 2) == big
    finally:
        db.close()


def test_the_mark_of_a_mutation_is_kept_until_the_next_import():
    db = open_database(None, buffer_pool_mb=128)
    try:
        _write(db, 1, "s")
        assert H.changed_after_import(db) is None
        with db.transaction():
            H.mark_changed(db, "2026-01-02T00:00:00+00:00")
            H.mark_changed(db, "2026-01-03T00:00:00+00:00")  # the first change's time is kept
        assert H.changed_after_import(db) == "2026-01-02T00:00:00+00:00"
        _write(db, 2, "s")
        assert H.changed_after_import(db) is None
    finally:
        db.close()


def test_clones_leave_the_history_behind():
    db = open_database(None, buffer_pool_mb=128)
    try:
        _write(db, 1, "s" * 1000)
        copy = clone_database(db)
        try:
            assert row_counts(copy)["nodes"]["Import"] == 0
        finally:
            copy.close()
        assert row_counts(db)["nodes"]["Import"] == 1  # what `graphiam migrate` copies and checks
    finally:
        db.close()
