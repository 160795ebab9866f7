"""Loading files into the graph: GAAD exports, credential reports, organization descriptions, iam-collect
stores (directories) and AWS Config snapshots, all or nothing.

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

from graphiam.arn import account_of
from graphiam.derive.refresh import refresh_derived
from graphiam.errors import IngestError
from graphiam.graph.snapshot import Snapshot
from graphiam.ingest.aws_config import is_config_items, parse_config
from graphiam.ingest.credential_report import parse_credential_report
from graphiam.ingest.gaad import parse_gaad, read_json_file
from graphiam.ingest.iam_collect import is_iam_collect_store, read_store
from graphiam.ingest.organizations import is_organization, parse_organization
from graphiam.ingest.reader import check_policy_document
from graphiam.model import IAM_PART, AccountExport, Group, Organization, Role, User
from graphiam.queries import history
from graphiam.queries.summary import Summary, counts, encode, summarise
from graphiam.store import Database, reader
from graphiam.store import history_store as H
from graphiam.store.clone import clone_database
from graphiam.store.org_store import replace_organization
from graphiam.store.partial import accounts_of_exports
from graphiam.store.schema import meta, set_meta
from graphiam.store.writer import Moved, load_exports, moved_arns

Progress = Callable[[str, int, int], None]
AWS_ACCOUNT = "aws"  # the account AWS-managed policies belong to (`model.ManagedPolicy.account`)


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
    resources: int = 0
    organization: str | None = None  # "o-…: N accounts, M OUs, K SCPs" when an organization was loaded
    moved: tuple[Moved, ...] = ()  # ARNs that moved from another account's load (`replace`)

    def lines(self) -> list[str]:
        out = (
            [
                f"loaded {len(self.accounts)} account(s) {', '.join(self.accounts)}: {self.users} users, "
                f"{self.groups} groups, {self.roles} roles, {self.managed_policies} managed policies, "
                f"{self.inline_policies} inline policies"
                + (f", {self.resources} resources" if self.resources else "")
            ]
            if self.accounts
            else []
        )
        if self.organization:
            out.append(f"loaded organization {self.organization}")
        if self.credential_rows:
            out.append(f"applied {self.credential_rows} credential-report row(s)")
        moves: dict[tuple[str, str], int] = {}
        for m in self.moved:
            moves[(m.loaded_with, m.account)] = moves.get((m.loaded_with, m.account), 0) + 1
        out += [f"moved {n} ARN(s) from account {a} to account {b}" for (a, b), n in sorted(moves.items())]
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
    exports: list[AccountExport] = []
    creds: list[dict[str, Any]] = []
    orgs: list[Organization] = []
    step = progress or (lambda *_: None)
    for i, p in enumerate(paths):
        path = Path(p)
        step(f"reading {path.name}", i, len(paths))
        if path.is_dir():
            if not is_iam_collect_store(path):
                raise IngestError(
                    "a directory must be an iam-collect store (its root, or aws/<partition>)",
                    source=str(path),
                )
            store = read_store(path, check_document=check_policy_document, progress=progress)
            exports += store.exports
            orgs += [store.organization] if store.organization is not None else []
            continue
        if path.suffix.lower() == ".csv":
            creds += _credential_rows(path)
            continue
        data = read_json_file(path)
        if is_config_items(data):
            exports += parse_config(data, source=str(path), check_document=check_policy_document)
        elif is_organization(data):
            orgs.append(parse_organization(data, source=str(path), check_document=check_policy_document))
        else:
            exports.append(parse_gaad(data, source=str(path), check_document=check_policy_document))
        del data
    step("read", len(paths), len(paths))
    if len(orgs) > 1:
        raise IngestError(
            f"one organization per load; `{orgs[0].source}` also describes one", source=orgs[1].source
        )
    exports = merge_exports(exports)
    _check_defined_once(exports)
    return Inputs(exports=exports, credentials=creds, organization=orgs[0] if orgs else None)


def merge_exports(exports: Sequence[AccountExport]) -> list[AccountExport]:
    """One export per account: exports of one account merge when they hold different parts of it (a GAAD's
    IAM and an AWS Config snapshot's resources); an AWS Config snapshot's IAM gives way to a GAAD's or an
    iam-collect store's (with a warning); two that hold the same part of an account are refused."""
    merged: dict[str, AccountExport] = {}
    for e in exports:
        prev = merged.get(e.account_id)
        merged[e.account_id] = e if prev is None else _merge(prev, e)
    return list(merged.values())


def _merge(a: AccountExport, b: AccountExport) -> AccountExport:
    warnings: list[str] = []
    if IAM_PART in a.parts and IAM_PART in b.parts:
        if (a.format == "aws-config") == (b.format == "aws-config"):
            raise IngestError(
                f"account `{a.account_id}` is also in `{a.source}`: load one file per account",
                source=b.source,
            )
        config, full = (a, b) if a.format == "aws-config" else (b, a)
        warnings.append(
            f"{config.source}: the IAM of account `{a.account_id}` comes from `{full.source}`; the AWS "
            "Config snapshot's IAM items are left out"
        )
        iam = full
    else:
        iam = a if IAM_PART in a.parts else b
    dup = {r.arn for r in a.resources} & {r.arn for r in b.resources}
    if dup:
        raise IngestError(
            f"resource `{sorted(dup)[0]}` of account `{a.account_id}` is also in `{a.source}`: load it once",
            source=b.source,
        )
    iam_arns = set(iam.locations) - {r.arn for r in (*a.resources, *b.resources)}
    locations = {
        **{k: v for k, v in a.locations.items() if k not in iam_arns},
        **{k: v for k, v in b.locations.items() if k not in iam_arns},
        **{k: iam.locations[k] for k in iam_arns},
    }
    return AccountExport(
        account_id=a.account_id,
        source=f"{a.source} + {b.source}",
        users=iam.users,
        groups=iam.groups,
        roles=iam.roles,
        policies=iam.policies,
        instance_profiles=iam.instance_profiles,
        warnings=a.warnings + b.warnings + tuple(warnings),
        resources=a.resources + b.resources,
        parts=a.parts | b.parts,
        format=iam.format if IAM_PART in iam.parts else a.format,
        locations=locations,
    )


def _check_defined_once(exports: Sequence[AccountExport]) -> None:
    """Two files of one load must not define the same ARN (AWS-managed policies excepted: every account's
    export holds the ones it uses, and the graph keeps one copy); the error names both places."""
    defined: dict[str, tuple[str, str]] = {}
    for e in exports:
        for arn, where in e.locations.items():
            if account_of(arn) == "aws":
                continue
            first = defined.setdefault(arn, (e.source, where))
            if first[0] != e.source:
                raise IngestError(
                    f"`{arn}` is also defined in `{first[0]}` at {first[1]}: an ARN may be defined by one "
                    "file of a load (remove it from one of them)",
                    source=e.source,
                    path=where,
                )


def _inline_policies(export: AccountExport) -> int:
    holders: list[User | Group | Role] = [*export.users, *export.groups, *export.roles]
    return sum(len(h.inline_policies) for h in holders)


def refuse_moves(moved: Sequence[Moved], *, option: str) -> None:
    """`IngestError` naming the first of `moved` (where the load defines it and which account's load holds
    it) and how many there are; `option` is how the caller says "move them anyway"."""
    if not moved:
        return
    m = moved[0]
    held = f"account `{m.loaded_with}`" + (f" (from `{m.source}`)" if m.source else "")
    more = f" (and {len(moved) - 1} more ARN{'s' if len(moved) != 2 else ''})" if len(moved) > 1 else ""
    raise IngestError(
        f"`{m.arn}` is already loaded with {held}: loading it with account `{m.account}` would move it"
        f"{more}; {option} to move it, or leave it out of one of the files",
        source=m.new_source,
        path=m.path,
    )


def _digest_file(digest: Any, path: Path) -> None:
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)


