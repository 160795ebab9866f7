"""Reads of a part of the graph: the principals a change to some accounts can reach, and what the policy
engine needs of them (`graph.partial.build_partial_snapshot`; `derive.scope` decides which principals).

Each read filters in the query, so that re-deriving one account of a large organisation reads that account
and its neighbours, not the whole graph: by account with `IN $accounts` (a few), by ARN with one primary-key
lookup per ARN (`UNWIND $arns AS k MATCH (n:User {arn: k})`): a scan filtered with `IN $arns` compares every
node with every ARN, which over a thousand ARNs and a hundred thousand nodes takes seconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from graphiam.store import records as rec
from graphiam.store.db import Database

# an identity policy can allow `sts:AssumeRole` only when it lists `sts` or `*` among its Allow statements'
# services (store/access_store.py)
_MAY_ASSUME = "(list_contains(p.allow_services, 'sts') OR list_contains(p.allow_services, '*'))"


def principal_rows(
    db: Database, *, accounts: Sequence[str], arns: Sequence[str]
) -> tuple[list[rec.UserRow], list[rec.RoleRow]]:
    """The users and roles of `accounts`, and those of `arns`."""
    users = {u.arn: u for u in map(rec.user, _nodes(db, "User", accounts, arns))}
    roles = {r.arn: r for r in map(rec.role, _nodes(db, "Role", accounts, arns))}
    return list(users.values()), list(roles.values())


def _nodes(db: Database, table: str, accounts: Sequence[str], arns: Sequence[str]) -> list[dict[str, Any]]:
    """The nodes of `table` of `accounts`, and those of `arns` (as dicts; a node may come twice)."""
    out = []
    if accounts:
        rows = db.execute(
            f"MATCH (n:{table}) WHERE n.account IN $accounts RETURN n", {"accounts": list(accounts)}
        )
        out += [r["n"] for r in rows]
    if arns:
        rows = db.execute(f"UNWIND $arns AS k MATCH (n:{table} {{arn: k}}) RETURN n", {"arns": _keys(arns)})
        out += [r["n"] for r in rows]
    return out


def _keys(values: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(values))


def memberships(db: Database, user_arns: Sequence[str]) -> list[tuple[str, str]]:
    """(user, group) for every group of `user_arns`."""
    rows = db.execute(
        "UNWIND $arns AS k MATCH (u:User {arn: k})-[:MEMBER_OF]->(g:IAMGroup) RETURN u.arn AS u, g.arn AS g",
        {"arns": _keys(user_arns)},
    )
    return [(r["u"], r["g"]) for r in rows]


def groups(db: Database, *, accounts: Sequence[str], arns: Sequence[str]) -> list[rec.GroupRow]:
    """The groups of `accounts` (members or not: a principal may join one), and those of `arns`."""
    return list({g.arn: g for g in map(rec.group, _nodes(db, "IAMGroup", accounts, arns))}.values())


def attachments(db: Database, target_arns: Sequence[str]) -> list[rec.AttachmentRow]:
    """Every policy attached to `target_arns` (users, groups, roles): identity, inline and boundary, in the
    order of the policies' nodes, as a scan of every attachment (`reader.all_attachments`) gives them: a
    principal's policies keep the order the snapshot of the whole graph gives them (decisions list matched
    statements in that order)."""
    found = []
    for table in ("User", "Role", "IAMGroup"):
        rows = db.execute(
            f"UNWIND $arns AS k MATCH (p:Policy)-[a:ATTACHED_TO]->(t:{table} {{arn: k}}) "
            "RETURN p.arn AS p, a.attached_as AS how, t.arn AS target, offset(id(p)) AS at",
            {"arns": _keys(target_arns)},
        )
        found += [
            (
                r["at"],
                rec.AttachmentRow(
                    policy_arn=r["p"], target_arn=r["target"], target_type=table, attached_as=r["how"]
                ),
            )
            for r in rows
        ]
    found.sort(key=lambda f: f[0])
    return [row for _, row in found]


def policies(db: Database, arns: Sequence[str]) -> list[rec.PolicyRow]:
    return [
        rec.policy(r["n"])
        for r in db.execute("UNWIND $arns AS k MATCH (n:Policy {arn: k}) RETURN n", {"arns": _keys(arns)})
    ]


def profiles(db: Database, role_arns: Sequence[str]) -> list[tuple[rec.InstanceProfileRow, str]]:
    """(instance profile, role) for every instance profile of `role_arns`."""
    rows = db.execute(
        "UNWIND $arns AS k MATCH (i:InstanceProfile)-[:HAS_ROLE]->(r:Role {arn: k}) RETURN i, r.arn AS r",
        {"arns": _keys(role_arns)},
    )
    return [(rec.profile(r["i"]), r["r"]) for r in rows]


def roles_maybe_naming(db: Database, accounts: Sequence[str]) -> list[rec.RoleRow]:
    """A superset of the roles whose trust policy names one of `accounts` (as an account or through an ARN of
    it), `*` or NotPrincipal: those whose trust policy's text contains an account id of `accounts`, a `*` or
    `notprincipal` (in any case). The caller parses them to decide."""
    rows = db.execute(
        "MATCH (n:Role) WHERE n.trust_policy IS NOT NULL AND (n.trust_policy CONTAINS '*' "
        "OR lower(n.trust_policy) CONTAINS 'notprincipal' "
        "OR any(a IN $accounts WHERE n.trust_policy CONTAINS a)) RETURN n",
        {"accounts": list(accounts)},
    )
    return [rec.role(r["n"]) for r in rows]


def assume_policies(db: Database, accounts: Sequence[str]) -> dict[str, str]:
    """ARN -> document of each identity policy of a user, group or role of `accounts` (not as a permissions
    boundary) that may allow `sts:AssumeRole`: only those let a trust policy naming the account admit one
    of them ("Cross-account policy evaluation logic": delegation needs an identity Allow)."""
    out: dict[str, str] = {}
    for table in ("User", "Role", "IAMGroup"):
        rows = db.execute(
            f"MATCH (p:Policy)-[a:ATTACHED_TO]->(n:{table}) WHERE n.account IN $accounts "
            f"AND a.attached_as <> 'boundary' AND {_MAY_ASSUME} AND p.document IS NOT NULL "
            "RETURN DISTINCT p.arn AS arn, p.document AS document",
            {"accounts": list(accounts)},
        )
        out.update((r["arn"], r["document"]) for r in rows)
    return out


def holders(db: Database, policy_arns: Sequence[str], accounts: Sequence[str]) -> list[str]:
    """The users and roles of `accounts` that hold one of `policy_arns` as an identity policy, their own or a
    group's."""
    if not policy_arns:
        return []
    params = {"arns": _keys(policy_arns), "accounts": list(accounts)}
    held = "WHERE n.account IN $accounts AND a.attached_as <> 'boundary'"
    found: set[str] = set()
    for table in ("User", "Role"):
        rows = db.execute(
            f"UNWIND $arns AS k MATCH (p:Policy {{arn: k}})-[a:ATTACHED_TO]->(n:{table}) {held} "
            "RETURN DISTINCT n.arn AS arn",
            params,
        )
        found.update(r["arn"] for r in rows)
    rows = db.execute(
        "UNWIND $arns AS k MATCH (p:Policy {arn: k})-[a:ATTACHED_TO]->(:IAMGroup)<-[:MEMBER_OF]-(n:User) "
        f"{held} RETURN DISTINCT n.arn AS arn",
        params,
    )
    found.update(r["arn"] for r in rows)
    return sorted(found)


