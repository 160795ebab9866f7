"""Is a principal administrator? The two facts every question uses (`Principal.isAdmin`/`canBecomeAdmin`,
`effectivePermissions`, `policyFindings`, `graphiam report`, graph nodes), computed here and nowhere else.

- `is_admin`: administrator now. Every probe of `escalation.decide.PROBES` (an action only `*`, or a NotAction
  sparing it, can grant, and sensitive IAM, STS, EC2, S3, KMS, Secrets Manager and Lambda actions) is ALLOWED
  on resource `*` by the engine: identity policies (groups included), permissions boundary, every Deny and the
  SCPs of the stored organization applied, with the request context its requests carry (the time now, its
  principal keys and tags). As whoCan's conditional access: when that needs keys a request of the principal
  can carry (MFA, a source IP …: `policy.witness` fills them), it is administrator under those conditions, and
  `conditions` names them (an administrator who must use MFA is one); a condition no request can meet now (a
  date already past, a tag it does not have) does not make it administrator.
- `can_become_admin`: not administrator now, and can become one: an escalation path leads to administrator
  (`queries.escalation_paths`: a self-escalation, an assumable administrator role, a technique on another
  principal …; `escalationPaths` shows it). False for an administrator (no path is needed).

Both are None — unknown, never a confident False — when the answer rests on a policy without a document (a
placeholder: an export named a policy and omitted it; `PrincipalInfo.incomplete`), and `incomplete` names
those documents:
- `is_admin` of a principal with a missing document: False only when even Allow `*` in place of every missing
  identity policy and no boundary in place of a missing boundary leave it short of administrator
  (`PrincipalInfo.assuming_missing_allow`); True never (a missing identity policy may deny).
- `can_become_admin` of a principal with a missing document: None (its own permissions are not known).
  Otherwise True when a path to administrator passes only principals without missing documents; else None
  when a path exists, or when it can reach a principal with a missing document
  (`EscalationIndex.unknown_reach`); else False.
"""

from __future__ import annotations

from dataclasses import dataclass

from graphiam.derive.escalation.decide import PROBES, Decider
from graphiam.derive.escalation.paths import Path
from graphiam.errors import NotFoundError
from graphiam.graph.snapshot import PrincipalInfo, Snapshot
from graphiam.queries.escalation_paths import MAX_DEPTH, EscalationIndex

_PATHS = 20  # paths looked at for one that passes no principal with a missing document


@dataclass(frozen=True, kw_only=True)
class AdminFacts:
    principal: str
    is_admin: bool | None  # None: unknown (rests on `incomplete`)
    can_become_admin: bool | None
    reason: str
    conditions: tuple[str, ...] = ()  # condition keys it is administrator under (empty: unconditionally)
    incomplete: tuple[str, ...] = ()  # policies without a document a None above rests on
    statements: tuple[str, ...] = ()  # the statements that allow `*` (administrator, or under conditions)
    technique: str | None = None  # the first technique of a shortest clean escalation path, when one is found


def admin_facts(
    index: EscalationIndex, principal_arn: str, *, explain: bool = True, decider: Decider | None = None
) -> AdminFacts:
    """The facts for one stored user or role (module docstring). `explain` False skips the path search that
    only names the technique (a whole-graph export asks for every principal). `decider`: one over the index's
    snapshot, shared by the caller's calls (made here when needed, else)."""
    snap = index.snap
    p = snap.principal(principal_arn)
    if p is None:
        raise NotFoundError(
            f"principal `{principal_arn}` is not in the graph (users and roles are principals)"
        )
    now, now_why, conditions, statements, missing = _now(snap, index, p, decider)
    if now is True:
        return AdminFacts(
            principal=p.arn,
            is_admin=True,
            can_become_admin=False,
            reason=now_why,
            conditions=conditions,
            statements=statements,
        )
    become, become_why, technique, unknown = _become(snap, index, p, explain=explain)
    return AdminFacts(
        principal=p.arn,
        is_admin=now,
        can_become_admin=become,
        reason=f"{now_why}; {become_why}",
        conditions=conditions,
        incomplete=tuple(dict.fromkeys((*missing, *unknown))),
        statements=statements,
        technique=technique,
    )


