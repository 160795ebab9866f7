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

The engine's verdict on one (principal, role) pair and the rows edges are written as: `hops`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from graphiam.arn import account_of
from graphiam.derive.assume.candidates import (
    Index,
    Match,
    Profile,
    Source,
    candidates,
    stored,
)
from graphiam.derive.assume.groups import Members
from graphiam.derive.assume.hops import EdgeRows, Verdict, decide_hop, to_verdict
from graphiam.derive.assume.shared import RoleEdges, Shared
from graphiam.graph.context import environment
from graphiam.graph.scp_gate import ScpGate
from graphiam.graph.snapshot import PrincipalInfo, Snapshot
from graphiam.policy import PolicyDocument
from graphiam.store import Database
from graphiam.store import assume_store as S

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
        self.bulk = Shared(self)  # the per-class path of accounts named as a whole

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
            for prof, match in self.index.everyone(role, only):
                if prof.info.arn not in cand.named:
                    self.shared(role, prof, match)
        per_member = role.trust is not None and self.index.trust_tests_principal(role.trust)
        for account in cand.accounts:
            if only is not None and account not in only:
                continue
            if per_member or self.cache is None or role.trust is None:
                self.account_alone(role, account, cand.named, per_member=per_member)
            else:
                self.bulk.edges(role, account, cand.named)

    def account_alone(
        self, role: PrincipalInfo, account: str, named: Mapping[str, Source], *, per_member: bool
    ) -> None:
        """Add the edges from the principals of `account` (named as a whole by the trust) into `role`, each
        principal on its own (the trust looks at each principal's own keys, or sharing is off)."""
        singles, classes, hits = self.index.account_candidates(account, role)
        for prof, match in singles:
            if prof.info.arn not in named:
                self.shared(role, prof, match)
        for members in classes:
            todo = [
                m
                for m in members
                if m.info.arn not in hits and m.info.arn != role.arn and m.info.arn not in named
            ]
            if not todo:
                continue
            if per_member or self.cache is None:
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
                self.add_members(role, todo, verdict)

    def add_members(self, role: PrincipalInfo, members: Sequence[Profile], verdict: Verdict) -> None:
        """Edges from `members` into `role` with one verdict, but for those the SCPs certainly deny."""
        out = RoleEdges(self, role)
        out.add(Members(members), verdict, None)
        out.flush()


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
