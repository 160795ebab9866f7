"""Reads for `whoCan`: the prefilter over policies' service prefixes, and reverse CAN_ASSUME reachability.

Each Policy node carries `services` (every statement) and `allow_services` (Allow statements only): the
lower-cased service prefixes its Action patterns can name, with `*` standing for "any service" (a wildcard in
the service part, or a NotAction statement). A principal can only be allowed `svc:Action` by an identity
policy when one of its identity policies (its own, inline, or its groups') lists `svc` or `*` in
`allow_services` — "IAM JSON policy elements: Action" (the service prefix is the part before `:`), and
"Policy evaluation logic" (without an applicable identity Allow, only a resource-based policy can allow).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from graphiam.store.assume_store import read_reasons
from graphiam.store.db import Database

ANY_SERVICE = "*"
MAX_CHAIN_DEPTH = 10


def _pattern_service(pattern: Any) -> str | None:
    """The service an Action pattern can name: its lower-cased prefix, `*` when unknowable, None for none."""
    if not isinstance(pattern, str):
        return ANY_SERVICE
    text = pattern.strip().lower()
    service, sep, _ = text.partition(":")
    if "*" in service or "?" in service:
        return ANY_SERVICE
    if not sep:
        return None  # `s3` alone (no `:` and no wildcard) matches no action
    return service


def policy_services(document: str | None) -> tuple[list[str], list[str]]:
    """(`services`, `allow_services`) of a stored policy document (canonical JSON text).

    Conservative: a document that cannot be read here counts as naming every service.
    """
    if document is None:
        return [], []
    try:
        raw = json.loads(document)
        statements = raw["Statement"]
        if isinstance(statements, dict):
            statements = [statements]
        every: set[str] = set()
        allow: set[str] = set()
        for st in statements:
            found: set[str] = set()
            if "NotAction" in st:
                found.add(ANY_SERVICE)
            else:
                actions = st.get("Action", [])
                for a in actions if isinstance(actions, list) else [actions]:
                    svc = _pattern_service(a)
                    if svc is not None:
                        found.add(svc)
            every |= found
            if st.get("Effect") == "Allow":
                allow |= found
    except (ValueError, TypeError, KeyError, AttributeError):
        return [ANY_SERVICE], [ANY_SERVICE]
    return sorted(every), sorted(allow)


_MATCH = "(list_contains(p.allow_services, $svc) OR list_contains(p.allow_services, '*'))"
_CANDIDATES = (
    f"MATCH (p:Policy)-[a:ATTACHED_TO]->(u:User) WHERE a.attached_as <> 'boundary' AND {_MATCH} "
    "RETURN u.arn AS arn "
    "UNION MATCH (p:Policy)-[a:ATTACHED_TO]->(:IAMGroup)<-[:MEMBER_OF]-(u:User) "
    f"WHERE a.attached_as <> 'boundary' AND {_MATCH} RETURN u.arn AS arn "
    f"UNION MATCH (p:Policy)-[a:ATTACHED_TO]->(r:Role) WHERE a.attached_as <> 'boundary' AND {_MATCH} "
    "RETURN r.arn AS arn"
)


def principals_for_service(db: Database, service: str) -> set[str]:
    """ARNs of the users and roles with an identity policy whose Allow statements can name `service`."""
    return {r["arn"] for r in db.execute(_CANDIDATES, {"svc": service.lower()})}


def _depth(max_depth: int) -> int:
    if not isinstance(max_depth, int) or isinstance(max_depth, bool) or not 1 <= max_depth <= MAX_CHAIN_DEPTH:
        raise ValueError(f"chain depth must be an int in 1..{MAX_CHAIN_DEPTH}")
    return max_depth


def principals_reaching(db: Database, role_arns: Iterable[str], *, max_depth: int) -> list[dict[str, Any]]:
    """Users and roles with a CAN_ASSUME chain (SHORTEST per pair, at most `max_depth` hops) to a role of
    `role_arns`. Rows: {source, kind, hops: [ARN...] (source first, target last),
    conditions: [JSON per hop]}."""
    targets: Sequence[str] = sorted(set(role_arns))
    if not targets:
        return []
    n = _depth(max_depth)
    rows: list[dict[str, Any]] = []
    for label in ("User", "Role"):
        # the BFS starts from the (fewer) allowed roles and walks CAN_ASSUME backwards
        q = (
            f"MATCH p = (t:Role)<-[:CAN_ASSUME* SHORTEST 1..{n}]-(s:{label}) WHERE t.arn IN $targets "
            "AND s.arn <> t.arn RETURN s.arn AS source, properties(nodes(p), 'arn') AS hops, "
            "properties(rels(p), 'reason') AS reasons"
        )
        for r in db.execute(q, {"targets": list(targets)}):
            rows.append(
                {
                    "source": r["source"],
                    "kind": label,
                    "hops": list(reversed(r["hops"])),
                    "reasons": list(reversed(r["reasons"] or [])),
                }
            )
    reasons = read_reasons(db, [rid for r in rows for rid in r["reasons"]])
    for r in rows:
        r["conditions"] = [reasons[rid][1] for rid in r.pop("reasons")]
    return rows
