"""Cypher for single-entity writes (the GraphQL mutations), run inside the caller's write transaction.

Rows for new nodes come from `graphiam.store.writer`'s row builders, so an entity made by a mutation has
exactly the columns an imported one has. Property names formatted into Cypher come from those rows (code, not
input) and are checked against `_NAME`; values are always `$parameters`.
"""

from __future__ import annotations

import re
import threading
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa

from graphiam.errors import StoreError
from graphiam.model import AccountExport, InlinePolicy, ManagedPolicy
from graphiam.store import records as rec
from graphiam.store import writer
from graphiam.store.assume_store import with_reasons
from graphiam.store.db import Database

TABLES = ("User", "IAMGroup", "Role", "Policy", "PolicyVersion", "InstanceProfile")
TARGET_TABLES = ("User", "IAMGroup", "Role")
_NAME = re.compile(r"[a-z_]+")


def _table(table: str, allowed: Sequence[str] = TABLES) -> str:
    """`table` if it is one of `allowed`. Cypher cannot take a label or a property name as a parameter, so the
    few queries here that name them in the text use only names checked against these fixed lists (`_table`,
    `_names`); every value is still a parameter."""
    if table not in allowed:
        raise StoreError(f"bad table `{table}`")
    return table


def _names(row: Mapping[str, Any]) -> list[str]:
    for k in row:
        if not _NAME.fullmatch(k):
            raise StoreError(f"bad property name `{k}`")
    return list(row)


# ---- reads inside the transaction ----


def get(db: Database, table: str, arn: str) -> Any:
    """The row of `arn` in `table` (a records.* row), or None."""
    key = "key" if table == "PolicyVersion" else "arn"
    rows = db.execute(f"MATCH (n:{_table(table)}) WHERE n.{key} = $k RETURN n", {"k": arn})
    if not rows:
        return None
    convert = {
        "User": rec.user,
        "IAMGroup": rec.group,
        "Role": rec.role,
        "Policy": rec.policy,
        "PolicyVersion": rec.version,
        "InstanceProfile": rec.profile,
    }[table]
    return convert(rows[0]["n"])


def find_by_name(db: Database, table: str, account: str, name: str) -> list[str]:
    """ARNs of `table` entities named `name` in `account` (IAM names are unique per account, whatever the
    path, and users, groups and roles whatever the case too; for policies: customer-managed ones)."""
    same = (
        "n.name = $name AND n.kind = 'customer-managed'"
        if table == "Policy"
        else "lower(n.name) = lower($name)"
    )
    rows = db.execute(
        f"MATCH (n:{_table(table, (*TARGET_TABLES, 'Policy'))}) WHERE n.account = $account AND {same} "
        "RETURN n.arn AS arn",
        {"account": account, "name": name},
    )
    return [r["arn"] for r in rows]


def attachments(db: Database, target_arn: str) -> list[tuple[str, str, str]]:
    """(policy arn, attached_as, policy kind) of every policy attached to a user, group or role."""
    rows = db.execute(
        "MATCH (p:Policy)-[a:ATTACHED_TO]->(t) WHERE t.arn = $t "
        "RETURN p.arn AS p, a.attached_as AS how, p.kind AS kind ORDER BY p.arn",
        {"t": target_arn},
    )
    return [(r["p"], r["how"], r["kind"]) for r in rows]


def policy_targets(db: Database, policy_arn: str) -> list[tuple[str, str, str, str]]:
    """(target arn, target table, attached_as, target account) of every attachment of a policy."""
    rows = db.execute(
        "MATCH (p:Policy)-[a:ATTACHED_TO]->(t) WHERE p.arn = $p "
        "RETURN t.arn AS t, label(t) AS tt, a.attached_as AS how, t.account AS account ORDER BY t.arn",
        {"p": policy_arn},
    )
    return [(r["t"], r["tt"], r["how"], r["account"]) for r in rows]


def is_member(db: Database, user_arn: str, group_arn: str) -> bool:
    return bool(
        db.execute(
            "MATCH (u:User)-[:MEMBER_OF]->(g:IAMGroup) WHERE u.arn = $u AND g.arn = $g RETURN u.arn",
            {"u": user_arn, "g": group_arn},
        )
    )


def group_count(db: Database, user_arn: str) -> int:
    """How many groups the user is a member of."""
    rows = db.execute(
        "MATCH (u:User)-[:MEMBER_OF]->(g:IAMGroup) WHERE u.arn = $u RETURN count(g) AS n", {"u": user_arn}
    )
    return int(rows[0]["n"]) if rows else 0


