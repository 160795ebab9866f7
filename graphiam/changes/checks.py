"""The checks the write operations (`graphiam.changes.ops`) and the loader (`graphiam.changes.load`) share.

Input checks are pure: an ARN, a name, a path, an account id, a policy document, tags, a description, and
IAM's limits on them (`graphiam.ingest.limits`: document sizes, the characters a document may hold, tag and
description lengths). Existence checks read the graph inside the open transaction (`Tx`). A refusal is a
`ChangeError` carrying `Problem`s (code, message, input path, JSON path inside a policy document);
`graphiam.changes.apply` returns them as values.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from graphiam.arn import parse_iam_arn
from graphiam.errors import ChangeError, Problem
from graphiam.ingest import limits
from graphiam.model import CUSTOMER_MANAGED, INLINE, Tag
from graphiam.policy import validate_policy
from graphiam.policy.raw import decode_document
from graphiam.store import Database
from graphiam.store import mutations as M

# the IAM ARNs a mutation accepts (parse_iam_arn): three partitions, and no instance profiles
PARTITIONS = ("aws", "aws-cn", "aws-us-gov")
KINDS = ("user", "group", "role", "policy")
_NAME = re.compile(r"[\w+=,.@-]+")
_PATH = re.compile(r"/|/[\x21-\x7e]*/")
_DESCRIPTION = re.compile(rf"[\t\n\r\x20-\x7e\xa1-\xff]{{0,{limits.DESCRIPTION_CHARS}}}")
_NAME_MAX = {"user": 64, "role": 64, "group": 128, "policy": 128}
TABLE = {"user": "User", "group": "IAMGroup", "role": "Role", "policy": "Policy"}  # kind -> node table


def fail(code: str, message: str, *path: str, json_path: str | None = None) -> ChangeError:
    """A `ChangeError` with one `Problem` (to raise)."""
    return ChangeError([Problem(code=code, message=message, path=tuple(path), json_path=json_path)])


class Tx:
    """The operations' view of the open transaction."""

    def __init__(self, db: Database, now: str) -> None:
        self.db = db
        self.now = now


# ---- input checks (pure) ----


def check_arn(value: Any, kind: str, *path: str) -> tuple[str, str]:
    """(arn, account) of an IAM ARN of `kind` (user, group, role, policy); INVALID_ARN otherwise."""
    a = parse_iam_arn(value, partitions=PARTITIONS, kinds=KINDS) if isinstance(value, str) else None
    if a is None or a.kind != kind or (kind != "policy" and a.account == "aws"):
        raise fail(
            "INVALID_ARN",
            f"`{value}` is not an IAM {kind} ARN (arn:aws:iam::<account>:{kind}/<path/><name>)",
            *path,
        )
    return value, a.account


def kind_of(value: Any, kinds: Sequence[str], *path: str) -> tuple[str, str, str]:
    """(kind, arn, account) of an ARN that must be one of `kinds`."""
    a = parse_iam_arn(value, partitions=PARTITIONS, kinds=KINDS) if isinstance(value, str) else None
    if a is None or a.kind not in kinds:
        raise fail("INVALID_ARN", f"`{value}` is not an IAM {' or '.join(kinds)} ARN", *path)
    return (a.kind, *check_arn(value, a.kind, *path))


def check_name(value: Any, kind: str, *path: str) -> str:
    """A valid IAM name for `kind` (its characters and length limit); INVALID_INPUT otherwise."""
    limit = _NAME_MAX[kind]
    if not isinstance(value, str) or not _NAME.fullmatch(value) or len(value) > limit:
        raise fail(
            "INVALID_INPUT",
            f"`{value}` is not a valid {kind} name: 1-{limit} of letters, digits and +=,.@_-",
            *path,
        )
    return value


def check_path(value: Any, *path: str) -> str:
    """A valid IAM path (`/` when none is given); INVALID_INPUT otherwise (an empty one included)."""
    if value is None:
        return "/"
    if not isinstance(value, str) or not _PATH.fullmatch(value) or len(value) > limits.PATH_CHARS:
        raise fail(
            "INVALID_INPUT",
            f"`{value}` is not a valid IAM path: it starts and ends with `/` and holds 1-{limits.PATH_CHARS} "
            "printable ASCII characters",
            *path,
        )
    return value


def check_description(value: Any, *path: str) -> str | None:
    """A role's or a managed policy's description (None when none is given): at most 1,000 characters of
    tab, line breaks and printable Latin-1 (IAM's pattern); INVALID_INPUT otherwise."""
    if value is None:
        return None
    if not isinstance(value, str) or not _DESCRIPTION.fullmatch(value):
        raise fail(
            "INVALID_INPUT",
            f"a description holds at most {limits.DESCRIPTION_CHARS:,} characters: tab, line breaks and "
            "printable Latin-1",
            *path,
        )
    return value


