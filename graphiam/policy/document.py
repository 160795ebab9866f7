"""Policy JSON → typed, frozen PolicyDocument/Statement, with every pattern compiled once.

Implements IAM User Guide "IAM JSON policy element reference" (each element may be one value or a
list; `"Principal": "*"`; Condition blocks) and "IAM JSON policy elements: Version": policy
variables are substituted only under `"Version": "2012-10-17"`; under 2008-10-17 or with no Version
`${…}` is literal text. Evaluation (statement.py, evaluate.py) only reads these objects.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

from graphiam.errors import PolicyParseError
from graphiam.policy.conditions import Condition
from graphiam.policy.principals import normalise_principal
from graphiam.policy.raw import as_list, decode_document, scalar_text
from graphiam.policy.validate import check_document
from graphiam.policy.wildcard import Pattern

_ACTION_CACHE_LIMIT = 4096


@dataclass(frozen=True, kw_only=True, eq=False)
class Statement:
    """One statement, normalised: every list a tuple, `"*"` principals as `{"AWS": ("*",)}`."""

    index: int
    sid: str | None
    effect: Literal["Allow", "Deny"]
    actions: tuple[str, ...] | None = None
    not_actions: tuple[str, ...] | None = None
    resources: tuple[str, ...] | None = None
    not_resources: tuple[str, ...] | None = None
    principals: dict[str, tuple[str, ...]] | None = None
    not_principals: dict[str, tuple[str, ...]] | None = None
    conditions: dict[str, dict[str, tuple[str, ...]]] | None = None
    # compiled forms, built by parse_policy; evaluation reads only these
    action_patterns: tuple[Pattern, ...] = field(default=(), repr=False)
    resource_patterns: tuple[Pattern, ...] | None = field(default=None, repr=False)  # None: any resource
    compiled_conditions: tuple[Condition, ...] = field(default=(), repr=False)

    def condition_keys(self) -> set[str]:
        """The condition keys this statement tests, as written."""
        return {c.key for c in self.compiled_conditions}

    def may_match_action(self, action: str) -> bool:
        """True when the Action/NotAction part admits `action` (case-insensitive)."""
        action = action.lower()
        hit = any(p.matches(action, {}) for p in self.action_patterns)
        return hit if self.actions is not None else not hit

    def matches_resource(self, resource: str, ctx: Mapping[str, object]) -> bool:
        """True when the Resource/NotResource part admits `resource` (case-sensitive)."""
        patterns = self.resource_patterns
        if patterns is None:
            return True
        hit = any(p.matches(resource, ctx) for p in patterns)  # unresolvable entries match nothing
        return hit if self.not_resources is None else not hit


@dataclass(frozen=True, kw_only=True, eq=False)
class PolicyDocument:
    """A parsed policy: its statements plus the decoded JSON it came from."""

    version: str | None
    statements: tuple[Statement, ...]
    raw: dict[str, Any] = field(repr=False)
    id: str | None = None
    _by_action: dict[str, tuple[Statement, ...]] = field(default_factory=dict, repr=False)

    @property
    def variables_enabled(self) -> bool:
        """Policy variables are substituted only in 2012-10-17 documents."""
        return self.version == "2012-10-17"

    def statements_for(self, action: str) -> tuple[Statement, ...]:
        """Statements whose Action/NotAction admits `action` (lower-case), memoised per action."""
        hit = self._by_action.get(action)
        if hit is None:
            if len(self._by_action) >= _ACTION_CACHE_LIMIT:
                self._by_action.clear()
            hit = tuple(s for s in self.statements if s.may_match_action(action))
            self._by_action[action] = hit
        return hit


def parse_policy(doc: Mapping[str, Any] | str, *, where: str | None = None) -> PolicyDocument:
    """Parse a policy (object, JSON text or URL-encoded JSON); raise `PolicyParseError` listing
    every error found.

    >>> parse_policy('{"Version": "2012-10-17", "Statement": {"Effect": "Allow", '
    ...              '"Action": "s3:*", "Resource": "*"}}').statements[0].actions
    ('s3:*',)
    """
    raw = decode_document(doc, where=where)
    errors = [(p.path, p.message) for p in check_document(raw) if p.severity == "error"]
    if errors:
        raise PolicyParseError(errors, where=where)
    version = raw.get("Version")
    variables = version == "2012-10-17"
    statements = tuple(_statement(i, st, variables) for i, st in enumerate(as_list(raw["Statement"])))
    return PolicyDocument(version=version, statements=statements, raw=raw, id=raw.get("Id"))


@lru_cache(maxsize=1 << 16)  # above an organisation's distinct documents: a snapshot reads each in turn
def _parse_text(text: str) -> PolicyDocument:
    return parse_policy(text)


def parse_stored(text: str, *, where: str | None = None) -> PolicyDocument:
    """`parse_policy` for a document as the store keeps it (JSON text), parsed once per process: each new
    snapshot (one per write) and each derivation reuse the same `PolicyDocument`, with the statements it has
    already matched per action (`statements_for`), instead of parsing every document again. Documents are
    immutable once parsed, so sharing them across snapshots and threads is safe. A document that does not
    parse is not remembered; the error names `where`."""
    try:
        return _parse_text(text)
    except PolicyParseError:
        return parse_policy(text, where=where)


def _strings(st: Mapping[str, Any], name: str) -> tuple[str, ...] | None:
    return tuple(as_list(st[name])) if name in st else None


def _statement(index: int, st: Mapping[str, Any], variables: bool) -> Statement:
    actions, not_actions = _strings(st, "Action"), _strings(st, "NotAction")
    resources, not_resources = _strings(st, "Resource"), _strings(st, "NotResource")
    action_list = actions if actions is not None else not_actions or ()
    resource_list = resources if resources is not None else not_resources
    conditions = None
    compiled: list[Condition] = []
    if "Condition" in st:
        conditions = {}
        for operator, block in st["Condition"].items():
            conditions[operator] = {k: tuple(scalar_text(v) for v in as_list(vs)) for k, vs in block.items()}
            compiled.extend(
                Condition(operator, k, vs, variables=variables) for k, vs in conditions[operator].items()
            )
    return Statement(
        index=index,
        sid=st.get("Sid"),
        effect=st["Effect"],
        actions=actions,
        not_actions=not_actions,
        resources=resources,
        not_resources=not_resources,
        principals=normalise_principal(st["Principal"]) if "Principal" in st else None,
        not_principals=normalise_principal(st["NotPrincipal"]) if "NotPrincipal" in st else None,
        conditions=conditions,
        action_patterns=tuple(Pattern.of(a.lower(), wildcards=True, variables=False) for a in action_list),
        resource_patterns=None
        if resource_list is None
        else tuple(Pattern.of(r, wildcards=True, variables=variables) for r in resource_list),
        compiled_conditions=tuple(compiled),
    )
