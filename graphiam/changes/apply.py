"""Changing the graph as IAM's write API does: checked input, one transaction, derived edges refreshed.

`apply_changes(db, changes)` runs a list of `Change`s (an operation name from `OPS` and its arguments) in ONE
write transaction: every change applies or none does, and `refresh_derived` recomputes CAN_ASSUME and
ESCALATES_TO for the touched accounts inside that same transaction. `dry_run=True` applies them to a private
copy of the graph (`graphiam.store.clone`; why not a rolled-back transaction: see there) so nothing is written,
`db.generation` does not move, and `graphiam.changes.whatif` reports what would have changed. Expected failures are `ChangeError`s carrying `Problem`s (code, message, input path, JSON path inside
a policy document), returned as values, never as stack traces.

The operations follow the IAM API Reference actions of the same names (CreateUser, DeleteUser, CreateGroup,
DeleteGroup, CreateRole, DeleteRole, CreatePolicy, DeletePolicy, Put/Delete{User,Group,Role}Policy,
Attach/Detach{User,Group,Role}Policy, AddUserToGroup, RemoveUserFromGroup, Put/Delete{User,Role}PermissionsBoundary,
UpdateAssumeRolePolicy, CreatePolicyVersion, SetDefaultPolicyVersion, DeletePolicyVersion), with these
differences, for a what-if tool: deleting a user, group, role or policy also removes what hangs on it
(memberships, attachments, inline policies, versions) where AWS answers DeleteConflict; one
attach/detach/boundary operation covers users, groups and roles. Names are unique per account whatever the
path, as in IAM ("IAM object quotas": names must be unique within the account). A managed policy keeps at most
5 versions (CreatePolicyVersion: LimitExceeded). AWS-managed policies cannot be changed.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from graphiam.arn import parse_iam_arn
from graphiam.errors import ChangeError, IngestError, Problem
from graphiam.errors import PreflightNeeded as _Preflight
from graphiam.model import CUSTOMER_MANAGED, INLINE, Tag
from graphiam.policy import validate_policy
from graphiam.policy.raw import decode_document
from graphiam.store import Database
from graphiam.store import mutations as M

MAX_VERSIONS = 5  # IAM: a managed policy has at most five versions
SOURCE = "graphiam mutation"
# the IAM ARNs a mutation accepts (parse_iam_arn): three partitions, and no instance profiles
_PARTITIONS = ("aws", "aws-cn", "aws-us-gov")
_KINDS = ("user", "group", "role", "policy")
_NAME = re.compile(r"[\w+=,.@-]+")
_PATH = re.compile(r"/|/[\x21-\x7e]*/")
_NAME_MAX = {"user": 64, "role": 64, "group": 128, "policy": 128}
_TABLE = {"user": "User", "group": "IAMGroup", "role": "Role", "policy": "Policy"}
_ID_PREFIX = {"user": "AIDA", "group": "AGPA", "role": "AROA", "policy": "ANPA"}
_ID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def fail(code: str, message: str, *path: str, json_path: str | None = None) -> ChangeError:
    return ChangeError([Problem(code=code, message=message, path=tuple(path), json_path=json_path)])


@dataclass(frozen=True, kw_only=True)
class Change:
    op: str
    args: Mapping[str, Any]


@dataclass(kw_only=True)
class Applied:
    """What one operation did: the entity it is about and the accounts whose derived edges must follow."""

    op: str
    kind: str | None = None  # user | group | role | policy
    arn: str | None = None
    accounts: set[str] = field(default_factory=set)
    row: Any = None  # the entity as the transaction saw it at the end (None when deleted)


class Tx:
    """The operations' view of the open transaction."""

    def __init__(self, db: Database, now: str) -> None:
        self.db = db
        self.now = now


# ---- input checks (pure) ----


def check_arn(value: Any, kind: str, *path: str) -> tuple[str, str]:
    """(arn, account) of an IAM ARN of `kind` (user, group, role, policy); INVALID_ARN otherwise."""
    a = parse_iam_arn(value, partitions=_PARTITIONS, kinds=_KINDS) if isinstance(value, str) else None
    if a is None or a.kind != kind or (kind != "policy" and a.account == "aws"):
        raise fail(
            "INVALID_ARN",
            f"`{value}` is not an IAM {kind} ARN (arn:aws:iam::<account>:{kind}/<path/><name>)",
            *path,
        )
    return value, a.account


def kind_of(value: Any, kinds: Sequence[str], *path: str) -> tuple[str, str, str]:
    """(kind, arn, account) of an ARN that must be one of `kinds`."""
    a = parse_iam_arn(value, partitions=_PARTITIONS, kinds=_KINDS) if isinstance(value, str) else None
    if a is None or a.kind not in kinds:
        raise fail("INVALID_ARN", f"`{value}` is not an IAM {' or '.join(kinds)} ARN", *path)
    return (a.kind, *check_arn(value, a.kind, *path))


