"""`graphiam serve`: the GraphQL API (GraphiQL at /graphql, the dashboard at /ui/) over one database."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from graphiam.auth import LOOPBACK_NAMES, is_loopback
from graphiam.cli.common import db_arg, db_path
from graphiam.cli.token import serve_auth


def allowed_hosts_for(bind: str, added: Sequence[str]) -> tuple[str, ...]:
    """The Host names the server answers: a loopback bind's names (`127.0.0.1`, `localhost`, `[::1]`), else
    the bind address itself (an IPv6 one in brackets, as it appears in a Host header), plus `added`."""
    if is_loopback(bind):
        own: tuple[str, ...] = LOOPBACK_NAMES
    else:
        own = (f"[{bind.strip('[]')}]",) if ":" in bind else (bind,)
    return tuple(dict.fromkeys((*own, *added)))


def cmd_serve(args: argparse.Namespace) -> int:
    # uvicorn and the web application (starlette, strawberry) load here, not at import: they would double the
    # time `graphiam --help` and every other command take to start
    import uvicorn

    from graphiam.app import create_app

    auth = serve_auth(args, db_path(args))
    app = create_app(
        db_path(args),
        engine=args.engine,
        cors_origins=tuple(args.cors_origin or ()),
        auth=auth,
        ide=not args.no_ide,
        dashboard=not args.no_dashboard,
        introspection=not args.no_introspection,
        allowed_hosts=allowed_hosts_for(args.host, args.allowed_host or ()),
    )
    base = f"http://{args.host}:{args.port}"
    pages = "" if args.no_dashboard else f" (dashboard: {base}/ui/)"
    print(f"graphiam: serving {db_path(args)} at {base}/graphql{pages}", file=sys.stderr)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, workers=1)
    return 0


def add(sub: Any) -> None:
    sp = sub.add_parser(
        "serve",
        help="serve GraphQL (GraphiQL at /graphql, a dashboard at /ui/); an empty database gets the demo org",
    )
    db_arg(sp)
    sp.add_argument("--host", default="127.0.0.1")
    sp.add_argument("--port", type=int, default=8000)
    sp.add_argument("--cors-origin", action="append", help="allow this browser origin (repeatable)")
    sp.add_argument(
        "--allowed-host",
        action="append",
        metavar="NAME",
        help="also answer requests whose Host is NAME, e.g. a DNS name or `*.example.com` (repeatable; by "
        "default only the bind's own names: 127.0.0.1, localhost, [::1] on loopback; others get 400)",
    )
    sp.add_argument("--log-level", default="info")
    sp.add_argument("--no-ide", action="store_true", help="do not serve GraphiQL (production)")
    sp.add_argument("--no-dashboard", action="store_true", help="do not serve the dashboard at /ui/")
    sp.add_argument(
        "--no-introspection", action="store_true", help="refuse introspection queries (production)"
    )
    sp.add_argument(
        "--allow-anonymous-reads",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="allow queries without a token (default: only when --host is a loopback address)",
    )
    sp.set_defaults(func=cmd_serve)
