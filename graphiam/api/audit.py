"""Recording mutations in the audit log (`graphiam.audit`): the resolvers' side and `MutationGuard`'s.

- `audited(context, operation, arguments, dry_run, work)`: the blocking `work` (a mutation's checks and its
  transaction) wrapped so that the log gets a `begin` line before it and an `end` line after, written by the
  thread that does the work: a request that times out still has its outcome recorded when the work ends.
- `record_refused(context, document, operation_name, variables, reason)`: every mutation field of an
  operation refused before it ran (a caller without the admin role), one line each.

A mutation whose begin line cannot be written does not run (it fails as an internal error: no change goes
unrecorded); a refusal that cannot be recorded is still refused, with a warning in the server log.

The log is the request context's `audit` (`None`: this app keeps none, e.g. in-process tests).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from graphql import DocumentNode, FieldNode, Undefined, value_from_ast_untyped
from graphql.utilities import get_operation_ast

from graphiam.audit import AuditLog, Outcome
from graphiam.auth import Identity
from graphiam.errors import GraphiamError

logger = logging.getLogger("graphiam")
T = TypeVar("T")
NO_IDENTITY = "none (no identity)"


def audit_of(context: Any) -> AuditLog | None:
    log = getattr(context, "audit", None)
    return log if isinstance(log, AuditLog) else None


def _who(context: Any) -> dict[str, Any]:
    identity = getattr(context, "identity", None)
    if not isinstance(identity, Identity):
        return {"who": NO_IDENTITY, "token_id": None, "role": "none"}
    return {"who": identity.name, "token_id": identity.token_id, "role": identity.role.value}


def _ending(result: Any) -> tuple[Outcome, str]:
    """How a mutation's `changes.apply.Result` ended, in a line."""
    if getattr(result, "ok", False):
        applied = [f"{a.op} {a.arn}" if a.arn else a.op for a in result.applied]
        return Outcome.OK, ("would apply: " if result.dry_run else "applied: ") + "; ".join(applied)
    problems = getattr(result, "problems", ())
    return Outcome.REFUSED, "; ".join(
        f"{p.code}: {p.message}" + (f" (at {'.'.join(p.path)})" if p.path else "") for p in problems
    )


def audited(
    context: Any, operation: str, arguments: Any, dry_run: bool, work: Callable[[], T]
) -> Callable[[], T]:
    """`work` recorded in the audit log (when the context has one): begin, then how it ended."""
    log = audit_of(context)
    if log is None:
        return work
    who = _who(context)

    def run() -> T:
        entry = log.begin(operation=operation, arguments=arguments, dry_run=dry_run, **who)
        try:
            result = work()
        except GraphiamError as exc:
            internal = exc.code == "INTERNAL"
            log.end(entry, Outcome.FAILED if internal else Outcome.REFUSED, f"{exc.code}: {exc}")
            raise
        except BaseException as exc:
            log.end(entry, Outcome.FAILED, f"{type(exc).__name__}: {exc}")
            raise
        log.end(entry, *_ending(result))
        return result

    return run


def record_refused(
    context: Any,
    document: DocumentNode,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
    reason: str,
) -> None:
    """One `refused` entry per top-level field of the mutation operation of `document`."""
    log = audit_of(context)
    if log is None:
        return
    op = get_operation_ast(document, operation_name)
    if op is None:
        return
    who = _who(context)
    for selection in op.selection_set.selections:
        if not isinstance(selection, FieldNode) or selection.name.value.startswith("__"):
            continue
        arguments = {a.name.value: _value(a.value, variables) for a in selection.arguments or ()}
        try:
            log.refused(
                operation=selection.name.value,
                arguments=arguments,
                dry_run=arguments.get("dryRun") is True,
                detail=reason,
                **who,
            )
        except OSError as exc:  # the refusal stands; only its record is lost
            logger.warning("audit log: could not record a refused mutation: %s", exc)
            return


def _value(node: Any, variables: Mapping[str, Any] | None) -> Any:
    try:
        value = value_from_ast_untyped(node, dict(variables or {}))
    except (TypeError, ValueError):
        return None
    return None if value is Undefined else value
