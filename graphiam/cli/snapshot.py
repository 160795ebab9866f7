"""`graphiam snapshot DIR`: a consistent copy of a database in a new directory, while a server runs or not.

The copy is a directory holding `db` (the database file), `db.engine`, an empty `db.lock` and a copy of the
token file (`db.tokens.json`, hashed tokens: the servers of the copy accept the same tokens); every command
takes the directory as `--db`, and `graphiam serve --read-only --db DIR` serves it (docs/DEPLOYMENT.md). It
is written under a temporary name beside DIR and renamed: DIR appears whole or not at all.

A database a server holds cannot be opened by another process (docs/ENGINE.md), so the server copies it,
between two writes (the `copyDatabase` mutation: an admin token in `GRAPHIAM_TOKEN`), beside the database,
and this command moves the copy to DIR. Without a server the database is opened read-only and copied.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from graphiam.cli.common import db_arg, db_path, open_database
from graphiam.cli.served import server_for, url_arg
from graphiam.errors import GraphiamError, InputError

COPY = "mutation { copyDatabase { path size } }"


def cmd_snapshot(args: argparse.Namespace) -> int:
    from graphiam.auth import token_file_for
    from graphiam.service import DB_NAME, copy_database

    target = Path(args.directory)
    if target.exists():
        raise InputError(f"`{target}` exists: name a new directory")
    if not target.parent.is_dir():
        raise InputError(f"`{target.parent}` is not a directory")
    source = db_path(args, must_exist=not args.url)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.mkdir()
    try:
        server = server_for(args, source)
        if server is not None:
            made = Path(server.query(COPY)["copyDatabase"]["path"])
            if not made.is_file():
                raise GraphiamError(
                    f"{server.who()}: its copy `{made}` is not on this machine: run graphiam snapshot there"
                )
            for p in made.parent.iterdir():
                shutil.move(p, tmp / p.name)
            with contextlib.suppress(OSError):
                made.parent.rmdir()
            how = f"copied by the server (pid {server.lock.pid})" if server.lock else "copied by the server"
        else:
            db = open_database(source, engine=args.engine, read_only=True)
            try:
                copy_database(db, tmp / DB_NAME)
            finally:
                db.close()
            how = "copied read-only"
        tokens = token_file_for(source)
        if tokens.exists() and not args.no_tokens:
            shutil.copy2(tokens, token_file_for(tmp / DB_NAME))
        # the copy opens: a damaged one is not left where a server would serve it
        check = open_database(tmp / DB_NAME, engine=args.engine, read_only=True)
        check.close()
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    size = (target / DB_NAME).stat().st_size
    print(
        f"graphiam: snapshot of {source} in {target} ({size / 1e6:.1f} MB, {how}); serve it with "
        f"`graphiam serve --read-only --db {target}`",
        file=sys.stderr,
    )
    return 0


def add(sub: Any) -> None:
    sp = sub.add_parser(
        "snapshot",
        help="write a consistent copy of the database into a new directory DIR (asking the server that holds "
        "it, if any); `graphiam serve --read-only --db DIR` serves it",
    )
    sp.add_argument("directory", metavar="DIR", help="the new directory (must not exist)")
    db_arg(sp)
    url_arg(sp)
    sp.add_argument(
        "--no-tokens", action="store_true", help="do not copy the token file (hashed tokens) into DIR"
    )
    sp.set_defaults(func=cmd_snapshot)
