"""Loading files into the graph: GAAD exports and credential reports, all or nothing.

Everything is read and checked in memory first (pure ingest); only then does one write transaction
touch the database, so a bad file leaves the database exactly as it was.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from graphiam.derive.refresh import refresh_derived
from graphiam.errors import IngestError
from graphiam.graph.snapshot import Snapshot
from graphiam.ingest.credential_report import parse_credential_report
from graphiam.ingest.gaad import parse_gaad, read_json_file
from graphiam.ingest.organizations import is_organization, parse_organization
from graphiam.ingest.reader import check_policy_document
from graphiam.model import AccountExport, Group, Organization, Role, User
from graphiam.queries import history
from graphiam.queries.summary import Summary, counts, encode, summarise
from graphiam.store import Database, reader
from graphiam.store import history_store as H
from graphiam.store.clone import clone_database
from graphiam.store.org_store import replace_organization
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
    organization: str | None = None  # "o-…: N accounts, M OUs, K SCPs" when an organization was loaded

    def lines(self) -> list[str]:
        out = (
            [
                f"loaded {len(self.accounts)} account(s) {', '.join(self.accounts)}: {self.users} users, "
                f"{self.groups} groups, {self.roles} roles, {self.managed_policies} managed policies, "
                f"{self.inline_policies} inline policies"
            ]
            if self.accounts
            else []
        )
        if self.organization:
            out.append(f"loaded organization {self.organization}")
        if self.credential_rows:
            out.append(f"applied {self.credential_rows} credential-report row(s)")
        out += [f"warning: {w}" for w in self.warnings]
        return out


def _credential_rows(path: Path) -> list[dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise IngestError(f"cannot read file: {exc}", source=str(path)) from None
    rows = []
    for f in parse_credential_report(text, source=str(path)):
        if getattr(f, "is_root", False):
            continue
        rows.append(
            {
                "arn": f.arn,
                "password_enabled": f.password_enabled,
                "password_last_used": f.password_last_used,
                "mfa_active": f.mfa_active,
                "access_keys_active": int(getattr(f, "access_keys_active", 0) or 0),
            }
        )
    return rows


@dataclass(kw_only=True)
class Inputs:
    """Everything a load will write, read and checked."""

    exports: list[AccountExport]
    credentials: list[dict[str, Any]]
    organization: Organization | None = None


def read_files(paths: Sequence[str | os.PathLike[str]], *, progress: Progress | None = None) -> Inputs:
    """Read GAAD exports and an organization description (`.json`) and credential reports (`.csv`) into
    memory, checking everything."""
    exports, creds, orgs = [], [], []
    step = progress or (lambda *_: None)
    for i, p in enumerate(paths):
        path = Path(p)
        step(f"reading {path.name}", i, len(paths))
        if path.suffix.lower() == ".csv":
            creds += _credential_rows(path)
            continue
        data = read_json_file(path)
        if is_organization(data):
            orgs.append(parse_organization(data, source=str(path), check_document=check_policy_document))
        else:
            exports.append(parse_gaad(data, source=str(path), check_document=check_policy_document))
        del data
    step("read", len(paths), len(paths))
    if len(orgs) > 1:
        raise IngestError(
            f"one organization per load; `{orgs[0].source}` also describes one", source=orgs[1].source
        )
    seen: dict[str, str] = {}
    for e in exports:
        if e.account_id in seen:
            raise IngestError(
                f"account `{e.account_id}` is also in `{seen[e.account_id]}`: load one file per account",
                source=e.source,
            )
        seen[e.account_id] = e.source
    return Inputs(exports=exports, credentials=creds, organization=orgs[0] if orgs else None)


def _inline_policies(export: AccountExport) -> int:
    holders: list[User | Group | Role] = [*export.users, *export.groups, *export.roles]
    return sum(len(h.inline_policies) for h in holders)


def file_facts(paths: Sequence[str | os.PathLike[str]]) -> list[dict[str, Any]]:
    """What an import record keeps of each file: its name as given, its size and SHA-256."""
    out = []
    for p in paths:
        digest = hashlib.sha256()
        try:
            with open(p, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    digest.update(chunk)
        except OSError as exc:
            raise IngestError(f"cannot read file: {exc}", source=str(p)) from None
        out.append({"name": str(p), "bytes": os.path.getsize(p), "sha256": digest.hexdigest()})
    return out


def load_files(
    db: Database,
    paths: Sequence[str | os.PathLike[str]],
    *,
    progress: Progress | None = None,
    reuse: Summary | None = None,
) -> LoadSummary:
    """Read, check and load files in one transaction, recording the import (`graphiam.queries.history`)
    with its security summary in the same transaction. Raises `IngestError` with nothing written.

    The newest import's summary (else `reuse`, another database's) spares re-analysing what did not change."""
    inputs = read_files(paths, progress=progress)
    exports, creds, org = inputs.exports, inputs.credentials, inputs.organization
    if not exports and not creds and org is None:
        raise IngestError("no files to load")
    files = file_facts(paths)
    newest = history.latest(db)
    previous = newest[1] if newest is not None else reuse
    step = progress or (lambda *_: None)
    computed: list[Summary] = []  # the summary, computed once (on the copy, when there is one)
    snaps: list[Snapshot] = []  # the snapshot the derivers built, which the summary reuses

    def derive(tx: Database, touched: frozenset[str], extra: set[str]) -> None:
        snaps[:] = [refresh_derived(tx, touched | extra)]

    def record(target: Database) -> None:
        if not computed:
            step("summarising for the import history", 0, 1)
            computed.append(summarise(target, snap=snaps[0] if snaps else None, previous=previous))
            step("done", 1, 1)
        summary = computed[0]
        H.write_import(
            target,
            id=H.next_import_id(target),
            at=datetime.now(UTC).isoformat(timespec="seconds"),
            files=json.dumps(files),
            accounts=[e.account_id for e in exports],
            counts=json.dumps(counts(summary), sort_keys=True),
            warnings=[w for e in exports for w in e.warnings] + list(org.warnings if org else ()),
            summary=encode(summary),
        )

    def apply(target: Database) -> None:
        with target.transaction():
            extra: set[str] = set()
            if org is not None:  # SCPs change what every account's principals can do
                replace_organization(target, org)
                extra = {a.id for a in reader.accounts(target)}
            load_exports(
                target,
                exports,
                credential_facts=creds,
                progress=progress,
                after=lambda tx, touched: derive(tx, touched, extra),
            )
            record(target)

    if not reader.is_empty(db):
        # kuzu 0.11.3 cannot roll back a transaction that COPYed into non-empty relationship tables (it drops
        # their committed rows and can leave primary-key lookups broken; tests/store/test_loading.py). So a
        # load into a database that holds data first runs, completely, on a private copy: any failure there
        # leaves the real database untouched, and what remains to go wrong in the real run is the machine,
        # not the data.
        copy = clone_database(db)
        try:
            apply(copy)
        finally:
            copy.close()
    apply(db)
    stored = set(reader.by_arns(db, "User", [c["arn"] for c in creds])) if creds else set()
    warnings = [w for e in exports for w in e.warnings] + list(org.warnings if org else ())
    return LoadSummary(
        organization=None
        if org is None
        else (
            f"{org.id}: {sum(u.kind == 'account' for u in org.units)} accounts, "
            f"{sum(u.kind == 'ou' for u in org.units)} OUs, {len(org.policies)} SCPs"
        ),
        accounts=tuple(e.account_id for e in exports),
        users=sum(len(e.users) for e in exports),
        groups=sum(len(e.groups) for e in exports),
        roles=sum(len(e.roles) for e in exports),
        managed_policies=sum(1 for e in exports for p in e.policies if not p.missing),
        inline_policies=sum(_inline_policies(e) for e in exports),
        credential_rows=sum(1 for c in creds if c["arn"] in stored),
        warnings=tuple(warnings)
        + tuple(
            f"credential report names user `{c['arn']}`, not in the graph: row skipped"
            for c in creds
            if c["arn"] not in stored
        ),
    )


def seeds_dir() -> Path | None:
    """The demo organisation: `GRAPHIAM_SEEDS`, else the repository's `seeds/`."""
    env = os.environ.get("GRAPHIAM_SEEDS")
    if env:
        return Path(env)
    here = Path(__file__).resolve().parents[2] / "seeds"
    return here if here.is_dir() else None


def seed_files(directory: Path) -> list[Path]:
    manifest = directory / "manifest.json"
    if manifest.exists():
        m = json.loads(manifest.read_text())
        return [directory / f for f in (*m.get("exports", []), *m.get("credential_reports", []))]
    return sorted(directory.glob("*.json")) + sorted(directory.glob("*.csv"))


def load_seeds_if_empty(db: Database) -> LoadSummary | None:
    if not reader.is_empty(db):
        return None
    directory = seeds_dir()
    if directory is None:
        return None
    files = seed_files(directory)
    return load_files(db, files) if files else None
