"""A reader process of `graphiam serve --workers N` answers queries itself and sends mutations to the writer.

Reader processes open read-only copies of the database (the engine allows one read-write process per file:
docs/ENGINE.md), so a mutation can only run in the writer, the one process that holds the database. A reader
recognises a mutation operation in a POST body (`is_mutation`) and forwards the request as it came (body,
`Authorization`, `Content-Type`) to the writer on its loopback port; the writer authenticates, audits and
runs it, publishes the new generation before it answers, and its answer goes back to the client unchanged.
"""

from __future__ import annotations

import json
from typing import Any

from graphql import GraphQLError, OperationType, parse
from graphql.utilities import get_operation_ast

FORWARDED_HEADERS = ("authorization", "content-type", "accept")
FORWARD_TIMEOUT_S = 900.0  # a load through `importExport` may take minutes on a large org
UNAVAILABLE = "UNAVAILABLE"


def is_mutation(body: bytes) -> bool:
    """Whether the GraphQL request `body` (JSON) asks for a mutation operation; False for anything the
    server itself should answer or refuse (bad JSON, a syntax error, no such operation)."""
    try:
        request = json.loads(body)
        if not isinstance(request, dict) or not isinstance(request.get("query"), str):
            return False
        name = request.get("operationName")
        operation = get_operation_ast(parse(request["query"]), name if isinstance(name, str) else None)
    except (ValueError, GraphQLError):
        return False
    return operation is not None and operation.operation is OperationType.MUTATION


def forwarded_headers(headers: Any) -> dict[str, str]:
    """The request headers a forwarded mutation keeps (not Host or Origin: the writer answers its own)."""
    return {k: headers[k] for k in FORWARDED_HEADERS if k in headers}


def unavailable(url: str, problem: str) -> bytes:
    """The body of the answer when the writer cannot be reached: one GraphQL error."""
    message = f"mutations go to the writer at {url}, which did not answer ({problem})"
    return json.dumps(
        {"data": None, "errors": [{"message": message, "extensions": {"code": UNAVAILABLE}}]}
    ).encode()
