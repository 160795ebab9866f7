"""Command line: load | serve | export-schema | simulate | paths | report | graph | token. Errors print one line, never a traceback."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from graphiam.errors import GraphiamError

LOAD_BUFFER_POOL_MB = 2048


class ProgressBar:
    """A one-line progress bar on stderr (only drawn on a terminal or for large inputs)."""

    def __init__(self, enabled: bool, width: int = 30) -> None:
        self.enabled = enabled
        self.width = width
        self.start = time.monotonic()

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled or total <= 0:
            return
        filled = int(self.width * done / total)
        bar = "#" * filled + "-" * (self.width - filled)
        sys.stderr.write(f"\r[{bar}] {done}/{total} {stage:<40.40} {time.monotonic() - self.start:5.1f}s")
        if done >= total and stage == "done":
            sys.stderr.write("\n")
        sys.stderr.flush()


def _db_path(args: argparse.Namespace, *, must_exist: bool = False) -> Path:
    """`--db`, else GRAPHIAM_DB, else the default; `must_exist` (commands that only read): a missing database
    is an error instead of a new empty one (a mistyped path would otherwise answer "not in the graph")."""
    from graphiam.app import default_db_path

    path = Path(args.db) if args.db else default_db_path()
    if must_exist and not path.exists():
        raise GraphiamError(
            f"no database at {path}: load one first (graphiam load FILE --db {path}), "
            "or start `graphiam serve`, which loads the demo org into an empty database"
        )
    return path


def cmd_load(args: argparse.Namespace) -> int:
    from graphiam.loading import load_files
    from graphiam.store import open_database

    for f in args.files:
        if Path(f).is_dir():
            raise GraphiamError(f"{f}: is a directory; name the export files in it")
        if not Path(f).is_file():
            raise GraphiamError(f"{f}: no such file")
    big = sum(Path(f).stat().st_size for f in args.files) > (1 << 20)
    bar = ProgressBar(enabled=sys.stderr.isatty() or big or args.progress)
    db = open_database(_db_path(args), buffer_pool_mb=args.buffer_pool_mb)
    try:
        summary = load_files(db, args.files, progress=bar)
    finally:
        db.close()
    for line in summary.lines():
        print(line)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from graphiam.app import create_app
    from graphiam.cli_token import serve_auth

    auth = serve_auth(args, _db_path(args))
    app = create_app(
        _db_path(args),
        cors_origins=tuple(args.cors_origin or ()),
        auth=auth,
        ide=not args.no_ide,
        introspection=not args.no_introspection,
    )
    print(f"graphiam: serving {_db_path(args)} at http://{args.host}:{args.port}/graphql", file=sys.stderr)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, workers=1)
    return 0


def cmd_export_schema(args: argparse.Namespace) -> int:
    from graphiam.api.schema import sdl

    text = sdl()
    if args.output:
        Path(args.output).write_text(text)
    else:
        sys.stdout.write(text)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="graphiam", description="An AWS IAM graph you can ask questions of.")
    sub = p.add_subparsers(dest="command", required=True)

    def db_arg(sp: argparse.ArgumentParser) -> None:
        sp.add_argument(
            "--db", help="database directory (default: $GRAPHIAM_DB, else ~/.local/share/graphiam/db)"
        )

    lp = sub.add_parser("load", help="load GAAD exports (.json) and credential reports (.csv)")
    lp.add_argument("files", nargs="+")
    db_arg(lp)
    lp.add_argument(
        "--buffer-pool-mb",
        type=int,
        default=LOAD_BUFFER_POOL_MB,
        help=f"kuzu buffer pool for the load (default {LOAD_BUFFER_POOL_MB}: deriving the CAN_ASSUME and "
        "escalation edges of a large export needs room; it is an upper bound, not an allocation)",
    )
    lp.add_argument("--progress", action="store_true", help="always draw the progress bar")
    lp.set_defaults(func=cmd_load)

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

    ep = sub.add_parser("export-schema", help="print the GraphQL SDL")
    ep.add_argument("-o", "--output")
    ep.set_defaults(func=cmd_export_schema)

    try:
        from graphiam.cli_simulate import add_simulate

        add_simulate(sub, db_arg)
    except ImportError:
        pass
    try:
        from graphiam.cli_paths import add_paths

        add_paths(sub, db_arg)
    except ImportError:
        pass
    try:
        from graphiam.cli_report import add_report

        add_report(sub, db_arg)
    except ImportError:
        pass
    try:
        from graphiam.cli_graph import add_graph

        add_graph(sub, db_arg)
    except ImportError:
        pass
    try:
        from graphiam.cli_token import add_token

        add_token(sub, db_arg)
    except ImportError:
        pass
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except GraphiamError as exc:
        print(f"graphiam: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # the reader went away (`graphiam report | head`): stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the flush at exit does not raise again
        return 1


if __name__ == "__main__":
    sys.exit(main())
