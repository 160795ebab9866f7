"""Policy JSON as it arrives: a dict, a JSON string, or a URL-encoded JSON string (GAAD exports).

`get-account-authorization-details` returns policy documents URL-encoded (RFC 3986), as the IAM API
does ("GetAccountAuthorizationDetails", Response Elements: "The policy document returned in this
structure is URL-encoded compliant with RFC 3986"); the AWS CLI usually decodes them, raw API
dumps do not. Both forms are accepted here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from graphiam.errors import PolicyParseError


def decode_document(doc: Mapping[str, Any] | str, *, where: str | None = None) -> dict[str, Any]:
    """The policy as a JSON object; raise `PolicyParseError` at `$` when it is not one."""
    if isinstance(doc, Mapping):
        return dict(doc)
    if not isinstance(doc, str):
        raise PolicyParseError(
            [("$", f"expected a JSON object or string, got {type(doc).__name__}")], where=where
        )
    text = doc.strip()
    if text.startswith("%7B") or text.startswith("%7b"):
        text = unquote(text)
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
