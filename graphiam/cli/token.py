"""`graphiam token create|list|revoke`, and what `graphiam serve` prints and decides about tokens.

`token create --expires 30d` (or 12h, 45m, 2w, a UTC date or time) makes a token that stops working then;
`token list` shows when each was created, when it expires and when a server last saw it used.

The token commands edit only the token file beside the database (`<db>.tokens.json`), never the database,
so they work while a server holds the database open; a running server sees the change at its next request.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from graphiam.auth import (
    EXPIRES_FORMS,
    Auth,
    Role,
    TokenStore,
    anonymous_reads_default,
    expiry_from,
    is_loopback,
    token_file_for,
)
from graphiam.cli.common import db_arg, db_path


def _store(args: argparse.Namespace) -> TokenStore:
    return TokenStore(token_file_for(db_path(args)))


def usage_hint(token: str, url: str) -> str:
    """How to use a token: the header, a curl line, and GraphiQL's Headers tab (never a URL parameter)."""
    return (
        f"  send it as an HTTP header:  Authorization: Bearer {token}\n"
        f"  curl: curl -H 'Authorization: Bearer {token}' -H 'Content-Type: application/json' "
        f'-d \'{{"query": "{{ viewer {{ role name }} }}"}}\' {url}\n'
        f"  GraphiQL: open {url}, click Headers (bottom left) and paste "
        f'{{"Authorization": "Bearer {token}"}}\n'
        f"            (the browser keeps it in local storage; do not put tokens in URLs)"
    )


def cmd_token_create(args: argparse.Namespace) -> int:
    store = _store(args)
    expires = expiry_from(args.expires) if args.expires is not None else None
    record, token = store.create(Role(args.role), args.name, expires=expires)
    print(token)
    until = f"valid until {record.expires}" if record.expires else "valid until revoked"
    print(
        f"created {record.role} token `{record.name}` (id {record.id}, {until}) in {store.path}; it is shown "
        "only this once",
        file=sys.stderr,
    )
    return 0


def cmd_token_list(args: argparse.Namespace) -> int:
    store = _store(args)
    records = store.records()
    if not records:
        print(f"no tokens in {store.path}", file=sys.stderr)
        return 0
    used = store.last_used()
    rows = [("ID", "ROLE", "NAME", "CREATED", "EXPIRES", "LAST USED")]
    for r in records:
        expires = "never" if r.expires is None else r.expires + (" (expired)" if r.expired() else "")
        rows.append((r.id, r.role, r.name, r.created, expires, used.get(r.id, "never")))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        print("  ".join(f"{cell:<{w}}" for cell, w in zip(row, widths, strict=False)) + "  " + row[-1])
    return 0


def cmd_token_revoke(args: argparse.Namespace) -> int:
    record = _store(args).revoke(args.token)
    print(f"revoked {record.role} token `{record.name}` (id {record.id})", file=sys.stderr)
    return 0


def serve_auth(args: argparse.Namespace, db_path: object, *, read_only: bool = False) -> Auth:
    """The server's Auth from `serve` flags; makes and prints the first admin token if there is none
    (`read_only`: the token file is only read, and a copy without one serves anonymous reads only)."""
    store = TokenStore(token_file_for(db_path), record_use=not read_only)  # type: ignore[arg-type]
    anonymous = args.allow_anonymous_reads
    if anonymous is None:
        anonymous = anonymous_reads_default(args.host)
    elif anonymous and not is_loopback(args.host):
        print(
            f"graphiam: warning: anyone who can reach {args.host}:{args.port} may read the graph without a "
            "token (--allow-anonymous-reads)",
            file=sys.stderr,
        )
    token = None if read_only else store.ensure_admin()
    if read_only and not store.records():
        print(
            f"graphiam: no tokens in {store.path}: only anonymous reads are answered "
            "(graphiam snapshot copies the token file beside the copy)",
            file=sys.stderr,
        )
    if token is not None:
        host = f"[{args.host}]" if ":" in args.host else args.host
        print(
            "graphiam: created the first admin token; it is stored hashed in "
            f"{store.path} and shown only now:\n"
            f"\n    {token}\n\n{usage_hint(token, f'http://{host}:{args.port}/graphql')}\n"
            "  more tokens: graphiam token create --role reader",
            file=sys.stderr,
        )
    reads = "without a token too" if anonymous else "with a token only"
    print(f"graphiam: reads {reads}; mutations need an admin token", file=sys.stderr)
    return Auth(store=store, anonymous_reads=anonymous)


def add(sub: Any) -> None:
    tp = sub.add_parser("token", help="create, list and revoke API tokens (reader or admin)")
    tsub = tp.add_subparsers(dest="token_command", required=True)
    cp = tsub.add_parser("create", help="make a token and print it (once)")
    cp.add_argument("--role", choices=[r.value for r in Role], required=True)
    cp.add_argument("--name", help="a unique name (default: <role>-<id>)")
    cp.add_argument(
        "--expires", metavar="WHEN", help=f"when the token stops working: {EXPIRES_FORMS} (default: never)"
    )
    db_arg(cp)
    cp.set_defaults(func=cmd_token_create)
    lp = tsub.add_parser(
        "list", help="list tokens (ids, roles, names, created, expires, last used; never the secrets)"
    )
    db_arg(lp)
    lp.set_defaults(func=cmd_token_list)
    rp = tsub.add_parser("revoke", help="revoke a token by name or id")
    rp.add_argument("token", metavar="NAME|ID")
    db_arg(rp)
    rp.set_defaults(func=cmd_token_revoke)
