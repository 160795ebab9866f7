"""`imports` and `changes`: the import history and what changed since an import (the content of
`graphiam diff --since ID --json`)."""

from __future__ import annotations

from enum import Enum
from typing import Any, cast

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from graphiam.api import pagination as pg
from graphiam.api.context import Context
from graphiam.api.fields import field
from graphiam.errors import InputError
from graphiam.queries import history
from graphiam.queries.drift import CATEGORIES, Drift, as_json, at_least


@strawberry.enum(description="How much a change matters, most first.")
class ChangeSeverity(Enum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"


@strawberry.type(description="A file an import read.")
class ImportFile:
    name: str = strawberry.field(description="As given to `graphiam load`.")
    bytes: int
    sha256: str


@strawberry.type(description="One `graphiam load`: when, which files and accounts, and what it counted.")
class Import:
    id: strawberry.ID
    at: str = strawberry.field(description="When the load committed (UTC, ISO 8601).")
    accounts: list[str]
    files: list[ImportFile]
    counts: JSON = strawberry.field(
        description="users, groups, roles, policies, admins, canBecomeAdmin, assumeEdges, "
        "externalPrincipals, findings."
    )
    warnings: list[str]


def _import(i: history.ImportInfo) -> Import:
    return Import(
        id=strawberry.ID(str(i.id)),
        at=i.at,
        accounts=list(i.accounts),
        files=[ImportFile(name=f["name"], bytes=f["bytes"], sha256=f["sha256"]) for f in i.files],
        counts=cast(JSON, dict(i.counts)),
        warnings=list(i.warnings),
    )


@strawberry.type(description="How many changes of one category and severity.")
class ChangeCount:
    category: str
    severity: ChangeSeverity
    count: int


@strawberry.type(
    description="One change: its category (as `graphiam diff --fail-on` names them), severity, the "
    "entity it is about and the details of the category (schema/diff.schema.json)."
)
class ChangeItem:
    category: str
    severity: ChangeSeverity
    subject: str = strawberry.field(description="An ARN, or `account:ID`, `org-unit:ID`, `scp:ID`.")
    account: str | None
    title: str
    details: JSON


@strawberry.type(description="What changed from an import to the database now.")
class Changes:
    since: Import
    until: Import | None = strawberry.field(
        description="The newest import, when the database is as it left it; null when a mutation changed "
        "the graph after it (the changes are then computed from the graph)."
    )
    clean: bool
    summary: list[ChangeCount]
    document: JSON = strawberry.field(
        description="The whole report, as `graphiam diff --since ID --json` prints it "
        "(schema/diff.schema.json)."
    )
    drift: strawberry.Private[Drift]

    @field(
        description="The changes, most severe first; `categories` and `minSeverity` filter, `first` bounds."
    )
    def items(
        self,
        categories: list[str] | None = None,
        min_severity: ChangeSeverity | None = None,
        first: int | None = None,
    ) -> list[ChangeItem]:
        n = pg.check_first(first)
        known = {c.name for c in CATEGORIES}
        for c in categories or ():
            if c not in known:
                raise InputError(f"unknown category `{c}`: one of {', '.join(c.name for c in CATEGORIES)}")
        out = [
            ChangeItem(
                category=i.category,
                severity=ChangeSeverity(i.severity),
                subject=i.subject,
                account=i.account,
                title=i.title,
                details=cast(JSON, i.details),
            )
            for i in self.drift.items
            if (categories is None or i.category in categories)
            and (min_severity is None or at_least(i.severity, min_severity.value))
        ]
        return out[:n]


@strawberry.type
class HistoryQuery:
    @field(description="Every recorded import (each `graphiam load`), oldest first.")
    async def imports(self, info: Info[Context, None]) -> list[Import]:
        services = info.context.services
        return [_import(i) for i in await services.run(history.imports, services.db)]

    @field(
        description="What changed from import `since` (an id, `PREVIOUS`: the one before the newest, or "
        "`LATEST`) to the database now: administrators, escalation paths, public and external "
        "access, sensitive actions, findings, assume-role edges and entities."
    )
    async def changes(self, info: Info[Context, None], since: strawberry.ID | None = None) -> Changes:
        services = info.context.services
        ref = str(since) if since is not None else history.PREVIOUS

        def compute() -> tuple[Drift, history.ImportInfo, history.ImportInfo | None]:
            drift = history.changes_since(services.db, ref)
            assert drift.old.import_id is not None
            old = history.resolve(services.db, drift.old.import_id)
            new = history.resolve(services.db, drift.new.import_id) if drift.new.import_id else None
            return drift, old, new

        drift, old, new = await services.answer("changes", services.db.generation, ref.upper(), compute)
        doc: dict[str, Any] = as_json(drift)
        return Changes(
            since=_import(old),
            until=_import(new) if new is not None else None,
            clean=drift.clean,
            summary=[
                ChangeCount(category=r["category"], severity=ChangeSeverity(r["severity"]), count=r["count"])
                for r in doc["summary"]
            ],
            document=cast(JSON, doc),
            drift=drift,
        )
