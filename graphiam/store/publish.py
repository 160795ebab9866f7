"""Copies of a database that other processes open read-only: `graphiam snapshot` and the generations a
`graphiam serve --workers N` writer publishes to its reader processes.

The engine lets one process open a database file read-write and then refuses every other process, readers
included; read-only opens of one file by several processes coexist (docs/ENGINE.md, "The engine's file
lock"). So readers never open the file a writer holds: they open a copy of it. A copy of the file is a copy
of the database once its write-ahead log is checkpointed into it and no write runs (`Database.checkpoint`
under `write_lock`; the same fact `store/durability.py` relies on).

A published generation (`Publisher`): `<db>.generations/<n>` (the file), `<n>.engine` (its engine marker)
and an empty `<n>.lock` (so that a reader's shared lock creates nothing), written under a temporary name
and renamed, then `<db>.generations/current` (JSON `{"generation": n}`) replaced atomically. A reader reads
`current` and opens `<n>` read-only; its open holds a shared lock on `<n>.lock`, so `prune` removes only the
generations no process has open (it takes the lock exclusively first). A reader that read `current` just
before its generation was pruned fails to open it and reads `current` again (`open_published`).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from graphiam.errors import StoreError
from graphiam.store import durability
from graphiam.store.db import Database
from graphiam.store.engine import marker_path

log = logging.getLogger("graphiam")
GENERATIONS = ".generations"
CURRENT = "current"
DB_NAME = "db"  # the database file in a snapshot directory
OPEN_ATTEMPTS = 5
T = TypeVar("T")


def generations_dir(db_path: str | Path) -> Path:
    """Where the generations of the database at `db_path` are published."""
    return Path(f"{db_path}{GENERATIONS}")


def copy_database(db: Database, dest: str | Path) -> Path:
    """A consistent copy of the open database `db` at `dest` (a file path; its engine marker and an empty
    lock file beside it), written under a temporary name and renamed: all or nothing. Read-write: the
    write-ahead log is checkpointed and the file copied holding `write_lock` (no write runs meanwhile).
    Read-only: no process writes the file (the engine's lock), so it is copied with its log, if any."""
    if db.path is None:
        raise StoreError("an in-memory database has no file to copy")
    dest = Path(dest)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    try:
        if db.read_only:
            _copy_files(Path(db.path), tmp)
        else:
            with db.write_lock:
                db.checkpoint()
                _copy_files(Path(db.path), tmp)
        for suffix in (".wal", ".engine"):
            src = Path(f"{tmp}{suffix}")
            if src.exists():
                os.replace(src, f"{dest}{suffix}")
        Path(f"{dest}{durability.LOCK}").touch()
        os.replace(tmp, dest)
    finally:
        for p in (tmp, Path(f"{tmp}.wal"), Path(f"{tmp}.engine")):
            p.unlink(missing_ok=True)
    return dest


def _copy_files(src: Path, dest: Path) -> None:
    shutil.copyfile(src, dest)
    wal = Path(f"{src}.wal")
    if wal.exists() and wal.stat().st_size > 0:
        shutil.copyfile(wal, f"{dest}.wal")
    marker = marker_path(src)
    if marker.exists():
        shutil.copyfile(marker, marker_path(dest))


def read_current(root: str | Path) -> int | None:
    """The generation `current` names in the directory `root` (None: nothing published yet)."""
    try:
        value = json.loads(Path(root, CURRENT).read_text())["generation"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return value if isinstance(value, int) else None


def generation_path(root: str | Path, n: int) -> Path:
    return Path(root, str(n))


class Publisher:
    """The writer's side: publish the database's current state as the next generation (numbers go on from
    what `current` named, across restarts), and prune the generations nobody has open."""

    def __init__(self, db_path: str | Path) -> None:
        self.root = generations_dir(Path(db_path).resolve())
        self.number = read_current(self.root) or 0

    def publish(self, db: Database) -> int:
        """Copy `db` as the next generation and point `current` at it; its number."""
        self.root.mkdir(parents=True, exist_ok=True)
        with db.write_lock:
            n = self.number + 1
            copy_database(db, generation_path(self.root, n))
            tmp = Path(self.root, f".{CURRENT}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps({"generation": n}) + "\n")
            os.replace(tmp, Path(self.root, CURRENT))
            self.number = n
        self.prune()
        return n

    def after_write(self, db: Database) -> None:
        """`Database.after_write` hook: publish, logging a failure (the write is committed; readers stay on
        the previous generation until the next write publishes)."""
        try:
            self.publish(db)
        except Exception:  # noqa: BLE001 - a hook must not raise; logged
            log.warning("could not publish generation %d to readers", self.number + 1, exc_info=True)

    def prune(self) -> list[int]:
        """Remove every generation but the current one that no process has open; the numbers removed."""
        current = read_current(self.root)
        removed = []
        for n in sorted(_numbers(self.root)):
            if n == current:
                continue
            if _remove_unused(generation_path(self.root, n)):
                removed.append(n)
        return removed


def _numbers(root: Path) -> set[int]:
    out = set()
    with contextlib.suppress(FileNotFoundError):
        for p in root.iterdir():
            head = p.name.split(".", 1)[0]
            if head.isdigit():
                out.add(int(head))
    return out


def _remove_unused(path: Path) -> bool:
    """Remove the generation at `path` (and the files beside it) unless a process holds its lock."""
    lock = Path(f"{path}{durability.LOCK}")
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        return False
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # a reader has it open
        for p in (path, Path(f"{path}.wal"), marker_path(path), lock):
            p.unlink(missing_ok=True)
        return True
    finally:
        os.close(fd)


def open_published(root: str | Path, opener: Callable[[Path], T]) -> tuple[int, T]:
    """`opener(path)` of the current generation in `root` and its number; reads `current` again when the
    generation went away between reading it and opening it (pruned: a newer one was published)."""
    problem = "nothing published"
    for _ in range(OPEN_ATTEMPTS):
        n = read_current(root)
        if n is None:
            break
        path = generation_path(root, n)
        if not path.exists():
            problem = f"generation {n} is gone"
            continue
        try:
            return n, opener(path)
        except StoreError as exc:
            problem = str(exc)
            if path.exists() and read_current(root) == n:
                raise
    raise StoreError(f"no generation to read in `{root}`: {problem}")
