"""The HTTP face: Starlette with GraphQL (and GraphiQL) at /graphql and a health check at /health.

The lifespan opens the database once per process (kuzu allows one read-write handle), loads the demo
organisation into an empty database, and closes everything on shutdown. Run one worker per database.
"""
from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from strawberry.asgi import GraphQL

from graphiam.api.context import Context, Loaders, Services
from graphiam.api.schema import build_schema
from graphiam.store import Database, open_database
from graphiam.store import reader as R
from graphiam.store.schema import schema_version

log = logging.getLogger("graphiam")
MAX_BODY = 1 << 20


def default_db_path() -> Path:
    """`GRAPHIAM_DB`, else `$XDG_DATA_HOME/graphiam/db` (usually `~/.local/share/graphiam/db`)."""
    env = os.environ.get("GRAPHIAM_DB")
    if env:
        return Path(env)
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "graphiam" / "db"


class _GraphQL(GraphQL):
    def __init__(self, schema: Any, holder: dict[str, Services], **kw: Any) -> None:
        super().__init__(schema, **kw)
        self._holder = holder

    async def get_context(self, request: Any, response: Any = None) -> Context:
        services = self._holder["services"]
        return Context(services=services, loaders=Loaders(services), request=request, response=response)


def create_app(db_path: str | os.PathLike[str] | None = None, *, database: Database | None = None,
               load_seeds: bool = True, cors_origins: tuple[str, ...] = (), ide: bool = True) -> Starlette:
    """Build the ASGI app. Pass `database` to serve an already-open one (tests); else `db_path` is opened
    in the lifespan (`None`: the default location)."""
    holder: dict[str, Services] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        own = database is None
        db = open_database(db_path if db_path is not None else default_db_path()) if own else database
        executor = ThreadPoolExecutor(max_workers=max(2, 2 * (os.cpu_count() or 1)), thread_name_prefix="graphiam-db")
        try:
            if load_seeds and not db.read_only:
                from graphiam.loading import load_seeds_if_empty
                summary = load_seeds_if_empty(db)
                if summary is not None:
                    for line in summary.lines():
                        log.info("seeds: %s", line)
            holder["services"] = Services(db=db, executor=executor)
            app.state.services = holder["services"]
            yield
        finally:
            executor.shutdown(wait=True)
            if own:
                db.close()

    async def health(request: Request) -> JSONResponse:
        services: Services = holder["services"]
        accounts = await services.run(R.accounts, services.db)
        return JSONResponse({"status": "ok", "schemaVersion": schema_version(),
                             "accounts": [a.id for a in accounts]})

    graphql = _GraphQL(build_schema(), holder, graphql_ide="graphiql" if ide else None,
                       allow_queries_via_get=False)
    middleware = []
    if cors_origins:
        middleware.append(Middleware(CORSMiddleware, allow_origins=list(cors_origins),
                                     allow_methods=["GET", "POST"], allow_headers=["*"]))
    return Starlette(routes=[Route("/graphql", graphql, methods=["GET", "POST"]), Route("/health", health)],
                     middleware=middleware, lifespan=lifespan, max_body_size=MAX_BODY)
