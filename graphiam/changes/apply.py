"""Changing the graph as IAM's write API does: checked input, one transaction, derived edges refreshed.

`apply_changes(db, changes)` runs a list of `Change`s (an operation name from `graphiam.changes.ops.OPS` and
its arguments) in ONE write transaction: every change applies or none does, and `refresh_derived` recomputes
CAN_ASSUME and ESCALATES_TO for the touched accounts inside that same transaction. `dry_run=True` applies them
to a private copy of the graph (`graphiam.store.clone`; why not a rolled-back transaction: see there) so
nothing is written, `db.generation` does not move, and `graphiam.changes.whatif` reports what would have
changed. Expected failures are `ChangeError`s carrying `Problem`s (`graphiam.changes.checks`: code, message,
input path, JSON path inside a policy document), returned as values, never as stack traces.

The operations follow the IAM API Reference actions of the same names (CreateUser, DeleteUser, CreateGroup,
DeleteGroup, CreateRole, DeleteRole, CreatePolicy, DeletePolicy, Put/Delete{User,Group,Role}Policy,
Attach/Detach{User,Group,Role}Policy, AddUserToGroup, RemoveUserFromGroup,
Put/Delete{User,Role}PermissionsBoundary, UpdateAssumeRolePolicy, CreatePolicyVersion,
SetDefaultPolicyVersion, DeletePolicyVersion), with these differences, for a what-if tool: deleting a user,
group, role or policy also removes what hangs on it (memberships, attachments, inline policies, versions)
where AWS answers DeleteConflict; one attach/detach/boundary operation covers users, groups and roles. Names
are unique per account whatever the path, as in IAM ("IAM object quotas": names must be unique within the
account). A managed policy keeps at most 5 versions (CreatePolicyVersion: LimitExceeded). AWS-managed
policies cannot be changed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from graphiam.changes import whatif
from graphiam.changes.checks import TABLE, Tx, fail
from graphiam.changes.ops import OPS
from graphiam.derive.refresh import refresh_derived
from graphiam.errors import ChangeError, IngestError, PreflightNeeded, Problem
from graphiam.store import Database
from graphiam.store import history_store as H
from graphiam.store import mutations as M
from graphiam.store.clone import clone_database

__all__ = ["Applied", "Change", "ChangeError", "Problem", "Result", "apply_changes", "apply_ops"]


@dataclass(frozen=True, kw_only=True)
class Change:
    """One operation to apply: its name in `graphiam.changes.ops.OPS` and its arguments."""

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


def now_text() -> str:
    """The current time as the operations stamp what they create (UTC, seconds)."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def _within(prefix: tuple[str, ...], problems: Sequence[Problem]) -> list[Problem]:
    """`problems` with their input paths starting with `prefix`."""
    return [
        Problem(code=p.code, message=p.message, path=(*prefix, *p.path), json_path=p.json_path)
        for p in problems
    ]


def apply_ops(db: Database, changes: Sequence[Change], now: str, *, indexed: bool = False) -> list[Applied]:
    """Run `changes` in the caller's transaction; with `indexed`, a failure's input paths start with
    `changes`, the index and the operation (`["changes", "1", "putUserPolicy", "document"]`)."""
    tx = Tx(db, now)
    done = []
    for i, c in enumerate(changes):
        fn = OPS.get(c.op)
        if fn is None:
            raise fail("INVALID_INPUT", f"unknown operation `{c.op}`")
        prefix = ("changes", str(i), c.op) if indexed else ()
        try:
            touched = fn(tx, c.args)
        except ChangeError as exc:
            exc.problems = _within(prefix, exc.problems)
            raise
        except IngestError as exc:
            raise fail("INVALID_INPUT", str(exc), *prefix, "document", json_path=exc.path) from None
        done.append(Applied(op=c.op, kind=touched.kind, arn=touched.arn, accounts=set(touched.accounts)))
    return done


@dataclass(kw_only=True)
class Result:
    """The outcome of `apply_changes`: applied (or, for a dry run, would apply) or refused with `problems`."""

    ok: bool
    dry_run: bool
    problems: list[Problem] = field(default_factory=list)
    applied: list[Applied] = field(default_factory=list)
    changes: Any = None  # whatif.ChangeSet when asked for


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
    written to `db`, its `generation` and the caches keyed on it do not move. `diff` (implied by `dry_run`
    and `requests`) reports what changed (`whatif.ChangeSet`); `paths=False` skips the escalation-path
    comparison."""
    if not changes:
        return Result(
            ok=False, dry_run=dry_run, problems=[Problem(code="INVALID_INPUT", message="no changes given")]
        )
    want = diff or dry_run or bool(requests)
    if dry_run:
        copy = clone_database(db)
        try:
            return _on_copy(copy, changes, want=want, requests=requests, paths=paths, indexed=indexed)
        finally:
            copy.close()
    try:
        return _in_place(
            db, changes, want=want, requests=requests, paths=paths, indexed=indexed, settle=False
        )
    except PreflightNeeded:
        pass
    # The batch needs a rel COPY inside the transaction (see store.mutations.settle_created_rels, and imports
    # mixed with other changes): a rollback after it would lose committed rows, so first make sure on a copy
    # that every change and the derived-edge refresh go through.
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
        a.row = M.get(db, TABLE[a.kind], a.arn) if a.kind and a.arn else None


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
    if not settle and len(changes) > 1 and any(c.op == "importExport" for c in changes):
        # an import COPYs relationships, and a later change of the batch might still fail
        raise PreflightNeeded
    try:
        with db.transaction():
            before = whatif.capture(db, requests, paths=paths) if want else None
            M.start_rel_log()
            applied = apply_ops(db, changes, now_text(), indexed=indexed)
            if M.needs_settling():
                if not settle:
                    raise PreflightNeeded  # nothing COPYed yet: this rollback is safe
                M.settle_created_rels(db)  # every change went through: no expected failure can follow
            refresh_derived(db, set().union(*(a.accounts for a in applied)))
            H.mark_changed(db, now_text())  # the newest import's summary no longer describes the graph
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
    before = whatif.capture(copy, requests, paths=paths) if want else None
    now = now_text()
    applied: list[Applied] = []
    for i, change in enumerate(changes):
        try:
            with copy.transaction():
                applied += apply_ops(copy, [change], now, indexed=False)
        except ChangeError as exc:
            if indexed:
                exc.problems = _within(("changes", str(i), change.op), exc.problems)
            return Result(ok=False, dry_run=True, problems=exc.problems)
    with copy.transaction():
        refresh_derived(copy, set().union(*(a.accounts for a in applied)))
    _finish(copy, applied)
    after = whatif.capture(copy, requests, paths=paths) if want else None
    changeset = whatif.diff(before, after, requests) if before is not None and after is not None else None
    return Result(ok=True, dry_run=True, applied=applied, changes=changeset)
