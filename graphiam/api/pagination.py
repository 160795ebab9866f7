"""Relay-style cursor connections with `totalCount`, keyset-paginated on ARNs."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import strawberry

from graphiam.api.fields import field
from graphiam.errors import InputError

N = TypeVar("N")
MAX_PAGE = 100
DEFAULT_PAGE = 50


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[N]):
    cursor: str
    node: N


@strawberry.type
class Connection(Generic[N]):
    total_count: int
    page_info: PageInfo
    edges: list[Edge[N]]

    @field(description="The nodes of `edges`, for clients that need no cursors.")
    def nodes(self) -> list[N]:
        return [e.node for e in self.edges]


def encode_cursor(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode()).decode()


def decode_cursor(cursor: str | None) -> str | None:
    if cursor is None:
        return None
    try:
        return base64.b64decode(cursor.encode(), altchars=b"-_", validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        raise InputError(f"`after`: `{cursor}` is not a cursor this API returned") from None


def check_first(first: int | None) -> int:
    n = DEFAULT_PAGE if first is None else first
    if n < 0 or n > MAX_PAGE:
        raise InputError(f"`first` must be between 0 and {MAX_PAGE}, got {n}")
    return n


def _arn(row: Any) -> str:
    return str(row.arn)


def build(
    rows: list[Any],
    first: int,
    total: int,
    after: str | None,
    convert: Callable[[Any], N],
    key: Callable[[Any], str] = _arn,
) -> Connection[N]:
    """Make a connection from `first + 1` fetched rows (the extra one only tells that a next page exists)."""
    has_next = len(rows) > first
    rows = rows[:first]
    edges = [Edge(cursor=encode_cursor(key(r)), node=convert(r)) for r in rows]
    return Connection(
        total_count=total,
        page_info=PageInfo(
            has_next_page=has_next,
            has_previous_page=after is not None,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
        edges=edges,
    )
