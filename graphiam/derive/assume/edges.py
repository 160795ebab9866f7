"""Derived CAN_ASSUME edges: who can assume which role, decided by the policy engine.

Implements IAM User Guide "How IAM roles differ from resource-based policies", "Policy evaluation logic" (same
account) and "Cross-account policy evaluation logic", as the engine (graphiam.policy.evaluate) encodes them:
- a trust policy naming a user's ARN lets the user in without any identity allow, and the user's permissions
  boundary does not cap it; naming a role's ARN is capped by that role's boundary;
- naming the account (`arn:aws:iam::ID:root` or `"ID"`) delegates: the principal's identity policies, capped
  by its boundary, must allow `sts:AssumeRole` on the role; across accounts both sides must allow;
- a role assumes itself only when its trust names its own ARN (AWS, "Announcing an update to IAM role trust
  policy behavior", 2022): no self-edge from an account-root or `*` trust;
- service principals (`ec2.amazonaws.com`: instance profiles hand the role to EC2), federated providers (SAML:
  `sts:AssumeRoleWithSAML`, OIDC: `sts:AssumeRoleWithWebIdentity`) and `*` are decided by the trust alone;
- another account's principals: when the account is loaded, its users and roles (with their own identity
  policies); when it is not, one `ExternalPrincipal` (the account root, or the named ARN) whose identity side
  is unknown and assumed to allow.
Conditions: see `policy.witness.decide` (a hop needing MFA is an edge marked `needs_conditions`).

Candidates are prefiltered and principals admitted through their account share verdicts when nothing a
statement looks at differs (`assume_candidates`); every verdict is the engine's.

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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from graphiam.arn import account_of
from graphiam.derive.assume.candidates import (
    ASSUME_ROLE,
    WITH_SAML,
    Index,
    Match,
    Profile,
    Source,
    candidates,
    stored,
)
from graphiam.graph.context import build_context, environment
from graphiam.graph.scp_gate import ScpGate
from graphiam.graph.snapshot import PrincipalInfo, Snapshot
from graphiam.policy import PolicyDocument, PolicySource, Request, evaluate, parse_policy
from graphiam.policy.request import normalise_context
from graphiam.policy.witness import NO_CHOICES, Hop, Parts, candidate_statements, decide
from graphiam.store import Database
from graphiam.store import assume_store as S

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
        self._ids: dict[Verdict, str] = {}

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
        rid = self._ids.get(verdict)
        if rid is None:
            rid = self._ids[verdict] = verdict.reason
            content = (verdict.statements, verdict.conditions)
            if self.reasons.setdefault(rid, content) != content:
                raise ValueError(f"edge reason id `{rid}` names two contents (digest collision)")
        n = len(ids)
        cols["from"] += ids
        cols["to"] += [role.arn] * n
        cols["action"] += [action] * n
        cols["reason"] += [rid] * n
        cols["needs_conditions"] += [verdict.needs_conditions] * n

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


Cache = dict[tuple[Any, ...], "Verdict | None"]


class Deriver:
    """Decides every candidate of each role; equivalent principals share verdicts (`candidates`)."""

    def __init__(self, snap: Snapshot, loaded_accounts: Iterable[str] = (), *, share: bool = True) -> None:
        self.snap = snap
        self.index = Index(snap, loaded_accounts)
        self.cache: Cache | None = {} if share else None
        self.out = EdgeRows()
        self.gate = ScpGate(snap)
        self.env = environment()  # the clock, read once: every hop is judged at the same moment

    def add(self, src: Source, role: PrincipalInfo, verdict: Verdict) -> None:
        """Draw the edge unless the source's SCPs certainly deny the call."""
        if self.gate.allows(src.info, src.action, role.arn):
            self.out.add(src, role, verdict)

    def verdict(self, role: PrincipalInfo, src: Source, key: tuple[Any, ...] | None) -> Verdict | None:
        if key is not None and self.cache is not None and key in self.cache:
            return self.cache[key]
        hop = decide_hop(self.snap, src, role, self.env)
        verdict = None if hop is None else to_verdict(hop, role, src.account)
        if key is not None and self.cache is not None:
            self.cache[key] = verdict
        return verdict

    def shared(self, role: PrincipalInfo, prof: Profile, match: Match) -> None:
        key = self.index.share_key(role, prof, match) if self.cache is not None else None
        src = stored(prof.info)
        verdict = self.verdict(role, src, key)
        if verdict is not None:
            self.add(src, role, verdict)

    def role(self, role: PrincipalInfo, only: frozenset[str] | None = None) -> None:
        """Add every edge into `role` (with `only`: every edge from a principal of those accounts, or from the
        external principal standing for one of them)."""
        cand = candidates(self.index, role)
        for src in cand.named.values():
            if only is not None and src.account not in only:
                continue
            verdict = self.verdict(role, src, None)
            if verdict is not None:
                self.add(src, role, verdict)
        if cand.everyone:
            for prof, match in self.index.everyone(role):
                if prof.info.arn not in cand.named and (only is None or prof.info.account in only):
                    self.shared(role, prof, match)
        per_member = role.trust is not None and self.index.trust_tests_principal(role.trust)
        for account in cand.accounts:
            if only is not None and account not in only:
                continue
            singles, classes, hits = self.index.account_candidates(account, role)
            for prof, match in singles:
                if prof.info.arn not in cand.named:
                    self.shared(role, prof, match)
            for members in classes:
                todo = [
                    m
                    for m in members
                    if m.info.arn not in hits and m.info.arn != role.arn and m.info.arn not in cand.named
                ]
                if not todo:
                    continue
                if per_member or self.cache is None:  # the trust looks at each principal's own keys
                    for prof in todo:
                        self.shared(role, prof, prof.static)
                    continue
                rep = todo[0]
                key = self.index.share_key(role, rep, rep.static)
                if key is None:
                    for prof in todo:
                        self.shared(role, prof, prof.static)
                    continue
                verdict = self.verdict(role, stored(rep.info), key)
                if verdict is not None:
                    for kind in ("user", "role"):
                        ids = [
                            m.info.arn
                            for m in todo
                            if m.info.kind == kind and self.gate.allows(m.info, ASSUME_ROLE, role.arn)
                        ]
                        if ids:
                            self.out.add_many(
                                "User" if kind == "user" else "Role", ASSUME_ROLE, ids, role, verdict
                            )


