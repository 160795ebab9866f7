"""`auditLog` (admins only): the mutations run on this server, newest first, from the audit log
(`graphiam.audit`)."""

from __future__ import annotations

import enum

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from graphiam.api import pagination as pg
from graphiam.api.audit import audit_of
from graphiam.api.context import Context
from graphiam.api.security import admin_field
from graphiam.audit import AuditEntry, Outcome
from graphiam.errors import InputError


@strawberry.enum(description="How a mutation ended.")
class AuditOutcome(enum.Enum):
    OK = strawberry.enum_value("ok", description="Applied (a dry run: would apply).")
    REFUSED = strawberry.enum_value(
        "refused", description="Nothing written: no admin token, bad input or a limit (see `detail`)."
    )
    FAILED = strawberry.enum_value(
        "failed", description="Nothing written: an unexpected error (the server log has its traceback)."
    )
    UNFINISHED = strawberry.enum_value(
        "unfinished",
        description="Began and has not ended: still running, or the server stopped while it ran (the graph "
        "then holds all of the change or none of it).",
    )


@strawberry.type(description="One mutation as the audit log records it.")
class AuditLogEntry:
    id: str
    at: str = strawberry.field(description="When it began (UTC, ISO 8601).")
    who: str = strawberry.field(description="The token's name (`anonymous` without a token).")
    token_id: str | None = strawberry.field(description="The token's public id; null without a token.")
    role: str = strawberry.field(description="The caller's role: `admin`, `reader`.")
    operation: str = strawberry.field(description="The mutation field, e.g. `putUserPolicy`.")
    arguments: JSON = strawberry.field(
        description="Its arguments; long strings are cut, big documents replaced by their size and SHA-256."
    )
    dry_run: bool
    outcome: AuditOutcome
    detail: str | None = strawberry.field(description="What was applied, or why it was refused or failed.")
    finished: str | None = strawberry.field(description="When it ended (UTC, ISO 8601).")


def _entry(e: AuditEntry) -> AuditLogEntry:
    return AuditLogEntry(
        id=e.id,
        at=e.at,
        who=e.who,
        token_id=e.token_id,
        role=e.role,
        operation=e.operation,
        arguments=e.arguments,
        dry_run=e.dry_run,
        outcome=AuditOutcome(e.outcome.value),
        detail=e.detail,
        finished=e.finished,
    )


def _position(after: str | None) -> int | None:
    key = pg.decode_cursor(after)
    if key is None:
        return None
    if not key.isdigit():
        raise InputError(f"`after`: `{after}` is not a cursor this API returned")
    return int(key)


@strawberry.type
class AuditQuery:
    @admin_field(
        description="The mutations run on this server, newest first (admins only), refused ones included; "
        "filtered by `operation`, `who` (a token's name) and `outcome`. Empty when the server keeps no log."
    )
    async def audit_log(
        self,
        info: Info[Context, None],
        first: int | None = pg.DEFAULT_PAGE,
        after: str | None = None,
        operation: str | None = None,
        who: str | None = None,
        outcome: AuditOutcome | None = None,
    ) -> pg.Connection[AuditLogEntry] | None:  # nullable: a refusal spares the rest
        n = pg.check_first(first)
        before = _position(after)
        log = audit_of(info.context)
        if log is None:
            return pg.build([], n, 0, after, _entry)
        wanted = Outcome(outcome.value) if outcome is not None else None

        def keep(e: AuditEntry) -> bool:
            return (
                (operation is None or e.operation == operation)
                and (who is None or e.who == who)
                and (wanted is None or e.outcome is wanted)
            )

        rows, total = await info.context.services.run(log.page, first=n + 1, before=before, keep=keep)
        return pg.build(rows, n, total, after, _entry, key=lambda e: str(e.seq))
