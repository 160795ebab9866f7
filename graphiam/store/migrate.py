"""Copy a database from one engine to the other (kuzu ⇄ LadybugDB), all or nothing.

The two engines cannot share a process (`graphiam.store.engine`), so the copy runs in two child processes
(`python -m graphiam.store.migrate export|import`): the first opens the source read-only with the engine that
made it and writes every table with `clone.table_copies` (the rows `clone_database` copies) as Arrow IPC files
plus a manifest; the second creates the destination with the other engine and loads the files with `COPY`
in one transaction. The row counts of every table must then match, else the destination is removed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from graphiam.errors import StoreError
from graphiam.store.clone import row_counts, table_copies
from graphiam.store.engine import ENGINE_ENV, engine_name, marker_path, recorded_engine

MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Migration:
    """What `migrate_database` copied: the engines and the rows per table (equal in source and copy)."""

    source_engine: str
    target_engine: str
    counts: dict[str, dict[str, int]]  # "nodes" / "edges" -> table -> rows

    @property
    def nodes(self) -> int:
        """Nodes copied."""
        return sum(self.counts["nodes"].values())

    @property
    def edges(self) -> int:
        """Relationships copied."""
        return sum(self.counts["edges"].values())


def export_tables(path: str | Path, directory: Path) -> dict[str, dict[str, int]]:
    """Write every table of the database at `path` into `directory`; returns its row counts."""
    from graphiam.store import open_database

    db = open_database(path, read_only=True)
    try:
        files = []
        with db.read_transaction():
            for i, (table, pair, data) in enumerate(table_copies(db)):
                name = f"{i:04d}-{table}.arrow"
                with pa.OSFile(str(directory / name), "wb") as sink, pa.ipc.new_file(sink, data.schema) as w:
                    w.write_table(data)
                files.append({"table": table, "rel_pair": pair, "file": name, "rows": data.num_rows})
            counts = row_counts(db)
    finally:
        db.close()
    (directory / MANIFEST).write_text(json.dumps({"files": files, "counts": counts}), encoding="utf-8")
    return counts


def import_tables(path: str | Path, directory: Path) -> dict[str, dict[str, int]]:
    """Create the database at `path` and load the files `export_tables` wrote; returns its row counts."""
    from graphiam.store import open_database

    manifest = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
    db = open_database(path)
    try:
        with db.transaction():
            for f in manifest["files"]:
                with pa.memory_map(str(directory / f["file"]), "r") as source:
                    data = pa.ipc.open_file(source).read_all()
                pair = (str(f["rel_pair"][0]), str(f["rel_pair"][1])) if f["rel_pair"] else None
                db.copy_from(f["table"], data, rel_pair=pair)
        return row_counts(db)
    finally:
        db.close()


def remove_database(path: str | Path) -> None:
    """Remove a database and the files beside it (its write-ahead log and engine marker)."""
    p = Path(path)
    if p.is_dir():
        shutil.rmtree(p, ignore_errors=True)
    for f in (p, Path(f"{p}.wal"), marker_path(p)):
        if f.is_file():
            f.unlink()


def _child(step: str, path: Path, directory: Path, engine: str) -> dict[str, dict[str, int]]:
    env = {**os.environ, ENGINE_ENV: engine}
    r = subprocess.run(
        [sys.executable, "-m", "graphiam.store.migrate", step, str(path), str(directory)],
        capture_output=True,
        text=True,
        env=env,
    )
    if r.returncode != 0:
        lines = [ln for ln in r.stderr.strip().splitlines() if ln.strip()]
        raise StoreError(f"migrate: {step} with {engine} failed: {lines[-1] if lines else r.returncode}")
    counts: dict[str, dict[str, int]] = json.loads(r.stdout)
    return counts


def migrate_database(source: str | Path, target: str | Path, *, to: str) -> Migration:
    """Copy the database at `source` into a new database at `target` made by engine `to`; all or nothing
    (`target` is removed when anything fails or a table's row count differs)."""
    to = engine_name(to)
    source, target = Path(source), Path(target)
    made_by = recorded_engine(source)
    if made_by is None:
        raise StoreError(f"no database at {source}")
    if target.exists() or marker_path(target).exists():
        raise StoreError(f"{target} already exists: migrate writes a new database")
    if source.resolve() == target.resolve():
        raise StoreError("migrate needs a new path for the copy")
    try:
        with tempfile.TemporaryDirectory(prefix="graphiam-migrate-") as tmp:
            want = _child("export", source, Path(tmp), made_by)
            got = _child("import", target, Path(tmp), to)
        if got != want:
            diff = sorted(
                t
                for kind in ("nodes", "edges")
                for t in set(want[kind]) | set(got[kind])
                if want[kind].get(t) != got[kind].get(t)
            )
            raise StoreError(f"migrate: row counts differ after the copy in {', '.join(diff)}")
    except BaseException:
        remove_database(target)
        raise
    return Migration(source_engine=made_by, target_engine=to, counts=got)


def main(argv: list[str] | None = None) -> int:
    """The child processes of `migrate_database`: `export DB DIR` or `import DB DIR`; prints the row counts
    as JSON."""
    step, path, directory = argv if argv is not None else sys.argv[1:]
    if step == "export":
        counts = export_tables(path, Path(directory))
    elif step == "import":
        counts = import_tables(path, Path(directory))
    else:
        raise SystemExit(f"unknown step {step}")
    print(json.dumps(counts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