def file_facts(paths: Sequence[str | os.PathLike[str]]) -> list[dict[str, Any]]:
    """What an import record keeps of each file: its name as given, its size and SHA-256."""
    out = []
    for p in paths:
        digest = hashlib.sha256()
        # a directory (an iam-collect store): every file under it, by relative path, in one digest
        members = sorted(f for f in Path(p).rglob("*") if f.is_file()) if Path(p).is_dir() else [Path(p)]
        size = 0
        try:
            for m in members:
                if Path(p).is_dir():
                    digest.update(str(m.relative_to(p)).encode() + b"\0")
                _digest_file(digest, m)
                size += m.stat().st_size
        except OSError as exc:
            raise IngestError(f"cannot read file: {exc}", source=str(p)) from None
        out.append({"name": str(p), "bytes": size, "sha256": digest.hexdigest()})
    return out


def load_files(
    db: Database,
    paths: Sequence[str | os.PathLike[str]],
    *,
    progress: Progress | None = None,
    replace: bool = False,
    reuse: Summary | None = None,
) -> LoadSummary:
    """Read, check and load files in one transaction, recording the import (`graphiam.queries.history`)
    with its security summary in the same transaction. Raises `IngestError` with nothing written. An ARN the
    graph holds from another account's load is refused unless `replace` (then it moves to the new one).

    The newest import's summary (else `reuse`, another database's) spares re-analysing what did not change."""
    inputs = read_files(paths, progress=progress)
    exports, creds, org = inputs.exports, inputs.credentials, inputs.organization
    if not exports and not creds and org is None:
        raise IngestError("no files to load")
    moved = moved_arns(db, exports) if exports else []
    if not replace:
        refuse_moves(moved, option="pass --replace")
    files = file_facts(paths)
    newest = history.latest(db)
    previous = newest[1] if newest is not None else reuse
    # the newest import's summary is this database's summary now: the import summary may be updated from it
    # for what the load changes (`summarise(changed=...)`); an organization changes every account
    updatable = newest is not None and org is None and H.changed_after_import(db) is None
    step = progress or (lambda *_: None)
    computed: list[Summary] = []  # the summary, computed once (on the copy, when there is one)
    snaps: list[Snapshot] = []  # the snapshot the derivers built, which the summary reuses
    changed: list[frozenset[str]] = []  # the accounts whose facts the load changes

    def derive(tx: Database, touched: frozenset[str], extra: set[str]) -> None:
        snaps[:] = [refresh_derived(tx, touched | extra, scoped=True)]
        changed[:] = [touched | extra]

    def record(target: Database, replaced: set[str]) -> None:
        if not computed:
            step("summarising for the import history", 0, 1)
            snap = snaps[0] if snaps else None
            if updatable and snap is not None and not snap.complete and changed:
                accounts = changed[0] | replaced | _accounts_named(exports, creds) | {AWS_ACCOUNT}
                summary = summarise(target, snap=snap, previous=previous, changed=frozenset(accounts))
            else:  # the summary reads every principal
                summary = summarise(target, snap=snap if snap and snap.complete else None, previous=previous)
            computed.append(summary)
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
        nonlocal updatable
        with target.transaction():
            if target is db and updatable:  # nothing wrote between the first look and the transaction
                newest_now = H.imports(db)
                updatable = (
                    bool(newest_now)
                    and newest is not None
                    and newest_now[-1].id == newest[0].id
                    and H.changed_after_import(db) is None
                )
            # the accounts of what the load replaces: their entities change too
            replaced = accounts_of_exports(target, [e.account_id for e in exports]) if updatable else set()
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
            record(target, replaced)

    if not reader.is_empty(db) and not db.rollback_restores:
        # kuzu 0.11.3 cannot roll back a transaction that COPYed into non-empty relationship tables (it drops
        # their committed rows and can leave primary-key lookups broken; tests/changes/test_load.py). A
        # database file is put back as it was when a write fails (`Database.rollback_restores`); a load into
        # an in-memory kuzu database that holds data first runs, completely, on a private copy: any failure
        # there leaves the real database untouched, and what remains to go wrong in the real run is the
        # machine, not the data.
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
            + (f", {len(org.rcps)} RCPs" if org.rcps else "")
        ),
        accounts=tuple(e.account_id for e in exports),
        users=sum(len(e.users) for e in exports),
        groups=sum(len(e.groups) for e in exports),
        roles=sum(len(e.roles) for e in exports),
        managed_policies=len({p.arn for e in exports for p in e.policies if not p.missing}),
        inline_policies=sum(_inline_policies(e) for e in exports),
        resources=sum(len(e.resources) for e in exports),
        credential_rows=sum(1 for c in creds if c["arn"] in stored),
        moved=tuple(moved),
        warnings=tuple(warnings)
        + tuple(
            f"credential report names user `{c['arn']}`, not in the graph: row skipped"
            for c in creds
            if c["arn"] not in stored
        ),
    )