def administrators(index: EscalationIndex) -> set[str]:
    """Every stored principal whose `is_admin` is True (without computing the other facts)."""
    return {a for a in index.direct if _admin_now(index.snap.principals[a])}


def _admin_now(p: PrincipalInfo) -> bool:
    """For a principal the engine allows every probe (`index.direct`): True unless a missing identity
    document may deny one."""
    return not p.missing_identity


def all_admin_facts(index: EscalationIndex) -> dict[str, AdminFacts]:
    """`admin_facts` of every stored principal (without naming techniques), with one `Decider` (making one
    walks every principal: one per principal with a missing document cost seconds at 10,000)."""
    d = Decider(index.snap)
    return {arn: admin_facts(index, arn, explain=False, decider=d) for arn in sorted(index.snap.principals)}


def _docs(arns: tuple[str, ...]) -> str:
    return ", ".join(f"`{a}`" for a in arns)


def _now(
    snap: Snapshot, index: EscalationIndex, p: PrincipalInfo, decider: Decider | None = None
) -> tuple[bool | None, str, tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """(is_admin, why, conditions, statements, the missing documents a None rests on)."""
    proof = index.direct.get(p.arn)
    missing = p.incomplete
    if proof is not None and not _admin_now(p):
        return (
            None,
            f"allowed every action on `*` by the policies in the graph, but {_docs(p.missing_identity)} "
            "have no document and may deny",
            proof.needs,
            proof.statements,
            p.missing_identity,
        )
    if proof is not None:
        under = f" when its requests carry {', '.join(proof.needs)}" if proof.needs else ""
        return True, f"allowed every action on `*` now{under}", proof.needs, proof.statements, ()
    if missing and (decider or Decider(snap)).admin_with(p.assuming_missing_allow()) is not None:
        return (
            None,
            f"not allowed every action on `*` by the policies in the graph, but {_docs(missing)} "
            "have no document and may allow it",
            (),
            (),
            missing,
        )
    unless = f", even if {_docs(missing)} (no document) allowed everything" if missing else ""
    return (
        False,
        f"not allowed every action on `*` ({len(PROBES)} probes; denies, boundary and SCPs applied{unless})",
        (),
        (),
        (),
    )


def _touched(path: Path) -> list[str]:
    """The principals a path's decisions rest on: each step's actor, and the administrator it ends at."""
    return [*(s.source for s in path.steps), path.steps[-1].target]


def _become(
    snap: Snapshot, index: EscalationIndex, p: PrincipalInfo, *, explain: bool
) -> tuple[bool | None, str, str | None, tuple[str, ...]]:
    """(can_become_admin, why, first technique of a clean path, the missing documents a None rests on)."""
    if p.incomplete:
        return (
            None,
            f"whether it can become administrator is unknown: {_docs(p.incomplete)} have no document",
            None,
            p.incomplete,
        )
    g = index.graph
    reached = index.unknown_reach.get(p.arn, ())
    if p.arn in g.loops or p.arn in g.admin_dist:
        if not explain and not reached:
            return True, "an escalation path leads to administrator", None, ()
        paths = g.to_admin(p.arn, max_depth=MAX_DEPTH, limit=_PATHS if reached else 1)
        for path in paths:
            if not any(snap.principals[a].incomplete for a in _touched(path) if a in snap.principals):
                how = "itself" if path.steps[0].target == p.arn else f"`{path.steps[0].target}`"
                first = path.steps[0].technique
                return (
                    True,
                    f"an escalation path leads to administrator ({len(path.steps)} step(s), first {first} "
                    f"on {how})",
                    first,
                    (),
                )
        if not reached:  # a path longer than MAX_DEPTH
            return True, "an escalation path leads to administrator", None, ()
        return (
            None,
            f"the escalation paths found pass principals whose policies lack a document ({_docs(reached)})",
            None,
            reached,
        )
    if reached:
        return (
            None,
            f"no escalation path to administrator found, but it reaches principals whose policies "
            f"{_docs(reached)} have no document",
            None,
            reached,
        )
    return False, "no escalation path leads to administrator", None, ()
