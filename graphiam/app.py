"""The HTTP face: Starlette with GraphQL (and GraphiQL) at /graphql, the dashboard at /ui/ and a health check
at /health.

The lifespan opens the database once per process (kuzu allows one read-write handle), loads the demo
organisation into an empty database, and closes everything on shutdown. One process holds a database
read-write; `create_app(read_only=, follow=, publish=, forward_to=)` are the parts of serving reads from other
processes (docs/DEPLOYMENT.md).

Authentication (`graphiam.auth`) happens here, before GraphQL sees the request: a POST without a usable
token gets 401 (JSON body in GraphQL's error shape, `WWW-Authenticate: Bearer`), unless anonymous reads are
allowed; the caller's `Identity` rides in the context for the permission classes of `graphiam.api.security`.
The GraphiQL page itself (a GET) is served without a token: it holds no data, and GET runs no operations.

The browser side is served from the package (`graphiam/web/`), never from a CDN, so it works offline: GraphiQL
(our own page at GET /graphql, its libraries in `web/vendor/`) and the dashboard (`web/ui/`, plain ES
modules, a client of the same GraphQL API with the same token rules). Every response carries a
Content-Security-Policy that lets a page load scripts, styles and data only from this server.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Message, Receive, Scope, Send
from strawberry.asgi import GraphQL

from graphiam.api.body import body_problem
from graphiam.api.context import Loaders
from graphiam.api.forward import FORWARD_TIMEOUT_S, forwarded_headers, is_mutation, unavailable
from graphiam.api.schema import build_schema
from graphiam.api.security import AppContext
from graphiam.audit import AuditLog, audit_file_for
from graphiam.auth import LOOPBACK_NAMES, OPEN, Auth, AuthError, Identity, TokenStore, token_file_for
from graphiam.changes.load import is_empty, load_seeds_if_empty, seeds_refused
from graphiam.service import (
    Database,
    Generations,
    Publisher,
    Services,
    open_database,
    schema_version,
)

log = logging.getLogger("graphiam")
MAX_BODY = 1 << 20


# The cyclic collector's thresholds while the app serves its own database (`gc.set_threshold`; Python's
# default is (700, 10, 10)). Heavy requests allocate hundreds of thousands of containers each; with the
# default a full collection, which walks every object the process keeps (caches, the catalogue) holding the
# GIL, ran several times a second during heavy work and paused every thread, the event loop included, for
# 0.25-0.45 s each (benchmarks/bench_flood.py). The snapshot and indexes are frozen out of its sight
# (graphiam.service).
GC_THRESHOLDS = (50_000, 20, 10)


def default_workers() -> tuple[int, int]:
    """(workers for cheap reads, workers for heavy computations): the heavy pool is at most half the cores,
    so cheap reads always find a worker (and a core) while heavy ones queue."""
    cores = os.cpu_count() or 1
    return max(2, 2 * cores), max(1, cores // 2)


DEFAULT_PORTS = {"http": "80", "https": "443"}
WEB = Path(__file__).resolve().parent / "web"  # the browser side: GraphiQL, the dashboard, vendored libraries

# What the pages may load: scripts, styles, fonts, images and GraphQL requests from this server only
# (GraphiQL's editor and the graph library set inline styles; fonts and icons come as data: URLs from their
# CSS). No page may frame this one, and no inline script runs.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS = (
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
)


def default_db_path() -> Path:
    """`GRAPHIAM_DB`, else `$XDG_DATA_HOME/graphiam/db` (usually `~/.local/share/graphiam/db`)."""
    env = os.environ.get("GRAPHIAM_DB")
    if env:
        return Path(env)
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "graphiam" / "db"


class _GraphQL(GraphQL[AppContext, None]):
    def __init__(
        self, schema: Any, holder: dict[str, Any], auth: Auth | None, audit: AuditLog | None, **kw: Any
    ) -> None:
        super().__init__(schema, **kw)
        self._holder = holder
        self._auth = auth
        self._audit = audit

    async def render_graphql_ide(self, request: Any) -> Response:
        """Our GraphiQL page (`web/graphiql/index.html`): its scripts and styles come from this server, with
        the README's examples a click away; strawberry's own page loads them from a CDN."""
        return HTMLResponse((WEB / "graphiql" / "index.html").read_text(encoding="utf-8"))

    async def get_context(self, request: Any, response: Any = None) -> AppContext:
        services = request.scope.get(SERVICES_KEY) or self._holder["services"]
        identity = request.scope.get(IDENTITY_KEY) if self._auth is not None else OPEN
        return AppContext(
            services=services,
            loaders=Loaders(services),
            turn=services.turn(),
            request=request,
            response=response,
            identity=identity,
            auth=self._auth,
            audit=self._audit,
        )


IDENTITY_KEY = "graphiam.identity"
SERVICES_KEY = "graphiam.services"  # a reader process's request: the Services of the generation it leased
GENERATION_HEADER = b"x-graphiam-generation"


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


def netloc(host: str, scheme: str) -> str:
    """`host[:port]` lowercased, without the default port of `scheme` (`localhost:80` is `localhost`)."""
    host = host.lower()
    default = DEFAULT_PORTS.get(scheme)
    return host.removesuffix(f":{default}") if default is not None else host


class SameOrigin:
    """ASGI wrapper: a request with an `Origin` header that is neither the server's own origin (the Host the
    request was sent to) nor one of `allowed` gets 403, GET and POST alike: a page from another site reads
    nothing, even where the browser would send the request without a preflight. Requests without `Origin`
    (curl, scripts, same-origin navigation) pass, and so do CORS preflights (`OPTIONS`, which run nothing:
    `CORSMiddleware` refuses a foreign one with 400). The scheme is not compared: behind a TLS proxy the Host
    is the server's own while the scheme the app sees is not."""

    def __init__(self, app: Any, allowed: tuple[str, ...]) -> None:
        self.app = app
        self.allow_any = "*" in allowed
        self.allowed = frozenset(o.lower().rstrip("/") for o in allowed)

    def permits(self, origin: str, host: str) -> bool:
        """Whether a request sent to `host` from `origin` may proceed."""
        origin = origin.lower().rstrip("/")
        if self.allow_any or origin in self.allowed:
            return True
        scheme, sep, rest = origin.partition("://")
        if not sep or not rest or "/" in rest or scheme not in DEFAULT_PORTS:
            return False  # `null` (sandboxed pages, file://) and anything that is not an http(s) origin
        return netloc(rest, scheme) == netloc(host, scheme)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] != "OPTIONS":  # preflights: the CORS rules answer
            headers = Headers(scope=scope)
            origin = headers.get("origin")
            if origin is not None and not self.permits(origin, headers.get("host", "")):
                await PlainTextResponse("cross-origin request refused", status_code=403)(scope, receive, send)
                return
        await self.app(scope, receive, send)


