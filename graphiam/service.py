"""The facade the HTTP side (`api/`, `app.py`) and the command line (`cli/`) use to reach the database.

They never import `store/` or `graph/` themselves: opening a database, its stored rows and records, and the
snapshot of its current generation come from here, so the engine behind `store/` can change without them.
"""

from __future__ import annotations

from graphiam.graph.snapshot import Snapshot, SnapshotCache, build_snapshot, snapshot_cache
from graphiam.store import Database, open_database, reader, records
from graphiam.store import org_store as organization
from graphiam.store.schema import schema_version

__all__ = [
    "Database",
    "Snapshot",
    "SnapshotCache",
    "build_snapshot",
    "open_database",
    "organization",
    "reader",
    "records",
    "schema_version",
    "snapshot_cache",
]
