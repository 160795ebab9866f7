"""Which requests a reader process of `serve --workers N` forwards to the writer (graphiam/api/forward.py)."""

from __future__ import annotations

import json

import pytest

from graphiam.api.forward import forwarded_headers, is_mutation


def body(query: str, name: str | None = None) -> bytes:
    return json.dumps({"query": query, "operationName": name}).encode()


@pytest.mark.parametrize(
    ("request_body", "forwarded"),
    [
        (body('mutation { createUser(input: {account: "1", name: "x"}) { ok } }'), True),
        (body("mutation M { copyDatabase { path } }", "M"), True),
        (body("{ users(first: 1) { totalCount } }"), False),
        (body("query Q { a } mutation M { b }", "Q"), False),
        (body("query Q { a } mutation M { b }", "M"), True),
        (body("query Q { a } mutation M { b }"), False),  # no operation chosen: the server says so
        (body("mutation {"), False),  # a syntax error: the server reports it
        (b"not json", False),
        (b"[]", False),
    ],
)
def test_mutations_are_recognised(request_body: bytes, forwarded: bool) -> None:
    assert is_mutation(request_body) is forwarded


def test_only_the_callers_credentials_and_content_type_are_forwarded() -> None:
    headers = {"authorization": "Bearer t", "content-type": "application/json", "host": "h", "origin": "o"}
    assert forwarded_headers(headers) == {"authorization": "Bearer t", "content-type": "application/json"}
