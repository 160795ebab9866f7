"""What a GraphQL POST body must be, checked before strawberry reads it: `application/json` in UTF-8, a JSON
object with a `query` string, nested at most `MAX_JSON_DEPTH` deep, with numbers a double can hold and no
NaN/Infinity. `body_problem` names the first thing wrong in one line (the server answers it with HTTP 400);
without the check, deep nesting, bytes that are not UTF-8 or a 5,000-digit number raise inside the JSON parser
and the client sees HTTP 500."""

from __future__ import annotations

import json
import math
import re
from typing import Any

from graphiam.policy.raw import MAX_DEPTH, text_depth

MAX_JSON_DEPTH = MAX_DEPTH
MAX_NUMBER_LENGTH = 100  # characters of one JSON number: a double needs at most 24
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89abcdefABCDEF]")


class BadBody(ValueError):
    """A request body that is not a GraphQL request; its message is the one-line reason for the client."""


def content_type_problem(content_type: str | None) -> str | None:
    """Why `content_type` is not JSON in UTF-8, or None."""
    if content_type is None:
        return "no Content-Type: send application/json"
    media, _, params = content_type.partition(";")
    if media.strip().lower() != "application/json":
        return f"unsupported Content-Type `{media.strip()[:100]}`: send application/json"
    for param in params.split(";"):
        name, _, value = param.partition("=")
        charset = value.strip().strip('"').lower()
        if name.strip().lower() == "charset" and charset not in ("utf-8", "utf8"):
            return f"unsupported charset `{charset[:40]}`: send UTF-8"
    return None


def _number(text: str, convert: type[int] | type[float]) -> int | float:
    if len(text) > MAX_NUMBER_LENGTH:
        raise BadBody(f"a number of {len(text)} characters: at most {MAX_NUMBER_LENGTH}")
    value = convert(text)
    if isinstance(value, float) and not math.isfinite(value):
        raise BadBody(f"number `{text}` is out of range")
    return value


def _constant(name: str) -> Any:
    raise BadBody(f"`{name}` is not JSON")


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "an array (batches are not accepted)"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return "a string" if isinstance(value, str) else "a number"


def parse_body(body: bytes) -> dict[str, Any]:
    """The request as JSON, or `BadBody` saying what is wrong with it."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadBody(f"the body is not UTF-8 (byte {exc.start})") from None
    if not text.strip():
        raise BadBody("empty body: send a JSON object with a `query`")
    if text_depth(text) > MAX_JSON_DEPTH:
        raise BadBody(f"JSON nested more than {MAX_JSON_DEPTH} levels deep")
    try:
        data = json.loads(
            text,
            parse_int=lambda s: _number(s, int),
            parse_float=lambda s: _number(s, float),
            parse_constant=_constant,
        )
    except json.JSONDecodeError as exc:
        raise BadBody(f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:  # unbalanced brackets the depth count did not see as deep
        raise BadBody(f"JSON nested more than {MAX_JSON_DEPTH} levels deep") from None
    if _SURROGATE_ESCAPE.search(text):
        try:
            json.dumps(data, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise BadBody("a `\\u` escape is half of a surrogate pair (not a character)") from None
    if not isinstance(data, dict):
        raise BadBody(f"the body is {_json_kind(data)}: send a JSON object with a `query`")
    return data


def request_problem(data: dict[str, Any]) -> str | None:
    """Why a parsed body is not a GraphQL request, or None."""
    if not isinstance(data.get("query"), str):
        return "no `query` string in the body"
    for key, kind in (("variables", dict), ("extensions", dict), ("operationName", str)):
        value = data.get(key)
        if value is not None and not isinstance(value, kind):
            return f"`{key}` must be {'an object' if kind is dict else 'a string'} or null"
    return None


def body_problem(content_type: str | None, body: bytes) -> str | None:
    """The one-line reason the POST body is refused, or None when it is a well-formed GraphQL request."""
    problem = content_type_problem(content_type)
    if problem is not None:
        return problem
    try:
        data = parse_body(body)
    except BadBody as exc:
        return str(exc)
    return request_problem(data)
