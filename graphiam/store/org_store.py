"""The organization tree and its service and resource control policies: replaced as a whole, read as a
whole."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from graphiam.model import Organization
from graphiam.store.db import Database

S = pa.string()
_UNIT = pa.schema(
    [
        ("id", S),
        ("org", S),
        ("kind", S),
        ("name", S),
        ("parent", S),
        ("management", pa.bool_()),
        ("source", S),
    ]
)
_SCP = pa.schema(
    [("id", S), ("org", S), ("name", S), ("description", S), ("aws_managed", pa.bool_()), ("document", S)]
)
_REL = pa.schema([("from", S), ("to", S)])


@dataclass(frozen=True, kw_only=True)
class UnitRow:
    id: str
    org: str
    kind: str  # root | ou | account
    name: str | None
    parent: str | None
    management: bool
    source: str | None


@dataclass(frozen=True, kw_only=True)
class ScpRow:
    id: str
    org: str
    name: str
    description: str | None
    aws_managed: bool
    document: str
    targets: tuple[str, ...]


def governing_chain(units: dict[str, UnitRow], account: str) -> list[str] | None:
    """The unit ids from the root down to `account` whose SCPs govern it; None when SCPs do not apply (the
    account is not in the organization, or is its management account)."""
    unit = units.get(account)
    chain: list[str] = []
    while unit is not None and not unit.management:
        chain.append(unit.id)
        unit = units.get(unit.parent) if unit.parent else None
    if not chain or units[chain[-1]].kind != "root":
        return None
    return chain[::-1]


def replace_organization(db: Database, org: Organization) -> None:
    """Replace the stored organization (there is at most one) inside the caller's transaction."""
    with db.transaction():
        db.execute("MATCH (u:OrgUnit) DETACH DELETE u")
        db.execute("MATCH (p:ServiceControlPolicy) DETACH DELETE p")
        db.execute("MATCH (p:ResourceControlPolicy) DETACH DELETE p")
        db.copy_from(
            "OrgUnit",
            pa.Table.from_pylist(
                [
                    {
                        "id": u.id,
                        "org": org.id,
                        "kind": u.kind,
                        "name": u.name,
                        "parent": u.parent_id,
                        "management": u.id == org.management_account,
                        "source": org.source,
                    }
                    for u in org.units
                ],
                schema=_UNIT,
            ),
        )
        for table, policies in (("ServiceControlPolicy", org.policies), ("ResourceControlPolicy", org.rcps)):
            db.copy_from(
                table,
                pa.Table.from_pylist(
                    [
                        {
                            "id": p.id,
                            "org": org.id,
                            "name": p.name,
                            "description": p.description,
                            "aws_managed": p.aws_managed,
                            "document": p.document,
                        }
                        for p in policies
                    ],
                    schema=_SCP,
                ),
            )
        db.copy_from(
            "CHILD_OF",
            pa.Table.from_pylist(
                [{"from": u.id, "to": u.parent_id} for u in org.units if u.parent_id], schema=_REL
            ),
        )
        for rel, policies in (("SCP_ATTACHED", org.policies), ("RCP_ATTACHED", org.rcps)):
            db.copy_from(
                rel,
                pa.Table.from_pylist(
                    [{"from": p.id, "to": t} for p in policies for t in p.targets], schema=_REL
                ),
            )


def read_organization(db: Database) -> tuple[list[UnitRow], list[ScpRow]]:
    """Every unit and SCP (with the ids of the units it is attached to), ordered by id."""
    units = [
        UnitRow(**r)
        for r in db.execute(
            "MATCH (u:OrgUnit) RETURN u.id AS id, u.org AS org, u.kind AS kind, u.name AS name, "
            "u.parent AS parent, u.management AS management, u.source AS source ORDER BY id"
        )
    ]
    targets: dict[str, list[str]] = {}
    for r in db.execute(
        "MATCH (p:ServiceControlPolicy)-[:SCP_ATTACHED]->(u:OrgUnit) RETURN p.id AS pid, u.id AS uid "
        "ORDER BY pid, uid"
    ):
        targets.setdefault(r["pid"], []).append(r["uid"])
    scps = [
        ScpRow(**r, targets=tuple(targets.get(r["id"], ())))
        for r in db.execute(
            "MATCH (p:ServiceControlPolicy) RETURN p.id AS id, p.org AS org, p.name AS name, "
            "p.description AS description, p.aws_managed AS aws_managed, p.document AS document ORDER BY id"
        )
    ]
    return units, scps


def read_rcps(db: Database) -> list[ScpRow]:
    """Every resource control policy (with the ids of the units it is attached to), ordered by id: the same
    rows as SCPs."""
    targets: dict[str, list[str]] = {}
    for r in db.execute(
        "MATCH (p:ResourceControlPolicy)-[:RCP_ATTACHED]->(u:OrgUnit) RETURN p.id AS pid, u.id AS uid "
        "ORDER BY pid, uid"
    ):
        targets.setdefault(r["pid"], []).append(r["uid"])
    return [
        ScpRow(**r, targets=tuple(targets.get(r["id"], ())))
        for r in db.execute(
            "MATCH (p:ResourceControlPolicy) RETURN p.id AS id, p.org AS org, p.name AS name, "
            "p.description AS description, p.aws_managed AS aws_managed, p.document AS document ORDER BY id"
        )
    ]
