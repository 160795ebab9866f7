"""A write to a database file is all or nothing even when the process is killed: the previous generation of
the file is kept beside it until the new one is complete on disk.

Why: kuzu 0.11.3 does not commit a transaction that COPYed atomically. Killed while its COMMIT runs, the
database reopens with the transaction's other writes and without the COPYed rows (docs/ENGINE.md, "A COMMIT
with a COPY is not crash-atomic"), and every load and every change COPYs (the derived edges at least).

How (`Database.transaction` does it for a database in a file):

1. `keep_previous`: the file, whose write-ahead log has been checkpointed into it, is copied to
   `<db>.prev.partial`, flushed, and renamed to `<db>.prev` (one atomic rename: a `.prev` is always whole);
2. the transaction runs in place and commits; its write-ahead log is checkpointed into the file and the file
   flushed, so the file alone holds the new generation;
3. `drop_previous`: `<db>.prev` is removed (and the directory flushed). Only then does the caller hear that
   the write happened.

A write that fails after a COPY puts `<db>.prev` back at once instead of step 3 (`Database._put_back_previous`
closes the engine, `restore_previous`, opens it again): neither engine rolls a COPY into non-empty tables back
safely (docs/ENGINE.md), and the file as it was is at hand. So a load needs no rehearsal on a copy of the
database.

A kill before step 3 leaves `<db>.prev`; the next open puts it back (`restore_previous`: the engine's log of
the unfinished write is removed, then `<db>.prev` renamed over the file), so the database opens exactly as it
was before the write. A kill after step 3 leaves the new generation. `restore_previous` runs before the engine
opens the file (a half-committed file is never read) and only under `lock`, graphiam's own lock on the
database (`<db>.lock`): a `.prev` is only stale when no other process has the database open.

The engine keeps a database as one file; while it is open, and while it checkpoints, it also keeps `<db>.wal`
and `<db>.shadow` beside it (LadybugDB also `<db>.wal.checkpoint` and `<db>.checkpoint.*.lock`): all of them
go before a previous file is put back. The engine marker `<db>.engine` (store/engine.py) names the engine
of the file at `<db>`, which neither step changes.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
from pathlib import Path

from graphiam.errors import StoreError

PREVIOUS = ".prev"
PARTIAL = ".prev.partial"
LOCK = ".lock"
# what the engine keeps beside the file while it is open or checkpointing, by the start of the name after
# `<db>`: `.wal` and `.shadow` (kuzu), also `.wal.checkpoint` and `.checkpoint.*.lock` (LadybugDB)
ENGINE_LOG = (".wal", ".shadow", ".checkpoint")


def previous_path(path: str | Path) -> Path:
    """Where the previous generation of the database at `path` is kept while a write runs."""
    return Path(f"{path}{PREVIOUS}")


def engine_log(path: str | Path) -> list[Path]:
    """The engine's files beside the database at `path`: write-ahead log, shadow pages, checkpoint locks."""
    db = Path(path)
    return sorted(
        p
        for p in db.parent.iterdir()
        if p.name.startswith(db.name) and p.name[len(db.name) :].startswith(ENGINE_LOG)
    )


def pending_log(path: str | Path) -> bool:
    """True when the engine's write-ahead log beside `path` holds something not yet in the file."""
    wal = Path(f"{path}.wal")
    return wal.exists() and wal.stat().st_size > 0


def lock(path: str | Path, *, exclusive: bool) -> int | None:
    """Take graphiam's lock on the database at `path` (`<db>.lock`; exclusive for a read-write open, shared
    for a read-only one, as the engine's own lock) without waiting; returns the descriptor that holds it
    (`unlock` releases it), or None for a read-only open where the lock file can be neither made nor read
    (a read-only copy: nobody writes there). `StoreError` when another process holds the lock in a way that
    excludes this one, or when a read-write open cannot make the lock file."""
    name = f"{path}{LOCK}"
    try:
        fd = os.open(name, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        if exclusive:
            raise StoreError(f"cannot open database `{path}`: cannot make `{name}`: {exc.strerror}") from None
        try:
            fd = os.open(name, os.O_RDONLY)
        except OSError:
            return None
    try:
        fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise StoreError(  # "set lock" as the engine says it: the command line recognises both by it
            f"cannot open database `{path}`: could not set lock on `{path}{LOCK}`: another process has it "
            f"open{'' if exclusive else ' for writing'}"
        ) from None
    except BaseException:
        os.close(fd)
        raise
    return fd


def relock(fd: int, *, exclusive: bool) -> None:
    """Turn the lock held on `fd` into an exclusive or a shared one (without waiting)."""
    try:
        fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
    except BlockingIOError:
        raise StoreError("cannot recover the database: another process has it open") from None


def unlock(fd: int) -> None:
    with contextlib.suppress(OSError):
        fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)


def flush_file(path: str | Path) -> None:
    """Make the content of the file at `path` durable (fsync)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def flush_directory(path: str | Path) -> None:
    """Make the names in the directory at `path` durable (a rename or an unlink survives a power loss only
    then)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def restore_previous(path: str | Path) -> bool:
    """Undo a write that a killed process left unfinished: when `<db>.prev` exists, remove the engine's log
    of the unfinished write, then rename `<db>.prev` over the file. Also removes a half-made copy
    (`<db>.prev.partial`). Returns True when a write was undone. Call it holding the exclusive `lock`, before
    the engine opens the file. Killed midway, it is simply done again at the next open."""
    Path(f"{path}{PARTIAL}").unlink(missing_ok=True)
    previous = previous_path(path)
    if not previous.exists():
        return False
    for p in engine_log(path):  # first: a log left beside the restored file would replay onto it
        p.unlink(missing_ok=True)
    os.replace(previous, path)
    flush_directory(Path(path).parent)
    return True


def keep_previous(path: str | Path) -> None:
    """Step 1: keep a whole copy of the file at `path` as `<db>.prev` (the file must hold every committed
    write: no `pending_log`, and no write running)."""
    if pending_log(path):
        raise StoreError(f"database `{path}` has a write-ahead log not yet in its file: checkpoint it first")
    partial = Path(f"{path}{PARTIAL}")
    shutil.copyfile(path, partial)
    flush_file(partial)
    os.replace(partial, previous_path(path))
    flush_directory(Path(path).parent)


def drop_previous(path: str | Path) -> None:
    """Step 3: the file at `path` holds the finished write (its log checkpointed into it): flush it and
    remove `<db>.prev`."""
    flush_file(path)
    previous_path(path).unlink(missing_ok=True)
    flush_directory(Path(path).parent)
