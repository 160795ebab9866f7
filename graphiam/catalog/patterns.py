"""Matching against the catalogue: IAM action wildcards and the ARN formats of resource types.

Action wildcards follow the IAM JSON policy reference, "IAM JSON policy elements: Action"
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html):
`*` matches any run of characters, `?` any single one, and action names are case-insensitive.

ARN formats are the ones the Service Authorization Reference gives per resource type
(https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html),
e.g. `arn:${Partition}:s3:::${BucketName}/${ObjectName}`.

Both compile to anchored regular expressions, built token by token: literal spans go through
`re.escape`, so no character of the input is ever read as regex syntax.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

_WILDCARD = re.compile(r"[*?]")
_ARN_TOKEN = re.compile(r"\$\{([^}]*)\}|\*")
# Placeholders whose value may hold `/` (IAM paths, S3 object keys, API Gateway resource paths).
# Every other placeholder stands for one segment, so that `arn:aws:s3:::bucket/key` is an object
# and not also a bucket.
_MULTI_SEGMENT = re.compile(r"(Path|ObjectName)$")


def has_wildcard(pattern: str) -> bool:
    """Whether an action pattern contains `*` or `?`."""
    return _WILDCARD.search(pattern) is not None


@lru_cache(maxsize=8192)
def wildcard_regex(pattern: str) -> re.Pattern[str]:
    """Compile an IAM `*`/`?` pattern to an anchored, case-insensitive regex.

    >>> bool(wildcard_regex("iam:*Policy*").fullmatch("iam:CreatePolicyVersion"))
    True
    """
    parts = []
    pos = 0
    for m in _WILDCARD.finditer(pattern):
        parts.append(re.escape(pattern[pos : m.start()]))
        parts.append(".*" if m.group() == "*" else ".")
        pos = m.end()
    parts.append(re.escape(pattern[pos:]))
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True, slots=True)
class ActionPattern:
    """An action pattern split for index lookups; all parts lowercase.

    `service` is the exact prefix when the service part has no wildcard, else None and
    `service_regex` filters prefixes. `name` is the exact action name when it has no wildcard;
    `name_prefix` is set for the common `Get*` shape; `name_regex` covers the rest.
    `whole_regex` is set only for a pattern without `:` (other than `*`), which IAM matches
    against the whole `service:action` string.
    """

    text: str
    service: str | None = None
    service_regex: re.Pattern[str] | None = None
    name: str | None = None
    name_prefix: str | None = None
    name_regex: re.Pattern[str] | None = None
    whole_regex: re.Pattern[str] | None = None
    matches_all: bool = False
    matches_nothing: bool = False


@lru_cache(maxsize=8192)
def compile_action_pattern(pattern: str) -> ActionPattern:
    """Split and compile an IAM action pattern once (cached)."""
    p = pattern.lower()
    if p == "*":
        return ActionPattern(pattern, matches_all=True)
    service, sep, name = p.partition(":")
    if not sep:
        if has_wildcard(p):
            return ActionPattern(pattern, whole_regex=wildcard_regex(p))
        return ActionPattern(pattern, matches_nothing=True)
    if ":" in name or not service or not name:
        # action names never contain `:`, and both halves must be present
        return ActionPattern(pattern, matches_nothing=True)
    svc_exact = None if has_wildcard(service) else service
    svc_regex = wildcard_regex(service) if svc_exact is None else None
    if not has_wildcard(name):
        return ActionPattern(pattern, service=svc_exact, service_regex=svc_regex, name=name)
    stem = name[:-1]
    if name.endswith("*") and not has_wildcard(stem):
        return ActionPattern(pattern, service=svc_exact, service_regex=svc_regex, name_prefix=stem)
    return ActionPattern(pattern, service=svc_exact, service_regex=svc_regex, name_regex=wildcard_regex(name))


@lru_cache(maxsize=4096)
def arn_format_regex(arn_format: str) -> re.Pattern[str]:
    """Compile a Service Authorization Reference ARN format to an anchored regex.

    In the partition/service/region/account fields a placeholder matches one non-empty field.
    In the resource part a placeholder matches a non-empty run without `/` or `:`, except
    placeholders named `…Path` or `ObjectName`, which may span `/`. A literal `*` in the format
    (Amazon Connect's `…/queue/*`) matches any run, empty included. Matching is case-sensitive,
    like ARNs.
    """
    fields = arn_format.split(":", 5)
    header = fields[:5] if len(fields) == 6 else []
    resource = fields[5] if len(fields) == 6 else arn_format
    out = [_compile_arn_part(f, in_resource=False) + ":" for f in header]
    out.append(_compile_arn_part(resource, in_resource=True))
    return re.compile("".join(out), re.DOTALL)


def _compile_arn_part(text: str, *, in_resource: bool) -> str:
    parts = []
    pos = 0
    for m in _ARN_TOKEN.finditer(text):
        parts.append(re.escape(text[pos : m.start()]))
        placeholder = m.group(1)
        if placeholder is None:  # a literal `*`
            parts.append(".*" if in_resource else "[^:]*")
        elif not in_resource:
            parts.append("[^:]+")
        elif _MULTI_SEGMENT.search(placeholder):
            parts.append(".+")
        else:
            parts.append("[^/:]+")
        pos = m.end()
    parts.append(re.escape(text[pos:]))
    return "".join(parts)


def arn_pattern_matches(arn_format: str, resource_arn: str) -> bool:
    """Whether a concrete resource ARN is of the resource type with this ARN format.

    `resource_arn` is taken literally: a `*` in it is a character, not a wildcard.

    >>> arn_pattern_matches("arn:${Partition}:s3:::${BucketName}", "arn:aws:s3:::my-bucket")
    True
    >>> arn_pattern_matches("arn:${Partition}:s3:::${BucketName}", "arn:aws:s3:::my-bucket/key")
    False
    """
    return arn_format_regex(arn_format).fullmatch(resource_arn) is not None
