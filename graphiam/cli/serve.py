"""`graphiam serve`: the GraphQL API (GraphiQL at /graphql) over one database."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from graphiam.cli.common import db_arg, db_path
from graphiam.cli.token import serve_auth


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
        introspection=not args.no_introspection,
    )
    print(f"graphiam: serving {db_path(args)} at http://{args.host}:{args.port}/graphql", file=sys.stderr)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, workers=1)
    return 0


def add(sub: Any) -> None:
    sp = sub.add_parser(
        "serve", help="serve GraphQL (GraphiQL at /graphql); an empty database gets the demo org"
    )
    db_arg(sp)
    sp.add_argument("--host", default="127.0.0.1")
    sp.add_argument("--port", type=int, default=8000)
    sp.add_argument("--cors-origin", action="append", help="allow this browser origin (repeatable)")
    sp.add_argument("--log-level", default="info")
    sp.add_argument("--no-ide", action="store_true", help="do not serve GraphiQL (production)")
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
