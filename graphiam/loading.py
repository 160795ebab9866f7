"""Loading files into the graph: GAAD exports and credential reports, all or nothing.

Everything is read and checked in memory first (pure ingest); only then does one write transaction
touch the database, so a bad file leaves the database exactly as it was.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from graphiam.errors import IngestError
from graphiam.ingest.gaad import read_gaad_file
from graphiam.model import AccountExport
from graphiam.store import Database
from graphiam.store.writer import load_exports

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True, kw_only=True)
class LoadSummary:
    accounts: tuple[str, ...]
    users: int
    groups: int
    roles: int
    managed_policies: int
    inline_policies: int
    credential_rows: int
    warnings: tuple[str, ...]

    def lines(self) -> list[str]:
        out = [f"loaded {len(self.accounts)} account(s) {', '.join(self.accounts)}: {self.users} users, "
               f"{self.groups} groups, {self.roles} roles, {self.managed_policies} managed policies, "
               f"{self.inline_policies} inline policies"]
        if self.credential_rows:
            out.append(f"applied {self.credential_rows} credential-report row(s)")
        out += [f"warning: {w}" for w in self.warnings]
        return out


def _check_document(text: str, where: str) -> None:
    """Parse a document with the policy engine so a broken one is refused at load time."""
    from graphiam.policy import parse_policy
    parse_policy(text, where=where)


def _credential_rows(path: Path) -> list[dict]:
    from graphiam.ingest.credential_report import parse_credential_report
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise IngestError(f"cannot read file: {exc}", source=str(path)) from None
    rows = []
    for f in parse_credential_report(text, source=str(path)):
        if getattr(f, "is_root", False):
            continue
        rows.append({"arn": f.arn, "password_enabled": f.password_enabled,
                     "password_last_used": f.password_last_used, "mfa_active": f.mfa_active,
                     "access_keys_active": int(getattr(f, "access_keys_active", 0) or 0)})
    return rows


def read_files(paths: Sequence[str | os.PathLike[str]], *, progress: Progress | None = None,
               ) -> tuple[list[AccountExport], list[dict]]:
    """Read GAAD exports (`.json`) and credential reports (`.csv`) into memory, checking everything."""
    exports, creds = [], []
    step = progress or (lambda *_: None)
    for i, p in enumerate(paths):
        path = Path(p)
        step(f"reading {path.name}", i, len(paths))
        if path.suffix.lower() == ".csv":
            creds += _credential_rows(path)
        else:
            exports.append(read_gaad_file(path, check_document=_check_document))
    step("read", len(paths), len(paths))
    seen: dict[str, str] = {}
    for e in exports:
        if e.account_id in seen:
            raise IngestError(f"account `{e.account_id}` is also in `{seen[e.account_id]}`: load one file per account",
                              source=e.source)
        seen[e.account_id] = e.source
    return exports, creds


def load_files(db: Database, paths: Sequence[str | os.PathLike[str]], *,
               progress: Progress | None = None) -> LoadSummary:
    """Read, check and load files in one transaction. Raises `IngestError` with nothing written."""
    exports, creds = read_files(paths, progress=progress)
    if not exports and not creds:
        raise IngestError("no files to load")
    known_users = {u.arn for e in exports for u in e.users}
    from graphiam.queries.derived import refresh_derived
    from graphiam.store import reader

    def apply(target: Database) -> None:
        load_exports(target, exports, credential_facts=creds, progress=progress,
                     after=refresh_derived)

    if not reader.is_empty(db):
        # kuzu 0.11.3 cannot roll back a transaction that COPYed into non-empty relationship tables (it drops their
        # committed rows and can leave primary-key lookups broken; tests/store/test_loading.py). So a load into a
        # database that holds data first runs, completely, on a private copy: any failure there leaves the real
        # database untouched, and what remains to go wrong in the real run is the machine, not the data.
        from graphiam.store.clone import clone_database
        copy = clone_database(db)
        try:
            apply(copy)
        finally:
            copy.close()
    apply(db)
    warnings = [w for e in exports for w in e.warnings]
    return LoadSummary(
        accounts=tuple(e.account_id for e in exports),
        users=sum(len(e.users) for e in exports), groups=sum(len(e.groups) for e in exports),
        roles=sum(len(e.roles) for e in exports),
        managed_policies=sum(1 for e in exports for p in e.policies if not p.missing),
        inline_policies=sum(len(x.inline_policies) for e in exports for x in (*e.users, *e.groups, *e.roles)),
        credential_rows=len(creds),
        warnings=tuple(warnings) + tuple(f"credential report names user `{c['arn']}`, not in the loaded exports"
                                         for c in creds if exports and c["arn"] not in known_users),
    )


def seeds_dir() -> Path | None:
    """The demo organisation: `GRAPHIAM_SEEDS`, else the repository's `seeds/`."""
    env = os.environ.get("GRAPHIAM_SEEDS")
    if env:
        return Path(env)
    here = Path(__file__).resolve().parent.parent / "seeds"
    return here if here.is_dir() else None


def seed_files(directory: Path) -> list[Path]:
    import json
    manifest = directory / "manifest.json"
    if manifest.exists():
        m = json.loads(manifest.read_text())
        return [directory / f for f in (*m.get("exports", []), *m.get("credential_reports", []))]
    return sorted(directory.glob("*.json")) + sorted(directory.glob("*.csv"))


def load_seeds_if_empty(db: Database) -> LoadSummary | None:
    from graphiam.store import reader
    if not reader.is_empty(db):
        return None
    directory = seeds_dir()
    if directory is None:
        return None
    files = seed_files(directory)
    return load_files(db, files) if files else None
