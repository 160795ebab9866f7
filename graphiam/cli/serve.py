"""`graphiam serve`: the GraphQL API (GraphiQL at /graphql, the dashboard at /ui/) over one database.

One process serves the database by default. `--read-only` serves a copy (`graphiam snapshot`) read-only.
`--workers N` (docs/DEPLOYMENT.md): this process starts the writer, a `graphiam serve` of the database on a
loopback port that publishes every generation (`create_app(publish=True)`), then N reader processes on the
public port (uvicorn's workers, each made by `reader_app` from `READER_ENV`) that answer queries from the
newest published generation and forward mutations to the writer; it stops the writer when they stop, and
stops them when the writer ends.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

from graphiam.auth import LOOPBACK_NAMES, Auth, TokenStore, is_loopback, token_file_for
from graphiam.cli.common import db_arg, db_path
from graphiam.cli.served import client_url, refuse_if_served, remove_lock, write_lock
from graphiam.cli.token import serve_auth
from graphiam.errors import GraphiamError

NO_SEEDS_ENV = "GRAPHIAM_NO_SEEDS"
READER_ENV = "GRAPHIAM_READER"  # a reader process's settings (JSON), set by `serve --workers N`
WRITER_START_S = 600.0  # the writer loads the demo org into an empty database first


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

    if args.workers < 1:
        raise GraphiamError(f"--workers: at least 1, got {args.workers}")
    path = db_path(args, must_exist=args.read_only)
    if args.read_only:
        return serve_read_only(args, path)
    if args.writer:
        return serve_writer(args, path)
    refuse_if_served(path, "serve it again")
    auth = serve_auth(args, path)
    if args.workers > 1:
        return serve_workers(args, path, auth)
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


def reader_settings(args: argparse.Namespace, path: Path, auth: Auth, **more: Any) -> dict[str, Any]:
    """What a reader process needs to make its app (`reader_app`), as JSON."""
    return {
        "db": str(path),
        "engine": args.engine,
        "anonymous_reads": auth.anonymous_reads,
        "cors_origins": list(args.cors_origin or ()),
        "ide": not args.no_ide,
        "dashboard": not args.no_dashboard,
        "introspection": not args.no_introspection,
        "allowed_hosts": list(allowed_hosts_for(args.host, args.allowed_host or ())),
        **more,
    }


def reader_app() -> Any:
    """The app of one reader process (uvicorn's factory), from the settings in `READER_ENV`: a follower of
    the writer's generations that forwards mutations to it, or a server of a read-only copy."""
    from graphiam.app import create_app

    settings = json.loads(os.environ[READER_ENV])
    read_only = settings.get("read_only", False)
    store = TokenStore(token_file_for(settings["db"]), record_use=not read_only)
    return create_app(
        settings["db"],
        engine=settings["engine"],
        load_seeds=False,
        read_only=read_only,
        follow=not read_only,
        forward_to=settings.get("writer"),
        auth=Auth(store=store, anonymous_reads=settings["anonymous_reads"]),
        cors_origins=tuple(settings["cors_origins"]),
        ide=settings["ide"],
        dashboard=settings["dashboard"],
        introspection=settings["introspection"],
        allowed_hosts=tuple(settings["allowed_hosts"]),
    )


def run_readers(args: argparse.Namespace, settings: dict[str, Any]) -> None:
    """`args.workers` processes of `reader_app` on the public port (uvicorn's supervisor)."""
    import uvicorn

    os.environ[READER_ENV] = json.dumps(settings)
    uvicorn.run(
        "graphiam.cli.serve:reader_app",
        factory=True,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        workers=args.workers,
    )


def serve_read_only(args: argparse.Namespace, path: Path) -> int:
    """`--read-only`: a copy of a database, opened read-only by each of `--workers` processes (read-only
    opens of one file coexist); nothing is written beside it (no lock file, no first token)."""
    import uvicorn

    from graphiam.app import create_app

    auth = serve_auth(args, path, read_only=True)
    base = f"http://{args.host}:{args.port}"
    processes = f"{args.workers} processes" if args.workers > 1 else "one process"
    print(f"graphiam: serving {path} read-only at {base}/graphql ({processes})", file=sys.stderr)
    if args.workers > 1:
        run_readers(args, reader_settings(args, path, auth, read_only=True))
        return 0
    app = create_app(
        path,
        engine=args.engine,
        load_seeds=False,
        read_only=True,
        auth=auth,
        cors_origins=tuple(args.cors_origin or ()),
        ide=not args.no_ide,
        dashboard=not args.no_dashboard,
        introspection=not args.no_introspection,
        allowed_hosts=allowed_hosts_for(args.host, args.allowed_host or ()),
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, workers=1)
    return 0


def serve_writer(args: argparse.Namespace, path: Path) -> int:
    """The writer of `--workers N` (`--writer`, on a loopback port): the database read-write, every generation
    published for the readers; mutations reach it forwarded by them. No lock file: the parent writes it."""
    import uvicorn

    from graphiam.app import create_app

    store = TokenStore(token_file_for(path))
    no_seeds = args.no_seeds or os.environ.get(NO_SEEDS_ENV, "") not in ("", "0")
    app = create_app(
        path,
        engine=args.engine,
        load_seeds=not no_seeds,
        publish=True,
        auth=Auth(store=store, anonymous_reads=False),
        ide=False,
        dashboard=False,
        introspection=not args.no_introspection,
        allowed_hosts=LOOPBACK_NAMES,
    )
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level=args.log_level, workers=1)
    return 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_writer(args: argparse.Namespace, path: Path) -> tuple[subprocess.Popen[bytes], str]:
    """The writer process on a free loopback port, once it answers (it has published a first generation);
    its GraphQL URL."""
    import httpx

    port = free_port()
    command = [
        sys.executable,
        "-m",
        "graphiam.cli",
        "serve",
        "--writer",
        "--db",
        str(path),
        "--port",
        str(port),
    ]
    command += ["--log-level", args.log_level]
    if args.engine:
        command += ["--engine", args.engine]
    if args.no_seeds:
        command.append("--no-seeds")
    if args.no_introspection:
        command.append("--no-introspection")
    proc = subprocess.Popen(command, start_new_session=True)  # Ctrl-C stops the readers; they stop it
    deadline = time.monotonic() + WRITER_START_S
    while True:
        if proc.poll() is not None:
            raise GraphiamError(
                f"the writer process stopped (exit {proc.returncode}) before it served {path}"
            )
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return proc, f"http://127.0.0.1:{port}/graphql"
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            proc.terminate()
            raise GraphiamError(f"the writer process did not answer within {WRITER_START_S:g} s")
        time.sleep(0.2)


