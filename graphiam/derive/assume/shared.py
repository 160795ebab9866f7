"""The edges from the principals of an account a trust policy names as a whole, decided per class of
principals and per group of roles, written in bulk.

A role's trust naming an account (its root or its id) admits every principal of the account whose identity
policies allow `sts:AssumeRole` on the role. Principals whose role-dependent statements match the role come in
`groups.VaryingClass`es (one `Match` per class), the others in the static groups of `Index.classes`. Their
verdict is the same on every role of one `role_group`: the same trust family (`Index.trust_family`), the same
account, the same values of the tags a statement reads (the engine reads a role's tags through those keys
alone). So each (role group, class, match) is decided once, through `Deriver.verdict` and its sharing key
(`Index.share_key`), on the first role that needs it; every other role of the group only writes edges.
"""

from __future__ import annotations

import json
from collections.abc import Container, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from graphiam.derive.assume.candidates import (
    ASSUME_ROLE,
    Match,
    Profile,
    Source,
    stored,
    tag_keys,
    tag_values,
)
from graphiam.derive.assume.groups import AccountGroups, Members
from graphiam.derive.assume.hops import Verdict
from graphiam.graph.snapshot import PrincipalInfo

if TYPE_CHECKING:
    from graphiam.derive.assume.edges import Deriver


class _Mark:
    """A plan entry's state besides a verdict or None (no edge)."""


_UNKNOWN, _ALONE = _Mark(), _Mark()  # not decided yet; decide each principal alone (no sharing key)
Decided = Verdict | _Mark | None


class Shared:
    """`Deriver.account_shared`'s memos, for one derivation."""

    def __init__(self, deriver: Deriver) -> None:
        self.deriver = deriver
        self.index = deriver.index
        self.groups: dict[str, AccountGroups] = {}  # account -> its role-dependent principals by class
        self.static: dict[str, list[list[Profile]]] = {}  # account -> `Index.classes`, numbered
        self.families: dict[tuple[int, str], Any] = {}  # (trust document id, account) -> its family
        self.varying: dict[tuple[Any, ...], dict[tuple[int, int], Decided]] = {}  # per (group, account)
        self.plans: dict[tuple[Any, ...], StaticPlan] = {}  # per (group, account)

    def role_group(self, role: PrincipalInfo, account: str) -> tuple[Any, ...]:
        """What a verdict on a principal of `account` reads of `role` besides which of the principal's
        statements match it: its trust policy (`Index.trust_family`; its text when that is None), its
        account, and the values of the tags that the trust or a statement for sts:AssumeRole of the account's
        principals reads."""
        assert role.trust is not None
        doc = role.trust.document
        family = self.families.get((id(doc), account), _UNKNOWN)
        if family is _UNKNOWN:
            family = self.families[(id(doc), account)] = self.index.trust_family(role.trust, account) or (
                json.dumps(doc.raw, sort_keys=True),
            )
        keys = self.index.account_tag_keys(account) | tag_keys(self.index.trust_refs(role.trust))
        return (family, role.account, tag_values(role.tags, keys) if keys else ())

    def edges(self, role: PrincipalInfo, account: str, named: Mapping[str, Source]) -> None:
        """Add the edges from the principals of `account` (but those the trust names one by one) into
        `role`."""
        d = self.deriver
        groups = self.groups.get(account)
        if groups is None:
            groups = self.groups[account] = AccountGroups(self.index.by_account.get(account, ()))
        static = self.static.get(account)
        if static is None:
            static = self.static[account] = list(self.index.classes[account].values())
        group = (self.role_group(role, account), account)
        skip = {role.arn, *named}
        of = groups.of
        hits = groups.hits(role.arn)  # the classes whose role-dependent statements match the role
        clashing = {of[a] for a in skip if a in of}
        out = RoleEdges(d, role)

        def decide(todo: list[Profile], match: Match) -> Decided:
            share = self.index.share_key(role, todo[0], match)
            return _ALONE if share is None else d.verdict(role, stored(todo[0].info), share)

        # the principals whose role-dependent statements match the role, per class
        varying = self.varying.setdefault(group, {})
        for number, positions in hits.items():
            verdict = varying.get((number, positions), _UNKNOWN)
            if verdict is None:
                continue
            vc = groups.classes[number]
            if verdict is _UNKNOWN:
                match = vc.match(positions)
                if not match.identity_allow:
                    varying[(number, positions)] = None
                    continue
                todo = [m for m in vc.members if m.info.arn not in skip]
                if not todo:
                    continue  # decided on another role
                verdict = varying[(number, positions)] = decide(todo, match)
            if isinstance(verdict, Verdict):
                out.add(vc.bulk, verdict, skip if number in clashing else None)
            else:
                match = vc.match(positions)
                for prof in vc.members:
                    if prof.info.arn not in skip:
                        d.shared(role, prof, match)
        # the others, per static group; a principal of a class `hits` holds is decided above
        excluded = _Excluded(skip, of, hits)
        plan = self.plans.get(group)
        if plan is None:
            plan = self.plans[group] = StaticPlan(len(static))
        for i in sorted(plan.pending):
            todo = [m for m in static[i] if m.info.arn not in excluded]
            if todo:
                plan.settle(i, decide(todo, todo[0].static), static[i], of)
        for batch in plan.batches:
            if batch.gated:
                out.add(Members(batch.profiles), batch.verdict, excluded)
            else:
                out.extend(
                    batch.verdict,
                    [a for a, n in batch.users if n not in hits and a not in skip],
                    [a for a, n in batch.roles if n not in hits and a not in skip],
                )
        for i in plan.alone:
            for prof in static[i]:
                if prof.info.arn not in excluded:
                    d.shared(role, prof, prof.static)
        out.flush()


