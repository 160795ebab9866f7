"""`graphiam audit`: the audit log of mutations (`<db>.audit.jsonl`), newest first.

It reads only the log file beside the database, never the database, so it works while a server runs.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from typing import Any

from graphiam.audit import AuditEntry, AuditLog, Outcome, audit_file_for
from graphiam.cli.common import db_arg, db_path
from graphiam.errors import InputError


def _line(e: AuditEntry) -> str:
    dry = " (dry run)" if e.dry_run else ""
    detail = f"  {e.detail}" if e.detail else ""
    return f"{e.at}  {e.who}  {e.operation}{dry}  {e.outcome.value}{detail}"


def _json(e: AuditEntry) -> str:
    fields: dict[str, Any] = dataclasses.asdict(e)
    fields["outcome"] = e.outcome.value
    return json.dumps(fields, ensure_ascii=False)


def cmd_audit(args: argparse.Namespace) -> int:
    if args.limit < 0:
        raise InputError(f"`--limit`: {args.limit} is negative")
    log = AuditLog(audit_file_for(db_path(args)))
    wanted = Outcome(args.outcome) if args.outcome else None

    def keep(e: AuditEntry) -> bool:
        return (
            (args.operation is None or e.operation == args.operation)
            and (args.who is None or e.who == args.who)
            and (wanted is None or e.outcome is wanted)
        )

    entries, total = log.page(first=args.limit or sys.maxsize, keep=keep)
    if not entries:
        filtered = args.operation or args.who or args.outcome
        print(
            f"no entry of {log.path} matches" if filtered else f"no audited mutations in {log.path}",
            file=sys.stderr,
        )
        return 0
    for e in entries:
        print(_json(e) if args.json else _line(e))
    if len(entries) < total:
        print(f"(the newest {len(entries)} of {total}; --limit 0 shows all)", file=sys.stderr)
    return 0


def add(sub: Any) -> None:
    ap = sub.add_parser(
        "audit", help="the audit log: who ran which mutation, when, dry run or not, and how it ended"
    )
    ap.add_argument("--limit", type=int, default=50, help="the newest N entries (default 50; 0: all)")
    ap.add_argument("--operation", help="only this mutation, e.g. putUserPolicy")
    ap.add_argument("--who", metavar="TOKEN_NAME", help="only mutations by the token of this name")
    ap.add_argument("--outcome", choices=[o.value for o in Outcome], help="only those that ended so")
    ap.add_argument("--json", action="store_true", help="one JSON object per line, arguments included")
    db_arg(ap)
    ap.set_defaults(func=cmd_audit)
