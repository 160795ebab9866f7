"""Whether the stored organization's SCPs can let a principal make a request: derived edges (CAN_ASSUME) that
the SCPs certainly deny are not drawn.

"Certainly": the engine decides the SCP levels alone (the identity side taken as allowing everything) on the
request context every question uses (`graph.context`: the principal's keys, the target's tags, the clock);
denied, and still denied whatever the caller's keys (`policy.witness.allowed_if`), means no request context
can pass. When an SCP condition reads a key the caller controls (aws:RequestedRegion, aws:SourceIp, …) and
some value lets the request through, the edge stays: the hop's own conditions are the reader's to check.
Principals without SCPs (no organization, its management account, service-linked roles) are never gated.
"""

from __future__ import annotations

from typing import Any

from graphiam.graph.context import build_context, environment
from graphiam.graph.snapshot import PrincipalInfo, Snapshot
from graphiam.policy import Decision, PolicySource, Request, evaluate, parse_policy
from graphiam.policy.witness import allowed_if

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
        self.env = environment()  # the clock, read once
        self._plain: dict[int, bool] = {}
        self._memo: dict[tuple[Any, ...], bool] = {}

    def allows(self, p: PrincipalInfo | None, action: str, resource: str) -> bool:
        if p is None or p.scps is None:
            return True
        levels = p.scps
        plain = self._is_plain(levels)
        key = (id(levels), action.lower(), resource) if plain else None
        if key is not None and key in self._memo:
            return self._memo[key]
        target = self.snap.principal(resource)
        built = build_context(p, self.snap, resource, {}, env=self.env)
        req = Request(
            action=action,
            resource=resource,
            principal_arn=p.arn,
            principal_account=p.account,
            principal_type=p.principal_type,
            resource_account=target.account if target else None,
            context=built.values,
        )
        scps = [list(level) for level in levels]
        ev = evaluate(req, identity=(_EVERYTHING,), scps=scps)
        ok = (
            ev.scp_decision is Decision.ALLOWED
            or allowed_if(req, identity=(_EVERYTHING,), scps=scps, free=built.free, choices=built.choices)
            is not None
        )
        if key is not None:
            self._memo[key] = ok
        return ok

    def shared(self, p: PrincipalInfo) -> bool:
        """`allows(p, …)` is the same for every principal its SCP levels govern: none govern it, or their
        statements read neither a condition key nor a policy variable."""
        return p.scps is None or self._is_plain(p.scps)

    def _is_plain(self, levels: tuple[tuple[PolicySource, ...], ...]) -> bool:
        plain = self._plain.get(id(levels))
        if plain is None:
            plain = self._plain[id(levels)] = not any(
                st.compiled_conditions or any("${" in r for r in (st.resources or st.not_resources or ()))
                for level in levels
                for src in level
                for st in src.document.statements
            )
        return plain