def check_account(value: Any, *path: str) -> str:
    """A 12-digit AWS account id; INVALID_INPUT otherwise."""
    if not isinstance(value, str) or not re.fullmatch(r"\d{12}", value):
        raise fail("INVALID_INPUT", f"`{value}` is not a 12-digit AWS account id", *path)
    return value


def check_document(doc: Any, kind: str, *path: str, limit: tuple[int, str] | None = None) -> str:
    """The document as canonical JSON text; INVALID_POLICY with the JSON path of every error
    (`graphiam.policy.validate_policy`; kind `identity` or `trust`) and for a character IAM does not allow
    in a document; LIMIT_EXCEEDED when it is larger than `limit` ((characters, whose limit it is))."""
    problems = [p for p in validate_policy(doc, kind=kind) if p.severity == "error"]
    if problems:
        raise ChangeError(
            [
                Problem(
                    code="INVALID_POLICY",
                    message=f"`{p.path}`: {p.message}",
                    path=tuple(path),
                    json_path=p.path,
                )
                for p in problems
            ]
        )
    text = json.dumps(decode_document(doc), separators=(",", ":"))
    bad = limits.bad_character(text)
    if bad is not None:
        raise fail(
            "INVALID_POLICY",
            f"the document contains {bad}: IAM allows tab, line feed, carriage return and U+0020-U+00FF only",
            *path,
        )
    if limit is not None:
        check_size([text], *limit, *path)
    return text


def check_size(
    documents: Sequence[str], limit: int, whose: str, *path: str, what: str = "the document"
) -> None:
    """LIMIT_EXCEEDED when `documents` together are larger (without white space) than `limit`, IAM's limit
    for `whose` ("a managed policy" …)."""
    size = limits.oversize(documents, limit)
    if size is not None:
        raise fail("LIMIT_EXCEEDED", limits.size_message(what, size, limit, whose), *path)


def check_tags(values: Any, *path: str) -> tuple[Tag, ...]:
    """Tags given as `{key, value}` objects; INVALID_INPUT for a missing or too long key, or a value that is
    not a string."""
    out = []
    values = list(values or ())
    if len(values) > limits.TAGS:
        raise fail("LIMIT_EXCEEDED", f"{len(values)} tags: AWS allows {limits.TAGS} on a user or role", *path)
    for i, t in enumerate(values):
        key, value = (t.get("key"), t.get("value", "")) if isinstance(t, Mapping) else (None, None)
        if (
            not isinstance(key, str)
            or not 1 <= len(key) <= limits.TAG_KEY_CHARS
            or not isinstance(value, str)
            or len(value) > limits.TAG_VALUE_CHARS
        ):
            raise fail(
                "INVALID_INPUT",
                f"a tag needs a key of 1-{limits.TAG_KEY_CHARS} characters and a string value of at most "
                f"{limits.TAG_VALUE_CHARS}",
                *path,
                str(i),
            )
        out.append(Tag(key=key, value=value))
    return tuple(out)


# ---- existence (inside the transaction) ----


def existing(tx: Tx, kind: str, arn: str, *path: str) -> Any:
    """The stored row of the `kind` entity `arn`; NOT_FOUND when it is not in the graph."""
    row = M.get(tx.db, TABLE[kind], arn)
    if row is None:
        raise fail("NOT_FOUND", f"{kind} `{arn}` is not in the graph", *path)
    return row


def absent(tx: Tx, kind: str, account: str, name: str, *path: str) -> None:
    """ALREADY_EXISTS when a `kind` entity of that name is in the account (names are unique whatever the
    path, and user, group and role names whatever the case: "IAM name requirements")."""
    found = M.find_by_name(tx.db, TABLE[kind], account, name)
    if found:
        raise fail(
            "ALREADY_EXISTS",
            f"a {kind} named `{name}` already exists in account {account}: `{found[0]}`",
            *path,
        )


def customer_policy(tx: Tx, arn: str, *path: str) -> Any:
    """The stored customer-managed policy `arn`; NOT_FOUND, or UNMODIFIABLE for another kind of policy."""
    row = existing(tx, "policy", arn, *path)
    if row.kind != CUSTOMER_MANAGED:
        raise fail(
            "UNMODIFIABLE",
            f"policy `{arn}` is {row.kind}: only customer-managed policies can be changed",
            *path,
        )
    return row


def attachable(tx: Tx, policy_arn: str, target_account: str, *path: str) -> Any:
    """A managed policy that can be attached in `target_account` (its own or an AWS-managed one)."""
    row = existing(tx, "policy", policy_arn, *path)
    if row.kind == INLINE:
        raise fail(
            "INVALID_INPUT", f"`{policy_arn}` is an inline policy: only managed policies are attached", *path
        )
    if row.kind == CUSTOMER_MANAGED and row.account != target_account:
        raise fail(
            "INVALID_INPUT",
            f"policy `{policy_arn}` belongs to account {row.account}, "
            f"not to the target's account {target_account}",
            *path,
        )
    if row.missing:
        raise fail(
            "NOT_FOUND",
            f"policy `{policy_arn}` is only a placeholder: its document is not in the graph",
            *path,
        )
    return row
