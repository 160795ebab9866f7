"""Model objects → kuzu, all or nothing.

`load_exports` replaces each named account atomically: one write transaction deletes what the account's
earlier load left and bulk-loads the new rows with COPY from pyarrow tables (COPY is 10–100× faster than
per-row CREATE). AWS-managed policies are shared by every account: an incoming one
is created when new, and fills in a placeholder left by an export that omitted it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from graphiam.arn import account_of
from graphiam.model import (
    AWS_MANAGED,
    CUSTOMER_MANAGED,
    IAM_PART,
    INLINE,
    RESOURCES_PART,
    AccountExport,
    InlinePolicy,
    ManagedPolicy,
    Resource,
)
from graphiam.store.access_store import policy_services
from graphiam.store.db import Database

Progress = Callable[[str, int, int], None]

_NODE_TABLES = ("User", "IAMGroup", "Role", "Policy", "PolicyVersion", "InstanceProfile")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


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
    "Resource": pa.schema(
        [
            ("arn", S),
            ("export", S),
            ("account", S),
            ("type", S),
            ("region", S),
            ("name", S),
            ("tags", S),
            ("policy", S),
            ("source", S),
            ("role", S),
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


def resource_row(r: Resource, export: str) -> dict[str, Any]:
    return {
        "arn": r.arn,
        "export": export,
        "account": r.account,
        "type": r.type,
        "region": r.region,
        "name": r.name,
        "tags": _tags(r.tags),
        "policy": r.policy,
        "source": r.source,
        "role": r.role,
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
        # customer-managed policies an export names but omits, by ARN, with the export that names them first:
        # written only when no export of the batch defines the policy and the graph does not hold it
        self.placeholders: dict[str, tuple[ManagedPolicy, str]] = {}
        self.kept_roles: set[str] = set()  # roles outside the batch that keep an instance profile of it
        self.resources: list[dict[str, Any]] = []

    def add(self, e: AccountExport) -> None:
        """Gather the rows of one export (its AWS-managed policies are merged when the batch is written)."""
        x = e.account_id
        self.resources += [resource_row(r, x) for r in e.resources]
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
            if p.missing:
                self.placeholders.setdefault(p.arn, (p, x))
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
    error nothing changes. Returns the accounts whose principals the load changed: the loaded ones, those
    attached to an AWS-managed policy whose placeholder the load filled (its statements now apply there too),
    and those of the credential-report rows;
    `after(db, those accounts)` runs inside the transaction."""
    batch = Batch()
    for e in exports:
        batch.add(e)
    accounts = sorted({e.account_id for e in exports})
    # what each export replaces of its account: its IAM, its resources, or both
    iam_accounts = sorted({e.account_id for e in exports if IAM_PART in e.parts})
    resource_accounts = sorted({e.account_id for e in exports if RESOURCES_PART in e.parts})
    step = progress or (lambda _stage, _done, _total: None)
    total = 4
    with db.transaction():
        step("removing previous data", 0, total)
        # ARNs another account's load defined earlier: the newest load wins (`moved_arns` lets the caller
        # refuse that first); what other accounts' principals say about them is kept
        moved = moved_arns(db, exports, placeholders=True)
        kept = foreign_edges(db, iam_accounts, [m.arn for m in moved])
        _delete(db, iam_accounts, batch)
        _delete_resources(db, resource_accounts, batch)
        filled = _merge_aws_managed(db, batch)
        _add_placeholders(db, batch)
        kept_accounts = _restore(db, batch, kept)
        touched = (
            frozenset(accounts)
            | _attached_accounts(db, filled)
            | {m.loaded_with for m in moved}
            | kept_accounts
            # a credential report says which users have a password and access keys, which escalation needs
            | {a for c in credential_facts if (a := account_of(c["arn"]))}
        )
        step("loading entities", 1, total)
        for table in _NODE_TABLES:
            db.copy_from(table, _table(batch.nodes[table], _SCHEMAS[table]))
        db.copy_from("Resource", _table(batch.resources, _SCHEMAS["Resource"]))
        step("loading relationships", 2, total)
        _copy_edges(db, batch)
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


def _copy_edges(db: Database, batch: Batch) -> None:
    db.copy_from("MEMBER_OF", _table(batch.member_of, _REL))
    for table, rows in batch.attached.items():
        db.copy_from("ATTACHED_TO", _table(rows, _ATTACH), rel_pair=("Policy", table))
    db.copy_from("HAS_VERSION", _table(batch.has_version, _REL))
    db.copy_from("HAS_ROLE", _table([r for r in batch.has_role if r["to"] in _role_arns(batch)], _REL))


def _role_arns(batch: Batch) -> set[str]:
    return {r["arn"] for r in batch.nodes["Role"]} | batch.kept_roles


