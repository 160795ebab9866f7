"""Model objects → kuzu, all or nothing.

`load_exports` replaces each named account atomically: one write transaction deletes what the account's
earlier load left and bulk-loads the new rows with COPY from pyarrow tables (COPY is 10–100× faster than
per-row CREATE). AWS-managed policies are shared by every account: an incoming one
is created when new, and fills in a placeholder left by an export that omitted it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from graphiam.model import AWS_MANAGED, INLINE, AccountExport, InlinePolicy, ManagedPolicy
from graphiam.store.access_store import policy_services
from graphiam.store.db import Database

Progress = Callable[[str, int, int], None]

_NODE_TABLES = ("User", "IAMGroup", "Role", "Policy", "PolicyVersion", "InstanceProfile")


def _tags(tags: Iterable[Any]) -> str:
    return json.dumps({t.key: t.value for t in tags}, separators=(",", ":"))


def _table(rows: list[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=schema)


S = pa.string()
_SCHEMAS = {
    "User": pa.schema(
        [
            ("arn", S),
            ("export", S),
            ("account", S),
            ("name", S),
            ("user_id", S),
            ("path", S),
            ("create_date", S),
            ("tags", S),
            ("boundary_arn", S),
            ("password_enabled", pa.bool_()),
            ("password_last_used", S),
            ("mfa_active", pa.bool_()),
            ("access_keys_active", pa.int64()),
            ("has_credential_report", pa.bool_()),
        ]
    ),
    "IAMGroup": pa.schema(
        [
            ("arn", S),
            ("export", S),
            ("account", S),
            ("name", S),
            ("group_id", S),
            ("path", S),
            ("create_date", S),
        ]
    ),
    "Role": pa.schema(
        [
            ("arn", S),
            ("export", S),
            ("account", S),
            ("name", S),
            ("role_id", S),
            ("path", S),
            ("create_date", S),
            ("tags", S),
            ("boundary_arn", S),
            ("trust_policy", S),
            ("description", S),
            ("max_session_duration", pa.int64()),
            ("last_used", S),
        ]
    ),
    "Policy": pa.schema(
        [
            ("arn", S),
            ("export", S),
            ("account", S),
            ("name", S),
            ("kind", S),
            ("policy_id", S),
            ("path", S),
            ("default_version", S),
            ("document", S),
            ("owner_arn", S),
            ("attachment_count", pa.int64()),
            ("boundary_usage_count", pa.int64()),
            ("is_attachable", pa.bool_()),
            ("description", S),
            ("create_date", S),
            ("update_date", S),
            ("missing", pa.bool_()),
            ("services", pa.list_(S)),
            ("allow_services", pa.list_(S)),
        ]
    ),
    "PolicyVersion": pa.schema(
        [
            ("key", S),
            ("export", S),
            ("policy_arn", S),
            ("version_id", S),
            ("is_default", pa.bool_()),
            ("document", S),
            ("create_date", S),
        ]
    ),
    "InstanceProfile": pa.schema(
        [
            ("arn", S),
            ("export", S),
            ("account", S),
            ("name", S),
            ("profile_id", S),
            ("path", S),
            ("create_date", S),
        ]
    ),
}
_REL = pa.schema([("from", S), ("to", S)])
_ATTACH = pa.schema([("from", S), ("to", S), ("attached_as", S)])


def managed_row(p: ManagedPolicy, export: str) -> dict[str, Any]:
    """The Policy node row of a managed policy (an AWS-managed one belongs to the export `aws`)."""
    return {
        "arn": p.arn,
        "export": "aws" if p.kind == AWS_MANAGED else export,
        "account": p.account,
        "name": p.name,
        "kind": p.kind,
        "policy_id": p.policy_id,
        "path": p.path,
        "default_version": p.default_version_id,
        "document": p.default_document,
        "owner_arn": None,
        "attachment_count": p.attachment_count,
        "boundary_usage_count": p.boundary_usage_count,
        "is_attachable": p.is_attachable,
        "description": p.description,
        "create_date": p.create_date,
        "update_date": p.update_date,
        "missing": p.missing,
        **_services(p.default_document),
    }


def inline_row(p: InlinePolicy, account: str, export: str) -> dict[str, Any]:
    """The Policy node row of an inline policy of `account`."""
    return {
        "arn": p.arn,
        "export": export,
        "account": account,
        "name": p.name,
        "kind": INLINE,
        "policy_id": None,
        "path": None,
        "default_version": None,
        "document": p.document,
        "owner_arn": p.owner_arn,
        "attachment_count": 1,
        "boundary_usage_count": 0,
        "is_attachable": False,
        "description": None,
        "create_date": None,
        "update_date": None,
        "missing": False,
        **_services(p.document),
    }


def _services(document: str | None) -> dict[str, list[str]]:
    """The whoCan prefilter columns (store/access_store.py)."""
    services, allow = policy_services(document)
    return {"services": services, "allow_services": allow}


class Batch:
    """Rows for every table, gathered from several exports before one transaction writes them."""

    def __init__(self) -> None:
        self.nodes: dict[str, list[dict[str, Any]]] = {t: [] for t in _NODE_TABLES}
        self.member_of: list[dict[str, Any]] = []
        self.attached: dict[str, list[dict[str, Any]]] = {"User": [], "IAMGroup": [], "Role": []}
        self.has_version: list[dict[str, Any]] = []
        self.has_role: list[dict[str, Any]] = []
        self.aws_managed: dict[str, ManagedPolicy] = {}

    def add(self, e: AccountExport) -> None:
        """Gather the rows of one export (its AWS-managed policies are merged when the batch is written)."""
        x = e.account_id
        group_arn = {g.name: g.arn for g in e.groups}
        for u in e.users:
            self.nodes["User"].append(
                {
                    "arn": u.arn,
                    "export": x,
                    "account": u.account,
                    "name": u.name,
                    "user_id": u.user_id,
                    "path": u.path,
                    "create_date": u.create_date,
                    "tags": _tags(u.tags),
                    "boundary_arn": u.boundary_arn,
                    "password_enabled": None,
                    "password_last_used": u.password_last_used,
                    "mfa_active": None,
                    "access_keys_active": None,
                    "has_credential_report": False,
                }
            )
            self.member_of += [{"from": u.arn, "to": group_arn[n]} for n in dict.fromkeys(u.group_names)]
        for g in e.groups:
            self.nodes["IAMGroup"].append(
                {
                    "arn": g.arn,
                    "export": x,
                    "account": g.account,
                    "name": g.name,
                    "group_id": g.group_id,
                    "path": g.path,
                    "create_date": g.create_date,
                }
            )
        for r in e.roles:
            self.nodes["Role"].append(
                {
                    "arn": r.arn,
                    "export": x,
                    "account": r.account,
                    "name": r.name,
                    "role_id": r.role_id,
                    "path": r.path,
                    "create_date": r.create_date,
                    "tags": _tags(r.tags),
                    "boundary_arn": r.boundary_arn,
                    "trust_policy": r.trust_policy,
                    "description": r.description,
                    "max_session_duration": r.max_session_duration,
                    "last_used": r.last_used,
                }
            )
        for table, entities in (("User", e.users), ("IAMGroup", e.groups), ("Role", e.roles)):
            for ent in entities:
                for arn in dict.fromkeys(ent.attached_policy_arns):
                    self.attached[table].append({"from": arn, "to": ent.arn, "attached_as": "identity"})
                for inline in ent.inline_policies:
                    self.nodes["Policy"].append(inline_row(inline, ent.account, x))
                    self.attached[table].append({"from": inline.arn, "to": ent.arn, "attached_as": "inline"})
                boundary = getattr(ent, "boundary_arn", None)
                if boundary:
                    self.attached[table].append({"from": boundary, "to": ent.arn, "attached_as": "boundary"})
        for p in e.policies:
            if p.kind == AWS_MANAGED:
                prev = self.aws_managed.get(p.arn)
                if prev is None or (prev.missing and not p.missing):
                    self.aws_managed[p.arn] = p
                continue
            self.nodes["Policy"].append(managed_row(p, x))
            self.add_versions(p, x)
        for ip in e.instance_profiles:
            self.nodes["InstanceProfile"].append(
                {
                    "arn": ip.arn,
                    "export": x,
                    "account": ip.account,
                    "name": ip.name,
                    "profile_id": ip.profile_id,
                    "path": ip.path,
                    "create_date": ip.create_date,
                }
            )
            self.has_role += [{"from": ip.arn, "to": r} for r in ip.role_arns]

    def add_versions(self, p: ManagedPolicy, export: str) -> None:
        """The PolicyVersion rows of `p` and their HAS_VERSION edges."""
        for v in p.versions:
            key = f"{p.arn}#{v.version_id}"
            self.nodes["PolicyVersion"].append(
                {
                    "key": key,
                    "export": export,
                    "policy_arn": p.arn,
                    "version_id": v.version_id,
                    "is_default": v.is_default,
                    "document": v.document,
                    "create_date": v.create_date,
                }
            )
            self.has_version.append({"from": p.arn, "to": key})


def load_exports(
    db: Database,
    exports: Sequence[AccountExport],
    *,
    credential_facts: Sequence[dict[str, Any]] = (),
    progress: Progress | None = None,
    after: Callable[[Database, frozenset[str]], None] | None = None,
) -> frozenset[str]:
    """Replace the accounts of `exports` (and apply credential-report rows) in one transaction; on any
    error nothing changes. Returns the accounts whose principals the load changed: the loaded ones, and those
    attached to an AWS-managed policy whose placeholder the load filled (its statements now apply there too);
    `after(db, those accounts)` runs inside the transaction."""
    batch = Batch()
    for e in exports:
        batch.add(e)
    accounts = sorted({e.account_id for e in exports})
    step = progress or (lambda _stage, _done, _total: None)
    total = 4
    with db.transaction():
        step("removing previous data", 0, total)
        for table in _NODE_TABLES:
            key = "key" if table == "PolicyVersion" else "arn"
            db.execute(
                f"MATCH (n:{table}) WHERE n.export IN $accounts DETACH DELETE n", {"accounts": accounts}
            )
            incoming = [r[key] for r in batch.nodes[table]]
            if incoming:  # the same ARN loaded earlier from another file: the newest load wins
                db.execute(f"MATCH (n:{table}) WHERE n.{key} IN $keys DETACH DELETE n", {"keys": incoming})
        filled = _merge_aws_managed(db, batch)
        touched = frozenset(accounts) | _attached_accounts(db, filled)
        step("loading entities", 1, total)
        for table in _NODE_TABLES:
            db.copy_from(table, _table(batch.nodes[table], _SCHEMAS[table]))
        step("loading relationships", 2, total)
        db.copy_from("MEMBER_OF", _table(batch.member_of, _REL))
        for table, rows in batch.attached.items():
            db.copy_from("ATTACHED_TO", _table(rows, _ATTACH), rel_pair=("Policy", table))
        db.copy_from("HAS_VERSION", _table(batch.has_version, _REL))
        db.copy_from("HAS_ROLE", _table([r for r in batch.has_role if r["to"] in _role_arns(batch)], _REL))
        now = datetime.now(UTC).isoformat(timespec="seconds")
        for e in exports:
            db.execute(
                "MERGE (a:Account {id: $id}) SET a.source = $source, a.loaded_at = $now, a.warnings = $w",
                {"id": e.account_id, "source": e.source, "now": now, "w": list(e.warnings)},
            )
        if credential_facts:
            _apply_credentials(db, credential_facts)
        if after is not None:  # derived edges, inside the same transaction
            step("deriving edges", 3, total)
            after(db, touched)
        step("done", total, total)
    return touched


def _role_arns(batch: Batch) -> set[str]:
    return {r["arn"] for r in batch.nodes["Role"]}


def _attached_accounts(db: Database, policy_arns: Sequence[str]) -> frozenset[str]:
    """Accounts of the users, groups and roles `policy_arns` are attached to (as identity policies or as
    boundary)."""
    if not policy_arns:
        return frozenset()
    rows = db.execute(
        "MATCH (p:Policy)-[:ATTACHED_TO]->(x) WHERE p.arn IN $arns RETURN DISTINCT x.account AS account",
        {"arns": list(policy_arns)},
    )
    return frozenset(r["account"] for r in rows if r["account"])


def _merge_aws_managed(db: Database, batch: Batch) -> list[str]:
    """AWS-managed policies are shared: create new ones, fill placeholders, keep existing documents. Returns
    the ARNs of the placeholders filled."""
    filled: list[str] = []
    if not batch.aws_managed:
        return filled
    rows = db.execute(
        "MATCH (p:Policy) WHERE p.arn IN $arns RETURN p.arn AS arn, p.missing AS missing",
        {"arns": list(batch.aws_managed)},
    )
    existing = {r["arn"]: bool(r["missing"]) for r in rows}
    for arn, p in batch.aws_managed.items():
        if arn not in existing:
            batch.nodes["Policy"].append(managed_row(p, "aws"))
            batch.add_versions(p, "aws")
        elif existing[arn] and not p.missing:
            row = managed_row(p, "aws")
            db.execute(
                "MATCH (p:Policy {arn: $arn}) SET p.document = $document, p.missing = false, "
                "p.policy_id = $policy_id, p.path = $path, p.default_version = $default_version, "
                "p.description = $description, p.create_date = $create_date, p.update_date = $update_date, "
                "p.services = $services, p.allow_services = $allow_services",
                {
                    k: row[k]
                    for k in (
                        "arn",
                        "document",
                        "policy_id",
                        "path",
                        "default_version",
                        "description",
                        "create_date",
                        "update_date",
                        "services",
                        "allow_services",
                    )
                },
            )
            batch.add_versions(p, "aws")
            filled.append(arn)
    return filled


def _apply_credentials(db: Database, facts: Sequence[dict[str, Any]]) -> int:
    """Set credential-report facts on users (inside the caller's transaction); returns users updated."""
    rows = db.execute(
        "UNWIND $rows AS r MATCH (u:User {arn: r.arn}) SET u.password_enabled = r.password_enabled, "
        "u.password_last_used = coalesce(r.password_last_used, u.password_last_used), "
        "u.mfa_active = r.mfa_active, u.access_keys_active = r.access_keys_active, "
        "u.has_credential_report = true RETURN count(u) AS n",
        {"rows": list(facts)},
    )
    return int(rows[0]["n"]) if rows else 0
