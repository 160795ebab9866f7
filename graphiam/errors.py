"""Every exception graphiam defines, in one tree.

    class                       `code`           what it means
    GraphiamError               BAD_REQUEST      base of all below; str() is one line, no traceback needed
    ├── InputError              INVALID_INPUT    bad input from a user: names what was wrong and where
    │   ├── IngestError         INVALID_INPUT    an export or credential report that cannot be loaded
    │   ├── PolicyParseError    INVALID_POLICY   a policy document that cannot be parsed (JSON path in it)
    │   ├── ArnError            INVALID_ARN      a string that is not a well-formed ARN
    │   └── ChangeError         INVALID_INPUT    a change refused (graphiam.changes); each of its `Problem`s
    │                                            carries its own code (a `ProblemCode`)
    ├── NotFoundError           NOT_FOUND        a principal, policy or other entity not in the graph
    ├── AuthError               UNAUTHENTICATED  a request without usable credentials (HTTP 401)
    ├── Cancelled               TIMEOUT          work stopped by its `graphiam.cancel.Cancel` token (the
    │                                            request ran out of time or went away)
    ├── ReadOnlyError           READ_ONLY        a mutation sent to a server of a read-only copy
    │                                            (`graphiam serve --read-only`)
    └── StoreError              INTERNAL         the database cannot be used (schema version, lock, engine)
        └── SchemaVersionError  INTERNAL         the database was made by another graphiam schema version

    PreflightNeeded (an Exception, not a GraphiamError): control flow inside graphiam.changes.apply, never
    raised out of it.

`code` is what a GraphQL client reads in the error's `extensions.code`; the API turns an exception into that
in one place (graphiam.api.security). An `INTERNAL` error's message is not shown to a client: it gets
`internal error (id …)` and the server log the message and traceback (a StoreError that is the database's
own time limit becomes `TIMEOUT`). `exit_status` is what `graphiam` (the command line) exits with after
printing the message: 1 for every error today.

Message style: lowercase start, no final period, user input in backticks, context joined with `: `.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import ClassVar


class GraphiamError(Exception):
    """Base class of every error graphiam raises on purpose."""

    code: ClassVar[str] = "BAD_REQUEST"
    exit_status: ClassVar[int] = 1


class InputError(GraphiamError):
    """Input from a user that cannot be used as given."""

    code = "INVALID_INPUT"


class IngestError(InputError):
    """An export or report that cannot be loaded; nothing was written."""

    code = "INVALID_INPUT"

    def __init__(self, message: str, *, source: str | None = None, path: str | None = None) -> None:
        self.source = source
        self.path = path
        where = ": ".join(p for p in (source, path) if p)
        super().__init__(f"{where}: {message}" if where else message)


class PolicyParseError(InputError):
    """A policy document that cannot be parsed; `problems` lists (json_path, message)."""

    code = "INVALID_POLICY"

    def __init__(self, problems: list[tuple[str, str]], *, where: str | None = None) -> None:
        self.problems = problems
        self.where = where
        head = "; ".join(f"{p}: {m}" for p, m in problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        prefix = f"{where}: " if where else ""
        super().__init__(f"{prefix}invalid policy document: {head}{more}")


class ArnError(InputError):
    """A string that is not a well-formed ARN."""

    code = "INVALID_ARN"


class NotFoundError(GraphiamError):
    """An entity that is not in the graph."""

    code = "NOT_FOUND"


class AuthError(GraphiamError):
    """A request that carries no usable credentials (HTTP 401)."""

    code = "UNAUTHENTICATED"


class Cancelled(GraphiamError):
    """Work stopped because its cancellation token was cancelled (graphiam.cancel)."""

    code = "TIMEOUT"


class ReadOnlyError(GraphiamError):
    """A write asked of a server that serves a read-only copy of the database."""

    code = "READ_ONLY"


class StoreError(GraphiamError):
    """The database cannot be used as asked."""

    code = "INTERNAL"


class SchemaVersionError(StoreError):
    """The database on disk was made by a different graphiam schema version."""

    code = "INTERNAL"


# ---- refused changes (graphiam.changes) ----


class ProblemCode(Enum):
    """Why a change was refused: the `code` of a `Problem` (the API's `ErrorCode`)."""

    NOT_FOUND = NotFoundError.code
    ALREADY_EXISTS = "ALREADY_EXISTS"
    INVALID_ARN = ArnError.code
    INVALID_POLICY = PolicyParseError.code
    INVALID_INPUT = InputError.code
    CONFLICT = "CONFLICT"
    LIMIT_EXCEEDED = "LIMIT_EXCEEDED"
    UNMODIFIABLE = "UNMODIFIABLE"


@dataclass(frozen=True, kw_only=True)
class Problem:
    """One reason a change was refused: `path` says where in the input, `json_path` where in a policy
    document."""

    code: str  # a ProblemCode value: NOT_FOUND | ALREADY_EXISTS | INVALID_ARN | INVALID_POLICY | ...
    message: str
    path: tuple[str, ...] = ()
    json_path: str | None = None


class ChangeError(InputError):
    """A change refused for a reason the caller can fix; nothing was written."""

    code = "INVALID_INPUT"

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(p.message for p in self.problems[:3]))


class PreflightNeeded(Exception):
    """Raised inside the transaction (before any rel COPY) to roll it back and try the batch on a copy
    first."""