class _Excluded:
    """The principals a role's static groups leave out: the role, those its trust names, the hits."""

    __slots__ = ("skip", "of", "hits")

    def __init__(self, skip: set[str], of: Mapping[str, int], hits: Mapping[int, int]) -> None:
        self.skip, self.of, self.hits = skip, of, hits

    def __contains__(self, arn: object) -> bool:
        return isinstance(arn, str) and (arn in self.skip or self.of.get(arn) in self.hits)


class RoleEdges:
    """The edges into one role from stored principals, gathered per table and written at once."""

    def __init__(self, deriver: Deriver, role: PrincipalInfo) -> None:
        self.deriver = deriver
        self.role = role
        self.users: list[str] = []
        self.roles: list[str] = []
        self.user_reasons: list[str] = []
        self.role_reasons: list[str] = []
        self.user_needs: list[bool] = []
        self.role_needs: list[bool] = []

    def extend(self, verdict: Verdict, users: Sequence[str], roles: Sequence[str]) -> None:
        """Edges from `users` and `roles` with `verdict` (the SCPs left aside: none governs them)."""
        rid = self.deriver.out.reason_of(verdict)
        if users:
            self.users += users
            self.user_reasons += [rid] * len(users)
            self.user_needs += [verdict.needs_conditions] * len(users)
        if roles:
            self.roles += roles
            self.role_reasons += [rid] * len(roles)
            self.role_needs += [verdict.needs_conditions] * len(roles)

    def add(self, members: Members, verdict: Verdict, exclude: Container[str] | None) -> None:
        """Edges from `members` (but those in `exclude`, and those the SCPs certainly deny) with `verdict`."""
        if exclude is None and not members.gated:
            self.extend(verdict, members.users, members.roles)
            return
        gate, target = self.deriver.gate, self.role.arn
        users: list[str] = []
        roles: list[str] = []
        for m in members.profiles:
            p = m.info
            if exclude is not None and p.arn in exclude:
                continue
            if p.scps is not None and not gate.allows(p, ASSUME_ROLE, target):
                continue
            (users if p.kind == "user" else roles).append(p.arn)
        self.extend(verdict, users, roles)

    def flush(self) -> None:
        out, target = self.deriver.out, self.role.arn
        if self.users:
            out.add_columns("User", ASSUME_ROLE, self.users, target, self.user_reasons, self.user_needs)
        if self.roles:
            out.add_columns("Role", ASSUME_ROLE, self.roles, target, self.role_reasons, self.role_needs)


_Pairs = list[tuple[str, int | None]]  # (principal ARN, its class number in `AccountGroups.of`)


class _Batch:
    """The members of the static groups settled with one verdict, grown as groups settle."""

    __slots__ = ("verdict", "profiles", "users", "roles", "gated")

    def __init__(self, verdict: Verdict) -> None:
        self.verdict = verdict
        self.profiles: list[Profile] = []
        self.users: _Pairs = []
        self.roles: _Pairs = []
        self.gated = False  # SCPs govern a member: each is gated

    def add(self, members: Sequence[Profile], of: Mapping[str, int]) -> None:
        self.profiles += members
        for m in members:
            p = m.info
            (self.users if p.kind == "user" else self.roles).append((p.arn, of.get(p.arn)))
            self.gated = self.gated or p.scps is not None


class StaticPlan:
    """Per role group (`Shared.role_group`) and account, the verdict of each static group of principals
    (`Index.classes`), settled on the first role where the group has a principal to decide, its members
    gathered per verdict (`batches`)."""

    def __init__(self, size: int) -> None:
        self.pending: set[int] = set(range(size))
        self.alone: list[int] = []  # groups whose principals are decided one by one
        self.batches: list[_Batch] = []
        self._batch: dict[int, _Batch] = {}  # id(verdict) -> its batch

    def settle(self, i: int, verdict: Decided, members: Sequence[Profile], of: Mapping[str, int]) -> None:
        self.pending.discard(i)
        if verdict is _ALONE:
            self.alone.append(i)
        elif isinstance(verdict, Verdict):
            batch = self._batch.get(id(verdict))
            if batch is None:
                batch = self._batch[id(verdict)] = _Batch(verdict)
                self.batches.append(batch)
            batch.add(members, of)
