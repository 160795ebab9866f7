"""`graphiam paths --from ARN [--to ARN] [--max-depth N]`: escalation paths, one line per step.

arn:…:user/bob --ec2-001 (iam:PassRole, ec2:RunInstances)--> arn:…:role/OpsAutomationRole [needs: …]

Without `--to`, a last line gives the principal's administrator facts (`queries.admin`): `isAdmin`,
`canBecomeAdmin` (`unknown` when a policy without a document decides) and why.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from graphiam import service
from graphiam.cli.common import db_arg, db_path, open_database
from graphiam.cli.served import Server, server_for, url_arg
from graphiam.queries.admin import AdminFacts, admin_facts
from graphiam.queries.escalation_paths import (
    MAX_LIMIT,
    build_index,
    count_paths,
    escalation_paths,
    path_incomplete,
)


def _fact(value: bool | None) -> str:
    return "unknown" if value is None else str(value).lower()


def render(
    paths: list[Any],
    *,
    source: str,
    to: str | None,
    total: int | None = None,
    facts: AdminFacts | Any | None = None,
    incomplete: list[tuple[str, ...]] | None = None,
) -> list[str]:
    """The paths, one line per step; `total`: how many paths there are (`count_paths`), when more than shown;
    `incomplete`: per path, the documents it rests on (`path_incomplete`); `facts`: the source's administrator
    facts (`is_admin`, `can_become_admin`, `reason`), as a last line."""
    goal = f"`{to}`" if to else "administrator"
    tail = []
    if facts is not None:
        now, become = _fact(facts.is_admin), _fact(facts.can_become_admin)
        tail.append(f"isAdmin: {now}, canBecomeAdmin: {become} ({facts.reason})")
    if not paths:
        return [f"no path from `{source}` to {goal}", *tail]
    if total is not None and total > len(paths):
        many = f"more than {MAX_LIMIT}" if total > MAX_LIMIT else str(total)
        more = f"--limit {total}" if total <= MAX_LIMIT else f"--limit {MAX_LIMIT} or a smaller --max-depth"
        head = (
            f"{len(paths)} of {many} paths from `{source}` to {goal} shown ({more} shows more), "
            "shortest first:"
        )
    else:
        head = f"{len(paths)} path(s) from `{source}` to {goal}, shortest first:"
    lines = [head]
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


PATHS_QUERY = """query ($from: String!, $to: String, $maxDepth: Int!, $limit: Int!) {
  escalationPaths(from: $from, to: $to, maxDepth: $maxDepth, limit: $limit) {
    incomplete steps { from to technique permissions { action } conditions assumptions } }
  escalationPathCount(from: $from, to: $to, maxDepth: $maxDepth)
  principal(arn: $from) { isAdmin canBecomeAdmin adminReason } }"""

Answer = tuple[list[Any], int, Any, list[tuple[str, ...]]]  # paths, total, admin facts, per-path documents


def _local(args: argparse.Namespace, path: Path) -> Answer:
    db = open_database(path, engine=args.engine)
    try:
        snap = service.build_snapshot(db)
        index = build_index(db, snap)
        paths = escalation_paths(
            db, snap, index, args.source, args.to, max_depth=args.max_depth, limit=args.limit
        )
        total = count_paths(snap, index, args.source, args.to, max_depth=args.max_depth)
    finally:
        db.close()
    facts = admin_facts(index, args.source) if args.to is None else None
    missing = [path_incomplete(snap, p) for p in paths]
    return paths, total, facts, missing


def _remote(args: argparse.Namespace, server: Server) -> Answer:
    """The server's answer, shaped as `render` reads a path (steps: source, target, technique, permissions,
    needs, assumptions)."""
    data = server.query(
        PATHS_QUERY, {"from": args.source, "to": args.to, "maxDepth": args.max_depth, "limit": args.limit}
    )
    paths = [
        SimpleNamespace(
            steps=[
                SimpleNamespace(
                    source=s["from"],
                    target=s["to"],
                    technique=s["technique"],
                    permissions=[{"action": u["action"]} for u in s["permissions"]],
                    needs=s["conditions"],
                    assumptions=s["assumptions"],
                )
                for s in p["steps"]
            ]
        )
        for p in data["escalationPaths"]
    ]
    who = data.get("principal")
    facts = None
    if args.to is None and who is not None:
        facts = SimpleNamespace(
            is_admin=who["isAdmin"], can_become_admin=who["canBecomeAdmin"], reason=who["adminReason"]
        )
    missing = [tuple(p["incomplete"]) for p in data["escalationPaths"]]
    return paths, int(data["escalationPathCount"]), facts, missing


def cmd_paths(args: argparse.Namespace) -> int:
    path = db_path(args, must_exist=not args.url)
    server = server_for(args, path)
    paths, total, facts, missing = _remote(args, server) if server else _local(args, path)
    for line in render(paths, source=args.source, to=args.to, total=total, facts=facts, incomplete=missing):
        print(line)
    return 0


def add(sub: Any) -> None:
    pp = sub.add_parser(
        "paths", help="privilege-escalation paths from a principal to administrator (or to --to)"
    )
    pp.add_argument("--from", dest="source", required=True, metavar="ARN", help="the starting user or role")
    pp.add_argument("--to", metavar="ARN", help="a target principal instead of administrator")
    pp.add_argument("--max-depth", type=int, default=5, help="at most this many steps (1-10, default 5)")
    pp.add_argument(
        "--limit", type=int, default=100, help=f"at most this many paths (1-{MAX_LIMIT}, default 100)"
    )
    db_arg(pp)
    url_arg(pp)
    pp.set_defaults(func=cmd_paths)
