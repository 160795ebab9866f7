"""Escalation through stored Lambda functions and their resource policies.

The techniques that take over an EXISTING function (`lambda-003` UpdateFunctionCode, `lambda-004` + Invoke,
`lambda-005` + AddPermission: `Target.SERVICE_RESOURCE` permissions, yield: the function's execution role) are
derived by `families.other_principal` from the actor's identity policies alone, on `function:*`, to every role
of the account that trusts Lambda, with the assumption that some function runs as it. A function's own policy
can grant those permissions too: a principal it names in its account needs no identity allow ("Policy
evaluation logic", same-account resource-based policies), and the engine decides the function's policy only on
the function itself. So for each stored function whose execution role is stored (`ResourceInfo.role`, same
account, trusting `lambda.amazonaws.com`), the principals of its account that its policy names for the
technique's function permissions (every one of them when it names `*`) get an edge actor → role when the
engine allows each function permission on that function (`Decider.allowed_on_resource`: identity policies,
boundary, SCPs, the function's policy, RCPs) and the technique's other permissions as usual; the edge names
the function (`via.function`) and needs no assumption. An edge the identity-based derivation already made is
not repeated. Without stored functions (a GAAD export) nothing changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from graphiam.derive.escalation.edges import SKIPPED, Derivation, Edge
from graphiam.derive.escalation.families import permissions
from graphiam.derive.escalation.fanout import FanEdge
from graphiam.derive.escalation.techniques import Target, Technique, YieldKind, load_techniques
from graphiam.graph.resources import ResourceInfo

LAMBDA = "lambda.amazonaws.com"
FUNCTION = "lambda:function"


def existing_function_techniques() -> list[Technique]:
    """The techniques that take over an existing Lambda function."""
    return [
        t
        for t in load_techniques()
        if t.id not in SKIPPED
        and t.yields.kind is YieldKind.PASS_ROLE_TO_SERVICE
        and t.yields.service == LAMBDA
        and any(p.target is Target.SERVICE_RESOURCE for p in t.required)
    ]


def _named(d: Derivation, fn: ResourceInfo, actions: Iterable[str]) -> set[str]:
    """Stored principals of the function's account its policy's Allow statements name for `actions`."""
    if fn.policy is None:
        return set()
    out: set[str] = set()
    mine = {p.arn for p in d.by_account.get(fn.account, ())}
    for action in actions:
        for st in fn.policy.document.statements_for(action.lower()):
            if st.effect != "Allow":
                continue
            if st.not_principals is not None:
                return mine
            for entry in (st.principals or {}).get("AWS", ()):
                if entry == "*":
                    return mine
                if entry in mine:
                    out.add(entry)
    return out


def function_edges(
    d: Derivation,
    *,
    wanted: frozenset[str] | None,
    edges: Sequence[Edge],
    fans: Sequence[FanEdge],
    selfish: set[str],
) -> list[Edge]:
    """The edges of the module docstring; `edges` and `fans`: those already derived (not repeated)."""
    functions = sorted(
        (r for r in d.snap.resources.values() if r.type == FUNCTION and r.role in d.snap.principals),
        key=lambda r: r.arn,
    )
    if not functions:
        return []
    done = {(e.source, e.target, e.technique) for e in edges}
    done |= {(f.source, p.target, f.technique) for f in fans for p in f.targets.parts}
    techniques = existing_function_techniques()
    out: list[Edge] = []
    for fn in functions:
        role = d.snap.principals[fn.role or ""]
        if role.account != fn.account or (wanted is not None and fn.account not in wanted):
            continue
        trust = d.decider.trusts_service(role, LAMBDA)
        if trust is None:
            continue
        for t in techniques:
            on_function = [p for p in t.required if p.target is Target.SERVICE_RESOURCE]
            for arn in sorted(_named(d, fn, (p.action for p in on_function))):
                actor = d.snap.principals[arn]
                if arn == role.arn or arn in selfish or (arn, role.arn, t.id) in done:
                    continue
                if d.decider.admin_with(actor) is not None:
                    continue  # administrator already
                base = permissions(d, t, actor, {}, only=frozenset({Target.SELF, Target.ANY}))
                if base is None:
                    continue
                uses = [d.decider.allowed_on_resource(actor, p.action, fn) for p in on_function]
                if any(u is None for u in uses):
                    continue
                done.add((arn, role.arn, t.id))
                out.append(
                    Edge(
                        source=arn,
                        target=role.arn,
                        technique=t.id,
                        uses=(*base, *(u for u in uses if u is not None)),
                        proof=(trust,),
                        via={"service": LAMBDA, "function": fn.arn},
                    )
                )
    return out
