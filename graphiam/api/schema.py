"""Builds the strawberry schema: Query merged from its parts, with the caches and limits ENGINE-NOTES §6, §16
measured (parser and validation caches ~3× throughput; a token limit against oversize queries)."""
from __future__ import annotations

import importlib
import importlib.util

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaskErrors, MaxTokensLimiter, ParserCache, QueryDepthLimiter, ValidationCache
from strawberry.tools import merge_types

from graphiam.api.queries import BrowseQuery
from graphiam.api.types import Role, User
from graphiam.errors import GraphiamError

MAX_TOKENS = 5000
MAX_DEPTH = 12


def _should_mask(error: GraphQLError) -> bool:
    """Show validation errors and graphiam's own errors; hide anything else (engine messages leak paths)."""
    original = error.original_error
    if original is None:
        return False
    return not isinstance(original, GraphiamError)


class GraphiamSchema(strawberry.Schema):
    """Logs unexpected errors only: a user's bad input is answered, not logged with a traceback."""

    def process_errors(self, errors, execution_context=None):  # type: ignore[no-untyped-def]
        unexpected = [e for e in errors if not isinstance(e.original_error, GraphiamError)]
        if unexpected:
            super().process_errors(unexpected, execution_context)


# Each module contributes one Query part (a strawberry type); `merge_types` joins them.
QUERY_PARTS = (
    "graphiam.api.simulation:SimulationQuery",
    "graphiam.api.assume:AssumeQuery",
    "graphiam.api.access:AccessQuery",
    "graphiam.api.escalation:EscalationQuery",
)


def query_parts() -> tuple[type, ...]:
    parts: list[type] = [BrowseQuery]
    for spec in QUERY_PARTS:
        module, name = spec.split(":")
        if importlib.util.find_spec(module) is None:  # a part still being built is simply absent
            continue
        parts.append(getattr(importlib.import_module(module), name))
    return tuple(parts)


def build_schema() -> strawberry.Schema:
    Query = merge_types("Query", query_parts())
    return GraphiamSchema(
        query=Query,
        types=[User, Role],
        extensions=[
            lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
            lambda: QueryDepthLimiter(max_depth=MAX_DEPTH),
            lambda: ParserCache(maxsize=512),
            lambda: ValidationCache(maxsize=512),
            lambda: MaskErrors(should_mask_error=_should_mask),
        ],
    )


def sdl() -> str:
    return build_schema().as_str() + "\n"
