"""`graphiam paths --from ARN [--to ARN] [--max-depth N]`: escalation paths, one line per step.

arn:…:user/bob --ec2-001 (iam:PassRole, ec2:RunInstances)--> arn:…:role/OpsAutomationRole [needs: …]

Without `--to`, a last line gives the principal's administrator facts (`queries.admin`): `isAdmin`,
`canBecomeAdmin` (`unknown` when a policy without a document decides) and why.
"""

from __future__ import annotations

import argparse
from typing import Any

from graphiam import service
from graphiam.cli.common import db_arg, db_path
from graphiam.queries.admin import AdminFacts, admin_facts
from graphiam.queries.escalation_paths import build_index, escalation_paths, path_incomplete


def _fact(value: bool | None) -> str:
    return "unknown" if value is None else str(value).lower()


def render(
    paths: list[Any],
    *,
    source: str,
    to: str | None,
    facts: AdminFacts | None = None,
    incomplete: list[tuple[str, ...]] | None = None,
) -> list[str]:
    """The paths, one line per step; `incomplete`: per path, the documents it rests on (`path_incomplete`);
    `facts`: the source's administrator facts, as a last line."""
    goal = f"`{to}`" if to else "administrator"
    tail = []
    if facts is not None:
        now, become = _fact(facts.is_admin), _fact(facts.can_become_admin)
        tail.append(f"isAdmin: {now}, canBecomeAdmin: {become} ({facts.reason})")
    if not paths:
        return [f"no path from `{source}` to {goal}", *tail]
    lines = [f"{len(paths)} path(s) from `{source}` to {goal}, shortest first:"]
    for i, p in enumerate(paths, 1):
        missing = incomplete[i - 1] if incomplete else ()
        rests = f", rests on policies without a document: {', '.join(missing)}" if missing else ""
        lines.append(f"path {i} ({len(p.steps)} step{'s' if len(p.steps) != 1 else ''}{rests}):")
        for s in p.steps:
            actions = ", ".join(
                dict.fromkeys(str(u.get("action")) for u in s.permissions if u.get("action") != "*")
            )
            end = "itself: administrator" if s.source == s.target else s.target
            line = f"  {s.source} --{s.technique} ({actions})--> {end}"
            if s.needs:
                line += f" [needs: {', '.join(s.needs)}]"
            if s.assumptions:
                line += f" [assumes: {'; '.join(s.assumptions)}]"
            lines.append(line)
    return lines + tail


def cmd_paths(args: argparse.Namespace) -> int:
    db = service.open_database(db_path(args, must_exist=True), engine=args.engine)
    try:
        snap = service.build_snapshot(db)
        index = build_index(db, snap)
        paths = escalation_paths(
            db, snap, index, args.source, args.to, max_depth=args.max_depth, limit=args.limit
        )
    finally:
        db.close()
    facts = admin_facts(index, args.source) if args.to is None else None
    missing = [path_incomplete(snap, p) for p in paths]
    for line in render(paths, source=args.source, to=args.to, facts=facts, incomplete=missing):
        print(line)
    return 0


def add(sub: Any) -> None:
    pp = sub.add_parser(
        "paths", help="privilege-escalation paths from a principal to administrator (or to --to)"
    )
    pp.add_argument("--from", dest="source", required=True, metavar="ARN", help="the starting user or role")
    pp.add_argument("--to", metavar="ARN", help="a target principal instead of administrator")
    pp.add_argument("--max-depth", type=int, default=5, help="at most this many steps (1-10, default 5)")
    pp.add_argument("--limit", type=int, default=100, help="at most this many paths (default 100)")
    db_arg(pp)
    pp.set_defaults(func=cmd_paths)
