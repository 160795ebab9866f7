"""IAM's own limits on what an account holds, from the IAM User Guide's "IAM and AWS STS quotas": policy
sizes, counts per entity, and the characters a policy document may contain. The write operations
(`graphiam.changes.ops`) refuse what exceeds them with the limit named (`LIMIT_EXCEEDED`); an export that
exceeds one still loads, with a warning per entity (`export_warnings`): AWS itself would not have let it be
made, so the file was edited or is not what it claims.

A policy's size is its characters without white space ("IAM does not count white space when calculating
the size of a policy"), counted on the document as JSON with no escapes (`é` is one character). The inline
limits are per principal: all of a user's (group's, role's) inline policies together. Where AWS raises a quota
on request (the trust policy length, managed policies attached to a user or a role) the limit here is the
default quota, and the message says so.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence

from graphiam.model import CUSTOMER_MANAGED, AccountExport, InlinePolicy

INLINE_CHARS = {"user": 2048, "group": 5120, "role": 10240}  # all inline policies of one principal together
MANAGED_CHARS = 6144  # the document of one version of a managed policy
TRUST_CHARS = 2048  # a role's trust policy: the default quota (AWS raises it to 4,096 on request)
ATTACHED_MANAGED = 10  # managed policies attached to one user or role (default quota, up to 20) or group
GROUPS_PER_USER = 10
VERSIONS = 5  # versions of one managed policy
TAGS = 50  # tags on one user or role
TAG_KEY_CHARS = 128
TAG_VALUE_CHARS = 256
PATH_CHARS = 512
DESCRIPTION_CHARS = 1000  # a role's or a managed policy's description
MAX_WARNINGS = 20  # limit warnings listed per export; the rest are counted in one line

_WHITE = re.compile(r"[ \t\n\r\f\v]")
_NOT_ALLOWED = re.compile(r"[^\t\n\r\x20-\xff]")  # a policy document: tab, LF, CR and U+0020-U+00FF only


def _plain(document: str) -> str:
    """The JSON text of a document without escapes (`\\u00e9` as `é`)."""
    return json.dumps(json.loads(document), ensure_ascii=False, separators=(",", ":"))


def policy_size(document: str) -> int:
    """The size AWS counts for a policy document (JSON text): its characters but white space."""
    return len(_WHITE.sub("", _plain(document)))


def oversize(documents: Iterable[str], limit: int) -> int | None:
    """The size AWS counts for `documents` together when it is more than `limit`, else None. (A JSON text is
    never shorter than its size, so most documents are settled by their length alone.)"""
    texts = list(documents)
    if sum(len(t) for t in texts) <= limit:
        return None
    size = sum(policy_size(t) for t in texts)
    return size if size > limit else None


def bad_character(document: str) -> str | None:
    """The first character a policy document may not contain, as `U+XXXX`; None when all are allowed."""
    if document.isascii() and "\\u" not in document:  # escapes aside, printable ASCII: all allowed
        return None
    m = _NOT_ALLOWED.search(_plain(document))
    return None if m is None else f"U+{ord(m.group()):04X}"


def size_message(what: str, size: int, limit: int, whose: str) -> str:
    """`what: N characters without white space, more than the LIMIT AWS allows whose`."""
    return f"{what}: {size:,} characters without white space, more than the {limit:,} AWS allows {whose}"


def export_warnings(export: AccountExport) -> list[str]:
    """A warning per entity of `export` beyond one of IAM's limits (at most `MAX_WARNINGS`, then a count)."""
    found: list[str] = []
    principals: Sequence[tuple[str, Sequence[object]]] = (
        ("user", export.users),
        ("group", export.groups),
        ("role", export.roles),
    )
    for kind, entities in principals:
        for e in entities:
            arn = getattr(e, "arn", "")
            inline: tuple[InlinePolicy, ...] = getattr(e, "inline_policies", ())
            size = oversize((p.document for p in inline), INLINE_CHARS[kind])
            if size is not None:
                found.append(
                    size_message(
                        f"{kind} `{arn}`'s inline policies",
                        size,
                        INLINE_CHARS[kind],
                        f"a {kind}'s inline policies together",
                    )
                )
            attached = len(getattr(e, "attached_policy_arns", ()))
            if attached > ATTACHED_MANAGED:
                found.append(
                    f"{kind} `{arn}` has {attached} managed policies attached; AWS allows {ATTACHED_MANAGED} "
                    "(the default quota)"
                )
            groups = len(getattr(e, "group_names", ()))
            if groups > GROUPS_PER_USER:
                found.append(f"user `{arn}` is in {groups} groups; AWS allows {GROUPS_PER_USER}")
            tags = len(getattr(e, "tags", ()))
            if tags > TAGS:
                found.append(f"{kind} `{arn}` has {tags} tags; AWS allows {TAGS}")
            trust = getattr(e, "trust_policy", None)
            size = oversize([trust], TRUST_CHARS) if trust else None
            if size is not None:
                found.append(
                    size_message(
                        f"role `{arn}`'s trust policy",
                        size,
                        TRUST_CHARS,
                        "a trust policy (the default quota)",
                    )
                )
            for p in inline:
                bad = bad_character(p.document)
                if bad:
                    found.append(
                        f"{kind} `{arn}`: inline policy `{p.name}` contains {bad}, not allowed in a policy"
                    )
    for policy in export.policies:
        if policy.kind != CUSTOMER_MANAGED or policy.missing:
            continue  # AWS writes its own managed policies, some larger than its customers may
        if len(policy.versions) > VERSIONS:
            found.append(
                f"policy `{policy.arn}` has {len(policy.versions)} versions; AWS keeps at most {VERSIONS}"
            )
        for v in policy.versions:
            if not v.document:
                continue
            size = oversize([v.document], MANAGED_CHARS)
            if size is not None:
                found.append(
                    size_message(
                        f"policy `{policy.arn}` version {v.version_id}",
                        size,
                        MANAGED_CHARS,
                        "a managed policy",
                    )
                )
            bad = bad_character(v.document)
            if bad:
                found.append(
                    f"policy `{policy.arn}` version {v.version_id} contains {bad}, not allowed in a policy"
                )
    if len(found) > MAX_WARNINGS:
        found = [*found[:MAX_WARNINGS], f"and {len(found) - MAX_WARNINGS} more entities beyond IAM's limits"]
    return [f"{export.source}: {w} (loaded anyway)" for w in found]
