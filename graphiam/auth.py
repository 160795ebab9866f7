"""API tokens: who may read the graph and who may change it.

Two roles: `reader` (every query) and `admin` (queries and mutations). A client sends
`Authorization: Bearer <token>`. Tokens live in a JSON file beside the database (`<db>.tokens.json`,
mode 0600) and only their SHA-256 is stored: a token is shown once, when it is created, and cannot be
recovered from the file. Tokens are 256-bit random strings, so an unsalted hash is enough (nothing to
brute-force); the lookup by hash is constant-time in practice for the same reason.

The file is re-read when it changes on disk, so `graphiam token revoke` takes effect on a running server at
the next request. Anonymous reads (no header) are a policy of the server (`Auth.anonymous_reads`), by
default allowed only when it listens on a loopback address: see `anonymous_reads_default`.
"""

from __future__ import annotations

import enum
import hashlib
import ipaddress
import json
import os
import secrets
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from graphiam.errors import AuthError, GraphiamError, InputError, NotFoundError

__all__ = [
    "ANONYMOUS",
    "OPEN",
    "Auth",
    "AuthError",
    "Identity",
    "Role",
    "TokenRecord",
    "TokenStore",
    "anonymous_reads_default",
    "is_loopback",
    "token_file_for",
]

TOKEN_PREFIX = "giam_"
FILE_VERSION = 1


class Role(enum.Enum):
    READER = "reader"
    ADMIN = "admin"


@dataclass(frozen=True, kw_only=True)
class TokenRecord:
    """What the token file keeps about one token (never the token itself)."""

    id: str
    name: str
    role: str
    sha256: str
    created: str


@dataclass(frozen=True, kw_only=True)
class Identity:
    """Who a request acts as. `token_id=None` is an anonymous reader or the open (no-auth) mode."""

    role: Role
    name: str
    token_id: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


ANONYMOUS = Identity(role=Role.READER, name="anonymous")
OPEN = Identity(role=Role.ADMIN, name="open (authentication disabled)")


def token_file_for(db_path: str | os.PathLike[str]) -> Path:
    """The token file of a database: `<db>.tokens.json` beside kuzu's database file."""
    p = Path(db_path)
    return p.with_name(p.name + ".tokens.json")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokenStore:
    """The token file: create, list, revoke, verify. Writes are atomic (temp file + rename, mode 0600)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._records: tuple[TokenRecord, ...] = ()
        self._by_hash: dict[str, TokenRecord] = {}

    def _refresh(self) -> None:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            self._stamp, self._records, self._by_hash = None, (), {}
            return
        stamp = (st.st_mtime_ns, st.st_size)
        if stamp == self._stamp:
            return
        try:
            raw = json.loads(self.path.read_text())
            records = tuple(TokenRecord(**r) for r in raw["tokens"])
            for r in records:
                Role(r.role)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise GraphiamError(f"{self.path}: unreadable token file: {exc}") from None
        self._stamp, self._records = stamp, records
        self._by_hash = {r.sha256: r for r in records}

    def _write(self, records: tuple[TokenRecord, ...]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        body = json.dumps({"version": FILE_VERSION, "tokens": [asdict(r) for r in records]}, indent=2) + "\n"
        fd, tmp = tempfile.mkstemp(prefix=".tokens-", dir=self.path.parent)  # mkstemp creates it 0600
        try:
            with os.fdopen(fd, "w") as f:
                f.write(body)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self._stamp = None
        self._refresh()

    def records(self) -> tuple[TokenRecord, ...]:
        with self._lock:
            self._refresh()
            return self._records

    def create(self, role: Role | str, name: str | None = None) -> tuple[TokenRecord, str]:
        """Make a token; returns its record and the token itself (the only time it is available)."""
        role = Role(role) if isinstance(role, str) else role
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token_id = secrets.token_hex(4)
        name = name or f"{role.value}-{token_id}"
        with self._lock:
            self._refresh()
            if any(r.name == name for r in self._records):
                raise InputError(f"a token named `{name}` already exists")
            record = TokenRecord(
                id=token_id,
                name=name,
                role=role.value,
                sha256=_digest(token),
                created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            )
            self._write(self._records + (record,))
        return record, token

    def revoke(self, name_or_id: str) -> TokenRecord:
        with self._lock:
            self._refresh()
            hit = [r for r in self._records if name_or_id in (r.name, r.id)]
            if not hit:
                raise NotFoundError(f"no token named or with id `{name_or_id}` in {self.path}")
            self._write(tuple(r for r in self._records if r not in hit))
        return hit[0]

    def verify(self, token: str) -> TokenRecord | None:
        with self._lock:
            self._refresh()
            return self._by_hash.get(_digest(token))

    def ensure_admin(self) -> str | None:
        """First start: when the file holds no token, create an admin token and return it (else `None`)."""
        if self.records():
            return None
        return self.create(Role.ADMIN, "initial-admin")[1]


LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]", "::1")
"""The names a client of a loopback bind puts in its Host header (IPv6 with or without brackets)."""


def is_loopback(host: str) -> bool:
    """`127.0.0.1`, `::1`, `localhost`: an address only this machine can reach."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def anonymous_reads_default(host: str) -> bool:
    """Reads without a token are allowed by default only on a loopback bind."""
    return is_loopback(host)


@dataclass(frozen=True, kw_only=True)
class Auth:
    """The server's policy: which tokens are valid and whether a request without one may read."""

    store: TokenStore
    anonymous_reads: bool = False

    def authenticate(self, headers: Mapping[str, str]) -> Identity | None:
        """The caller's identity; `None` when no token was sent (anonymous). A bad token raises AuthError."""
        value = headers.get("authorization")
        if value is None:
            return None
        scheme, _, token = value.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthError("the Authorization header must be `Bearer <token>`")
        record = self.store.verify(token.strip())
        if record is None:
            raise AuthError("unknown or revoked token")
        return Identity(role=Role(record.role), name=record.name, token_id=record.id)

    def identify(self, headers: Mapping[str, str]) -> Identity:
        """As `authenticate`, but an anonymous caller is refused unless anonymous reads are allowed."""
        identity = self.authenticate(headers)
        if identity is not None:
            return identity
        if self.anonymous_reads:
            return ANONYMOUS
        raise AuthError(
            "this server needs a token: send `Authorization: Bearer <token>` "
            "(create one with `graphiam token create --role reader`)"
        )
