"""API tokens: who may read the graph and who may change it.

Two roles: `reader` (every query) and `admin` (queries and mutations). A client sends
`Authorization: Bearer <token>`. Tokens live in a JSON file beside the database (`<db>.tokens.json`,
mode 0600) and only their SHA-256 is stored: a token is shown once, when it is created, and cannot be
recovered from the file. Tokens are 256-bit random strings, so an unsalted hash is enough (nothing to
brute-force); the lookup by hash is constant-time in practice for the same reason.

The file is re-read when it changes on disk, so `graphiam token revoke` takes effect on a running server at
the next request. A token may carry an expiry (`expires`, UTC): after it the token is refused with a message
saying so and when. When each token was last used is kept in memory and written to `<db>.tokens-used.json` at
most once a minute per token (and when the server stops), never to the token file itself: the server would
otherwise race `graphiam token create|revoke` run by another process, and the database stays untouched.

Anonymous reads (no header) are a policy of the server (`Auth.anonymous_reads`), by default allowed only when
it listens on a loopback address: see `anonymous_reads_default`.
"""

from __future__ import annotations

import enum
import hashlib
import ipaddress
import json
import os
import re
import secrets
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
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
    "expiry_from",
    "is_loopback",
    "time_text",
    "token_file_for",
]

TOKEN_PREFIX = "giam_"
FILE_VERSION = 1
USED_RESOLUTION_S = 60.0  # a token's last-used time reaches the disk at most this often
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


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
    expires: str | None = None  # UTC, TIME_FORMAT; None: never

    def expired(self, now: datetime | None = None) -> bool:
        """Whether the token's expiry has passed (`now`: the current time)."""
        if self.expires is None:
            return False
        return (now or datetime.now(UTC)) >= _parse_time(self.expires)


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


def time_text(moment: datetime) -> str:
    """`moment` as the token file writes times: UTC, seconds, `Z`."""
    return moment.astimezone(UTC).strftime(TIME_FORMAT)


def _parse_time(text: str) -> datetime:
    return datetime.strptime(text, TIME_FORMAT).replace(tzinfo=UTC)


_DURATION = re.compile(r"(\d{1,9})\s*([wdhm])")
_UNITS = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes"}
EXPIRES_FORMS = "a duration (90m, 12h, 30d, 2w) or a UTC date or time (2026-12-31, 2026-12-31T18:00:00Z)"


def expiry_from(text: str, now: datetime | None = None) -> datetime:
    """When a token made `now` with `--expires text` expires: `30d`, `12h`, `45m`, `2w` from now, or an ISO
    date (its midnight, UTC) or date and time (UTC unless it names an offset). Past or malformed:
    InputError."""
    now = now or datetime.now(UTC)
    value = text.strip()
    m = _DURATION.fullmatch(value.lower())
    try:
        if m is not None:
            amount = int(m.group(1))
            if amount == 0:
                raise InputError(f"`--expires`: `{text}` is no time at all; give {EXPIRES_FORMS}")
            moment = now + timedelta(**{_UNITS[m.group(2)]: amount})
        elif re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            moment = datetime.combine(date.fromisoformat(value), datetime.min.time(), tzinfo=UTC)
        else:
            moment = datetime.fromisoformat(value)
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
    except (ValueError, OverflowError):
        raise InputError(f"`--expires`: `{text}` is not {EXPIRES_FORMS}") from None
    if moment <= now:
        raise InputError(f"`--expires`: {time_text(moment)} is already past (now {time_text(now)})")
    return moment.astimezone(UTC).replace(microsecond=0)


class TokenStore:
    """The token file: create, list, revoke, verify; and when each token was last used. Writes are atomic
    (temp file + rename, mode 0600)."""

    def __init__(self, path: str | os.PathLike[str], *, record_use: bool = True) -> None:
        self.path = Path(path)
        self.record_use = record_use  # False: never write `used_path` (a server of a read-only copy)
        self.used_path = self.path.with_name(self.path.name.removesuffix(".json") + "-used.json")
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._records: tuple[TokenRecord, ...] = ()
        self._by_hash: dict[str, TokenRecord] = {}
        self._used: dict[str, float] = {}  # token id -> last use (epoch seconds), this process's
        self._flushed: dict[str, float] = {}  # token id -> the last use written to `used_path`

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
        rows = [{k: v for k, v in asdict(r).items() if v is not None} for r in records]
        _write_atomically(self.path, json.dumps({"version": FILE_VERSION, "tokens": rows}, indent=2) + "\n")
        self._stamp = None
        self._refresh()

    def records(self) -> tuple[TokenRecord, ...]:
        with self._lock:
            self._refresh()
            return self._records

    def create(
        self, role: Role | str, name: str | None = None, *, expires: datetime | None = None
    ) -> tuple[TokenRecord, str]:
        """Make a token (valid until `expires` when given); returns its record and the token itself (the only
        time it is available)."""
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
                created=time.strftime(TIME_FORMAT, time.gmtime()),
                expires=time_text(expires) if expires is not None else None,
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

    def mark_used(self, record: TokenRecord, now: float | None = None) -> None:
        """Note that `record`'s token was just used; on disk when the stored time is a minute old or more."""
        if not self.record_use:
            return
        now = time.time() if now is None else now
        with self._lock:
            self._used[record.id] = now
            if now - self._flushed.get(record.id, 0.0) >= USED_RESOLUTION_S:
                self._flush_used()

    def flush_used(self) -> None:
        """Write every last-used time this process knows (the server does at shutdown)."""
        with self._lock:
            if any(self._flushed.get(k) != v for k, v in self._used.items()):
                self._flush_used()

    def _read_used(self) -> dict[str, float]:
        try:
            raw = json.loads(self.used_path.read_text())
            return {str(k): float(v) for k, v in raw["lastUsed"].items()}
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return {}  # advisory data: a damaged file is rewritten at the next flush

    def _flush_used(self) -> None:
        known = {r.id for r in self._records}
        merged = self._read_used()
        for k, v in self._used.items():
            merged[k] = max(v, merged.get(k, 0.0))
        merged = {k: v for k, v in merged.items() if k in known or k in self._used}
        try:
            _write_atomically(
                self.used_path, json.dumps({"lastUsed": merged}, indent=2, sort_keys=True) + "\n"
            )
        except OSError:
            return  # a read-only directory must not refuse requests; the next use tries again
        self._flushed.update(self._used)

    def last_used(self) -> dict[str, str]:
        """When each token was last used (token id -> UTC time), as far as the disk and this process know."""
        with self._lock:
            merged = self._read_used()
            for k, v in self._used.items():
                merged[k] = max(v, merged.get(k, 0.0))
        return {k: time_text(datetime.fromtimestamp(v, UTC)) for k, v in merged.items()}

    def ensure_admin(self) -> str | None:
        """First start: when the file holds no token, create an admin token and return it (else `None`)."""
        if self.records():
            return None
        return self.create(Role.ADMIN, "initial-admin")[1]


def _write_atomically(path: Path, body: str) -> None:
    """`body` as the whole content of `path`, or the old content if anything fails (mode 0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tokens-", dir=path.parent)  # mkstemp creates it 0600
    try:
        with os.fdopen(fd, "w") as f:
            f.write(body)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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
        if record.expired():
            raise AuthError(
                f"token `{record.name}` (id {record.id}) expired at {record.expires}: "
                "ask an admin for a new one (`graphiam token create`)"
            )
        self.store.mark_used(record)
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