def inline_documents(db: Database, owner_arn: str) -> dict[str, str]:
    """The documents of a user's, group's or role's inline policies, by policy id."""
    rows = db.execute(
        "MATCH (p:Policy) WHERE p.kind = 'inline' AND p.owner_arn = $o RETURN p.arn AS arn, p.document AS d",
        {"o": owner_arn},
    )
    return {r["arn"]: r["d"] for r in rows if r["d"]}


def versions(db: Database, policy_arn: str) -> list[rec.VersionRow]:
    rows = db.execute(
        "MATCH (v:PolicyVersion) WHERE v.policy_arn = $p RETURN v ORDER BY v.key", {"p": policy_arn}
    )
    return [rec.version(r["v"]) for r in rows]


def account_exists(db: Database, account: str) -> bool:
    return bool(db.execute("MATCH (a:Account) WHERE a.id = $id RETURN a.id", {"id": account}))


# ---- rows, built as an import builds them ----

# Policy columns that do not come from the document; every other column of a policy row is derived from it
_POLICY_BASE = frozenset(
    {
        "arn",
        "export",
        "account",
        "name",
        "kind",
        "policy_id",
        "path",
        "default_version",
        "owner_arn",
        "attachment_count",
        "boundary_usage_count",
        "is_attachable",
        "description",
        "create_date",
        "update_date",
        "missing",
    }
)


def document_columns(policy: ManagedPolicy, export: str) -> dict[str, Any]:
    """The columns of a managed policy that follow its default document (the document and what is derived
    from it, e.g. whoCan's service prefilter), for updating a stored policy."""
    row = writer.managed_row(policy, export)
    return {k: v for k, v in row.items() if k not in _POLICY_BASE or k in ("default_version", "update_date")}


def create_entities(db: Database, export: AccountExport) -> None:
    """Create what a (small) export holds: users, groups, roles, customer-managed policies with their
    versions, inline policies and attachments, with the rows `writer.load_exports` would write. AWS-managed
    policies and group memberships are not created here."""
    batch = writer.Batch()
    batch.add(export)
    for table in TABLES:
        for row in batch.nodes[table]:
            create_node(db, table, row)
    for table, rows in batch.attached.items():
        for r in rows:
            attach(db, r["from"], table, r["to"], r["attached_as"])
    for r in batch.has_version:
        _has_version(db, r["from"], r["to"])


def create_inline_policy(db: Database, policy: InlinePolicy, *, account: str, target_table: str) -> None:
    create_node(db, "Policy", writer.inline_row(policy, account, account))
    attach(db, policy.arn, target_table, policy.owner_arn, "inline")


# ---- writes ----


def create_node(db: Database, table: str, row: Mapping[str, Any]) -> None:
    props = ", ".join(f"{k}: ${k}" for k in _names(row))
    db.execute(f"CREATE (n:{_table(table)} {{{props}}})", dict(row))


def update_node(db: Database, table: str, arn: str, values: Mapping[str, Any]) -> None:
    """SET the given columns of one node (the key column is never among them)."""
    if "node_key" in values:
        raise StoreError("`node_key` is reserved")
    sets = ", ".join(f"n.{k} = ${k}" for k in _names(values))
    key = "key" if table == "PolicyVersion" else "arn"
    db.execute(f"MATCH (n:{_table(table)}) WHERE n.{key} = $node_key SET {sets}", {**values, "node_key": arn})


def delete_node(db: Database, table: str, arn: str) -> None:
    """DETACH DELETE one node: its edges (memberships, attachments, derived edges) go with it."""
    key = "key" if table == "PolicyVersion" else "arn"
    db.execute(f"MATCH (n:{_table(table)}) WHERE n.{key} = $k DETACH DELETE n", {"k": arn})


def ensure_account(db: Database, account: str, *, source: str, now: str) -> None:
    """An `Account` node for an account that mutations create entities in before any import named it."""
    db.execute(
        "MERGE (a:Account {id: $id}) ON CREATE SET a.source = $source, a.loaded_at = $now, a.warnings = []",
        {"id": account, "source": source, "now": now},
    )


def principal_accounts(db: Database) -> frozenset[str]:
    """The accounts the stored users and roles name, and every account loaded."""
    out = {
        r["a"] for t in ("User", "Role") for r in db.execute(f"MATCH (n:{t}) RETURN DISTINCT n.account AS a")
    }
    out |= {r["a"] for r in db.execute("MATCH (a:Account) RETURN a.id AS a")}
    return frozenset(a for a in out if a)


