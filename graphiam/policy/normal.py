"""Policy statements in one canonical form, so that two texts that mean the same compare equal.

What is not a change of meaning, and is normalised away: the order of keys; a single string against a list of
one (`"Action": "s3:GetObject"` and `"Action": ["s3:GetObject"]`); the order of the items of Action, Resource,
Principal and condition-value lists and of the statements themselves (IAM reads each as a set: "IAM JSON
policy elements reference" — a statement matches when any item matches, and every statement applies);
repeated items and statements; `"Principal": "*"` against `{"AWS": "*"}` (the reference says they are
equivalent); a condition value written as a JSON boolean or number against the same value as a string; the
case of action names and condition keys, which IAM compares without case.

`statement_digest` names a statement by its comparison form; `display_form` is what a person reads (the same
structure, original spelling).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from graphiam.errors import PolicyParseError
from graphiam.policy.raw import decode_document

_LISTS = ("Action", "NotAction", "Resource", "NotResource")
_CASELESS = ("Action", "NotAction")


def _strings(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    return sorted({_scalar(v) for v in items})


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _principal(value: Any) -> Any:
    if value == "*":
        return {"AWS": ["*"]}
    if isinstance(value, Mapping):
        return {str(k): _strings(v) for k, v in sorted(value.items())}
    return _strings(value)


def _condition(value: Any) -> Any:
    if not isinstance(value, Mapping):
        return value
    out: dict[str, Any] = {}
    for op, keys in sorted(value.items()):
        out[str(op)] = (
            {str(k): _strings(v) for k, v in sorted(keys.items())} if isinstance(keys, Mapping) else keys
        )
    return out


def display_form(statement: Mapping[str, Any]) -> dict[str, Any]:
    """The statement with lists sorted and single values as lists, spelling kept."""
    out: dict[str, Any] = {}
    for key, value in statement.items():
        if key in _LISTS:
            out[key] = _strings(value)
        elif key in ("Principal", "NotPrincipal"):
            out[key] = _principal(value)
        elif key == "Condition":
            out[key] = _condition(value)
        else:
            out[key] = value
    return dict(sorted(out.items()))


def comparison_form(statement: Mapping[str, Any]) -> dict[str, Any]:
    """`display_form` with action names and condition keys lower-cased (IAM compares them without case)."""
    out = display_form(statement)
    for key in _CASELESS:
        if key in out:
            out[key] = sorted({a.lower() for a in out[key]})
    cond = out.get("Condition")
    if isinstance(cond, dict):
        out["Condition"] = {
            op: {k.lower(): v for k, v in sorted(keys.items(), key=lambda kv: kv[0].lower())}
            if isinstance(keys, dict)
            else keys
            for op, keys in cond.items()
        }
    return out


def statement_digest(statement: Mapping[str, Any]) -> str:
    """A short name for what the statement means (equal for statements that differ only in form)."""
    text = json.dumps(comparison_form(statement), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def statements_of(document: Mapping[str, Any] | str | None) -> tuple[str | None, list[dict[str, Any]]]:
    """The document's `Version` and its statements as objects (a lone statement object becomes a list of one;
    anything that is not an object is left out). A text that is not a policy document has none."""
    if document is None:
        return None, []
    try:
        doc = decode_document(document)
    except PolicyParseError:
        return None, []
    raw = doc.get("Statement", [])
    items = raw if isinstance(raw, list) else [raw]
    version = doc.get("Version")
    return (version if isinstance(version, str) else None), [dict(s) for s in items if isinstance(s, Mapping)]


def normalised_statements(document: Mapping[str, Any] | str | None) -> dict[str, dict[str, Any]]:
    """digest -> display form, for every statement of the document (duplicates once), in digest order."""
    _, statements = statements_of(document)
    found = {statement_digest(s): display_form(s) for s in statements}
    return dict(sorted(found.items()))