def check_name(value: Any, kind: str, *path: str) -> str:
    limit = _NAME_MAX[kind]
    if not isinstance(value, str) or not _NAME.fullmatch(value) or len(value) > limit:
        raise fail(
            "INVALID_INPUT",
            f"`{value}` is not a valid {kind} name: 1-{limit} of letters, digits and +=,.@_-",
            *path,
        )
    return value


def check_path(value: Any, *path: str) -> str:
    value = value or "/"
    if not isinstance(value, str) or not _PATH.fullmatch(value) or len(value) > 512:
        raise fail("INVALID_INPUT", f"`{value}` is not a valid IAM path: it starts and ends with `/`", *path)
    return value


def check_account(value: Any, *path: str) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"\d{12}", value):
        raise fail("INVALID_INPUT", f"`{value}` is not a 12-digit AWS account id", *path)
    return value


def check_document(doc: Any, kind: str, *path: str) -> str:
    """The document as canonical JSON text; INVALID_POLICY with the JSON path of every error
    (`graphiam.policy.validate_policy`; kind `identity` or `trust`)."""
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
    return json.dumps(decode_document(doc), separators=(",", ":"))


def check_tags(values: Any, *path: str) -> tuple[Tag, ...]:
    out = []
    for i, t in enumerate(values or ()):
        key, value = (t.get("key"), t.get("value", "")) if isinstance(t, Mapping) else (None, None)
        if not isinstance(key, str) or not 1 <= len(key) <= 128 or not isinstance(value, str):
            raise fail(
                "INVALID_INPUT", "a tag needs a key of 1-128 characters and a string value", *path, str(i)
            )
        out.append(Tag(key=key, value=value))
    return tuple(out)


def new_id(kind: str) -> str:
    """A unique id shaped like IAM's (`AIDA` + 17 base-32 characters for a user …)."""
    return _ID_PREFIX[kind] + "".join(secrets.choice(_ID_CHARS) for _ in range(17))


def iam_arn(account: str, kind: str, path: str, name: str) -> str:
    return f"arn:aws:iam::{account}:{kind}{path}{name}"


# ---- existence (inside the transaction) ----


def existing(tx: Tx, kind: str, arn: str, *path: str) -> Any:
    row = M.get(tx.db, _TABLE[kind], arn)
    if row is None:
        raise fail("NOT_FOUND", f"{kind} `{arn}` is not in the graph", *path)
    return row


def absent(tx: Tx, kind: str, account: str, name: str, *path: str) -> None:
    found = M.find_by_name(tx.db, _TABLE[kind], account, name)
    if found:
        raise fail(
            "ALREADY_EXISTS",
            f"a {kind} named `{name}` already exists in account {account}: `{found[0]}`",
            *path,
        )


def customer_policy(tx: Tx, arn: str, *path: str) -> Any:
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


def ensure_account(tx: Tx, account: str) -> None:
    M.ensure_account(tx.db, account, source=SOURCE, now=tx.now)


def now_text() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


Op = Callable[[Tx, Mapping[str, Any]], Applied]
OPS: dict[str, Op] = {}


def op(name: str) -> Callable[[Op], Op]:
    def deco(fn: Op) -> Op:
        OPS[name] = fn
        return fn

    return deco


def apply_ops(db: Database, changes: Sequence[Change], now: str, *, indexed: bool = False) -> list[Applied]:
    """Run `changes` in the caller's transaction; with `indexed`, a failure's input paths start with
    `changes`, the index and the operation (`["changes", "1", "putUserPolicy", "document"]`)."""
    import graphiam.changes.ops  # noqa: F401  registers the operations

    tx = Tx(db, now)
    done = []
    for i, c in enumerate(changes):
        fn = OPS.get(c.op)
        if fn is None:
            raise fail("INVALID_INPUT", f"unknown operation `{c.op}`")
        prefix = ("changes", str(i), c.op) if indexed else ()
        try:
            done.append(fn(tx, c.args))
        except ChangeError as exc:
            exc.problems = [
                Problem(code=p.code, message=p.message, path=(*prefix, *p.path), json_path=p.json_path)
                for p in exc.problems
            ]
            raise
        except IngestError as exc:
            raise fail("INVALID_INPUT", str(exc), *prefix, "document", json_path=exc.path) from None
    return done


@dataclass(kw_only=True)
class Result:
    """The outcome of `apply_changes`: applied (or, for a dry run, would apply) or refused with `problems`."""

    ok: bool
    dry_run: bool
    problems: list[Problem] = field(default_factory=list)
    applied: list[Applied] = field(default_factory=list)
    changes: Any = None  # whatif.ChangeSet when asked for


