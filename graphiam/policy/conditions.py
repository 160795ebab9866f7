"""Condition operators as a table of small functions, with set operators and IfExists as wrappers.

Implements IAM User Guide "IAM JSON policy elements: Condition operators" and "Multivalued
context keys":
- each base operator compares ONE request value with ONE policy value (`Operator.match`);
- several policy values for one key are OR-ed; for a negated operator (`StringNotEquals`, …) the
  result is the negation of that OR (a NOR): "not equal to any of the values";
- several keys in one operator block, and several operator blocks, are AND-ed (statement.py);
- a key absent from the request: positive operators are false, negated operators are true,
  `…IfExists` is true, `ForAllValues:` is true, `ForAnyValue:` is false;
- `ForAnyValue:` is true when at least one request value satisfies the operator,
  `ForAllValues:` when every request value does (an empty set satisfies it);
- a multivalued request value under an operator without a set prefix behaves like `ForAnyValue:`
  for positive operators and like its negation for negated ones (a documented misuse, kept total);
- `Null: true` matches an absent key (or an empty multivalued key, per "Multivalued context key
  examples": a key that "resolves to a null dataset"), `Null: false` a present one.
A policy value that cannot be read for its operator (bad number, date, CIDR) never matches.
A policy value holding a variable that cannot be resolved (absent or multivalued key, no
default) never matches; the other values still can. AWS only says an unresolvable variable
"might cause the entire statement to be invalid" ("Variables and tags"); the conformance data
(a role matching `StringLike s3:prefix ["home/", "home/${aws:username}/*"]` on `home/`) needs the
per-value reading, so a negated operator over such a value is true.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from graphiam.policy.wildcard import Context, Pattern

Compile = Callable[[str, bool], Any]  # (policy value, variables enabled) -> compiled value or None
Match = Callable[[Any, str, Context], bool]  # (compiled policy value, one request value, ctx)


@dataclass(frozen=True, kw_only=True)
class Operator:
    """One base operator: how to compile a policy value and compare one request value with it."""

    name: str
    compile: Compile
    match: Match
    negated: bool = False
    presence: bool = False  # Null: looks at whether the key is there, not at its value
    variables: bool = False  # policy variables allowed in the values (string and ARN families)


# -- value readers ---------------------------------------------------------------------------


def _number(text: str) -> float | None:
    try:
        n = float(text)
    except (TypeError, ValueError):
        return None
    return None if n != n or n in (float("inf"), float("-inf")) else n


def _epoch(text: str) -> float | None:
    """ISO 8601 date/time or epoch seconds, as AWS accepts for Date operators."""
    text = text.strip()
    if text.isdigit():
        return float(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


@lru_cache(maxsize=4096)
def _network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return None


def _in_network(net: Any, value: str, ctx: Context) -> bool:
    try:
        address = ipaddress.ip_address(value.split("/", 1)[0].strip())
    except ValueError:
        return False
    return address.version == net.version and address in net


class _ArnPattern:
    """ArnLike/ArnEquals: the six colon-separated fields are matched one by one (`*` stays in a field)."""

    __slots__ = ("fields",)

    def __init__(self, text: str, variables: bool) -> None:
        parts = text.split(":", 5)
        # a value with fewer than six fields (e.g. `*`) is matched as one field
        self.fields = tuple(Pattern.of(p, wildcards=True, variables=variables) for p in parts)

    def matches(self, value: str, ctx: Context) -> bool:
        fields = self.fields
        if len(fields) == 1:
            return fields[0].matches(value, ctx)
        parts = value.split(":", 5)
        if len(parts) != len(fields):
            return False
        return all(f.matches(p, ctx) for f, p in zip(fields, parts, strict=True))


# -- compilers and matchers --------------------------------------------------------------------


def _string(*, wildcards: bool, ignore_case: bool = False) -> Compile:
    return lambda text, variables: Pattern.of(
        text, wildcards=wildcards, variables=variables, ignore_case=ignore_case
    )


def _pattern_match(p: Any, value: str, ctx: Context) -> bool:
    return bool(p.matches(value, ctx))


def _numeric(test: Callable[[float, float], bool]) -> Match:
    def match(p: Any, value: str, ctx: Context) -> bool:
        n = _number(value)
        return n is not None and test(n, p)

    return match


def _date(test: Callable[[float, float], bool]) -> Match:
    def match(p: Any, value: str, ctx: Context) -> bool:
        n = _epoch(value)
        return n is not None and test(n, p)

    return match


def _lower(text: str, variables: bool) -> str:
    return text.lower()


def _same(text: str, variables: bool) -> str:
    return text


def _bool_value(text: str, variables: bool) -> str | None:
    text = text.lower()
    return text if text in ("true", "false") else None


_TESTS: Mapping[str, Callable[[float, float], bool]] = {
    "Equals": lambda a, b: a == b,
    "NotEquals": lambda a, b: a == b,  # negated below: NOT(any equal)
    "LessThan": lambda a, b: a < b,
    "LessThanEquals": lambda a, b: a <= b,
    "GreaterThan": lambda a, b: a > b,
    "GreaterThanEquals": lambda a, b: a >= b,
}


def _family(prefix: str, reader: Callable[[str], float | None], wrap: Callable[..., Match]) -> list[Operator]:
    return [
        Operator(
            name=prefix + suffix,
            compile=lambda text, variables: reader(text),
            match=wrap(test),
            negated=suffix == "NotEquals",
        )
        for suffix, test in _TESTS.items()
    ]


_STRING_OPS = [
    Operator(name="StringEquals", compile=_string(wildcards=False), match=_pattern_match, variables=True),
    Operator(
        name="StringNotEquals",
        compile=_string(wildcards=False),
        match=_pattern_match,
        negated=True,
        variables=True,
    ),
    Operator(
        name="StringEqualsIgnoreCase",
        compile=_string(wildcards=False, ignore_case=True),
        match=_pattern_match,
        variables=True,
    ),
    Operator(
        name="StringNotEqualsIgnoreCase",
        compile=_string(wildcards=False, ignore_case=True),
        match=_pattern_match,
        negated=True,
        variables=True,
    ),
    Operator(name="StringLike", compile=_string(wildcards=True), match=_pattern_match, variables=True),
    Operator(
        name="StringNotLike",
        compile=_string(wildcards=True),
        match=_pattern_match,
        negated=True,
        variables=True,
    ),
]

_ARN_OPS = [
    Operator(name=name, compile=_ArnPattern, match=_pattern_match, negated="Not" in name, variables=True)
    for name in ("ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike")
]

_OTHER_OPS = [
    Operator(name="Bool", compile=_bool_value, match=lambda p, v, ctx: v.lower() == p),
    Operator(name="BinaryEquals", compile=_same, match=lambda p, v, ctx: v == p),
    Operator(name="IpAddress", compile=lambda t, variables: _network(t), match=_in_network),
    Operator(name="NotIpAddress", compile=lambda t, variables: _network(t), match=_in_network, negated=True),
    Operator(name="Null", compile=_bool_value, match=lambda p, v, ctx: False, presence=True),
]

OPERATORS: Mapping[str, Operator] = {
    op.name.lower(): op
    for op in (
        *_STRING_OPS,
        *_family("Numeric", _number, _numeric),
        *_family("Date", _epoch, _date),
        *_ARN_OPS,
        *_OTHER_OPS,
    )
}
SET_OPERATORS: Mapping[str, str] = {"foranyvalue": "ForAnyValue", "forallvalues": "ForAllValues"}


@dataclass(frozen=True, kw_only=True)
class OperatorSpec:
    """A full operator name split into its parts: `ForAnyValue:StringLikeIfExists`."""

    base: Operator
    set_op: str | None  # "ForAnyValue" | "ForAllValues" | None
    if_exists: bool


def parse_operator(name: str) -> OperatorSpec | None:
    """Split an operator name into set prefix, base operator and `IfExists`; None if unknown."""
    set_op = None
    head, sep, rest = name.partition(":")
    if sep:
        set_op = SET_OPERATORS.get(head.lower())
        if set_op is None:
            return None
        name = rest
    lowered = name.lower()
    if_exists = lowered.endswith("ifexists")
    base = OPERATORS.get(lowered[: -len("ifexists")] if if_exists else lowered)
    if base is None or (if_exists and base.presence):
        return None  # `NullIfExists` is not an operator
    return OperatorSpec(base=base, set_op=set_op, if_exists=if_exists)


_MISSING = object()


class Condition:
    """One (operator, key, values) triple of a Condition block, compiled once."""

    __slots__ = ("operator", "key", "values", "spec", "key_lower", "_compiled")

    def __init__(self, operator: str, key: str, values: tuple[str, ...], *, variables: bool) -> None:
        spec = parse_operator(operator)
        if spec is None:
            raise ValueError(f"unknown condition operator `{operator}`")
        self.operator = operator
        self.key = key
        self.values = values
        self.spec = spec
        self.key_lower = key.lower()
        allow_vars = variables and spec.base.variables
        compiled = (spec.base.compile(v, allow_vars) for v in values)
        self._compiled = tuple(c for c in compiled if c is not None)

    def __repr__(self) -> str:
        return f"Condition({self.operator!r}, {self.key!r}, {self.values!r})"

    def _any_value(self, value: str, ctx: Context) -> bool:
        match = self.spec.base.match
        return any(match(p, value, ctx) for p in self._compiled)

    def test(self, ctx: Context) -> bool:
        """True when the request context satisfies this condition."""
        spec = self.spec
        base = spec.base
        value = ctx.get(self.key_lower, _MISSING)
        if base.presence:
            absent = value is _MISSING or value == ()
            return any((p == "true") == absent for p in self._compiled)
        if value is _MISSING:
            if spec.if_exists or spec.set_op == "ForAllValues":
                return True
            if spec.set_op == "ForAnyValue":
                return False
            return base.negated
        values: tuple[str, ...] = value if isinstance(value, tuple) else (value,)
        negated = base.negated
        if spec.set_op == "ForAllValues":
            return all(self._any_value(v, ctx) != negated for v in values)
        if spec.set_op == "ForAnyValue":
            return any(self._any_value(v, ctx) != negated for v in values)
        hit = any(self._any_value(v, ctx) for v in values)
        return not hit if negated else hit
