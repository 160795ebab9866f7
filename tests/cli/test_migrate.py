"""`graphiam migrate --to kuzu|ladybug SRC DST`: a copy in the other engine with the same rows and answers,
all or nothing."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from graphiam.errors import StoreError
from graphiam.store import migrate as store_migrate
from graphiam.store.engine import ENGINES, marker_path
from tests.helpers import SEEDS, run_cli

needs_ladybug = pytest.mark.skipif(
    importlib.util.find_spec("ladybug") is None,
    reason="ladybug is not installed (pip install graphiam[ladybug])",
)


def _load(db: Path, engine: str) -> None:
    r = run_cli("load", str(SEEDS / "demo-org.json"), "--engine", engine, db=db)
    assert r.returncode == 0, r.stderr


def _answers(db: Path, engine: str) -> tuple[str, str]:
    """What the database answers: its findings report and the paths to an admin, as the CLI prints them."""
    report = run_cli("report", "--engine", engine, "--json", db=db)
    assert report.returncode == 0, report.stderr
    paths = run_cli(
        "paths", "--engine", engine, "--from", "arn:aws:iam::111111111111:user/engineering/bob", db=db
    )
    return report.stdout, paths.stdout + str(paths.returncode)


@needs_ladybug
@pytest.mark.parametrize("start", ENGINES)
def test_migrate_there_and_back_keeps_every_row_and_answer(tmp_path, start):
    other = next(e for e in ENGINES if e != start)
    src, there, back = tmp_path / "src", tmp_path / "there", tmp_path / "back"
    _load(src, start)
    beside = (".tokens.json", ".tokens-used.json", ".audit.jsonl")  # tokens, their last use, the audit log
    (Path(f"{src}.tokens.json")).write_text(json.dumps({"tokens": []}))
    (Path(f"{src}.tokens-used.json")).write_text(json.dumps({"lastUsed": {}}))
    (Path(f"{src}.audit.jsonl")).write_text(json.dumps({"id": "1", "operation": "createUser"}) + "\n")
    r = run_cli("migrate", "--to", other, str(src), str(there), db=src)
    assert r.returncode == 0, r.stderr
    assert f"({start}) -> {there} ({other})" in r.stderr and "row count matches" in r.stderr
    assert marker_path(there).read_text().strip() == other
    for suffix in beside:
        assert Path(f"{there}{suffix}").read_text() == Path(f"{src}{suffix}").read_text()
    assert _answers(there, other) == _answers(src, start)
    r = run_cli("migrate", "--to", start, str(there), str(back), db=there)
    assert r.returncode == 0, r.stderr
    assert _answers(back, start) == _answers(src, start)


def test_migrate_refuses_an_existing_target_and_a_missing_source(tmp_path):
    src = tmp_path / "src"
    _load(src, "kuzu")
    (tmp_path / "dst").write_bytes(b"keep")
    r = run_cli("migrate", "--to", "ladybug", str(src), str(tmp_path / "dst"), db=src)
    assert r.returncode != 0 and "already exists" in r.stderr
    assert (tmp_path / "dst").read_bytes() == b"keep"
    r = run_cli("migrate", "--to", "ladybug", str(tmp_path / "nope"), str(tmp_path / "new"), db=src)
    assert r.returncode != 0 and "no database at" in r.stderr and not (tmp_path / "new").exists()


def test_a_failed_migration_leaves_no_target(tmp_path, monkeypatch):
    """All or nothing: when the import step fails after the target was created, the target is removed."""
    src, dst = tmp_path / "src", tmp_path / "dst"
    _load(src, "kuzu")
    real = store_migrate._child

    def failing(step, path, directory, engine):
        if step == "import":
            path.write_bytes(b"half a database")
            marker_path(path).write_text(engine)
            raise StoreError("import failed")
        return real(step, path, directory, engine)

    monkeypatch.setattr(store_migrate, "_child", failing)
    with pytest.raises(StoreError, match="import failed"):
        store_migrate.migrate_database(src, dst, to="kuzu")
    assert not dst.exists() and not marker_path(dst).exists()


def test_row_counts_that_differ_fail_the_migration(tmp_path, monkeypatch):
    src, dst = tmp_path / "src", tmp_path / "dst"
    _load(src, "kuzu")
    real = store_migrate._child

    def lossy(step, path, directory, engine):
        counts = real(step, path, directory, engine)
        if step == "import":
            counts["edges"]["MEMBER_OF"] -= 1
        return counts

    monkeypatch.setattr(store_migrate, "_child", lossy)
    with pytest.raises(StoreError, match="row counts differ after the copy in MEMBER_OF"):
        store_migrate.migrate_database(src, dst, to="kuzu")
    assert not dst.exists()


def test_the_copy_runs_in_child_processes():
    """The engines cannot share a process, so neither step runs in the caller's."""
    r = subprocess.run(
        [sys.executable, "-m", "graphiam.store.migrate", "bogus", "a", "b"], capture_output=True, text=True
    )
    assert r.returncode != 0 and "unknown step bogus" in r.stderr
