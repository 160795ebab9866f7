"""Reading a parsed JSON export with the JSON path in every error: the walker the GAAD and the Organizations
importers share, and the check that refuses a policy document AWS would refuse.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import unquote

from graphiam.arn import parse_iam_arn
from graphiam.errors import IngestError, PolicyParseError
from graphiam.model import InlinePolicy, Tag
from graphiam.policy import parse_policy, validate_policy

# (canonical json, where, kind: "identity" | "trust" | None for lenient) -> raises PolicyParseError
DocumentCheck = Callable[[str, str, "str | None"], None]


class ExportReader:
    """Walks one parsed export (a GAAD or an Organizations file), naming the JSON path in every error."""

    def __init__(self, source: str, check_document: DocumentCheck | None) -> None:
        self.source = source
        self.check_document = check_document
        self._seen: dict[str, str] = {}

    def unique(self, key: str, path: str) -> str:
        """`key` (an ARN, an inline policy's owner#name, a policy#version) once per export."""
        first = self._seen.setdefault(key, path)
        if first != path:
            raise self.fail(path, f"`{key}` is also at {first}")
        return key

    def fail(self, path: str, message: str) -> IngestError:
        return IngestError(message, source=self.source, path=path)

    def req(self, obj: Mapping[str, Any], key: str, path: str, kind: type = str) -> Any:
        if not isinstance(obj, Mapping):
            raise self.fail(path, f"expected an object, got {type(obj).__name__}")
        if key not in obj:
            raise self.fail(f"{path}.{key}", "missing required key")
        value = obj[key]
        if not isinstance(value, kind):
            raise self.fail(f"{path}.{key}", f"expected {kind.__name__}, got {type(value).__name__}")
        return value

    def opt(self, obj: Mapping[str, Any], key: str, path: str, kind: type = str, default: Any = None) -> Any:
        """An optional value (absent or null: `default`) that must be of type `kind` when present."""
        value = obj.get(key)
        if value is None:
            return default
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise self.fail(f"{path}.{key}", f"expected {kind.__name__}, got {type(value).__name__}")
        return value

    def opt_list(self, obj: Mapping[str, Any], key: str, path: str) -> list[Any]:
        value = obj.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.fail(f"{path}.{key}", f"expected a list, got {type(value).__name__}")
        return value

    def arn(self, obj: Mapping[str, Any], key: str, path: str, kind: str) -> str:
        value: str = self.req(obj, key, path)
        if parse_iam_arn(value, kinds=(kind,)) is None:  # any partition of IAM_PARTITIONS
            raise self.fail(f"{path}.{key}", f"`{value}` is not a valid IAM {kind} ARN")
        return value

    def document(self, raw: Any, path: str, kind: str | None = "identity") -> str:
        """Decode a policy document (object, JSON string or URL-encoded JSON string) to canonical JSON; `kind`
        (identity, trust) is the policy type whose presence rules the check applies (Resource, Principal)."""
        if isinstance(raw, str):
            text = raw.strip()
            if not text.startswith("{"):
                text = unquote(text)
            try:
                raw = json.loads(text)
            except json.JSONDecodeError as exc:
                raise self.fail(path, f"policy document is not JSON ({exc.msg} at char {exc.pos})") from None
        if not isinstance(raw, dict):
            raise self.fail(path, f"policy document must be a JSON object, got {type(raw).__name__}")
        canonical = json.dumps(raw, separators=(",", ":"), sort_keys=False)
        if self.check_document is not None:
            try:
                self.check_document(canonical, path, kind)
            except PolicyParseError as exc:
                first = exc.problems[0] if exc.problems else ("$", str(exc))
                raise self.fail(f"{path}{first[0].lstrip('$')}", first[1]) from None
        return canonical

    def tags(self, obj: Mapping[str, Any], path: str) -> tuple[Tag, ...]:
        out = []
        for i, t in enumerate(self.opt_list(obj, "Tags", path)):
            p = f"{path}.Tags[{i}]"
            out.append(Tag(key=self.req(t, "Key", p), value=str(t.get("Value", ""))))
        return tuple(out)

    def attached(self, obj: Mapping[str, Any], path: str) -> tuple[str, ...]:
        return tuple(
            self.arn(a, "PolicyArn", f"{path}.AttachedManagedPolicies[{i}]", "policy")
            for i, a in enumerate(self.opt_list(obj, "AttachedManagedPolicies", path))
        )

    def inline(self, obj: Mapping[str, Any], key: str, path: str, owner: str) -> tuple[InlinePolicy, ...]:
        out = []
        for i, p in enumerate(self.opt_list(obj, key, path)):
            pp = f"{path}.{key}[{i}]"
            name = self.req(p, "PolicyName", pp)
            self.unique(f"{owner} inline policy {name}", f"{pp}.PolicyName")
            if "PolicyDocument" not in p:
                raise self.fail(f"{pp}.PolicyDocument", "missing required key")
            out.append(
                InlinePolicy(
                    owner_arn=owner,
                    name=name,
                    document=self.document(p["PolicyDocument"], f"{pp}.PolicyDocument"),
                )
            )
        return tuple(out)

    def boundary(self, obj: Mapping[str, Any], path: str) -> str | None:
        b = obj.get("PermissionsBoundary")
        if not b:
            return None
        return self.arn(b, "PermissionsBoundaryArn", f"{path}.PermissionsBoundary", "policy")


def check_policy_document(text: str, where: str, kind: str | None = None) -> None:
    """A `DocumentCheck`: parse a document with the policy engine so a broken one is refused at load time;
    with `kind` (identity, trust) also what AWS rejects for that policy type: an identity statement without
    Resource/NotResource or with a Principal, a trust statement without a Principal (IAM answers
    MalformedPolicyDocument)."""
    parse_policy(text, where=where)
    if kind is not None:
        errors = [(p.path, p.message) for p in validate_policy(text, kind=kind) if p.severity == "error"]
        if errors:
            raise PolicyParseError(errors, where=where)
