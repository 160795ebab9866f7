"""`graphiam accounts [--json]`: what is loaded, one line per account (its name in the organization when one
is loaded, the file it was last loaded from and when, how many users, groups, roles and policies), then the
organization."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from graphiam import service
from graphiam.cli.common import db_arg, db_path, open_database
from graphiam.cli.served import Server, server_for, url_arg

ACCOUNTS_QUERY = """{ accounts { id name source loadedAt warnings
    counts { users groups roles policies inlinePolicies } }
  organization { id units { id kind } } }"""
COUNTS = ("users", "groups", "roles", "policies", "inlinePolicies")


def _local(args: argparse.Namespace, path: Path) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    db = open_database(path, engine=args.engine)
    try:
        rows = service.reader.accounts(db)
        names, counts = service.account_facts(db)
        units, _ = service.organization.read_organization(db)
    finally:
        db.close()
    accounts = []
    for a in rows:
        c = counts.get(a.id) or service.records.AccountCounts()
        accounts.append(
            {
                "account": a.id,
                "name": names.get(a.id),
                "source": a.source,
                "loadedAt": a.loaded_at,
                "users": c.users,
                "groups": c.groups,
                "roles": c.roles,
                "policies": c.policies,
                "inlinePolicies": c.inline_policies,
                "warnings": list(a.warnings),
            }
        )
    org = None
    if units:
        org = {"id": units[0].org, "accounts": sorted(u.id for u in units if u.kind == "account")}
    return accounts, org


def _remote(server: Server) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    data = server.query(ACCOUNTS_QUERY)
    accounts = [
        {
            "account": a["id"],
            "name": a["name"],
            "source": a["source"],
            "loadedAt": a["loadedAt"],
            **{k: a["counts"][k] for k in COUNTS},
            "warnings": a["warnings"],
        }
        for a in data["accounts"]
    ]
    o = data["organization"]
    org = None
    if o is not None:
        org = {"id": o["id"], "accounts": sorted(u["id"] for u in o["units"] if u["kind"] == "account")}
    return accounts, org


def render(accounts: list[dict[str, Any]], org: dict[str, Any] | None) -> list[str]:
    if not accounts and org is None:
        return ["nothing loaded (graphiam load FILE...)"]
    head = ("ACCOUNT", "NAME", "USERS", "GROUPS", "ROLES", "POLICIES", "INLINE", "LOADED", "FROM")
    rows = [
        (
            a["account"],
            a["name"] or "-",
            *(str(a[k]) for k in COUNTS),
            a["loadedAt"] or "-",
            a["source"] or "-",
        )
        for a in accounts
    ]
    widths = [max(len(r[i]) for r in (head, *rows)) for i in range(len(head) - 1)]
    lines = [
        ("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)) + "  " + r[-1]).rstrip()
        for r in (head, *rows)
    ]
    if org is not None:
        loaded = {a["account"] for a in accounts}
        without = [a for a in org["accounts"] if a not in loaded]
        lines.append(
            f"organization {org['id']}: {len(org['accounts'])} accounts"
            + (f", {len(without)} without an IAM export loaded" if without else "")
        )
    return lines


def cmd_accounts(args: argparse.Namespace) -> int:
    path = db_path(args, must_exist=not args.url)
    server = server_for(args, path)
    accounts, org = _remote(server) if server else _local(args, path)
    if args.json:
        print(json.dumps({"accounts": accounts, "organization": org}, indent=2))
    else:
        print("\n".join(render(accounts, org)))
    return 0


def add(sub: Any) -> None:
    ap = sub.add_parser(
        "accounts", help="the loaded accounts: name, users, groups, roles, policies, when and from which file"
    )
    ap.add_argument("--json", action="store_true", help="print JSON")
    db_arg(ap)
    url_arg(ap)
    ap.set_defaults(func=cmd_accounts)
