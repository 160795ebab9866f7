"""The escalation derivation: every technique of the table run for every actor that may use it.

The technique families build on the shared data of `edges`: `families.self_change` (the actor changes its
own permissions: a self-loop), `families.other_principal` (the actor reaches another principal of its
account, one target at a time) and `reach.fan_out` (the same edges decided once per class of targets, large
ones kept as fan-out edges). `derive` picks the family of each technique
(`handler_for`) and runs it for every actor, self-escalation first so that an actor that can make itself
administrator keeps only its self-loops.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from graphiam.derive.escalation.decide import Decider
from graphiam.derive.escalation.edges import SKIPPED, Derivation, DeriveOptions, Edge, GraphFacts
from graphiam.derive.escalation.families import other_principal, self_change
from graphiam.derive.escalation.fanout import FanEdge
from graphiam.derive.escalation.functions import function_edges
from graphiam.derive.escalation.reach import fan_out as fan_handler
from graphiam.derive.escalation.techniques import TargetKind, Technique, YieldKind, load_techniques
from graphiam.graph.context import TRUST_ACTIONS
from graphiam.graph.snapshot import PrincipalInfo, Snapshot

Handler = Callable[[Derivation, Technique, PrincipalInfo], Iterator[Edge]]


@dataclass
class Derived:
    edges: list[Edge]  # one per (actor, target, technique, …)
    fans: list[FanEdge]  # one actor to every target of a set
    timings: dict[str, float]


def handler_for(t: Technique) -> Handler | None:
    """The family a technique belongs to (None: not modelled)."""
    y = t.yields
    if y.kind is YieldKind.PASS_ROLE_TO_SERVICE or y.target_kind in (TargetKind.USER, TargetKind.ROLE):
        return other_principal
    if y.target_kind in (TargetKind.SELF, TargetKind.GROUP):
        return self_change
    return None


def modelled(t: Technique) -> bool:
    """The derivation has edges for `t` (a family handles it and it is not left to CAN_ASSUME)."""
    return t.id not in SKIPPED and handler_for(t) is not None


def derive(
    snap: Snapshot,
    facts: GraphFacts,
    *,
    accounts: Iterable[str] | None = None,
    decider: Decider | None = None,
    fan_out: bool = True,
    options: DeriveOptions | None = None,
) -> Derived:
    """Every escalation edge whose actor is in `accounts` (all when None), plus seconds per technique.

    `fan_out`: edges to other principals (`families.other_principal`) are derived per class of targets
    (`reach.fan_out`) and kept as fans when they reach more than `options.explicit_max` targets; False derives
    them one target at a time (the reference the tests compare the fans with). `options`: the defaults unless
    given; a `decider` given is used as it is (its own `share_blind`)."""
    opts = options or DeriveOptions()
    d = Derivation(
        snap=snap, facts=facts, decider=decider or Decider(snap, share_blind=opts.share_blind), options=opts
    )
    for p in snap.principals.values():
        d.by_account.setdefault(p.account, []).append(p)
    wanted = None if accounts is None else frozenset(accounts)
    edges: list[Edge] = []
    fans: list[FanEdge] = []
    selfish: set[str] = set()  # can make itself administrator: only its self-loops are kept
    ordered = sorted(
        load_techniques(), key=lambda t: t.yields.target_kind not in (TargetKind.SELF, TargetKind.GROUP)
    )
    for t in ordered:
        handler = handler_for(t)
        if handler is None or t.id in SKIPPED:
            continue
        start = time.perf_counter()
        loop = t.yields.target_kind in (TargetKind.SELF, TargetKind.GROUP)
        fanned = fan_out and handler is other_principal
        # a permission decided without a resource policy needs an identity Allow statement for its action
        # (`Decider.may_allow`): actors without one for every action of the technique are skipped
        needed = [p.action for p in t.required if p.action.lower() not in TRUST_ACTIONS]
        for arn in sorted(d.candidates(t.required[0].action)):
            actor = snap.principals[arn]
            if (wanted is not None and actor.account not in wanted) or (arn in selfish and not loop):
                continue
            if not loop and not d.allows_all(actor, needed):
                continue
            if d.decider.admin_with(actor) is not None:
                continue  # administrator already: an escalation edge from it adds nothing
            if fanned:
                found, fanned_out = fan_handler(d, t, actor)
                fans.extend(fanned_out)
            else:
                found = list(handler(d, t, actor))
            edges.extend(found)
            if any(e.target == e.source for e in found):
                selfish.add(arn)
        d.timings[t.id] = time.perf_counter() - start
    # stored Lambda functions whose policy grants the takeover permissions (none in a GAAD export)
    edges.extend(function_edges(d, wanted=wanted, edges=edges, fans=fans, selfish=selfish))
    return Derived(edges=edges, fans=fans, timings=d.timings)


def derive_edges(
    snap: Snapshot,
    facts: GraphFacts,
    *,
    accounts: Iterable[str] | None = None,
    decider: Decider | None = None,
    options: DeriveOptions | None = None,
) -> tuple[list[Edge], dict[str, float]]:
    """Every escalation edge, one per target (no fans), and seconds per technique: the reference run."""
    out = derive(snap, facts, accounts=accounts, decider=decider, fan_out=False, options=options)
    return out.edges, out.timings