def remove_account(db: Database, account: str) -> frozenset[str]:
    """Delete what the loads of `account` (and mutations in it) made, and its Account node, inside the
    caller's transaction; derived edges of deleted nodes go with them. What other accounts' principals say
    stays: an attachment to a policy of `account` now names a placeholder, as a load of their own export
    alone would. Returns the accounts of those principals."""
    kept = writer.foreign_edges(db, [account], [])
    for table in (*TABLES, "Resource"):
        writer.delete_nodes(db, table, "export", [account])
    db.execute("MATCH (a:Account) WHERE a.id = $a DELETE a", {"a": account})
    made: set[str] = set()
    for k in kept:
        if k.rel != "ATTACHED_TO":
            continue  # the group or instance profile is gone, and so is what its members held through it
        if k.replaced not in made and get(db, "Policy", k.replaced) is None:
            create_node(db, "Policy", writer.managed_row(writer.placeholder(k.replaced), k.export))
            made.add(k.replaced)
        how = k.attached_as or "identity"
        db.execute(  # the attachment as it was: GAAD's usage counters do not move
            f"MATCH (p:Policy), (t:{_table(k.table, TARGET_TABLES)}) WHERE p.arn = $p AND t.arn = $t "
            "CREATE (p)-[:ATTACHED_TO {attached_as: $how}]->(t)",
            {"p": k.replaced, "t": k.staying, "how": how},
        )
        _log("ATTACHED_TO", ("Policy", k.table), k.replaced, k.staying, {"attached_as": how})
    return frozenset(k.account for k in kept if k.account)


def add_member(db: Database, user_arn: str, group_arn: str) -> None:
    db.execute(
        "MATCH (u:User), (g:IAMGroup) WHERE u.arn = $u AND g.arn = $g CREATE (u)-[:MEMBER_OF]->(g)",
        {"u": user_arn, "g": group_arn},
    )
    _log("MEMBER_OF", ("User", "IAMGroup"), user_arn, group_arn, {})


def remove_member(db: Database, user_arn: str, group_arn: str) -> None:
    db.execute(
        "MATCH (u:User)-[m:MEMBER_OF]->(g:IAMGroup) WHERE u.arn = $u AND g.arn = $g DELETE m",
        {"u": user_arn, "g": group_arn},
    )


_COUNTER = {"identity": "attachment_count", "boundary": "boundary_usage_count"}


def attach(db: Database, policy_arn: str, target_table: str, target_arn: str, attached_as: str) -> None:
    """Policy → user/group/role (`identity`, `inline` or `boundary`); keeps GAAD's usage counters in step."""
    db.execute(
        f"MATCH (p:Policy), (t:{_table(target_table, TARGET_TABLES)}) WHERE p.arn = $p AND t.arn = $t "
        "CREATE (p)-[:ATTACHED_TO {attached_as: $how}]->(t)",
        {"p": policy_arn, "t": target_arn, "how": attached_as},
    )
    _log("ATTACHED_TO", ("Policy", target_table), policy_arn, target_arn, {"attached_as": attached_as})
    _count(db, policy_arn, attached_as, +1)


def detach(db: Database, policy_arn: str, target_arn: str, attached_as: str) -> None:
    db.execute(
        "MATCH (p:Policy)-[a:ATTACHED_TO]->(t) WHERE p.arn = $p AND t.arn = $t AND a.attached_as = $how "
        "DELETE a",
        {"p": policy_arn, "t": target_arn, "how": attached_as},
    )
    _count(db, policy_arn, attached_as, -1)


def _count(db: Database, policy_arn: str, attached_as: str, delta: int) -> None:
    column = _COUNTER.get(attached_as)
    if column is None:
        return
    db.execute(
        f"MATCH (p:Policy) WHERE p.arn = $p AND p.{column} IS NOT NULL "
        f"SET p.{column} = CASE WHEN p.{column} + $d < 0 THEN 0 ELSE p.{column} + $d END",
        {"p": policy_arn, "d": delta},
    )


def add_version(db: Database, row: Mapping[str, Any]) -> None:
    """`row`: key, export, policy_arn, version_id, is_default, document, create_date."""
    create_node(db, "PolicyVersion", row)
    _has_version(db, row["policy_arn"], row["key"])


def _has_version(db: Database, policy_arn: str, key: str) -> None:
    db.execute(
        "MATCH (p:Policy), (v:PolicyVersion) WHERE p.arn = $p AND v.key = $k CREATE (p)-[:HAS_VERSION]->(v)",
        {"p": policy_arn, "k": key},
    )
    _log("HAS_VERSION", ("Policy", "PolicyVersion"), policy_arn, key, {})


