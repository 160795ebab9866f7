"""`graphiam serve`: the GraphQL API (GraphiQL at /graphql, the dashboard at /ui/) over one database."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from functools import partial
from typing import Any

from graphiam.auth import LOOPBACK_NAMES, is_loopback
from graphiam.cli.common import db_arg, db_path
from graphiam.cli.served import client_url, refuse_if_served, remove_lock, write_lock
from graphiam.cli.token import serve_auth

NO_SEEDS_ENV = "GRAPHIAM_NO_SEEDS"


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

    from graphiam import service
    from graphiam.app import create_app

    path = db_path(args)
    refuse_if_served(path, "serve it again")
    # the app opens the database only once uvicorn starts it, where a refusal is a traceback: a database made
    # by the other engine is refused here, in one line, before a token is made for it
    service.check_engine(path, args.engine)
    auth = serve_auth(args, path)
    no_seeds = args.no_seeds or os.environ.get(NO_SEEDS_ENV, "") not in ("", "0")
    app = create_app(
        path,
        engine=args.engine,
        load_seeds=not no_seeds,
        # the lock file, while the server holds the database (uvicorn ends the process with the signal that
        # stopped it, after the app's shutdown: a `finally` around `uvicorn.run` would not run)
        on_open=partial(write_lock, path, client_url(args.host, args.port)),
        on_close=partial(remove_lock, path),
        cors_origins=tuple(args.cors_origin or ()),
        auth=auth,
        ide=not args.no_ide,
        dashboard=not args.no_dashboard,
        introspection=not args.no_introspection,
        allowed_hosts=allowed_hosts_for(args.host, args.allowed_host or ()),
    )
    base = f"http://{args.host}:{args.port}"
    pages = "" if args.no_dashboard else f" (dashboard: {base}/ui/)"
    print(f"graphiam: serving {path} at {base}/graphql{pages}", file=sys.stderr)
    try:
        uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, workers=1)
    finally:
        remove_lock(path)
    return 0


def add(sub: Any) -> None:
    sp = sub.add_parser(
        "serve",
        help="serve GraphQL (GraphiQL at /graphql, a dashboard at /ui/); an empty database gets the demo org "
        "unless --no-seeds (or it was made by `graphiam load`)",
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
    sp.add_argument(
        "--no-seeds",
        action="store_true",
        help="serve an empty database empty instead of loading the demo org into it (also: "
        f"{NO_SEEDS_ENV}=1)",
    )
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
