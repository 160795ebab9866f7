"""Typed reads. Every Cypher string of the read side lives here; values always go in as $parameters.

List reads are keyset-paginated on the primary key (`arn > $after ORDER BY arn`); batch reads take
`IN $keys` lists so DataLoaders answer a whole GraphQL level with one query.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from typing import TYPE_CHECKING, Any

from graphiam.store import records as rec
from graphiam.store.db import Database

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

ENTITY_TABLES = {
    "user": "User",
    "group": "IAMGroup",
    "role": "Role",
    "policy": "Policy",
    "instance-profile": "InstanceProfile",
    "resource": "Resource",
}
MANAGED_KINDS = ["aws-managed", "customer-managed"]
_CONVERT = {
    "User": rec.user,
    "IAMGroup": rec.group,
    "Role": rec.role,
    "Policy": rec.policy,
    "InstanceProfile": rec.profile,
    "Resource": rec.resource,
}


def _filters(
    table: str,
    account: str | None,
    kinds: Sequence[str] | None,
    include_missing: bool,
    path_prefix: str | None,
    types: Sequence[str] | None = None,
) -> tuple[str, dict[str, Any]]:
    where: list[str] = []
    params: dict[str, Any] = {}
    if types is not None:  # resources: their `service:kind` types
        where.append("n.type IN $types")
        params["types"] = list(types)
    if account is not None:
        where.append("n.account = $account")
        params["account"] = account
    if path_prefix is not None:
        where.append("starts_with(n.path, $path_prefix)")
        params["path_prefix"] = path_prefix
    if table == "Policy":
        where.append("n.kind IN $kinds")
        params["kinds"] = list(kinds or MANAGED_KINDS)
        if not include_missing:
            where.append("n.missing = false")
    return " AND ".join(where), params


def count(
    db: Database,
    table: str,
    *,
    account: str | None = None,
    kinds: Sequence[str] | None = None,
    include_missing: bool = False,
    path_prefix: str | None = None,
    types: Sequence[str] | None = None,
) -> int:
    where, params = _filters(table, account, kinds, include_missing, path_prefix, types)
    q = f"MATCH (n:{table}) {'WHERE ' + where if where else ''} RETURN count(n) AS c"
    return int(db.execute(q, params)[0]["c"])


def page(
    db: Database,
    table: str,
    *,
    first: int,
    after: str | None,
    account: str | None = None,
    kinds: Sequence[str] | None = None,
    include_missing: bool = False,
    path_prefix: str | None = None,
    types: Sequence[str] | None = None,
) -> list[Any]:
    """`first` rows with arn > `after`, in arn order (callers ask for one extra to learn hasNextPage)."""
    where, params = _filters(table, account, kinds, include_missing, path_prefix, types)
    if after is not None:
        where = " AND ".join(x for x in (where, "n.arn > $after") if x)
        params["after"] = after
    q = f"MATCH (n:{table}) {'WHERE ' + where if where else ''} RETURN n ORDER BY n.arn LIMIT {int(first)}"
    return [_CONVERT[table](r["n"]) for r in db.execute(q, params)]


def by_arns(db: Database, table: str, arns: Sequence[str]) -> dict[str, Any]:
    rows = db.execute(f"MATCH (n:{table}) WHERE n.arn IN $arns RETURN n", {"arns": list(arns)})
    return {r["n"]["arn"]: _CONVERT[table](r["n"]) for r in rows}


def by_name(db: Database, table: str, name: str, account: str | None = None) -> list[Any]:
    q = (
        f"MATCH (n:{table}) WHERE n.name = $name"
        + (" AND n.account = $account" if account else "")
        + " RETURN n ORDER BY n.arn"
    )
    params: dict[str, Any] = {"name": name}
    if account:
        params["account"] = account
    return [_CONVERT[table](r["n"]) for r in db.execute(q, params)]


SEARCH_TABLES = ("User", "IAMGroup", "Role", "Policy", "Resource")


def search(db: Database, table: str, text: str, *, account: str | None, limit: int) -> list[rec.SearchRow]:
    """The `limit` best records of `table` whose name or ARN contains `text` (compared in lower case; pass it
    lower-cased): the name equal to it first, then names starting with it, names containing it, ARNs
    containing it; ties in ARN order."""
    if table not in SEARCH_TABLES:
        raise ValueError(f"not a searchable table: `{table}`")
    where = "(contains(lower(n.name), $text) OR contains(lower(n.arn), $text))"
    params: dict[str, Any] = {"text": text}
    if account is not None:
        where += " AND n.account = $account"
        params["account"] = account
    kind = {"Policy": "n.kind", "Resource": "n.type"}.get(table, "NULL")
    path = "NULL" if table == "Resource" else "n.path"
    q = (
        f"MATCH (n:{table}) WHERE {where} "
        "WITH n, CASE WHEN lower(n.name) = $text THEN 0 WHEN starts_with(lower(n.name), $text) THEN 1 "
        "WHEN contains(lower(n.name), $text) THEN 2 ELSE 3 END AS rank "
        f"RETURN n.arn AS arn, n.name AS name, n.account AS account, {path} AS path, {kind} AS kind, rank "
        f"ORDER BY rank, arn LIMIT {int(limit)}"
    )
    return [
        rec.SearchRow(
            table=table,
            arn=r["arn"],
            name=r["name"],
            account=r["account"],
            path=r["path"],
            policy_kind=r["kind"],
            rank=int(r["rank"]),
        )
        for r in db.execute(q, params)
    ]


def principal_kinds(db: Database, arns: Sequence[str]) -> dict[str, str]:
    """Which table each ARN lives in (User or Role), for `principal(arn:)`."""
    rows = db.execute(
        "MATCH (n:User) WHERE n.arn IN $arns RETURN n.arn AS arn, 'User' AS t "
        "UNION ALL MATCH (n:Role) WHERE n.arn IN $arns RETURN n.arn AS arn, 'Role' AS t",
        {"arns": list(arns)},
    )
    return {r["arn"]: r["t"] for r in rows}


def groups_of_users(db: Database, user_arns: Sequence[str]) -> dict[str, list[rec.GroupRow]]:
    rows = db.execute(
        "MATCH (u:User)-[:MEMBER_OF]->(g:IAMGroup) WHERE u.arn IN $arns RETURN u.arn AS u, g ORDER BY g.arn",
        {"arns": list(user_arns)},
    )
    out: dict[str, list[rec.GroupRow]] = {a: [] for a in user_arns}
    for r in rows:
        out[r["u"]].append(rec.group(r["g"]))
    return out


def members_of_groups(db: Database, group_arns: Sequence[str]) -> dict[str, list[rec.UserRow]]:
    rows = db.execute(
        "MATCH (u:User)-[:MEMBER_OF]->(g:IAMGroup) WHERE g.arn IN $arns RETURN g.arn AS g, u ORDER BY u.arn",
        {"arns": list(group_arns)},
    )
    out: dict[str, list[rec.UserRow]] = {a: [] for a in group_arns}
    for r in rows:
        out[r["g"]].append(rec.user(r["u"]))
    return out


def attachments_to(
    db: Database, target_arns: Sequence[str]
) -> dict[str, list[tuple[rec.AttachmentRow, rec.PolicyRow]]]:
    """Policies attached to users, groups or roles (identity, inline and boundary), with the policy rows."""
    rows = db.execute(
        "MATCH (p:Policy)-[a:ATTACHED_TO]->(t) WHERE t.arn IN $arns "
        "RETURN p, a.attached_as AS how, t.arn AS target, label(t) AS tt ORDER BY p.arn",
        {"arns": list(target_arns)},
    )
    out: dict[str, list[tuple[rec.AttachmentRow, rec.PolicyRow]]] = {a: [] for a in target_arns}
    for r in rows:
        pol = rec.policy(r["p"])
        out[r["target"]].append(
            (
                rec.AttachmentRow(
                    policy_arn=pol.arn, target_arn=r["target"], target_type=r["tt"], attached_as=r["how"]
                ),
                pol,
            )
        )
    return out


def attachments_of(db: Database, policy_arns: Sequence[str]) -> dict[str, list[rec.AttachmentRow]]:
    rows = db.execute(
        "MATCH (p:Policy)-[a:ATTACHED_TO]->(t) WHERE p.arn IN $arns "
        "RETURN p.arn AS p, a.attached_as AS how, t.arn AS target, label(t) AS tt ORDER BY t.arn",
        {"arns": list(policy_arns)},
    )
    out: dict[str, list[rec.AttachmentRow]] = {a: [] for a in policy_arns}
    for r in rows:
        out[r["p"]].append(
            rec.AttachmentRow(
                policy_arn=r["p"], target_arn=r["target"], target_type=r["tt"], attached_as=r["how"]
            )
        )
    return out


def versions_of(db: Database, policy_arns: Sequence[str]) -> dict[str, list[rec.VersionRow]]:
    rows = db.execute(
        "MATCH (p:Policy)-[:HAS_VERSION]->(v:PolicyVersion) WHERE p.arn IN $arns RETURN v ORDER BY v.key",
        {"arns": list(policy_arns)},
    )
    out: dict[str, list[rec.VersionRow]] = {a: [] for a in policy_arns}
    for r in rows:
        v = rec.version(r["v"])
        out[v.policy_arn].append(v)
    return out


def profiles_of_roles(db: Database, role_arns: Sequence[str]) -> dict[str, list[rec.InstanceProfileRow]]:
    rows = db.execute(
        "MATCH (i:InstanceProfile)-[:HAS_ROLE]->(r:Role) WHERE r.arn IN $arns "
        "RETURN r.arn AS r, i ORDER BY i.arn",
        {"arns": list(role_arns)},
    )
    out: dict[str, list[rec.InstanceProfileRow]] = {a: [] for a in role_arns}
    for r in rows:
        out[r["r"]].append(rec.profile(r["i"]))
    return out


def roles_of_profiles(db: Database, profile_arns: Sequence[str]) -> dict[str, list[rec.RoleRow]]:
    rows = db.execute(
        "MATCH (i:InstanceProfile)-[:HAS_ROLE]->(r:Role) WHERE i.arn IN $arns "
        "RETURN i.arn AS i, r ORDER BY r.arn",
        {"arns": list(profile_arns)},
    )
    out: dict[str, list[rec.RoleRow]] = {a: [] for a in profile_arns}
    for r in rows:
        out[r["i"]].append(rec.role(r["r"]))
    return out


def accounts(db: Database, ids: Sequence[str] | None = None) -> list[rec.AccountRow]:
    if ids is None:
        rows = db.execute("MATCH (a:Account) RETURN a ORDER BY a.id")
    else:
        rows = db.execute("MATCH (a:Account) WHERE a.id IN $ids RETURN a ORDER BY a.id", {"ids": list(ids)})
    return [rec.account(r["a"]) for r in rows]


_COUNTS = (
    ("users", "MATCH (n:User) RETURN n.export AS x, count(*) AS n"),
    ("groups", "MATCH (n:IAMGroup) RETURN n.export AS x, count(*) AS n"),
    ("roles", "MATCH (n:Role) RETURN n.export AS x, count(*) AS n"),
    (
        "policies",
        "MATCH (n:Policy) WHERE n.kind = 'customer-managed' AND NOT coalesce(n.missing, false) "
        "RETURN n.export AS x, count(*) AS n",
    ),
    ("inline_policies", "MATCH (n:Policy) WHERE n.kind = 'inline' RETURN n.export AS x, count(*) AS n"),
    ("resources", "MATCH (n:Resource) RETURN n.export AS x, count(*) AS n"),
)


def account_counts(db: Database) -> dict[str, rec.AccountCounts]:
    """Users, groups, roles, customer-managed and inline policies, resources per account (the account whose
    load or mutation made them, which is not always the account an ARN names)."""
    counts: dict[str, dict[str, int]] = {}
    with db.read_transaction():
        for what, query in _COUNTS:
            for r in db.execute(query):
                counts.setdefault(r["x"], {})[what] = int(r["n"])
    return {x: rec.AccountCounts(**c) for x, c in counts.items() if x is not None}


def account_names(db: Database) -> dict[str, str]:
    """The names the stored organization gives its accounts, by id."""
    rows = db.execute("MATCH (u:OrgUnit) WHERE u.kind = 'account' RETURN u.id AS id, u.name AS name")
    return {r["id"]: r["name"] for r in rows if r["name"]}


def is_empty(db: Database) -> bool:
    """No account and no organization loaded."""
    return not (
        db.execute("MATCH (a:Account) RETURN a.id LIMIT 1")
        or db.execute("MATCH (u:OrgUnit) RETURN u.id LIMIT 1")
    )


# ---- bulk reads for the analysis layer (policy engine over the whole graph) ----


def _node_rows(db: Database, table: str, row: type[DataclassInstance]) -> list[dict[str, Any]]:
    """Every node of `table` as a dict of the properties `row` has, read as Arrow columns: reading whole nodes
    row by row took 2.7 s of a 10,000-principal snapshot, most of it in properties nothing reads."""
    kinds = db.execute_arrow(f"MATCH (n:{table}) RETURN n LIMIT 0").schema.field("n").type
    have = {kinds.field(i).name for i in range(kinds.num_fields)}
    wanted = [f.name for f in fields(row) if f.name in have]
    out: list[dict[str, Any]] = db.execute_arrow(
        f"MATCH (n:{table}) RETURN " + ", ".join(f"n.{k} AS {k}" for k in wanted)
    ).to_pylist()
    return out


def all_principal_rows(db: Database) -> tuple[list[rec.UserRow], list[rec.RoleRow], list[rec.GroupRow]]:
    users = [rec.user(r) for r in _node_rows(db, "User", rec.UserRow)]
    roles = [rec.role(r) for r in _node_rows(db, "Role", rec.RoleRow)]
    groups = [rec.group(r) for r in _node_rows(db, "IAMGroup", rec.GroupRow)]
    return users, roles, groups


def all_policies(db: Database) -> list[rec.PolicyRow]:
    return [rec.policy(r) for r in _node_rows(db, "Policy", rec.PolicyRow)]


def all_attachments(db: Database) -> list[rec.AttachmentRow]:
    rows = db.execute_arrow(
        "MATCH (p:Policy)-[a:ATTACHED_TO]->(t) "
        "RETURN p.arn AS p, a.attached_as AS how, t.arn AS target, label(t) AS tt"
    ).to_pylist()
    return [
        rec.AttachmentRow(
            policy_arn=r["p"], target_arn=r["target"], target_type=r["tt"], attached_as=r["how"]
        )
        for r in rows
    ]


def all_memberships(db: Database) -> list[tuple[str, str]]:
    rows = db.execute_arrow("MATCH (u:User)-[:MEMBER_OF]->(g:IAMGroup) RETURN u.arn AS u, g.arn AS g")
    return list(zip(rows.column("u").to_pylist(), rows.column("g").to_pylist(), strict=True))


def all_profiles(db: Database) -> list[tuple[rec.InstanceProfileRow, str]]:
    rows = db.execute("MATCH (i:InstanceProfile)-[:HAS_ROLE]->(r:Role) RETURN i, r.arn AS r")
    return [(rec.profile(r["i"]), r["r"]) for r in rows]


def all_resources(db: Database) -> list[rec.ResourceRow]:
    return [rec.resource(r) for r in _node_rows(db, "Resource", rec.ResourceRow)]


def names_of(db: Database, resource_arns: Sequence[str]) -> dict[str, list[rec.NamedRow]]:
    """What the policies of `resource_arns` name (the NAMES edges), each resource's in a stable order."""
    out: dict[str, list[rec.NamedRow]] = {a: [] for a in resource_arns}
    rows = db.execute(
        "MATCH (r:Resource)-[e:NAMES]->(t) WHERE r.arn IN $arns "
        "RETURN r.arn AS resource, label(t) AS tt, t.kind AS kind, t.value AS value, t.arn AS arn, "
        "e.effect AS effect, e.conditional AS conditional, e.principal_kind AS pk, e.not_principal AS np",
        {"arns": list(resource_arns)},
    )
    for r in rows:
        table = r["tt"]
        named = table == "Named"
        out[r["resource"]].append(
            rec.NamedRow(
                resource=r["resource"],
                table=table,
                kind=r["kind"] if named else table.lower(),
                value=r["value"] if named else r["arn"],
                effect=r["effect"],
                conditional=bool(r["conditional"]),
                principal_kind=r["pk"],
                not_principal=bool(r["np"]),
            )
        )
    for rows_of in out.values():
        rows_of.sort(key=lambda n: (n.effect, n.principal_kind, n.kind, n.value, n.conditional))
    return out