def affected_roles(snap: Snapshot, touched: frozenset[str]) -> list[PrincipalInfo]:
    """Roles whose incoming edges a change to `touched` accounts can alter: the touched accounts' roles, and
    every role whose trust names a touched account (its root or one of its principals), `*`, or
    NotPrincipal."""
    return [
        r
        for r in snap.principals.values()
        if r.kind == "role"
        and (r.account in touched or (r.trust is not None and trust_mentions(r.trust.document, touched)))
    ]


def trust_mentions(trust: PolicyDocument, accounts: frozenset[str]) -> bool:
    """Whether a trust policy names one of `accounts` (the account, or a principal of it), `*` or uses
    NotPrincipal: a change to those accounts can change who may assume the role."""
    for st in trust.statements:
        if st.not_principals is not None:
            return True
        for entry in (st.principals or {}).get("AWS", ()):
            if entry == "*" or entry in accounts or account_of(entry) in accounts:
                return True
    return False


def compute_edges(
    snap: Snapshot,
    roles: Iterable[PrincipalInfo],
    loaded_accounts: Iterable[str] = (),
    *,
    share: bool = True,
    only: tuple[Iterable[PrincipalInfo], frozenset[str]] | None = None,
) -> EdgeRows:
    """Every CAN_ASSUME edge into `roles` (pure: no database), and with `only` = (more roles, accounts) the
    edges into more roles from principals of those accounts. `share=False` decides every pair on its own."""
    d = Deriver(snap, loaded_accounts, share=share)
    for r in roles:
        d.role(r)
    if only is not None:
        for r in only[0]:
            d.role(r, only[1])
    return d.out


def derive_can_assume(db: Database, snap: Snapshot, touched: frozenset[str]) -> None:
    """Replace the CAN_ASSUME edges a change to `touched` accounts can alter; call inside the write
    transaction. Those are the edges into the touched accounts' roles, and the edges from their principals
    (or the external principal standing for one of them) into roles elsewhere whose trust names them
    (`affected_roles`): an edge between two principals of other accounts depends on neither. The snapshot
    needs only the principals these edges can join (`derive.scope`)."""
    roles = affected_roles(snap, touched)
    own = [r for r in roles if r.account in touched]
    elsewhere = [r for r in roles if r.account not in touched]
    S.delete_edges(db, role_arns=[r.arn for r in own], accounts=sorted(touched))
    S.delete_edges_from(db, role_arns=[r.arn for r in elsewhere], accounts=sorted(touched))
    edges = compute_edges(snap, own, S.loaded_accounts(db), only=(elsewhere, touched))
    S.write_edges(db, edges.columns, edges.nodes, edges.reasons)
    S.drop_orphans(db)