def set_default_version(db: Database, policy_arn: str, version_id: str) -> None:
    db.execute(
        "MATCH (v:PolicyVersion) WHERE v.policy_arn = $p SET v.is_default = (v.version_id = $v)",
        {"p": policy_arn, "v": version_id},
    )


def delete_versions(db: Database, policy_arn: str) -> None:
    db.execute("MATCH (v:PolicyVersion) WHERE v.policy_arn = $p DETACH DELETE v", {"p": policy_arn})


def delete_inline_policies(db: Database, owner_arn: str) -> None:
    db.execute(
        "MATCH (p:Policy) WHERE p.kind = 'inline' AND p.owner_arn = $o DETACH DELETE p", {"o": owner_arn}
    )


# ---- relationships CREATEd in the open transaction ----
# kuzu 0.11.3 returns relationships CREATEd in a transaction with wrong endpoints from non-anchored scans
# inside it (e.g. the derived-edge refresh reading every attachment) once two were created in one rel table;
# anchored lookups and COPYed rows read back right. `settle_created_rels` re-writes them with COPY before such
# a scan.

_created = threading.local()
_PK = {"User": "arn", "IAMGroup": "arn", "Role": "arn", "Policy": "arn", "PolicyVersion": "key"}


def _log(table: str, pair: tuple[str, str], src: str, dst: str, props: dict[str, Any]) -> None:
    log = getattr(_created, "rels", None)
    if log is not None:
        log.append((table, pair, src, dst, props))


def start_rel_log() -> None:
    """Start recording the relationships this thread CREATEs (call at the start of a write transaction)."""
    _created.rels = []


def needs_settling() -> bool:
    """True when some rel table got two or more CREATEs since `start_rel_log`."""
    counts: dict[str, int] = defaultdict(int)
    for table, *_ in getattr(_created, "rels", None) or []:
        counts[table] += 1
    return any(n >= 2 for n in counts.values())


def settle_created_rels(db: Database) -> int:
    """Where two or more relationships were CREATEd in one rel table since `start_rel_log`, delete those that
    still exist and re-insert them with COPY, so that scans later in the transaction read them right.
    Call only once no expected failure can follow (a rollback after a rel COPY loses the table's rows)."""
    log, _created.rels = getattr(_created, "rels", None) or [], None
    by_table: dict[tuple[str, tuple[str, str]], list[tuple[str, str, dict[str, Any]]]] = defaultdict(list)
    for table, pair, src, dst, props in log:
        by_table[(table, pair)].append((src, dst, props))
    moved = 0
    for (table, (a, b)), rows in by_table.items():
        if len(rows) < 2:
            continue
        names = _names({k: None for _, _, p in rows for k in sorted(p)})
        kept = []
        for src, dst, props in {(s, d, tuple(sorted(p.items()))): (s, d, p) for s, d, p in rows}.values():
            cond = "".join(f" AND e.{k} = $p_{k}" for k in props)
            params = {"s": src, "d": dst, **{f"p_{k}": v for k, v in props.items()}}
            match = (
                f"MATCH (x:{_table(a)})-[e:{table}]->(y:{_table(b)}) "
                f"WHERE x.{_PK[a]} = $s AND y.{_PK[b]} = $d{cond}"
            )
            if db.execute(f"{match} RETURN count(e) AS n", params)[0]["n"]:
                db.execute(f"{match} DELETE e", params)
                kept.append({"from": src, "to": dst, **{k: props.get(k) for k in names}})
        if kept:
            schema = pa.schema(
                [("from", pa.string()), ("to", pa.string()), *((k, pa.string()) for k in names)]
            )
            db.copy_from(table, pa.Table.from_pylist(kept, schema=schema), rel_pair=(a, b))
            moved += len(kept)
    return moved


# ---- derived edges, read before and after a change (what-if) ----


def derived_edges(db: Database) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every CAN_ASSUME edge (source ARN or service name → role) and every ESCALATES_TO edge."""
    assume = with_reasons(
        db,
        db.execute(
            "MATCH (a)-[e:CAN_ASSUME]->(b:Role) RETURN coalesce(a.arn, a.name) AS source, b.arn AS target, "
            "e.action AS action, e.reason AS reason, e.needs_conditions AS needs_conditions"
        ),
    )
    escalate = db.execute(
        "MATCH (a)-[e:ESCALATES_TO]->(b) RETURN a.arn AS source, b.arn AS target, "
        "e.technique AS technique, e.permissions AS permissions"
    )
    return assume, escalate
