"""Builds the strawberry schema: Query (and Mutation) merged from their parts, with parser and validation
caches (a repeated query is neither parsed nor validated again), the token and limit rules of
`graphiam.api.limits`, and the security extensions of `graphiam.api.security`.

Extension order matters: `AddValidationRules` (the limit rules, built once so `ValidationCache` keys stay
stable), then `ValidationCache`, then `MutationGuard` (reads the validation result), then masking.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import strawberry
from graphql import ASTValidationRule, GraphQLError, ValidationRule
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import AddValidationRules, MaxTokensLimiter, ParserCache, ValidationCache
from strawberry.tools import merge_types
from strawberry.types import ExecutionResult

from graphiam.api.access import AccessQuery
from graphiam.api.assume import AssumeQuery
from graphiam.api.audit_log import AuditQuery
from graphiam.api.context import Context
from graphiam.api.escalation import EscalationQuery
from graphiam.api.external import ExternalQuery
from graphiam.api.findings import FindingsQuery
from graphiam.api.graph import GraphQuery
from graphiam.api.history import HistoryQuery
from graphiam.api.limits import Bounds, limits_rule
from graphiam.api.mutations import Mutation
from graphiam.api.organization import OrganizationQuery
from graphiam.api.queries import BrowseQuery
from graphiam.api.resource_access import ResourceAccessQuery
from graphiam.api.resources import ResourceQuery
from graphiam.api.search import SearchQuery
from graphiam.api.security import (
    TIMEOUT_MESSAGE,
    MaskInternalErrors,
    MutationGuard,
    is_client_error,
    mask_errors,
)
from graphiam.api.simulation import SimulationQuery
from graphiam.api.snapshot import SnapshotMutation
from graphiam.api.types import Role, User
from graphiam.api.viewer import ViewerQuery

log = logging.getLogger("graphiam")

MAX_TOKENS = 5000
DEFAULT_BOUNDS = Bounds()
MAX_DEPTH = DEFAULT_BOUNDS.depth
TIME_LIMIT_S = 10.0  # per operation; each kuzu call is also bounded (store.db.QUERY_TIMEOUT_MS)


class GraphiamSchema(strawberry.Schema):
    """Adds the per-operation time limit, the end of the request's turn on the heavy pool once the operation
    is over, and a last masking pass (for errors raised outside execution, which strawberry's MaskErrors does
    not see). Internal errors are logged once, with their id, by the masker."""

    time_limit: float | None = TIME_LIMIT_S

    async def execute(self, *args: Any, **kwargs: Any) -> ExecutionResult:
        context = kwargs.get("context_value")
        turn = getattr(context, "turn", None)
        try:
            async with asyncio.timeout(self.time_limit) as limit:
                if isinstance(context, Context):  # a mutation lifts it once admitted (MutationGuard)
                    context.time_limit = limit
                result = await super().execute(*args, **kwargs)
        except TimeoutError:
            message = TIMEOUT_MESSAGE.format(seconds=self.time_limit)
            log.warning("%s", message)
            return ExecutionResult(data=None, errors=[GraphQLError(message, extensions={"code": "TIMEOUT"})])
        finally:
            if turn is not None:  # the operation is over: the next request may use the heavy pool
                turn.give_back()
        result.errors = mask_errors(result.errors)
        return result

    def process_errors(self, errors, execution_context=None):  # type: ignore[no-untyped-def]
        for e in errors:
            if is_client_error(e):
                log.debug("client error: %s", e.message)


# Each module contributes one Query part (a strawberry type); `merge_types` joins them in this order
# (the order of the SDL's fields).
QUERY_PARTS: tuple[type, ...] = (
    BrowseQuery,
    ViewerQuery,
    AuditQuery,
    SimulationQuery,
    AssumeQuery,
    AccessQuery,
    ResourceAccessQuery,
    EscalationQuery,
    OrganizationQuery,
    FindingsQuery,
    GraphQuery,
    ExternalQuery,
    HistoryQuery,
    SearchQuery,
    ResourceQuery,
)

# Mutation parts, as QUERY_PARTS. Write each mutation with `graphiam.api.security.admin_mutation`;
# `MutationGuard` also refuses any mutation operation from a non-admin caller.
MUTATION_PARTS: tuple[type, ...] = (Mutation, SnapshotMutation)


def query_parts() -> tuple[type, ...]:
    return QUERY_PARTS


def validation_rules(
    bounds: Bounds = DEFAULT_BOUNDS, *, introspection: bool = True
) -> tuple[type[ValidationRule], ...]:
    """The extra validation rules, the same classes on every call (so validation stays cached)."""
    rules: tuple[type[ValidationRule], ...] = (limits_rule(bounds),)
    if not introspection:
        rules += (NoSchemaIntrospectionCustomRule,)
    return rules


def build_schema(
    *,
    introspection: bool = True,
    time_limit: float | None = TIME_LIMIT_S,
    bounds: Bounds = DEFAULT_BOUNDS,
    mutation_parts: tuple[type, ...] = (),
    extra_query_parts: tuple[type, ...] = (),
) -> strawberry.Schema:
    """The API schema. `introspection=False` for production; `mutation_parts` adds Mutation types beside
    `MUTATION_PARTS` (tests of the permission machinery use it), `extra_query_parts` Query types beside
    `QUERY_PARTS` (tests of the scheduling of heavy work)."""
    Query = merge_types("Query", (*query_parts(), *extra_query_parts))
    mutations = (*MUTATION_PARTS, *mutation_parts)
    mutation = merge_types("Mutation", mutations) if mutations else None
    rules: list[type[ASTValidationRule]] = list(validation_rules(bounds, introspection=introspection))
    schema = GraphiamSchema(
        query=Query,
        mutation=mutation,
        types=[User, Role],
        extensions=[
            lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
            lambda: AddValidationRules(rules),
            lambda: ParserCache(maxsize=512),
            lambda: ValidationCache(maxsize=512),
            MutationGuard,
            MaskInternalErrors,
        ],
    )
    schema.time_limit = time_limit
    return schema


def sdl() -> str:
    return build_schema().as_str() + "\n"
