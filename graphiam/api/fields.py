"""Declaring the fields of the API's strawberry types.

- `field(description=...)`: `@strawberry.field(description=...)` as mypy can follow it (strawberry types that
  form as returning `Any`, which would leave every resolver it decorates untyped).
- `from_row`: most fields of a type that wraps a record (`row: strawberry.Private[...]`) only read one of its
  attributes; `arn = from_row("arn", str)` declares such a field instead of a resolver method of three lines.
  It is declared without an annotation, as resolver methods are, so strawberry keeps the fields in the order
  they are written (annotated fields would come before every method field) and the schema does not change.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any, TypeVar, cast

import strawberry

F = TypeVar("F", bound=Callable[..., Any])


def field(*, description: str | None = None) -> Callable[[F], F]:
    """`@strawberry.field(description=...)`, typed: the decorated resolver keeps its signature for mypy."""

    def decorate(resolver: F) -> F:
        return cast(F, strawberry.field(resolver, description=description))

    return decorate


def from_row(
    attr: str,
    graphql_type: Any,
    convert: Callable[[Any], Any] | None = None,
    *,
    description: str | None = None,
) -> Any:
    """A field whose value is `self.row.<attr>` (passed through `convert` when given), of `graphql_type`."""
    get = operator.attrgetter(f"row.{attr}")
    if convert is None:

        def resolve(self: Any) -> Any:
            return get(self)

    else:
        conv = convert

        def resolve(self: Any) -> Any:
            return conv(get(self))

    resolve.__name__ = attr
    return strawberry.field(resolver=resolve, graphql_type=graphql_type, description=description)