@dataclass(frozen=True, kw_only=True)
class Moved:
    """An ARN a load defines that the graph holds from another account's load."""

    arn: str
    loaded_with: str  # the account whose load defined it
    source: str | None  # that load's file
    account: str  # the account of the load that defines it now
    new_source: str  # that load's file
    path: str | None  # where that file defines it


def moved_arns(db: Database, exports: Sequence[AccountExport], *, placeholders: bool = False) -> list[Moved]:
    """The ARNs `exports` define that the graph holds from the load of an account not among theirs
    (AWS-managed policies, which every account shares, excepted; placeholders, which nobody defined, only
    with `placeholders`)."""
    accounts = sorted({e.account_id for e in exports})
    defined: dict[str, AccountExport] = {}
    for e in exports:
        for arn in e.locations:
            defined.setdefault(arn, e)
    if not defined:
        return []
    found: dict[str, str] = {}
    for table in ("User", "IAMGroup", "Role", "Policy", "InstanceProfile", "Resource"):
        missing = "AND NOT coalesce(n.missing, false) " if table == "Policy" and not placeholders else ""
        rows = (
            db.execute(  # one primary-key lookup per ARN: a scan with `IN` compares every node with every ARN
                f"UNWIND $arns AS k MATCH (n:{table} {{arn: k}}) WHERE NOT n.export IN $accounts "
                f"AND n.export <> 'aws' {missing}RETURN n.arn AS arn, n.export AS export",
                {"arns": list(defined), "accounts": accounts},
            )
        )
        found.update((r["arn"], r["export"]) for r in rows)
    sources = {
        r["id"]: r["source"]
        for r in db.execute(
            "MATCH (a:Account) WHERE a.id IN $ids RETURN a.id AS id, a.source AS source",
            {"ids": sorted(set(found.values()))},
        )
    }
    return [
        Moved(
            arn=arn,
            loaded_with=export,
            source=sources.get(export),
            account=defined[arn].account_id,
            new_source=defined[arn].source,
            path=defined[arn].locations.get(arn),
        )
        for arn, export in sorted(found.items())
    ]


@dataclass(frozen=True, kw_only=True)
class Kept:
    """An edge that a principal (or instance profile) staying in the graph holds to a node being replaced."""

    rel: str  # ATTACHED_TO | MEMBER_OF | HAS_ROLE
    replaced: str  # the ARN of the node being replaced (a policy, a group, an instance profile)
    staying: str  # the ARN of the principal the edge belongs to
    table: str  # the staying node's table
    account: str | None  # the staying node's account
    export: str  # the account whose load (or mutation) made the staying node
    attached_as: str | None = None


def foreign_edges(db: Database, accounts: Sequence[str], moved: Sequence[str]) -> list[Kept]:
    """The edges from nodes that stay to nodes about to be replaced (those of `accounts`, and the `moved`
    ARNs), of the kinds the staying side's own export states: a principal's policy attachments (its
    `AttachedManagedPolicies`, its boundary), a user's groups, a role's instance profiles."""
    doomed = "(d.export IN $accounts OR d.arn IN $moved)"
    staying = "NOT (s.export IN $accounts OR s.arn IN $moved)"
    params = {"accounts": list(accounts), "moved": list(moved)}
    kept = [
        Kept(
            rel="ATTACHED_TO",
            replaced=r["d"],
            staying=r["s"],
            table=r["t"],
            account=r["a"],
            export=r["x"],
            attached_as=r["how"],
        )
        for r in db.execute(
            f"MATCH (d:Policy)-[e:ATTACHED_TO]->(s) WHERE {doomed} AND d.kind <> 'inline' AND {staying} "
            "RETURN d.arn AS d, s.arn AS s, label(s) AS t, s.account AS a, s.export AS x, "
            "e.attached_as AS how",
            params,
        )
    ]
    kept += [
        Kept(rel="MEMBER_OF", replaced=r["d"], staying=r["s"], table="User", account=r["a"], export=r["x"])
        for r in db.execute(
            f"MATCH (s:User)-[:MEMBER_OF]->(d:IAMGroup) WHERE {doomed} AND {staying} "
            "RETURN d.arn AS d, s.arn AS s, s.account AS a, s.export AS x",
            params,
        )
    ]
    kept += [
        Kept(rel="HAS_ROLE", replaced=r["d"], staying=r["s"], table="Role", account=r["a"], export=r["x"])
        for r in db.execute(
            f"MATCH (d:InstanceProfile)-[:HAS_ROLE]->(s:Role) WHERE {doomed} AND {staying} "
            "RETURN d.arn AS d, s.arn AS s, s.account AS a, s.export AS x",
            params,
        )
    ]
    return kept


