"""`graphiam paths --from ARN [--to ARN] [--max-depth N]`: escalation paths, one line per step.

arn:…:user/bob --ec2-001 (iam:PassRole, ec2:RunInstances)--> arn:…:role/OpsAutomationRole [needs: …]
"""

from __future__ import annotations

import argparse
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from graphiam import service
from graphiam.cli.common import db_arg, db_path, open_database
from graphiam.cli.served import Server, server_for, url_arg
from graphiam.queries.escalation_paths import MAX_LIMIT, build_index, count_paths, escalation_paths


def render(paths: list[Any], *, source: str, to: str | None, total: int | None = None) -> list[str]:
    """`total`: how many paths there are (`count_paths`), when more than shown."""
    goal = f"`{to}`" if to else "administrator"
    if not paths:
        return [f"no path from `{source}` to {goal}"]
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
        lines.append(f"path {i} ({len(p.steps)} step{'s' if len(p.steps) != 1 else ''}):")
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
    return lines


PATHS_QUERY = """query ($from: String!, $to: String, $maxDepth: Int!, $limit: Int!) {
  escalationPaths(from: $from, to: $to, maxDepth: $maxDepth, limit: $limit) {
    steps { from to technique permissions { action } conditions assumptions } }
  escalationPathCount(from: $from, to: $to, maxDepth: $maxDepth) }"""


def _local(args: argparse.Namespace, path: Path) -> tuple[list[Any], int]:
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
    return paths, total


def _remote(args: argparse.Namespace, server: Server) -> tuple[list[Any], int]:
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
    return paths, int(data["escalationPathCount"])


def cmd_paths(args: argparse.Namespace) -> int:
    path = db_path(args, must_exist=not args.url)
    server = server_for(args, path)
    paths, total = _remote(args, server) if server else _local(args, path)
    for line in render(paths, source=args.source, to=args.to, total=total):
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
