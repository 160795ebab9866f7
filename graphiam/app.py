"""The HTTP face: Starlette with GraphQL (and GraphiQL) at /graphql and a health check at /health.

The lifespan opens the database once per process (kuzu allows one read-write handle), loads the demo
organisation into an empty database, and closes everything on shutdown. Run one worker per database.

Authentication (`graphiam.auth`) happens here, before GraphQL sees the request: a POST without a usable
token gets 401 (JSON body in GraphQL's error shape, `WWW-Authenticate: Bearer`), unless anonymous reads are
allowed; the caller's `Identity` rides in the context for the permission classes of `graphiam.api.security`.
The GraphiQL page itself (a GET) is served without a token: it holds no data, and GET runs no operations.
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
from starlette.types import Receive, Scope, Send
from strawberry.asgi import GraphQL

from graphiam.api.context import Loaders
from graphiam.api.schema import build_schema
from graphiam.api.security import AppContext
from graphiam.auth import OPEN, Auth, AuthError, Identity, TokenStore, token_file_for
from graphiam.changes.load import load_seeds_if_empty
from graphiam.service import Database, Services, open_database, schema_version

log = logging.getLogger("graphiam")
MAX_BODY = 1 << 20


def default_db_path() -> Path:
    """`GRAPHIAM_DB`, else `$XDG_DATA_HOME/graphiam/db` (usually `~/.local/share/graphiam/db`)."""
    env = os.environ.get("GRAPHIAM_DB")
    if env:
        return Path(env)
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "graphiam" / "db"


class _GraphQL(GraphQL[AppContext, None]):
    def __init__(self, schema: Any, holder: dict[str, Services], auth: Auth | None, **kw: Any) -> None:
        super().__init__(schema, **kw)
        self._holder = holder
        self._auth = auth

    async def get_context(self, request: Any, response: Any = None) -> AppContext:
        services = self._holder["services"]
        identity = request.scope.get(IDENTITY_KEY) if self._auth is not None else OPEN
        return AppContext(
            services=services,
            loaders=Loaders(services),
            request=request,
            response=response,
            identity=identity,
            auth=self._auth,
        )


IDENTITY_KEY = "graphiam.identity"


def _unauthenticated(message: str) -> JSONResponse:
    return JSONResponse(
        {"data": None, "errors": [{"message": message, "extensions": {"code": AuthError.code}}]},
        status_code=401,
        headers={"WWW-Authenticate": 'Bearer realm="graphiam"'},
    )


class _Authenticated:
    """ASGI wrapper: identifies the caller of every POST (401 if it cannot be); GET (the GraphiQL page,
    which runs no operation: queries via GET are off) passes with whatever identity its headers give."""

    def __init__(self, app: Any, auth: Auth | None) -> None:
        self.app = app
        self.auth = auth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.auth is not None and scope["type"] == "http":
            request = Request(scope)
            try:
                identity: Identity | None = (
                    self.auth.identify(request.headers) if request.method == "POST" else None
                )
            except AuthError as exc:
                await _unauthenticated(str(exc))(scope, receive, send)
                return
            scope[IDENTITY_KEY] = identity
        await self.app(scope, receive, send)


def _resolve_auth(
    auth: Auth | None | str, db_path: str | os.PathLike[str] | None, opens_own: bool
) -> Auth | None:
    """`"auto"`: token auth from the database's token file when the app opens the database itself (a first
    admin token is made and logged if there is none; no anonymous reads: the app does not know its bind
    address, `graphiam serve` does), no auth when it is handed an open `database`."""
    if auth != "auto":
        return auth  # type: ignore[return-value]
    if not opens_own:
        return None
    store = TokenStore(token_file_for(db_path if db_path is not None else default_db_path()))
    token = store.ensure_admin()
    if token is not None:
        log.warning("created the first admin token (shown once; stored hashed in %s): %s", store.path, token)
    return Auth(store=store, anonymous_reads=False)


def create_app(
    db_path: str | os.PathLike[str] | None = None,
    *,
    database: Database | None = None,
    load_seeds: bool = True,
    cors_origins: tuple[str, ...] = (),
    ide: bool = True,
    auth: Auth | None | str = "auto",
    introspection: bool = True,
    schema: Any = None,
    engine: str | None = None,
) -> Starlette:
    """Build the ASGI app. Pass `database` to serve an already-open one (tests); else `db_path` is opened
    in the lifespan (`None`: the default location) with `engine` ("kuzu" or "ladybug"; None:
    `GRAPHIAM_ENGINE`, else kuzu).

    `auth`: an `Auth` (tokens + anonymous-read policy), `None` for no authentication (every caller is admin:
    in-process tests and embedding only), or `"auto"` (the default): `None` with `database=`, else the token
    file beside the database, anonymous reads refused (`graphiam serve` decides those from its `--host`).
    `ide=False` drops GraphiQL, `introspection=False` refuses introspection; `schema` replaces the API
    schema (tests of the permission machinery)."""
    holder: dict[str, Services] = {}
    auth_policy = _resolve_auth(auth, db_path, opens_own=database is None)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        own = database is None
        path = os.fspath(db_path) if db_path is not None else default_db_path()
        db = database if database is not None else open_database(path, engine=engine)
        executor = ThreadPoolExecutor(
            max_workers=max(2, 2 * (os.cpu_count() or 1)), thread_name_prefix="graphiam-db"
        )
        try:
            if load_seeds and not db.read_only:
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
        if auth_policy is not None:  # liveness for anyone; what the graph holds only for readers
            try:
                auth_policy.identify(request.headers)
            except AuthError:
                return JSONResponse({"status": "ok"})
        services: Services = holder["services"]
        accounts = await services.accounts()
        return JSONResponse(
            {"status": "ok", "schemaVersion": schema_version(), "accounts": [a.id for a in accounts]}
        )

    graphql = _GraphQL(
        schema if schema is not None else build_schema(introspection=introspection),
        holder,
        auth_policy,
        graphql_ide="graphiql" if ide else None,
        allow_queries_via_get=False,
    )
    middleware = []
    if cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(cors_origins),
                allow_methods=["GET", "POST"],
                allow_headers=["Authorization", "Content-Type"],
            )
        )
    endpoint = _Authenticated(graphql, auth_policy)
    return Starlette(
        routes=[Route("/graphql", endpoint, methods=["GET", "POST"]), Route("/health", health)],
        middleware=middleware,
        lifespan=lifespan,
        max_body_size=MAX_BODY,
    )
