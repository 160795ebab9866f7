"""Whether the stored organization's SCPs can let a principal make a request: derived edges (CAN_ASSUME) that
the SCPs certainly deny are not drawn.

"Certainly": the engine decides the SCP levels alone (the identity side taken as allowing everything) on the
request with what the graph knows of the principal and the target; denied with no condition key left unknown
means no request context can pass. When an SCP condition reads a key the graph cannot know
(aws:RequestedRegion, aws:SourceIp, …) the edge stays: the SCP may or may not stop it, and the hop's own
conditions are the reader's to check. Principals without SCPs (no organization, its management account,
service-linked roles) are never gated.
"""

from __future__ import annotations

from typing import Any

from graphiam.graph.snapshot import PrincipalInfo, Snapshot
from graphiam.policy import Decision, PolicySource, Request, evaluate, parse_policy
from graphiam.policy.witness import fixed_key

_EVERYTHING = PolicySource(
    document=parse_policy(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    ),
    policy_id="scp-gate",
    name="the identity side, taken as allowing (only the SCPs are decided)",
    kind="custom",
    via="custom",
)


class ScpGate:
    """`allows(principal, action, resource)`, memoised per SCP levels when their statements read neither a
    condition key nor a policy variable (then the answer is the same for every principal they govern)."""

    def __init__(self, snap: Snapshot) -> None:
        self.snap = snap
        self._plain: dict[int, bool] = {}
        self._memo: dict[tuple[Any, ...], bool] = {}

    def allows(self, p: PrincipalInfo | None, action: str, resource: str) -> bool:
        if p is None or p.scps is None:
            return True
        levels = p.scps
        plain = self._plain.get(id(levels))
        if plain is None:
            plain = self._plain[id(levels)] = not any(
                st.compiled_conditions or any("${" in r for r in (st.resources or st.not_resources or ()))
                for level in levels
                for src in level
                for st in src.document.statements
            )
        key = (id(levels), action.lower(), resource) if plain else None
        if key is not None and key in self._memo:
            return self._memo[key]
        target = self.snap.principal(resource)
        ctx = dict(p.derived_context())
        if target is not None:
            ctx.update({f"aws:ResourceTag/{k}": v for k, v in target.tags.items()})
        req = Request(
            action=action,
            resource=resource,
            principal_arn=p.arn,
            principal_account=p.account,
            principal_type=p.principal_type,
            resource_account=target.account if target else None,
            context=ctx,
        )
        ev = evaluate(req, identity=(_EVERYTHING,), scps=[list(level) for level in levels])
        ok = ev.scp_decision is Decision.ALLOWED or any(
            not fixed_key(k, principal_known=True) for k in ev.missing_context_keys
        )
        if key is not None:
            self._memo[key] = ok
        return ok