_ROW_TABLE = {"user": "User", "group": "IAMGroup", "role": "Role", "policy": "Policy"}


def apply_changes(
    db: Database,
    changes: Sequence[Change],
    *,
    dry_run: bool = False,
    diff: bool = False,
    requests: Sequence[Any] = (),
    paths: bool = True,
    indexed: bool = False,
) -> Result:
    """Apply `changes` in one write transaction with the derived edges refreshed for the touched accounts;
    all or nothing. `dry_run` applies them to a private copy of the graph instead (`store.clone`): nothing is
    written to `db`, its `generation` and the caches keyed on it do not move. `diff` (implied by `dry_run` and
    `requests`) reports what changed (`whatif.ChangeSet`); `paths=False` skips the escalation-path comparison."""
    if not changes:
        return Result(
            ok=False, dry_run=dry_run, problems=[Problem(code="INVALID_INPUT", message="no changes given")]
        )
    want = diff or dry_run or bool(requests)
    if dry_run:
        from graphiam.store.clone import clone_database

        copy = clone_database(db)
        try:
            return _on_copy(copy, changes, want=want, requests=requests, paths=paths, indexed=indexed)
        finally:
            copy.close()
    try:
        return _in_place(
            db, changes, want=want, requests=requests, paths=paths, indexed=indexed, settle=False
        )
    except _Preflight:
        pass
    # The batch needs a rel COPY inside the transaction (see store.mutations.settle_created_rels, and imports
    # mixed with other changes): a rollback after it would lose committed rows, so first make sure on a copy
    # that every change and the derived-edge refresh go through.
    from graphiam.store.clone import clone_database

    copy = clone_database(db)
    try:
        trial = _on_copy(copy, changes, want=False, requests=(), paths=False, indexed=indexed)
    finally:
        copy.close()
    if not trial.ok:
        return Result(ok=False, dry_run=False, problems=trial.problems)
    return _in_place(db, changes, want=want, requests=requests, paths=paths, indexed=indexed, settle=True)


def _finish(db: Database, applied: list[Applied]) -> None:
    for a in applied:  # the entities as the change leaves them (None: deleted)
        a.row = M.get(db, _ROW_TABLE[a.kind], a.arn) if a.kind and a.arn else None


def _in_place(
    db: Database,
    changes: Sequence[Change],
    *,
    want: bool,
    requests: Sequence[Any],
    paths: bool,
    indexed: bool,
    settle: bool,
) -> Result:
    from graphiam.changes import whatif
    from graphiam.derive.refresh import refresh_derived

    if not settle and len(changes) > 1 and any(c.op == "importExport" for c in changes):
        raise _Preflight  # an import COPYs relationships, and a later change of the batch might still fail
    try:
        with db.transaction():
            before = whatif.capture(db, requests, paths=paths) if want else None
            M.start_rel_log()
            applied = apply_ops(db, changes, now_text(), indexed=indexed)
            if M.needs_settling():
                if not settle:
                    raise _Preflight  # nothing COPYed yet: this rollback is safe
                M.settle_created_rels(db)  # every change went through: no expected failure can follow
            refresh_derived(db, set().union(*(a.accounts for a in applied)))
            _finish(db, applied)
            after = whatif.capture(db, requests, paths=paths) if want else None
    except ChangeError as exc:
        return Result(ok=False, dry_run=False, problems=exc.problems)
    changeset = whatif.diff(before, after, requests) if before is not None and after is not None else None
    return Result(ok=True, dry_run=False, applied=applied, changes=changeset)


def _on_copy(
    copy: Database,
    changes: Sequence[Change],
    *,
    want: bool,
    requests: Sequence[Any],
    paths: bool,
    indexed: bool,
) -> Result:
    """The dry run: each step commits on the copy, so every read sees committed (correctly read) data."""
    from graphiam.changes import whatif
    from graphiam.derive.refresh import refresh_derived

    before = whatif.capture(copy, requests, paths=paths) if want else None
    now = now_text()
    applied: list[Applied] = []
    try:
        for i, change in enumerate(changes):
            with copy.transaction():
                done = apply_ops(copy, [change], now, indexed=False)
            applied += done
    except ChangeError as exc:
        if indexed:
            exc.problems = [
                Problem(
                    code=p.code,
                    message=p.message,
                    path=("changes", str(i), change.op, *p.path),
                    json_path=p.json_path,
                )
                for p in exc.problems
            ]
        return Result(ok=False, dry_run=True, problems=exc.problems)
    with copy.transaction():
        refresh_derived(copy, set().union(*(a.accounts for a in applied)))
    _finish(copy, applied)
    after = whatif.capture(copy, requests, paths=paths) if want else None
    changeset = whatif.diff(before, after, requests) if before is not None and after is not None else None
    return Result(ok=True, dry_run=True, applied=applied, changes=changeset)
