"""The engine's verdict on one (principal, role) pair (`decide_hop`), as an edge stores it (`Verdict`), and
the edge columns written to the store (`EdgeRows`).

Edge reasons (JSON, compact), stored once per distinct content as an AssumeReason that edges name by id (a
digest of the content): a 10,000-principal org has ~900k edges but ~7k distinct reasons, and the load
transaction holds every string it COPYs in memory.
`statements` = [[policy ref, statement index, via(, sid)], ...], all Allow statements (the decision is
ALLOWED); `conditions` = [[key, operator, values, effect, policy ref, statement index], ...] (effect Allow =
must hold, Deny = a deny that must not apply). A policy ref is `#trust` (the target role's trust policy; the
condition's values are then null: read them from that trust policy), `~<rest>` for
`arn:aws:iam::<source's account>:<rest>`, or the policy ARN. graphiam.queries.chains.hop expands them.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from graphiam.arn import account_of
from graphiam.derive.assume.candidates import WITH_SAML, Source
from graphiam.graph.context import build_context, environment
from graphiam.graph.snapshot import PrincipalInfo, Snapshot
from graphiam.policy import PolicySource, Request, evaluate, parse_policy
from graphiam.policy.request import normalise_context
from graphiam.policy.witness import NO_CHOICES, Hop, Parts, candidate_statements, decide

TRUST_REF = "#trust"
# The identity side of a principal in an account that is not loaded: unknown, so assumed to allow.
UNKNOWN_IDENTITY = PolicySource(
    document=parse_policy(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole*", "Resource": "*"}],
        }
    ),
    policy_id="external-identity",
    name="identity policies of an account not loaded (assumed to allow)",
    kind="custom",
    via="custom",
)
_PTYPE = {
    "account": "Account",
    "everyone": "Anonymous",
    "service": "Service",
    "role": "AssumedRole",
    "session": "AssumedRole",
    "principal": "User",
}


@dataclass(frozen=True, kw_only=True)
class Verdict:
    """An edge's properties, the same whichever role of equivalent trust it points to (module docstring)."""

    statements: str
    conditions: str
    needs_conditions: bool

    @property
    def reason(self) -> str:
        return reason_id(self.statements, self.conditions)


def reason_id(statements: str, conditions: str) -> str:
    """The AssumeReason id of this content: 12 characters (kuzu stores strings up to 12 bytes inline) of a
    72-bit BLAKE2b digest; the store refuses an id already stored with other content."""
    digest = hashlib.blake2b(f"{len(statements)}:{statements}{conditions}".encode(), digest_size=9).digest()
    return base64.urlsafe_b64encode(digest).decode()


class EdgeRows:
    """Edge columns per source table, ready for COPY, and the service/external nodes they start from. Rows
    share their verdict's strings (columns of references, not one dict per edge: ~900k edges on 10k
    principals)."""

    COLUMNS = ("from", "to", "action", "reason", "needs_conditions")

    def __init__(self) -> None:
        self.columns: dict[str, dict[str, list[Any]]] = {}
        self.nodes: dict[str, tuple[str, str, str | None]] = {}  # id -> (table, kind, account)
        self.reasons: dict[str, tuple[str, str]] = {}  # reason id -> (statements, conditions)
        self._ids: dict[int, tuple[Verdict, str]] = {}  # id(verdict) -> (verdict, its reason id)

    def add(self, source: Source, role: PrincipalInfo, verdict: Verdict) -> None:
        self.add_many(source.table, source.action, (source.id,), role, verdict)
        if source.info is None:
            self.nodes[source.id] = (source.table, source.kind, source.account)

    def add_many(
        self, table: str, action: str, ids: Sequence[str], role: PrincipalInfo, verdict: Verdict
    ) -> None:
        cols = self.columns.get(table)
        if cols is None:
            cols = self.columns[table] = {c: [] for c in self.COLUMNS}
        rid = self.reason_of(verdict)
        n = len(ids)
        cols["from"] += ids
        cols["to"] += [role.arn] * n
        cols["action"] += [action] * n
        cols["reason"] += [rid] * n
        cols["needs_conditions"] += [verdict.needs_conditions] * n

    def reason_of(self, verdict: Verdict) -> str:
        """The AssumeReason id of `verdict`, its content recorded."""
        hit = self._ids.get(id(verdict))
        if hit is not None and hit[0] is verdict:
            return hit[1]
        rid = verdict.reason
        content = (verdict.statements, verdict.conditions)
        if self.reasons.setdefault(rid, content) != content:
            raise ValueError(f"edge reason id `{rid}` names two contents (digest collision)")
        self._ids[id(verdict)] = (verdict, rid)  # the verdict kept: its id stays its own
        return rid

    def add_columns(
        self, table: str, action: str, ids: list[str], target: str, reasons: list[str], needs: list[bool]
    ) -> None:
        """Edges from `ids` into `target`, each with its reason id (`reason_of`) and `needs_conditions`."""
        cols = self.columns.get(table)
        if cols is None:
            cols = self.columns[table] = {c: [] for c in self.COLUMNS}
        n = len(ids)
        cols["from"] += ids
        cols["to"] += [target] * n
        cols["action"] += [action] * n
        cols["reason"] += reasons
        cols["needs_conditions"] += needs

    def all(self) -> list[dict[str, Any]]:
        """Every edge as a row, its reason expanded to `statements` and `conditions` (tests)."""
        out = []
        for cols in self.columns.values():
            for values in zip(*(cols[c] for c in self.COLUMNS), strict=True):
                row = dict(zip(self.COLUMNS, values, strict=True))
                row["statements"], row["conditions"] = self.reasons[row.pop("reason")]
                out.append(row)
        return out

    def __len__(self) -> int:
        return sum(len(c["from"]) for c in self.columns.values())


