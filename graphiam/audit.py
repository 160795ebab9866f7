"""The audit log: who ran which mutation, when, with what, dry or not, and how it ended.

It is a file of JSON lines beside the database (`<db>.audit.jsonl`, mode 0600), only ever appended to, never
the database itself: `graphiam audit` reads it while a server holds the database open, and neither a refused
nor a dry-run mutation (which write nothing to the database) needs a write transaction to be recorded.

A mutation that runs writes two lines, each with one `write` on a file opened for appending: a `begin` line
before its transaction starts (who, when, the operation, a summary of its arguments, dry run or not), synced
to the disk (`fdatasync`) before the transaction may start, and an `end` line once it is over (`ok`, `refused`
with the reasons, or `failed`). So every change that can have committed was recorded, on disk, before it
did. The `end` line is not synced on its own (one sync per mutation, beside the database's own): a killed
process loses nothing it wrote, and the next mutation's sync carries it to the disk; only a power loss right
after it can lose it. A mutation without its `end` line reads as `unfinished`: the database holds either all
of it or none of it, and the graph tells which. A mutation refused before it runs (no admin token) writes a
single line, outcome `refused`, unsynced.

A line cut short by a crash has no newline: the next append starts on a new line, and readers skip any line
that is not a whole JSON object. Entries are read back folded (the begin line completed by its end line), in
the order they began; `AuditLog` keeps what it has read and reads only what was appended since.
"""

from __future__ import annotations

import enum
import hashlib
import json
import os
import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["AuditEntry", "AuditLog", "Outcome", "audit_file_for", "summarize"]

STRING_LIMIT = 300  # characters of one string argument kept in an entry
JSON_LIMIT = 2000  # characters of a JSON argument (a policy document) kept whole; bigger ones are summarized
DETAIL_LIMIT = 1000  # characters of an entry's detail (refusal reasons, what was applied)
MAX_KEYS = 50  # keys of one object, items of one list, kept in a summary


class Outcome(enum.Enum):
    OK = "ok"  # applied (a dry run: would apply)
    REFUSED = "refused"  # nothing written: no permission, bad input, a limit
    FAILED = "failed"  # nothing written: an unexpected error (the server log has the traceback)
    UNFINISHED = "unfinished"  # began, not ended: still running, or the server stopped while it ran


@dataclass(frozen=True, kw_only=True)
class AuditEntry:
    """One mutation as the log tells it. `seq` is its position in the log (0: the first ever)."""

    seq: int
    id: str
    at: str  # when it began (UTC, ISO 8601, milliseconds)
    who: str  # the token's name (`anonymous`, or the open mode's name, without one)
    token_id: str | None
    role: str
    operation: str
    arguments: Any  # `summarize`d
    dry_run: bool
    outcome: Outcome
    detail: str | None = None
    finished: str | None = None


def audit_file_for(db_path: str | os.PathLike[str]) -> Path:
    """The audit log of a database: `<db>.audit.jsonl` beside its token file."""
    p = Path(db_path)
    return p.with_name(p.name + ".audit.jsonl")


def now_text() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} characters)"