def delete_nodes(db: Database, table: str, column: str, values: Sequence[str]) -> None:
    """Delete the nodes of `table` whose `column` is one of `values`, with their edges. The edges go first,
    each direction by its own statement: in kuzu 0.11.3, a `DETACH DELETE` of nodes at one end of a
    relationship table followed by one at the other end leaves edges from surviving nodes to the deleted ones
    in scans that read nothing of the deleted end (docs/ENGINE.md)."""
    if not values:
        return
    if not (_IDENT.fullmatch(table) and _IDENT.fullmatch(column)):
        raise ValueError(f"bad table or column `{table}.{column}`")
    params = {"values": list(dict.fromkeys(values))}
    # by primary key: one index lookup per value (an `IN` filter compares every node with every value)
    node = (
        f"UNWIND $values AS k MATCH (n:{table} {{{column}: k}})"
        if column == primary_key(table)
        else f"MATCH (n:{table}) WHERE n.{column} IN $values"
    )
    db.execute(f"{node} MATCH (n)-[e]->() DELETE e", params)
    db.execute(f"{node} MATCH ()-[e]->(n) DELETE e", params)
    db.execute(f"{node} DETACH DELETE n", params)


def primary_key(table: str) -> str:
    """The primary-key column of a node table of the IAM part of the graph."""
    return "key" if table == "PolicyVersion" else "arn"


def _delete(db: Database, accounts: Sequence[str], batch: Batch) -> None:
    """Delete what the loads of `accounts` left, and every node with a key the batch defines."""
    for table in _NODE_TABLES:
        key = "key" if table == "PolicyVersion" else "arn"
        delete_nodes(db, table, "export", accounts)
        delete_nodes(db, table, key, [r[key] for r in batch.nodes[table]])


def _delete_resources(db: Database, accounts: Sequence[str], batch: Batch) -> None:
    """Delete the resources the loads of `accounts` left, and every resource the batch defines."""
    delete_nodes(db, "Resource", "export", accounts)
    delete_nodes(db, "Resource", "arn", [r["arn"] for r in batch.resources])


def _add_placeholders(db: Database, batch: Batch) -> None:
    """The placeholders of the batch that no export of it defines and the graph does not hold."""
    defined = {r["arn"] for r in batch.nodes["Policy"]}
    wanted = [a for a in batch.placeholders if a not in defined]
    if not wanted:
        return
    held = {
        r["arn"]
        for r in db.execute("MATCH (p:Policy) WHERE p.arn IN $arns RETURN p.arn AS arn", {"arns": wanted})
    }
    for arn in wanted:
        if arn not in held:
            p, export = batch.placeholders[arn]
            batch.nodes["Policy"].append(managed_row(p, export))


def placeholder(arn: str) -> ManagedPolicy:
    """A policy named but not held: no document, grants nothing (as ingest makes them)."""
    owner = account_of(arn) or ""
    return ManagedPolicy(
        arn=arn,
        name=arn.rsplit("/", 1)[-1],
        kind=AWS_MANAGED if owner == "aws" else CUSTOMER_MANAGED,
        account=owner,
        missing=True,
    )


def _restore(db: Database, batch: Batch, kept: Sequence[Kept]) -> frozenset[str]:
    """Add the `kept` edges to the batch: to the node the batch (or the graph) holds under the replaced ARN;
    a policy nobody holds any more becomes a placeholder, as a load of the staying principal's export alone
    would make it. Returns the accounts of the staying principals."""
    if not kept:
        return frozenset()
    new = {t: {r["key" if t == "PolicyVersion" else "arn"] for r in batch.nodes[t]} for t in _NODE_TABLES}
    tables = {"ATTACHED_TO": "Policy", "MEMBER_OF": "IAMGroup", "HAS_ROLE": "InstanceProfile"}
    held: dict[str, set[str]] = {}
    for rel, table in tables.items():
        arns = sorted({k.replaced for k in kept if k.rel == rel} - new[table])
        held[table] = {
            r["arn"]
            for r in db.execute(f"MATCH (n:{table}) WHERE n.arn IN $arns RETURN n.arn AS arn", {"arns": arns})
        }
    for k in kept:
        there = k.replaced in new[tables[k.rel]] or k.replaced in held[tables[k.rel]]
        if k.rel == "ATTACHED_TO":
            if not there:
                batch.nodes["Policy"].append(managed_row(placeholder(k.replaced), k.export))
                new["Policy"].add(k.replaced)
            edge = {"from": k.replaced, "to": k.staying, "attached_as": k.attached_as}
            batch.attached[k.table].append(edge)
        elif there and k.rel == "MEMBER_OF":
            batch.member_of.append({"from": k.staying, "to": k.replaced})
        elif there:
            batch.has_role.append({"from": k.replaced, "to": k.staying})
            batch.kept_roles.add(k.staying)
    return frozenset(k.account for k in kept if k.account)


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
