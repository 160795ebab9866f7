"""`graphiam remove-account ID`: remove one account and everything made from it (its users, groups, roles,
policies, instance profiles, the CAN_ASSUME and escalation edges and findings that came from them), all or
nothing; the derived facts of every account that remains are recomputed in the same transaction."""

from __future__ import annotations

import argparse
from typing import Any

from graphiam import service
from graphiam.changes.apply import Change, apply_changes
from graphiam.cli.common import db_arg, db_path, open_database
from graphiam.cli.served import refuse_if_served
from graphiam.errors import GraphiamError, NotFoundError


def cmd_remove_account(args: argparse.Namespace) -> int:
    path = db_path(args, must_exist=True)
    refuse_if_served(path, "remove an account")
    db = open_database(path, engine=args.engine)
    try:
        counts = service.account_facts(db)[1].get(args.account)
        result = apply_changes(db, [Change(op="removeAccount", args={"account": args.account})])
    finally:
        db.close()
    if not result.ok:
        p = result.problems[0]
        raise (NotFoundError if p.code == "NOT_FOUND" else GraphiamError)(p.message)
    refreshed = sorted(set().union(*(a.accounts for a in result.applied)) - {args.account})
    c = counts or service.records.AccountCounts()
    print(
        f"removed account {args.account}: {c.users} users, {c.groups} groups, {c.roles} roles, "
        f"{c.policies} policies, {c.inline_policies} inline policies; derived facts recomputed for "
        f"{len(refreshed)} remaining account(s)"
    )
    return 0


def add(sub: Any) -> None:
    rp = sub.add_parser(
        "remove-account",
        help="remove one account and everything derived from it (all or nothing)",
    )
    rp.add_argument("account", metavar="ID", help="the 12-digit account id")
    db_arg(rp)
    rp.set_defaults(func=cmd_remove_account)