def summarize(value: Any, depth: int = 0) -> Any:
    """`value` (a mutation's arguments) small enough to keep: strings clipped, a JSON value whose text is long
    (a policy document, an export) kept whole up to `JSON_LIMIT` characters, else opened a few levels with its
    big parts replaced by their size and SHA-256 (enough to tell which document it was)."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return _clip(value, STRING_LIMIT)
    if isinstance(value, enum.Enum):
        return summarize(value.value, depth)
    if not isinstance(value, Mapping | list | tuple):
        return _clip(str(value), STRING_LIMIT)
    text = json.dumps(value, default=str, separators=(",", ":"), sort_keys=True)
    if len(text) <= JSON_LIMIT and not _has_long_string(value):
        return json.loads(text)
    if isinstance(value, Mapping) and depth < 3 and len(value) <= MAX_KEYS:
        return {str(k): summarize(v, depth + 1) for k, v in value.items()}
    kind = "object" if isinstance(value, Mapping) else "list"
    return {
        "summarized": f"{kind} of {len(value)} entries, {len(text)} characters",
        "sha256": hashlib.sha256(text.encode()).hexdigest(),
    }


def _has_long_string(value: Any) -> bool:
    if isinstance(value, str):
        return len(value) > STRING_LIMIT
    if isinstance(value, Mapping):
        return any(_has_long_string(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_has_long_string(v) for v in value)
    return False


class AuditLog:
    """Appends entries to the log file and reads them back (thread-safe; one process writes at a time, as the
    database allows one server)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._entries: list[AuditEntry] = []
        self._index: dict[str, int] = {}  # entry id -> position in `_entries`
        self._offset = 0  # bytes of the file folded into `_entries`
        self._inode: int | None = None

    # ---- writing ----

    def begin(
        self,
        *,
        who: str,
        token_id: str | None,
        role: str,
        operation: str,
        arguments: Any,
        dry_run: bool,
    ) -> str:
        """Record that a mutation starts; returns the id `end` takes. On the disk when it returns."""
        entry_id = secrets.token_hex(8)
        self._append(
            {
                "id": entry_id,
                "at": now_text(),
                "who": who,
                "tokenId": token_id,
                "role": role,
                "operation": operation,
                "arguments": summarize(arguments),
                "dryRun": dry_run,
                "outcome": "started",
            },
            durable=True,
        )
        return entry_id

    def end(self, entry_id: str, outcome: Outcome, detail: str | None = None) -> None:
        """Record how the mutation `entry_id` ended (written, not synced: see the module's docstring)."""
        line = {"id": entry_id, "finished": now_text(), "outcome": outcome.value}
        if detail:
            line["detail"] = _clip(detail, DETAIL_LIMIT)
        self._append(line, durable=False)

    def refused(
        self,
        *,
        who: str,
        token_id: str | None,
        role: str,
        operation: str,
        arguments: Any,
        dry_run: bool,
        detail: str,
    ) -> None:
        """Record a mutation refused before it ran (one line; not synced: it changed nothing, and a caller
        without permission must not be able to make the server wait on the disk)."""
        at = now_text()
        self._append(
            {
                "id": secrets.token_hex(8),
                "at": at,
                "who": who,
                "tokenId": token_id,
                "role": role,
                "operation": operation,
                "arguments": summarize(arguments),
                "dryRun": dry_run,
                "outcome": Outcome.REFUSED.value,
                "detail": _clip(detail, DETAIL_LIMIT),
                "finished": at,
            },
            durable=False,
        )

    def _append(self, line: Mapping[str, Any], *, durable: bool) -> None:
        data = (json.dumps(line, ensure_ascii=False, separators=(",", ":"), default=str) + "\n").encode()
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                size = os.fstat(fd).st_size
                if size and os.pread(fd, 1, size - 1) != b"\n":  # a line cut short by a crash: start anew
                    data = b"\n" + data
                written = os.write(fd, data)  # one write: O_APPEND puts it whole at the end
                if written != len(data):
                    raise OSError(f"{self.path}: short write to the audit log")
                if durable:
                    os.fdatasync(fd)  # the data and the size it needs: an append's metadata
            finally:
                os.close(fd)

    # ---- reading ----

    def entries(self) -> list[AuditEntry]:
        """Every entry, in the order they began (the caller must not change the list)."""
        with self._lock:
            self._catch_up()
            return list(self._entries)

    def page(
        self,
        *,
        first: int,
        before: int | None = None,
        keep: Callable[[AuditEntry], bool] | None = None,
    ) -> tuple[list[AuditEntry], int]:
        """Up to `first` entries that `keep`, newest first, older than position `before` when given; and how
        many entries `keep` in all."""
        entries = self.entries()
        kept = entries if keep is None else [e for e in entries if keep(e)]
        older = kept if before is None else [e for e in kept if e.seq < before]
        return older[::-1][:first], len(kept)

    def _catch_up(self) -> None:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            self._reset(None)
            return
        if st.st_ino != self._inode or st.st_size < self._offset:  # replaced or cut: read it all again
            self._reset(st.st_ino)
        if st.st_size == self._offset:
            return
        with self.path.open("rb") as f:
            f.seek(self._offset)
            chunk = f.read(st.st_size - self._offset)
        whole = chunk.rfind(b"\n") + 1  # an unfinished last line waits for its newline
        for raw in chunk[:whole].splitlines():
            self._fold(raw)
        self._offset += whole

    def _reset(self, inode: int | None) -> None:
        self._entries, self._index, self._offset, self._inode = [], {}, 0, inode

    def _fold(self, raw: bytes) -> None:
        try:
            line = json.loads(raw)
            if not isinstance(line, dict):
                return
            entry_id = str(line["id"])
        except (ValueError, KeyError, TypeError):
            return  # a line cut short by a crash (or not written by graphiam): skipped
        at = self._index.get(entry_id)
        if at is not None:  # the end line of a mutation that began earlier
            self._entries[at] = replace(
                self._entries[at],
                outcome=_outcome(line.get("outcome")),
                detail=_text(line.get("detail")),
                finished=_text(line.get("finished")),
            )
            return
        if "operation" not in line:
            return  # an end line whose begin line is lost
        outcome = line.get("outcome")
        self._index[entry_id] = len(self._entries)
        self._entries.append(
            AuditEntry(
                seq=len(self._entries),
                id=entry_id,
                at=str(line.get("at", "")),
                who=str(line.get("who", "")),
                token_id=_text(line.get("tokenId")),
                role=str(line.get("role", "")),
                operation=str(line["operation"]),
                arguments=line.get("arguments"),
                dry_run=bool(line.get("dryRun", False)),
                outcome=Outcome.UNFINISHED if outcome == "started" else _outcome(outcome),
                detail=_text(line.get("detail")),
                finished=_text(line.get("finished")),
            )
        )


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _outcome(value: Any) -> Outcome:
    try:
        return Outcome(value)
    except ValueError:
        return Outcome.UNFINISHED
