"""IAM wildcard patterns with policy variables, tokenised once and matched many times.

Implements two pages of the IAM User Guide:
- "IAM JSON policy elements: Resource" / "Action": `*` matches any run of characters (it spans `/`
  and `:`), `?` matches exactly one character; Action names compare case-insensitively.
- "IAM policy elements: Variables and tags": `${key}` is replaced by the request's value for `key`
  (condition keys are case-insensitive), `${key, 'default'}` falls back to `default`, and `${*}`,
  `${?}`, `${$}` stand for the literal characters. A variable whose key is absent (and has no
  default) or is multivalued cannot be resolved, and the pattern then matches nothing.

CAUTION: a resolved value is always a literal. It is never re-scanned for `*`/`?`: a `*` inside
`aws:username` matches only a `*`. Literal spans are `re.escape`d; the regex is built from tokens,
never by `str.replace` on the pattern text.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import NamedTuple

Context = Mapping[str, object]  # lower-cased condition key -> str | tuple[str, ...]
Matcher = Callable[[str], object]  # truthy when the value matches


class Lit(NamedTuple):
    text: str


class Var(NamedTuple):
    key: str  # lower-cased: condition keys are case-insensitive
    default: str | None
    raw: str  # as written, for messages


class Wild(enum.Enum):
    """The two wildcard tokens (an enum: distinct, hashable, and never equal to a literal)."""

    STAR = "*"
    QUESTION = "?"


STAR = Wild.STAR
QUESTION = Wild.QUESTION
Token = Lit | Var | Wild

_ESCAPES = {"*": "*", "?": "?", "$": "$"}
_VAR_BODY = re.compile(r"\s*([^\s,'{}]+)\s*(?:,\s*'([^']*)'\s*)?")


def _parse_variable(body: str) -> Var | None:
    m = _VAR_BODY.fullmatch(body)
    if m is None:
        return None
    return Var(key=m.group(1).lower(), default=m.group(2), raw="${" + body + "}")


_WILDCARDS = re.compile(r"([*?])")


def tokenize(text: str, *, wildcards: bool, variables: bool) -> tuple[Token, ...]:
    """Split a policy string into literal, `*`, `?` and `${…}` tokens (adjacent literals merged)."""
    if not variables or "${" not in text:  # no variable: split on the wildcards without a loop per character
        if not wildcards or ("*" not in text and "?" not in text):
            return (Lit(text),) if text else ()
        return tuple(
            STAR if part == "*" else QUESTION if part == "?" else Lit(part)
            for part in _WILDCARDS.split(text)
            if part
        )
    tokens: list[Token] = []
    buf: list[str] = []

    def flush() -> None:
        if buf:
            tokens.append(Lit("".join(buf)))
            buf.clear()

    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if variables and c == "$" and text.startswith("${", i):
            end = text.find("}", i + 2)
            if end != -1:
                body = text[i + 2 : end]
                if body in _ESCAPES:
                    buf.append(_ESCAPES[body])
                    i = end + 1
                    continue
                var = _parse_variable(body)
                if var is not None:
                    flush()
                    tokens.append(var)
                    i = end + 1
                    continue
        if wildcards and c == "*":
            flush()
            tokens.append(STAR)
        elif wildcards and c == "?":
            flush()
            tokens.append(QUESTION)
        else:
            buf.append(c)
        i += 1
    flush()
    return tuple(tokens)


def _true(_: str) -> bool:
    return True


@lru_cache(maxsize=8192)
def _compile(tokens: tuple[Token, ...], ignore_case: bool) -> Matcher:
    """A matcher for variable-free tokens; fast paths for `*`, exact and `prefix*` patterns."""
    if ignore_case:
        tokens = tuple(Lit(t.text.lower()) if isinstance(t, Lit) else t for t in tokens)
    if tokens and all(t is STAR for t in tokens):
        return _true
    if not tokens:
        return "".__eq__
    if len(tokens) == 1 and isinstance(tokens[0], Lit):
        return tokens[0].text.__eq__
    if len(tokens) == 2 and isinstance(tokens[0], Lit) and tokens[1] is STAR:
        prefix = tokens[0].text
        return lambda value: value.startswith(prefix)
    parts = []
    for t in tokens:
        if isinstance(t, Lit):
            parts.append(re.escape(t.text))
        elif t is STAR:
            parts.append(".*")
        else:
            parts.append(".")
    return re.compile("".join(parts), re.DOTALL).fullmatch


class Pattern:
    """One compiled policy string: Action/Resource entry or a condition value.

    >>> Pattern("arn:aws:s3:::home/${aws:username}/*", wildcards=True, variables=True).matches(
    ...     "arn:aws:s3:::home/alice/x", {"aws:username": "alice"})
    True
    """

    __slots__ = ("source", "tokens", "ignore_case", "variable_keys", "variables", "_matcher")

    def __init__(self, source: str, *, wildcards: bool, variables: bool, ignore_case: bool = False) -> None:
        self.source = source
        self.tokens = tokenize(source, wildcards=wildcards, variables=variables)
        self.ignore_case = ignore_case
        self.variables = tuple(t for t in self.tokens if isinstance(t, Var))
        self.variable_keys = tuple(t.key for t in self.variables)
        self._matcher = None if self.variable_keys else _compile(self.tokens, ignore_case)

    def __repr__(self) -> str:
        return f"Pattern({self.source!r})"

    @staticmethod
    @lru_cache(maxsize=1 << 16)
    def of(source: str, *, wildcards: bool, variables: bool, ignore_case: bool = False) -> Pattern:
        """`Pattern(...)`, one object per distinct string and options (a pattern never changes once made,
        and organisations repeat the same actions and resources across thousands of documents)."""
        return Pattern(source, wildcards=wildcards, variables=variables, ignore_case=ignore_case)

    @property
    def is_static(self) -> bool:
        """True when the pattern holds no policy variable (its matcher is precompiled)."""
        return self._matcher is not None

    def matches(self, value: str, ctx: Context) -> bool:
        """Match `value`; variables are resolved from `ctx` (keys lower-cased)."""
        if self.ignore_case:
            value = value.lower()
        matcher = self._matcher
        if matcher is None:
            resolved = self.resolve(ctx)
            if resolved is None:
                return False  # an unresolvable variable never matches
            matcher = _compile(resolved, self.ignore_case)
        return bool(matcher(value))

    def bound(self, ctx: Context) -> Callable[[str], bool] | None:
        """`matches` with the variables resolved once from `ctx`, for matching many values; None when one
        cannot be resolved (the pattern then matches nothing)."""
        matcher = self._matcher
        if matcher is None:
            resolved = self.resolve(ctx)
            if resolved is None:
                return None
            matcher = _compile(resolved, self.ignore_case)
        m = matcher
        if self.ignore_case:
            return lambda value: bool(m(value.lower()))
        return lambda value: bool(m(value))

    def resolve(self, ctx: Context) -> tuple[Token, ...] | None:
        """Replace each variable by a literal token; None when one cannot be resolved."""
        out: list[Token] = []
        for t in self.tokens:
            if isinstance(t, Var):
                value = ctx.get(t.key)
                if not isinstance(value, str):  # absent, or multivalued: not usable as a variable
                    if t.default is None:
                        return None
                    value = t.default
                t = Lit(value)
            if isinstance(t, Lit) and out and isinstance(out[-1], Lit):
                out[-1] = Lit(out[-1].text + t.text)  # keep the exact / prefix fast paths
            else:
                out.append(t)
        return tuple(out)
