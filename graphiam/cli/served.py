"""A database that `graphiam serve` holds: the lock file the server leaves beside it, and asking that server.

The engine lets one process open a database read-write and refuses every other process while it does, even
a read-only one ("Could not set lock on file"; docs/ENGINE.md). So `graphiam serve` writes
`<db>.server.json` (its URL and pid) while it runs and removes it when it stops; a file whose pid is no
longer running is stale and ignored. The reading commands (`simulate`, `paths`, `report`, `graph`,
`accounts`) then ask that server the same question over GraphQL, or the server `--url` names (with the token
in `GRAPHIAM_TOKEN` when the server wants one); the writing ones (`load`, `remove-account`, `token`) stop with
one line naming the server's pid.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graphiam.errors import GraphiamError, InputError, StoreError

LOCK_SUFFIX = ".server.json"
TOKEN_ENV = "GRAPHIAM_TOKEN"
TIMEOUT_S = 120.0
CONNECT_ATTEMPTS = 10


@dataclass(frozen=True, kw_only=True)
class ServerLock:
    """What a running server wrote beside its database."""

    pid: int
    url: str  # its GraphQL endpoint, http://HOST:PORT/graphql
    path: Path  # the lock file


def lock_path(db: Path) -> Path:
    return Path(f"{db}{LOCK_SUFFIX}")


def graphql_url(url: str) -> str:
    """`url` ending in `/graphql` (a server's address may be given without it)."""
    url = url.rstrip("/")
    return url if url.endswith("/graphql") else f"{url}/graphql"


def client_url(host: str, port: int) -> str:
    """The URL a client on this machine reaches a server bound to `host` at (a wildcard bind: loopback)."""
    host = host.strip("[]")
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return f"http://{f'[{host}]' if ':' in host else host}:{port}/graphql"


def write_lock(db: Path, url: str) -> Path:
    """Leave the lock file of this process's server beside `db` (replacing a stale one)."""
    path = lock_path(db)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"pid": os.getpid(), "url": url, "database": str(db)}) + "\n")
    tmp.replace(path)
    return path


def remove_lock(db: Path) -> None:
    """Remove the lock file beside `db` if this process wrote it."""
    lock = _read(lock_path(db))
    if lock is not None and lock.pid == os.getpid():
        with contextlib.suppress(OSError):
            lock.path.unlink()


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # running, as another user
        return True
    except OSError:
        return False
    return True


def _read(path: Path) -> ServerLock | None:
    try:
        data = json.loads(path.read_text())
        return ServerLock(pid=int(data["pid"]), url=str(data["url"]), path=path)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def read_lock(db: Path) -> ServerLock | None:
    """The lock of the server running on `db`; None when there is none or its process has ended."""
    lock = _read(lock_path(db))
    if lock is None or not pid_alive(lock.pid):
        return None
    return lock


class Server:
    """A graphiam server asked over GraphQL (httpx), with the token of `GRAPHIAM_TOKEN` when set."""

    def __init__(self, url: str, lock: ServerLock | None, db: Path) -> None:
        self.url = graphql_url(url)
        self.lock = lock
        self.db = db

    def who(self) -> str:
        """What the server is to the user: the one holding the database, or the one `--url` names."""
        if self.lock is not None:
            return f"database `{self.db}` is held by graphiam serve (pid {self.lock.pid}) at {self.url}"
        return f"the graphiam server at {self.url} (--url)"

    def query(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """The `data` of a GraphQL answer; one-line errors for a server that cannot be reached, a refused
        token, and the answer's own errors."""
        import httpx  # only the commands that talk to a server pay for loading it

        headers = {"Content-Type": "application/json"}
        token = os.environ.get(TOKEN_ENV)
        if token:
            headers["Authorization"] = f"Bearer {token}"
        held = self.who()
        payload = {"query": query, "variables": variables or {}}
        try:
            for attempt in range(CONNECT_ATTEMPTS):  # a server writes its lock just before it listens
                try:
                    r = httpx.post(self.url, json=payload, headers=headers, timeout=TIMEOUT_S)
                    break
                except httpx.ConnectError:
                    if self.lock is None or attempt == CONNECT_ATTEMPTS - 1:
                        raise
                    time.sleep(0.5)
        except httpx.HTTPError as exc:
            raise StoreError(
                f"{held}, which did not answer ({type(exc).__name__}): pass --url with the address of a "
                "running graphiam server"
            ) from None
        if r.status_code == 401:
            raise StoreError(
                f"{held}, which wants a token: set {TOKEN_ENV} (graphiam token create --role reader)"
            )
        try:
            body = r.json()
        except ValueError:
            raise StoreError(f"{held}, which answered HTTP {r.status_code}: {r.text[:200]!r}") from None
        errors = body.get("errors") if isinstance(body, dict) else None
        if errors:
            raise InputError(str(errors[0].get("message", errors[0])).splitlines()[0])
        if r.status_code != 200 or not isinstance(body.get("data"), dict):
            raise StoreError(f"{held}, which answered HTTP {r.status_code}")
        return body["data"]  # type: ignore[no-any-return]


def server_for(args: argparse.Namespace, db: Path) -> Server | None:
    """The server to ask instead of opening `db`: the one `--url` names, else the one whose lock file is
    beside `db`; None when no server holds it."""
    url = getattr(args, "url", None)
    lock = read_lock(db)
    if url:
        return Server(url, lock, db)
    if lock is not None:
        return Server(lock.url, lock, db)
    return None


def refuse_if_served(db: Path, what: str) -> None:
    """One line naming the server when one holds `db`: a write (`what`) cannot go through it."""
    lock = read_lock(db)
    if lock is not None:
        raise GraphiamError(
            f"database `{db}` is held by graphiam serve (pid {lock.pid}) at {lock.url}: stop it to {what} "
            "(reading commands ask it; pass --url to name another server)"
        )


def url_arg(sp: argparse.ArgumentParser) -> None:
    sp.add_argument(
        "--url",
        metavar="URL",
        help="ask this graphiam server (e.g. http://127.0.0.1:8000/graphql) instead of opening the database; "
        f"by default the server holding the database is asked (token: ${TOKEN_ENV})",
    )
