"""Exceptions graphiam raises to its callers.

    GraphiamError                 base of everything below; str() is one line, no traceback needed
    ├── InputError                bad input from a user: names what was wrong and where
    │   ├── IngestError           an export or credential report that cannot be loaded (file, JSON path)
    │   ├── PolicyParseError      a policy document that cannot be parsed (JSON path inside the document)
    │   └── ArnError              a string that is not a well-formed ARN
    ├── NotFoundError             a principal, policy or other entity that is not in the graph
    └── StoreError                the database cannot be used (schema version, lock, engine failure)
        └── SchemaVersionError    the database was made by another graphiam schema version

Message style: lowercase start, no final period, user input in backticks, context joined with `: `.
"""

from __future__ import annotations


class GraphiamError(Exception):
    """Base class of every error graphiam raises on purpose."""


class InputError(GraphiamError):
    """Input from a user that cannot be used as given."""


class IngestError(InputError):
    """An export or report that cannot be loaded; nothing was written."""

    def __init__(self, message: str, *, source: str | None = None, path: str | None = None) -> None:
        self.source = source
        self.path = path
        where = ": ".join(p for p in (source, path) if p)
        super().__init__(f"{where}: {message}" if where else message)


class PolicyParseError(InputError):
    """A policy document that cannot be parsed; `problems` lists (json_path, message)."""

    def __init__(self, problems: list[tuple[str, str]], *, where: str | None = None) -> None:
        self.problems = problems
        self.where = where
        head = "; ".join(f"{p}: {m}" for p, m in problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        prefix = f"{where}: " if where else ""
        super().__init__(f"{prefix}invalid policy document: {head}{more}")


class ArnError(InputError):
    """A string that is not a well-formed ARN."""


class NotFoundError(GraphiamError):
    """An entity that is not in the graph."""


class StoreError(GraphiamError):
    """The database cannot be used as asked."""


class SchemaVersionError(StoreError):
    """The database on disk was made by a different graphiam schema version."""
