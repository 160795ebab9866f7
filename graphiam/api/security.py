"""Who may run what, and what a client is told when something breaks.

- `IsReader` / `IsAdmin`: strawberry permission classes reading the caller's `Identity` (set by the HTTP
  layer in `graphiam.app`). Mutation authors write `@admin_mutation` (or `permission_classes=[IsAdmin]`);
  `MutationGuard` additionally refuses any mutation operation from a non-admin before it executes, so a
  mutation field that forgets its permission class is still protected; what it refuses goes to the audit log.
  On a server of a read-only database it refuses every mutation operation with `READ_ONLY` (not audited:
  such a server writes nothing).
- Errors, in one place (`client_error`): a client sees validation, permission and limit errors as they are,
  and graphiam's own errors (bad input, not found) with their message and their class's `code` (see
  graphiam.errors) in `extensions.code`; anything else (an unexpected exception, or an error whose code is
  `INTERNAL`) becomes `internal error (id 3f2a9c1e)`, and the same id is logged with the traceback on the
  `graphiam` logger, so an operator can find the cause from a user's report.
- `TIMEOUT_MESSAGE`: the per-operation time limit (the kuzu query timeout bounds each database call).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar, cast, overload

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaskErrors, SchemaExtension
from strawberry.permission import BasePermission
from strawberry.types import Info
from strawberry.types.graphql import OperationType

from graphiam.api.audit import record_refused
from graphiam.api.context import Context
from graphiam.audit import AuditLog
from graphiam.auth import Auth, Identity
from graphiam.errors import AuthError, GraphiamError, ReadOnlyError, StoreError

log = logging.getLogger("graphiam")
F = TypeVar("F", bound=Callable[..., Any])

ADMIN_NEEDED = "admin role needed: send `Authorization: Bearer <admin token>`"
READ_ONLY = (
    "mutations are refused: this server serves a read-only copy of the database (graphiam serve "
    "--read-only); send them to the server that loads it, and take a new snapshot"
)
READER_NEEDED = "a token is needed: send `Authorization: Bearer <token>`"
TIMEOUT_MESSAGE = "query stopped: it ran longer than the {seconds:g} s time limit"
DB_TIMEOUT_MESSAGE = "query stopped: a database call ran longer than its time limit"
DB_INTERRUPTED = "Interrupted."  # the message of the StoreError kuzu's query timeout becomes
INTERNAL = "INTERNAL"
TIMEOUT = "TIMEOUT"


def identity_of(context: Any) -> Identity | None:
    """The caller of this operation, or `None` when the context carries no identity (fail closed)."""
    identity = getattr(context, "identity", None)
    return identity if isinstance(identity, Identity) else None


class IsReader(BasePermission):
    """Any authenticated caller, or an anonymous one where the server allows anonymous reads."""

    message = READER_NEEDED
    error_extensions = {"code": AuthError.code}

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return identity_of(info.context) is not None


class IsAdmin(BasePermission):
    """A caller holding an admin token (or the app running without authentication)."""

    message = ADMIN_NEEDED
    error_extensions = {"code": "FORBIDDEN"}

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        identity = identity_of(info.context)
        return identity is not None and identity.is_admin


@overload
def admin_mutation(resolver: F, **kwargs: Any) -> F: ...


@overload
def admin_mutation(resolver: None = None, **kwargs: Any) -> Callable[[F], F]: ...


def admin_mutation(resolver: F | None = None, **kwargs: Any) -> F | Callable[[F], F]:
    """`strawberry.mutation` that needs the admin role: use as `@admin_mutation` or `@admin_mutation(...)`
    (typed as the resolver, so mypy keeps its signature)."""
    kwargs["permission_classes"] = [IsAdmin, *kwargs.get("permission_classes", [])]

    def decorate(fn: F) -> F:
        return cast(F, strawberry.mutation(fn, **kwargs))

    return decorate if resolver is None else decorate(resolver)


@overload
def admin_field(resolver: F, **kwargs: Any) -> F: ...


@overload
def admin_field(resolver: None = None, **kwargs: Any) -> Callable[[F], F]: ...


def admin_field(resolver: F | None = None, **kwargs: Any) -> F | Callable[[F], F]:
    """`strawberry.field` readable only by admins (e.g. the token list); used as `admin_mutation`."""
    kwargs["permission_classes"] = [IsAdmin, *kwargs.get("permission_classes", [])]

    def decorate(fn: F) -> F:
        return cast(F, strawberry.field(fn, **kwargs))

    return decorate if resolver is None else decorate(resolver)


class MutationGuard(SchemaExtension):
    """Refuses mutation and subscription operations from non-admin callers before anything executes, and
    lifts the operation's time limit for an admitted mutation (`Context.lift_time_limit`).

    List it AFTER `ValidationCache`: strawberry checks `pre_execution_errors` inside the validation step, so
    this hook works before its `yield`, once the cache has put the validation result there (a document with
    validation errors is refused for those; without the cache, this error alone refuses the operation).
    """

    def on_validate(self) -> Iterator[None]:
        ctx = self.execution_context
        if not ctx.pre_execution_errors and ctx.graphql_document is not None:
            try:
                op = ctx.operation_type
            except RuntimeError:  # no operation by that name: strawberry reports it
                op = OperationType.QUERY
            identity = identity_of(ctx.context)
            services = getattr(ctx.context, "services", None)
            if op is OperationType.MUTATION and services is not None and services.db.read_only:
                ctx.pre_execution_errors = [GraphQLError(READ_ONLY, extensions={"code": ReadOnlyError.code})]
            elif op is not OperationType.QUERY and (identity is None or not identity.is_admin):
                message = f"{op.value} operations: {ADMIN_NEEDED}"
                ctx.pre_execution_errors = [GraphQLError(message, extensions={"code": "FORBIDDEN"})]
                if op is OperationType.MUTATION:
                    record_refused(
                        ctx.context, ctx.graphql_document, ctx.operation_name, ctx.variables, message
                    )
            elif op is OperationType.MUTATION and isinstance(ctx.context, Context):
                ctx.context.lift_time_limit()  # a write runs to its end: its answer must say what happened
        yield


def error_code(exc: BaseException) -> str:
    """The `extensions.code` of an exception: its class's `code` for graphiam's own errors (`TIMEOUT` for the
    database's time limit), `INTERNAL` for anything else."""
    if not isinstance(exc, GraphiamError):
        return INTERNAL
    if isinstance(exc, StoreError) and str(exc) == DB_INTERRUPTED:
        return TIMEOUT
    return exc.code


def is_client_error(error: GraphQLError) -> bool:
    """Errors a client may read: validation/syntax (no original error), permission and limit errors
    (GraphQLError), graphiam's own errors whose code is not `INTERNAL` (engine failures are)."""
    original = error.original_error
    if original is None or isinstance(original, GraphQLError):
        return True
    return error_code(original) != INTERNAL


def client_error(error: GraphQLError) -> GraphQLError:
    """What a client is told of `error`: the error itself when it is GraphQL's own (validation, permission,
    limits), graphiam's error with its code (`mask_error` for an `INTERNAL` one or any other exception)."""
    original = error.original_error
    if original is None or isinstance(original, GraphQLError):
        return error
    if not is_client_error(error):
        return mask_error(error)
    code = error_code(original)
    return GraphQLError(
        DB_TIMEOUT_MESSAGE if code == TIMEOUT and isinstance(original, StoreError) else error.message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=original,
        extensions={**(error.extensions or {}), "code": code},
    )


def mask_error(error: GraphQLError) -> GraphQLError:
    """The client's view of an unexpected error: an id, logged here with the traceback (the database's time
    limit: a message saying so)."""
    original = error.original_error
    if original is not None and error_code(original) == TIMEOUT:
        return client_error(error)
    error_id = secrets.token_hex(4)
    exc_info = (type(original), original, original.__traceback__) if original is not None else None
    log.error(
        "internal error (id %s) at %s: %s",
        error_id,
        ".".join(map(str, error.path or [])) or "-",
        error.message,
        exc_info=exc_info,
    )
    return GraphQLError(
        f"internal error (id {error_id})",
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions={"code": INTERNAL, "errorId": error_id},
    )


def raised(error: GraphQLError) -> bool:
    """An error that carries a Python exception (not one of GraphQL's own): `client_error` rewrites it."""
    original = error.original_error
    return original is not None and not isinstance(original, GraphQLError)


def mask_errors(errors: list[GraphQLError] | None) -> list[GraphQLError] | None:
    """`client_error` of each error (errors already rewritten stay as they are)."""
    if not errors:
        return errors
    return [client_error(e) for e in errors]


class MaskInternalErrors(MaskErrors):
    """strawberry's MaskErrors, with `client_error` as the rewrite: codes, and an error id in the message and
    in the server log for what is masked."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=raised)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        return client_error(error)


@dataclass
class AppContext(Context):
    """The request context with the caller: `identity` (set by the HTTP layer; `None` is refused by every
    permission), the server's `auth` policy (`None`: the app runs without authentication) and its `audit`
    log of mutations (`None`: it keeps none)."""

    identity: Identity | None = None
    auth: Auth | None = None
    audit: AuditLog | None = None