def serve_workers(args: argparse.Namespace, path: Path, auth: Auth) -> int:
    """`--workers N`: the writer, then N readers on the public port; the lock file names this process."""
    from graphiam.service import generations_dir

    writer, writer_url = start_writer(args, path)
    stopping = threading.Event()

    def watch() -> None:  # the writer ended on its own: stop the readers (and so this process)
        writer.wait()
        if not stopping.is_set():
            print(f"graphiam: the writer process ended (exit {writer.returncode}): stopping", file=sys.stderr)
            os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, daemon=True).start()
    base = f"http://{args.host}:{args.port}"
    pages = "" if args.no_dashboard else f" (dashboard: {base}/ui/)"
    print(
        f"graphiam: serving {path} at {base}/graphql{pages}: {args.workers} reader processes, "
        f"mutations forwarded to the writer (pid {writer.pid})",
        file=sys.stderr,
    )
    write_lock(path, client_url(args.host, args.port))
    try:
        run_readers(args, reader_settings(args, path, auth, writer=writer_url))
    finally:
        stopping.set()
        remove_lock(path)
        writer.terminate()
        try:
            writer.wait(timeout=30)
        except subprocess.TimeoutExpired:
            writer.kill()
            writer.wait()
        shutil.rmtree(generations_dir(path), ignore_errors=True)  # nobody reads them any more
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
    sp.add_argument(
        "--read-only",
        action="store_true",
        help="serve a copy of a database (a `graphiam snapshot` directory) read-only: no seeds, mutations "
        "refused (READ_ONLY), nothing written beside it; for many servers behind a load balancer",
    )
    sp.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="N processes answer queries (default 1); with N > 1 one more process holds the database, runs "
        "the mutations the others forward to it and publishes each new generation, which every reader "
        "picks up between requests (docs/DEPLOYMENT.md)",
    )
    sp.add_argument("--writer", action="store_true", help=argparse.SUPPRESS)  # the writer of --workers N
    sp.set_defaults(func=cmd_serve)
