"""Principals of one account grouped into classes that every trust naming the account decides alike, and
indexed by what their role-dependent statements name.

A principal's statements for `sts:AssumeRole` whose Resource is not `*` (`Profile.varying`) decide which roles
they apply to. Principals with the same account, type, boundary presence, statements for `*` and
role-dependent statements (the same statement objects from the same policies, applied the same way) and the
same values of every context key those statements read get the same `Match` on every role, hence the same
sharing key (`Index.share_key`): one match and one key per class and role, not per principal. Each statement
of a class is indexed once: by the ARNs it names when its Resource entries are literal, else scanned per role.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from graphiam.derive.assume.candidates import Match, Profile, statement_refs
from graphiam.policy import Statement

_LITERAL = re.compile(r"[*?$]")


class Members:
    """Principals that get one verdict together, ready to be written as edges in bulk."""

    __slots__ = ("profiles", "arns", "users", "roles", "gated")

    def __init__(self, profiles: Iterable[Profile]) -> None:
        self.profiles = list(profiles)
        self.arns = frozenset(p.info.arn for p in self.profiles)
        self.users = [p.info.arn for p in self.profiles if p.info.kind == "user"]
        self.roles = [p.info.arn for p in self.profiles if p.info.kind == "role"]
        self.gated = any(p.info.scps is not None for p in self.profiles)  # SCPs may deny some


class VaryingClass:
    """Principals of one account whose role-dependent statements match the same roles the same way."""

    __slots__ = ("number", "rep", "members", "bulk", "_matches")

    def __init__(self, number: int, rep: Profile) -> None:
        self.number = number
        self.rep = rep
        self.members: list[Profile] = []
        self.bulk = Members(())  # `members`, once the class is complete
        self._matches: dict[int, Match] = {}

    def match(self, positions: int) -> Match:
        """`Profile.match` of every member on a role the statements of `rep.varying` at `positions` (a bit
        set) match."""
        hit = self._matches.get(positions)
        if hit is None:
            hit = self._matches[positions] = self.rep.match_at(_Bits(positions))
        return hit


class _Bits:
    """A bit set as a container of positions."""

    __slots__ = ("bits",)

    def __init__(self, bits: int) -> None:
        self.bits = bits

    def __contains__(self, i: object) -> bool:
        return isinstance(i, int) and bool(self.bits >> i & 1)


def class_key(prof: Profile) -> tuple[Any, ...]:
    """What `VaryingClass` members share (module docstring)."""
    refs = set(prof.star_refs)
    for st, *_ in prof.varying:
        refs |= statement_refs(st)
    return (
        prof.head,
        prof.star,
        prof.star_at,
        tuple((id(st), ref, allow) for st, ref, allow, _ in prof.varying),
        prof.varying_at,
        tuple((k, prof.ctx.get(k)) for k in sorted(refs)),
    )


class AccountGroups:
    """The role-dependent principals of one account, in `VaryingClass`es, indexed by their statements."""

    def __init__(self, profiles: Iterable[Profile]) -> None:
        self.classes: list[VaryingClass] = []
        self.of: dict[str, int] = {}  # principal ARN -> its class number
        self.exact: dict[str, list[tuple[int, int]]] = {}  # literal Resource ARN -> (class, position bit)
        # the other role-dependent statements, once per statement and values of its Resource's variables:
        # (statement, a member's context, [(class, position bit), ...])
        self.wild: list[tuple[Statement, dict[str, Any], list[tuple[int, int]]]] = []
        wild: dict[tuple[Any, ...], list[tuple[int, int]]] = {}
        numbers: dict[tuple[Any, ...], int] = {}
        for prof in profiles:
            if not prof.varying:
                continue
            key = class_key(prof)
            number = numbers.get(key)
            if number is None:
                number = numbers[key] = len(self.classes)
                vc = VaryingClass(number, prof)
                self.classes.append(vc)
                for i, (st, *_) in enumerate(prof.varying):
                    if (
                        st.not_resources is None
                        and st.resources is not None
                        and not any(_LITERAL.search(r) for r in st.resources)
                    ):
                        for r in dict.fromkeys(st.resources):
                            self.exact.setdefault(r, []).append((number, 1 << i))
                    else:
                        keys = sorted({k for pat in st.resource_patterns or () for k in pat.variable_keys})
                        wkey = (id(st), tuple(prof.ctx.get(k.lower()) for k in keys))
                        found = wild.get(wkey)
                        if found is None:
                            found = wild[wkey] = []
                            self.wild.append((st, prof.ctx, found))
                        found.append((number, 1 << i))
            self.classes[number].members.append(prof)
            self.of[prof.info.arn] = number
        for vc in self.classes:
            vc.bulk = Members(vc.members)

    def hits(self, role_arn: str) -> dict[int, int]:
        """Class number -> the positions (a bit set) of its role-dependent statements matching `role_arn`."""
        found: dict[int, int] = {}
        for number, bit in self.exact.get(role_arn, ()):
            found[number] = found.get(number, 0) | bit
        for st, ctx, where in self.wild:
            if st.matches_resource(role_arn, ctx):
                for number, bit in where:
                    found[number] = found.get(number, 0) | bit
        return found