class SecurityHeaders:
    """ASGI wrapper: every HTTP response gets `SECURITY_HEADERS` (the CSP above, no MIME sniffing, no
    referrer, no framing) unless the handler set its own value."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {k.lower() for k, _ in headers}
                headers.extend((k, v) for k, v in SECURITY_HEADERS if k not in present)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def web_routes(*, ide: bool, dashboard: bool) -> list[BaseRoute]:
    """The browser side's routes: `/ui/` the dashboard (and `/` sends browsers there), `/ui/graphiql/` the
    GraphiQL page's script and examples, `/ui/vendor/` the libraries both use. None of them holds data."""
    routes: list[BaseRoute] = []
    if dashboard:

        async def home(request: Request) -> Response:
            return RedirectResponse("ui/", status_code=307)

        routes.append(Route("/", home, methods=["GET", "HEAD"]))
    if ide:
        routes.append(Mount("/ui/graphiql", StaticFiles(directory=WEB / "graphiql")))
    if ide or dashboard:
        routes.append(Mount("/ui/vendor", StaticFiles(directory=WEB / "vendor")))
    if dashboard:
        routes.append(Mount("/ui", StaticFiles(directory=WEB / "ui", html=True)))
    return routes


class CheckedBody:
    """ASGI wrapper: a POST whose body is not a well-formed GraphQL request (`api.body.body_problem`: content
    type, UTF-8, nesting depth, numbers, shape) gets 400 with the reason in one line; a good body is handed on
    as it came."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        body = await request.body()  # over MAX_BODY: starlette's limit answers 413
        problem = body_problem(request.headers.get("content-type"), body)
        if problem is not None:
            await PlainTextResponse(problem, status_code=400)(scope, receive, send)
            return
        await self.app(scope, replaying(body, receive), send)


def replaying(body: bytes, receive: Receive) -> Receive:
    """A `receive` that hands on `body` (already read) once, then what `receive` gives."""
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


class Leased:
    """ASGI wrapper of a reader process (`create_app(follow=True)`): each request is answered from one
    published generation, leased for the whole request (`service.Generations`), whose number the response
    carries in `X-Graphiam-Generation`."""

    def __init__(self, app: Any, holder: dict[str, Any]) -> None:
        self.app = app
        self.holder = holder

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        generations: Generations | None = self.holder.get("generations")
        if generations is None or scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        lease = await generations.acquire()
        scope[SERVICES_KEY] = lease.services
        number = str(lease.number).encode()

        async def send_with_generation(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", ()), (GENERATION_HEADER, number)]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_generation)
        finally:
            generations.release(lease)


class ForwardWrites:
    """ASGI wrapper of a reader process: a POST asking for a mutation goes to the writer at `url`
    (`api.forward`); everything else to `app`."""

    def __init__(self, app: Any, url: str) -> None:
        self.app = app
        self.url = url

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        body = await request.body()
        if not is_mutation(body):
            await self.app(scope, replaying(body, receive), send)
            return
        import httpx  # only a reader process forwards

        try:
            async with httpx.AsyncClient(timeout=FORWARD_TIMEOUT_S) as client:
                answer = await client.post(self.url, content=body, headers=forwarded_headers(request.headers))
        except httpx.HTTPError as exc:
            response = Response(unavailable(self.url, type(exc).__name__), 503, media_type="application/json")
            await response(scope, receive, send)
            return
        kept = {k: v for k, v in answer.headers.items() if k.lower() in ("content-type", "www-authenticate")}
        await Response(answer.content, answer.status_code, headers=kept)(scope, receive, send)


async def _analyse_ahead(services: Services) -> None:
    """`Services.analyse_findings_ahead`, then `Services.summarise_escalation_ahead`, logged (a failure only
    means the first request does the work)."""
    try:
        start = time.perf_counter()
        n = await services.analyse_findings_ahead()
        log.info("findings: %d policy documents analysed ahead in %.1f s", n, time.perf_counter() - start)
        start = time.perf_counter()
        n = await services.summarise_escalation_ahead()
        log.info(
            "escalation summary: %d principals summarised ahead in %.1f s", n, time.perf_counter() - start
        )
    except asyncio.CancelledError:
        raise
    except Exception:  # noqa: BLE001 - logged; the first request does the work itself
        log.warning("findings/escalation summary: computing ahead failed", exc_info=True)


def _resolve_auth(
    auth: Auth | None | str, db_path: str | os.PathLike[str] | None, opens_own: bool, read_only: bool = False
) -> Auth | None:
    """`"auto"`: token auth from the database's token file when the app opens the database itself (a first
    admin token is made and logged if there is none; no anonymous reads: the app does not know its bind
    address, `graphiam serve` does), no auth when it is handed an open `database`. `read_only`: the token
    file is only read (no first token, no last-use times)."""
    if auth != "auto":
        return auth  # type: ignore[return-value]
    if not opens_own:
        return None
    path = token_file_for(db_path if db_path is not None else default_db_path())
    store = TokenStore(path, record_use=not read_only)
    if read_only:
        return Auth(store=store, anonymous_reads=False)
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
    dashboard: bool = True,
    auth: Auth | None | str = "auto",
    introspection: bool = True,
    schema: Any = None,
    allowed_hosts: tuple[str, ...] | None | str = "auto",
    engine: str | None = None,
    audit: AuditLog | None | str = "auto",
    on_open: Callable[[], object] | None = None,
    on_close: Callable[[], object] | None = None,
    heavy_workers: int | None = None,
    analyse_ahead: bool | None = None,
    read_only: bool = False,
    follow: bool = False,
    publish: bool = False,
    forward_to: str | None = None,
) -> Starlette:
    """Build the ASGI app. Pass `database` to serve an already-open one (tests); else `db_path` is opened
    in the lifespan (`None`: the default location) with `engine` ("kuzu" or "ladybug"; None:
    `GRAPHIAM_ENGINE`, else kuzu).

    `auth`: an `Auth` (tokens + anonymous-read policy), `None` for no authentication (every caller is admin:
    in-process tests and embedding only), or `"auto"` (the default): `None` with `database=`, else the token
    file beside the database, anonymous reads refused (`graphiam serve` decides those from its `--host`).
    `ide=False` drops GraphiQL, `dashboard=False` the dashboard at /ui/, `introspection=False` refuses
    introspection; `schema` replaces the API schema (tests of the permission machinery).

    `allowed_hosts`: the Host names the app answers (others get 400: DNS rebinding), as starlette's
    `TrustedHostMiddleware` takes them (`*.example.com` patterns, brackets around IPv6 addresses); `None`
    answers any Host; `"auto"` (the default): `auth.LOOPBACK_NAMES` when the app opens the database itself,
    `None` with `database=` (in-process clients; `graphiam serve` passes its bind's names). Whatever the
    Host, a request with an `Origin` that is neither the server's own nor in `cors_origins` gets 403.

    `audit`: the log every mutation is recorded in (`graphiam.audit`); `"auto"` (the default): the one beside
    the database when the app opens it itself, none with `database=` unless one is passed.

    `on_open` runs once the database is open and ready, `on_close` when the app stops (before the database is
    closed): `graphiam serve` leaves its lock file beside the database in between.

    `heavy_workers`: threads for heavy computations (whoCan, escalation, findings, graph views; see
    `graphiam.service.Services.heavy`), apart from the ones cheap reads use; None: `default_workers()`.
    `analyse_ahead`: analyse every policy for the findings report in the background once the database is open
    (`Services.analyse_findings_ahead`); None: when the app opens the database itself (a server).

    Scaling reads out (docs/DEPLOYMENT.md): `read_only` opens the database read-only (no seeds, mutations
    refused with `READ_ONLY`, nothing written beside it: no first token, no last-use times, no audit log).
    `publish` (the writer of `graphiam serve --workers N`) publishes the database as a generation read-only
    processes open, at the start and after every write (`store/publish.py`). `follow` (a reader process)
    serves the newest published generation of `db_path`, one generation per request (`service.Generations`,
    `Leased`), and `forward_to` sends mutations to the writer's GraphQL URL (`ForwardWrites`)."""
    holder: dict[str, Any] = {}
    read_only = read_only or follow
    auth_policy = _resolve_auth(auth, db_path, opens_own=database is None, read_only=read_only)
    if audit == "auto":
        own_path = db_path if db_path is not None else default_db_path()
        audit = AuditLog(audit_file_for(own_path)) if database is None and not read_only else None
    audit_log = audit if isinstance(audit, AuditLog) else None
    if allowed_hosts == "auto":
        allowed_hosts = LOOPBACK_NAMES if database is None else None

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        own = database is None
        path = os.fspath(db_path) if db_path is not None else default_db_path()
        cheap, heavy = default_workers()
        executor = ThreadPoolExecutor(max_workers=cheap, thread_name_prefix="graphiam-db")
        heavy_executor = ThreadPoolExecutor(
            max_workers=heavy_workers or heavy, thread_name_prefix="graphiam-heavy"
        )

        def services_of(db: Database) -> Services:
            return Services(
                db=db, executor=executor, heavy_executor=heavy_executor, heavy_slots=heavy_workers or heavy
            )

        generations: Generations | None = None
        try:
            if follow:
                generations = Generations(
                    str(path), partial(open_database, engine=engine, read_only=True), services_of
                )
                db = generations.current.services.db
            else:
                db = (
                    database
                    if database is not None
                    else open_database(path, engine=engine, read_only=read_only)
                )
        except BaseException:
            executor.shutdown(wait=False)
            heavy_executor.shutdown(wait=False)
            raise
        thresholds = gc.get_threshold()
        if own:
            gc.set_threshold(*GC_THRESHOLDS)
        ahead: asyncio.Task[None] | None = None
        following: asyncio.Task[None] | None = None
        try:
            if load_seeds and not db.read_only:
                summary = load_seeds_if_empty(db)
                if summary is not None:
                    for line in summary.lines():
                        log.info("seeds: %s", line)
                elif seeds_refused(db) and is_empty(db):
                    log.warning(
                        "%s is empty and was made by `graphiam load`: serving it empty, without the demo org",
                        path,
                    )
            if publish:  # the first generation now, the next after each write (before it is answered)
                publisher = Publisher(path)
                publisher.publish(db)
                db.after_write.append(publisher.after_write)
            if generations is not None:
                holder["generations"] = generations
                holder["services"] = generations.current.services
                following = asyncio.create_task(generations.follow())
            else:
                holder["services"] = services_of(db)
            app.state.services = holder["services"]
            if (own and not follow) if analyse_ahead is None else analyse_ahead:
                ahead = asyncio.create_task(_analyse_ahead(holder["services"]))
            if on_open is not None:
                on_open()
            yield
        finally:
            if on_close is not None:
                on_close()
            if ahead is not None:
                ahead.cancel()
            heavy_executor.shutdown(wait=True, cancel_futures=True)
            executor.shutdown(wait=True)
            gc.set_threshold(*thresholds)
            if auth_policy is not None:
                auth_policy.store.flush_used()  # the last uses of the final minute
            if following is not None:
                following.cancel()
            if generations is not None:
                await generations.close()
            elif own:
                db.close()

    async def health(request: Request) -> JSONResponse:
        if auth_policy is not None:  # liveness for anyone; what the graph holds only for readers
            try:
                auth_policy.identify(request.headers)
            except AuthError:
                return JSONResponse({"status": "ok"})
        generations: Generations | None = holder.get("generations")
        lease = await generations.acquire() if generations is not None else None
        try:
            services: Services = holder["services"] if lease is None else lease.services
            accounts = await services.accounts()
        finally:
            if lease is not None and generations is not None:
                generations.release(lease)
        body: dict[str, Any] = {
            "status": "ok",
            "schemaVersion": schema_version(),
            "accounts": [a.id for a in accounts],
        }
        if lease is not None:
            body["generation"] = lease.number
        return JSONResponse(body)

    graphql = _GraphQL(
        schema if schema is not None else build_schema(introspection=introspection),
        holder,
        auth_policy,
        audit_log,
        graphql_ide="graphiql" if ide else None,
        allow_queries_via_get=False,
    )
    middleware = [
        Middleware(SecurityHeaders),
        Middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts, www_redirect=False),
    ]
    middleware.append(Middleware(SameOrigin, allowed=cors_origins))
    if cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(cors_origins),
                allow_methods=["GET", "POST"],
                allow_headers=["Authorization", "Content-Type"],
            )
        )
    inner: Any = Leased(graphql, holder) if follow else graphql
    if forward_to is not None:
        inner = ForwardWrites(inner, forward_to)
    endpoint = _Authenticated(CheckedBody(inner), auth_policy)
    return Starlette(
        routes=[
            Route("/graphql", endpoint, methods=["GET", "POST"]),
            Route("/health", health),
            *web_routes(ide=ide, dashboard=dashboard),
        ],
        middleware=middleware,
        lifespan=lifespan,
        max_body_size=MAX_BODY,
    )
