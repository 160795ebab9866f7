"""The `copyDatabase` mutation: a consistent copy of the served database, for `graphiam snapshot`.

The server holds its database read-write, which the engine lets no other process open (docs/ENGINE.md), so a
copy of it can only be taken by the server: between two writes, its write-ahead log checkpointed into the
file (`store/publish.copy_database`). The copy goes beside the database (`<db>.snapshots/<when>-<id>/db`), a
place the server chooses rather than the caller, and `graphiam snapshot DIR` on the same machine moves it to
`DIR`. Admin only: the copy holds the whole graph.
"""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from graphiam.api.context import Context
from graphiam.api.security import admin_mutation


@strawberry.type(description="A consistent copy of the database, written beside it by the server.")
class DatabaseCopy:
    path: str = strawberry.field(description="The database file of the copy (a snapshot directory's `db`).")
    size: int = strawberry.field(description="Its size in bytes.")


@strawberry.type
class SnapshotMutation:
    @admin_mutation(
        description="Write a consistent copy of the database beside it (between two writes); "
        "`graphiam snapshot DIR` moves it to DIR. Not recorded in the audit log: it changes nothing."
    )
    async def copy_database(self, info: Info[Context, None]) -> DatabaseCopy:
        services = info.context.services
        path = await services.run(services.write_copy)
        return DatabaseCopy(path=str(path), size=path.stat().st_size)
