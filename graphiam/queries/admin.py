"""Is a principal administrator? Allowed everything now, or able to make itself so in one step.

The rule (`escalation.decide.Decider.admin_with`): every probe of `PROBES` — an action only `*` (or a
NotAction sparing it) can grant, and sensitive IAM, STS, EC2, S3, KMS, Secrets Manager and Lambda actions —
is ALLOWED on resource `*` by the engine, with the principal's identity policies (groups included), its
permissions boundary and every Deny applied. Conditions the principal can meet (MFA, source IP …) are
allowed and reported in `needs`; conditions on the principal itself, the time or tags must hold as stored.
Otherwise, the principal is administrator when a self-escalation technique (a policy put on or attached to
itself or its group, a new or stored version of an attached policy, its boundary removed, joining an
administrators' group) is allowed and makes it administrator: the same derivation as the self-loop edges.
"""

from __future__ import annotations

from dataclasses import dataclass

from graphiam.derive.escalation.decide import PROBES, Decider
from graphiam.derive.escalation.edges import Derivation, GraphFacts, GroupFacts
from graphiam.derive.escalation.families import self_change
from graphiam.derive.escalation.techniques import TargetKind, load_techniques
from graphiam.errors import NotFoundError
from graphiam.graph.snapshot import Snapshot


@dataclass(frozen=True, kw_only=True)
class AdminVerdict:
    is_admin: bool
    reason: str
    statements: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()
    technique: str | None = None  # the self-escalation technique, when that is the reason


def facts_from_snapshot(snap: Snapshot) -> GraphFacts:
    """Groups as the snapshot knows them (through their members); no stored versions, no credentials."""
    facts = GraphFacts()
    for p in snap.principals.values():
        for g in p.groups:
            name = g.rsplit("/", 1)[-1]
            srcs = tuple(s for s in p.identity if s.via == "group" and s.via_name == name)
            facts.groups.setdefault(g, GroupFacts(arn=g, account=p.account, name=name, policies=srcs))
    return facts


def is_admin(
    snap: Snapshot, principal_arn: str, *, facts: GraphFacts | None = None, decider: Decider | None = None
) -> AdminVerdict:
    """The verdict for one stored user or role (see the module docstring for the rule)."""
    p = snap.principal(principal_arn)
    if p is None:
        raise NotFoundError(
            f"principal `{principal_arn}` is not in the graph (users and roles are principals)"
        )
    d = decider or Decider(snap)
    proof = d.admin_with(p)
    if proof is not None:
        needs = f" once it meets {', '.join(proof.needs)}" if proof.needs else ""
        return AdminVerdict(
            is_admin=True,
            reason=f"allowed every action on `*`{needs}",
            statements=proof.statements,
            needs=proof.needs,
        )
    run = Derivation(snap=snap, facts=facts or facts_from_snapshot(snap), decider=d)
    for pp in snap.principals.values():
        if pp.account == p.account:
            run.by_account.setdefault(pp.account, []).append(pp)
    for t in load_techniques():
        if t.yields.target_kind not in (TargetKind.SELF, TargetKind.GROUP):
            continue
        for edge in self_change(run, t, p):
            used = "; ".join(f"{u.action} on `{u.resource}`" for u in edge.uses if u.action != "*")
            stmts = tuple(dict.fromkeys(s for u in edge.uses for s in u.statements))
            return AdminVerdict(
                is_admin=True,
                reason=f"can make itself administrator with {t.id} ({used})",
                statements=stmts,
                needs=edge.needs,
                technique=t.id,
            )
    return AdminVerdict(
        is_admin=False,
        reason=f"not allowed every action on `*` ({len(PROBES)} probes, denies and "
        "boundary applied) and no self-escalation technique applies",
    )
