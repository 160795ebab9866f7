"""The import history of one database: what each `graphiam load` recorded, and the summaries `diff` compares.

An import is named by its id (1, 2, …), or by `LATEST` (the newest) or `PREVIOUS` (the one before it). The
database "now" is the newest import's summary while nothing was written after it (`history_store` keeps the
mark a mutation leaves); after a mutation it is computed from the graph.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from graphiam.errors import InputError, NotFoundError
from graphiam.queries.drift import Drift, Side, compare
from graphiam.queries.summary import DEFAULT_SENSITIVE, SensitiveSpec, Summary, decode, summarise
from graphiam.store import Database
from graphiam.store import history_store as H

PREVIOUS = "PREVIOUS"
LATEST = "LATEST"


@dataclass(frozen=True, kw_only=True)
class ImportInfo:
    id: int
    at: str
    files: tuple[dict[str, Any], ...]  # {name, bytes, sha256}
    accounts: tuple[str, ...]
    counts: dict[str, int]
    warnings: tuple[str, ...]


def _info(row: H.ImportRow) -> ImportInfo:
    return ImportInfo(
        id=row.id,
        at=row.at,
        files=tuple(json.loads(row.files)),
        accounts=row.accounts,
        counts=json.loads(row.counts),
        warnings=row.warnings,
    )


def imports(db: Database) -> list[ImportInfo]:
    """Every recorded import, oldest first."""
    return [_info(r) for r in H.imports(db)]


def changed_after_latest(db: Database) -> str | None:
    """When a mutation first changed the graph after the newest import (None: it is as that load left it)."""
    return H.changed_after_import(db)


def resolve(db: Database, ref: str | int) -> ImportInfo:
    """The import `ref` names: an id, `LATEST` or `PREVIOUS` (case-insensitive)."""
    rows = H.imports(db)
    if not rows:
        raise NotFoundError("no import recorded in this database: `graphiam load` records one")
    text = str(ref).strip()
    if text.upper() == LATEST:
        return _info(rows[-1])
    if text.upper() == PREVIOUS:
        if len(rows) < 2:
            raise NotFoundError(
                f"only one import is recorded (id {rows[-1].id}): there is no previous one to compare with"
            )
        return _info(rows[-2])
    if not text.isdigit():
        raise InputError(f"`{text}` is not an import id, {PREVIOUS} or {LATEST}")
    for r in rows:
        if r.id == int(text):
            return _info(r)
    raise NotFoundError(f"no import with id {text} (ids {rows[0].id} to {rows[-1].id}; `graphiam history`)")


def stored_summary(db: Database, import_id: int) -> Summary:
    text = H.import_summary(db, import_id)
    if text is None:
        raise NotFoundError(f"no import with id {import_id}")
    return decode(text)


def latest(db: Database) -> tuple[ImportInfo, Summary] | None:
    rows = H.imports(db)
    if not rows:
        return None
    return _info(rows[-1]), stored_summary(db, rows[-1].id)


def current_summary(
    db: Database, *, sensitive: Sequence[SensitiveSpec] = DEFAULT_SENSITIVE
) -> tuple[Summary, ImportInfo | None]:
    """The summary of the database as it is, and the import it is the summary of (None: computed, because a
    mutation changed the graph after the newest import, or there is none, or the sensitive actions differ)."""
    with db.read_transaction():
        newest = latest(db)
        changed = H.changed_after_import(db)
    if newest is not None and changed is None and tuple(sensitive) == DEFAULT_SENSITIVE:
        return newest[1], newest[0]
    return summarise(db, previous=newest[1] if newest else None, sensitive=sensitive), None


def changes_since(
    db: Database, ref: str | int = PREVIOUS, *, sensitive: Sequence[SensitiveSpec] = DEFAULT_SENSITIVE
) -> Drift:
    """What changed from import `ref` (an id, PREVIOUS, LATEST) to the database now."""
    with db.read_transaction():
        imp = resolve(db, ref)
        old = stored_summary(db, imp.id)
    new, newest = current_summary(db, sensitive=sensitive)
    name = db.path or "(in memory)"
    return compare(
        old,
        new,
        old_side=Side(kind="import", name=name, import_id=imp.id, at=imp.at),
        new_side=Side(
            kind="import" if newest is not None else "database",
            name=name,
            import_id=newest.id if newest else None,
            at=newest.at if newest else None,
        ),
    )