# ---- for the import summary of a load (`queries.summary.summarise` with `changed`) ----


def policies_of(db: Database, accounts: Sequence[str]) -> list[rec.PolicyRow]:
    """The policies (managed, inline, placeholders) of `accounts`."""
    rows = db.execute("MATCH (n:Policy) WHERE n.account IN $accounts RETURN n", {"accounts": list(accounts)})
    return [rec.policy(r["n"]) for r in rows]


def version_ids(db: Database, policy_arns: Sequence[str]) -> list[tuple[str, str, bool]]:
    """(policy ARN, version id, is default) of the stored versions of `policy_arns`."""
    rows = db.execute(
        "UNWIND $arns AS k MATCH (:Policy {arn: k})-[:HAS_VERSION]->(v:PolicyVersion) "
        "RETURN v.policy_arn AS p, v.version_id AS vid, v.is_default AS d ORDER BY p, vid",
        {"arns": _keys(policy_arns)},
    )
    return [(r["p"], r["vid"], bool(r["d"])) for r in rows]


def profiles_of(db: Database, accounts: Sequence[str]) -> list[tuple[rec.InstanceProfileRow, str]]:
    """(instance profile, role) for every role of every instance profile of `accounts`."""
    rows = db.execute(
        "MATCH (i:InstanceProfile)-[:HAS_ROLE]->(r:Role) WHERE i.account IN $accounts RETURN i, r.arn AS r",
        {"accounts": list(accounts)},
    )
    return [(rec.profile(r["i"]), r["r"]) for r in rows]


def accounts_of_exports(db: Database, exports: Sequence[str]) -> set[str]:
    """The accounts of the nodes the loads of `exports` made (a load replaces them)."""
    found: set[str] = set()
    for table in ("User", "IAMGroup", "Role", "Policy", "InstanceProfile", "Resource"):
        rows = db.execute(
            f"MATCH (n:{table}) WHERE n.export IN $exports RETURN DISTINCT n.account AS a",
            {"exports": list(exports)},
        )
        found.update(r["a"] for r in rows if r["a"])
    return found


def attached_aws_managed(db: Database) -> set[str]:
    """The AWS-managed policies attached to a user, group or role other than as its permissions boundary."""
    rows = db.execute(
        "MATCH (p:Policy)-[a:ATTACHED_TO]->() WHERE p.kind = 'aws-managed' AND a.attached_as <> 'boundary' "
        "RETURN DISTINCT p.arn AS arn"
    )
    return {r["arn"] for r in rows}