def _accounts_named(exports: Sequence[AccountExport], creds: Sequence[dict[str, Any]]) -> set[str]:
    """The accounts of everything the load writes: each export's users, groups, roles, policies (placeholders
    included), instance profiles and resources, and the users of the credential-report rows."""
    found: set[str] = set()
    for e in exports:
        found.update(u.account for u in e.users)
        found.update(g.account for g in e.groups)
        found.update(r.account for r in e.roles)
        found.update(p.account for p in e.policies)
        found.update(i.account for i in e.instance_profiles)
        found.update(r.account for r in e.resources)
    found |= {a for c in creds if (a := account_of(c["arn"]))}
    return {a for a in found if a}


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
        return [
            directory / f
            for key in ("exports", "config_snapshots", "organizations", "credential_reports")
            for f in m.get(key, [])
        ]
    return sorted(directory.glob("*.json")) + sorted(directory.glob("*.csv"))


NO_SEEDS = ("seeds", "never")  # the Meta entry of a database `graphiam load` made: never seeded


def never_seed(db: Database) -> None:
    """Mark `db` as one the demo organisation never goes into (a database `graphiam load` made: emptied by a
    failed load or by removing its accounts, it stays empty)."""
    set_meta(db, *NO_SEEDS)


def is_empty(db: Database) -> bool:
    """No account and no organization loaded."""
    return reader.is_empty(db)


def seeds_refused(db: Database) -> bool:
    """Whether `db` is marked by `never_seed`."""
    return meta(db, NO_SEEDS[0]) == NO_SEEDS[1]


def load_seeds_if_empty(db: Database) -> LoadSummary | None:
    """The demo organisation, loaded when `db` is empty and not marked by `never_seed`."""
    if not reader.is_empty(db) or seeds_refused(db):
        return None
    directory = seeds_dir()
    if directory is None:
        return None
    files = seed_files(directory)
    return load_files(db, files) if files else None
