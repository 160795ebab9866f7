"""Cypher for escalation: the facts the derivation needs beyond the snapshot, ESCALATES_TO writes, path reads.

Path search reads every CAN_ASSUME and ESCALATES_TO edge once per database generation (`path_edges`).
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pyarrow as pa

from graphiam.store.db import Database

_EDGE = pa.schema([("from", pa.string()), ("to", pa.string()), ("technique", pa.string()),
                   ("permissions", pa.string()), ("details", pa.string())])
_PAIRS = (("User", "User"), ("User", "Role"), ("Role", "Role"), ("Role", "User"))


# ---- facts for the derivation ----

def group_policy_arns(db: Database) -> list[dict[str, Any]]:
    """Every group with the identity policies attached to it (managed and inline)."""
    rows = db.execute("MATCH (g:IAMGroup) OPTIONAL MATCH (p:Policy)-[a:ATTACHED_TO]->(g) "
                      "RETURN g.arn AS arn, g.account AS account, g.name AS name, "
                      "collect(p.arn) AS policies")
    return [{"arn": r["arn"], "account": r["account"], "name": r["name"], "policies": r["policies"] or []}
            for r in rows]


def non_default_versions(db: Database) -> list[dict[str, Any]]:
    """Stored versions that are not the default, of customer-managed policies."""
    return db.execute("MATCH (p:Policy)-[:HAS_VERSION]->(v:PolicyVersion) "
                      "WHERE p.kind = 'customer-managed' AND v.is_default = false AND v.document IS NOT NULL "
                      "RETURN p.arn AS policy, v.version_id AS version, v.document AS document "
                      "ORDER BY p.arn, v.version_id")


def user_credentials(db: Database) -> list[dict[str, Any]]:
    return db.execute("MATCH (u:User) RETURN u.arn AS arn, u.password_enabled AS password_enabled, "
                      "u.access_keys_active AS access_keys")


# ---- writes (inside the load transaction) ----

def replace_edges(db: Database, accounts: Iterable[str], rows: Sequence[dict[str, Any]],
                  kinds: dict[str, str]) -> None:
    """Delete the ESCALATES_TO edges leaving principals of `accounts`, then COPY `rows` (`kinds`: arn → User|Role)."""
    db.execute("MATCH (a)-[e:ESCALATES_TO]->() WHERE a.account IN $accounts DELETE e",
               {"accounts": sorted(set(accounts))})
    for src, dst in _PAIRS:
        part = [r for r in rows if kinds.get(r["from"]) == src and kinds.get(r["to"]) == dst]
        if part:
            db.copy_from("ESCALATES_TO", pa.Table.from_pylist(part, schema=_EDGE), rel_pair=(src, dst))


# ---- reads ----

def path_edges(db: Database) -> list[dict[str, Any]]:
    """Every CAN_ASSUME and ESCALATES_TO edge, for the in-memory path search (`queries.escalation`); escalation
    edges without their JSON (`escalation_details` fetches it for the steps of the paths returned).

    Paths are searched in Python over this adjacency: kuzu's `ACYCLIC` enumeration multiplies parallel
    edges (one per technique) at every hop and ran the buffer pool out at depth 5 on a 100-principal test
    bed, and `SHORTEST` over the CAN_ASSUME|ESCALATES_TO group returned misaligned node and rel lists.
    """
    assume = db.execute("MATCH (a)-[e:CAN_ASSUME]->(b) RETURN coalesce(a.arn, a.name) AS source, b.arn AS target, "
                        "e.action AS action, e.statements AS statements, e.conditions AS conditions")
    escalate = db.execute("MATCH (a)-[e:ESCALATES_TO]->(b) RETURN a.arn AS source, b.arn AS target, "
                          "e.technique AS technique")
    return [{**r, "kind": "CAN_ASSUME"} for r in assume] + [{**r, "kind": "ESCALATES_TO"} for r in escalate]


def escalation_details(db: Database, sources: Sequence[str]) -> list[dict[str, Any]]:
    """The escalation edges leaving `sources`, with their permissions and details JSON."""
    return db.execute("MATCH (a)-[e:ESCALATES_TO]->(b) WHERE a.arn IN $sources RETURN a.arn AS source, "
                      "b.arn AS target, e.technique AS technique, e.permissions AS permissions, e.details AS details",
                      {"sources": list(sources)})