def compact_ref(policy_id: str, trust_id: str | None, account: str | None) -> str:
    """`#trust` for the target's trust policy; `~rest` for `arn:aws:iam::<source account>:rest`."""
    if policy_id == trust_id:
        return TRUST_REF
    head = f"arn:aws:iam::{account}:"
    return "~" + policy_id[len(head) :] if account and policy_id.startswith(head) else policy_id


def to_verdict(hop: Hop, role: PrincipalInfo, account: str | None) -> Verdict:
    """The stored form (module docstring): an ALLOWED decision's statements are all Allow statements."""
    trust_id = role.trust.policy_id if role.trust is not None else None
    ms = []
    for m in hop.evaluation.matched:
        entry: list[Any] = [compact_ref(m.source.policy_id, trust_id, account), m.index, m.source.via]
        if m.sid is not None:
            entry.append(m.sid)
        ms.append(entry)
    cs = []
    for c in hop.conditions:
        ref = compact_ref(c["policy"], trust_id, account)
        cs.append(
            [
                c["key"],
                c["operator"],
                None if ref == TRUST_REF else c["values"],
                c["effect"],
                ref,
                c["statement"],
            ]
        )
    return Verdict(
        statements=json.dumps(ms, separators=(",", ":")),
        conditions=json.dumps(cs, separators=(",", ":")),
        needs_conditions=hop.needs_conditions,
    )


def decide_hop(
    snap: Snapshot, source: Source, role: PrincipalInfo, env: Mapping[str, str] | None = None
) -> Hop | None:
    """The engine's verdict on `source` assuming `role`, searching for a context when one is needed. The
    context is `graph.context`'s (the clock `env`, read once per derivation): time conditions are judged
    against now, and an IAM user's `aws:TokenIssueTime` can only be now (temporary credentials) or absent."""
    trust = role.trust
    if trust is None:
        return None
    p = source.info
    account: str | None
    built = build_context(p, snap, role.arn, {}, env=env)
    if p is not None:
        base = built.values
        identity, boundary = p.identity, p.boundary
        arn, account, ptype = p.arn, p.account, p.principal_type
    else:
        # a principal outside the graph: its own keys are free; the clock and the role's tags are not
        base = {**(env if env is not None else environment())}
        base.update(
            {
                k: v
                for k, v in built.values.items()
                if k.lower().startswith(("aws:resourcetag/", "iam:resourcetag/"))
            }
        )
        arn, account = source.id, source.account
        if source.kind == "federated":
            ptype = "SAML" if source.action == WITH_SAML else "WebIdentity"
        else:
            ptype = _PTYPE[source.kind]
        identity = (UNKNOWN_IDENTITY,) if source.kind in ("account", "role", "session", "principal") else ()
        boundary = None
        if source.kind in ("role", "session", "principal"):
            base.update({"aws:PrincipalArn": arn, "aws:PrincipalAccount": account or account_of(arn) or ""})
        elif source.kind == "account" and account:
            base["aws:PrincipalAccount"] = account
    action = source.action

    def run(witness: Mapping[str, Any]) -> Any:
        req = Request(
            action=action,
            resource=role.arn,
            principal_arn=arn,
            principal_account=account,
            principal_type=ptype,
            resource_account=role.account,
            context={**base, **witness},
        )
        return evaluate(
            req, identity=identity, boundaries=boundary, resource_policy=trust, resource_policy_required=True
        )

    def parts() -> Parts:
        ctx = normalise_context(base)
        lowered = action.lower()
        return Parts(
            trust=candidate_statements((trust,), lowered, role.arn, ctx, principal=(arn, account, ptype)),
            identity=candidate_statements(identity, lowered, role.arn, ctx),
            boundary=candidate_statements(boundary or (), lowered, role.arn, ctx),
        )

    return decide(run, parts, base, principal_known=p is not None, choices=built.choices if p else NO_CHOICES)
