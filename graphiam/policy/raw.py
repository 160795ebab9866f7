"""Policy JSON as it arrives: a dict, a JSON string, or a URL-encoded JSON string (GAAD exports).

`get-account-authorization-details` returns policy documents URL-encoded (RFC 3986), as the IAM API
does ("GetAccountAuthorizationDetails", Response Elements: "The policy document returned in this
structure is URL-encoded compliant with RFC 3986"); the AWS CLI usually decodes them, raw API
dumps do not. Both forms are accepted here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from itertools import accumulate
from typing import Any
from urllib.parse import unquote

from graphiam.errors import PolicyParseError

MAX_DEPTH = 64
"""How deep a policy document (or a request body) may nest arrays and objects: real ones nest 5 or so, and
Python's JSON parser and every recursive walk fail far deeper (about 1,000), as a server error."""
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_BRACKET_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def text_depth(text: str) -> int:
    """How deep JSON `text` nests arrays and objects (0: a scalar), read without parsing and without
    recursion: strings dropped, then the running count of brackets. Unbalanced text gets a number too (the
    parser reports the text itself)."""
    brackets = _NOT_BRACKET.sub("", _JSON_STRING.sub("", text))
    return max(accumulate(map(_BRACKET_STEP.__getitem__, brackets)), default=0)


def too_deep(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether a decoded JSON value nests arrays and objects more than `limit` deep (an explicit stack: no
    recursion, and it stops at the first level too deep)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return False


def _too_deep_error(where: str | None) -> PolicyParseError:
    return PolicyParseError([("$", f"nested more than {MAX_DEPTH} levels deep")], where=where)


def decode_document(doc: Mapping[str, Any] | str, *, where: str | None = None) -> dict[str, Any]:
    """The policy as a JSON object; raise `PolicyParseError` at `$` when it is not one."""
    if isinstance(doc, Mapping):
        if too_deep(doc):
            raise _too_deep_error(where)
        return dict(doc)
    if not isinstance(doc, str):
        raise PolicyParseError(
            [("$", f"expected a JSON object or string, got {type(doc).__name__}")], where=where
        )
    text = doc.strip()
    if text.startswith("%7B") or text.startswith("%7b"):
        text = unquote(text)
    # no deeper than its opening brackets (in strings too) are many: most documents need no count
    if text.count("[") + text.count("{") > MAX_DEPTH and text_depth(text) > MAX_DEPTH:
        raise _too_deep_error(where)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PolicyParseError(
            [("$", f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}")], where=where
        ) from None
    if not isinstance(value, dict):
        raise PolicyParseError([("$", f"expected a JSON object, got {type(value).__name__}")], where=where)
    return value


def as_list(value: Any) -> list[Any]:
    """IAM's "single value or list" convention, always as a list."""
    return list(value) if isinstance(value, list) else [value]


def scalar_text(value: Any) -> str:
    """A condition value as the string IAM compares (`true`/`false` for JSON booleans)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else json.dumps(value)
