"""Which catalogue actions a statement names, and for which of them its resources are unconstrained. Pure.

A Resource element leaves action `a` unconstrained when its entries match every resource `a` can be requested
on: `*` for an action without resource-level permissions (its request resource is `*`); otherwise every
resource of each required resource type, or of one of its resource types when none is marked required. "Every
resource of a type" is tested on two probe ARNs of the type's catalogue ARN format that share only its fixed
text (partition `aws`; different regions, accounts and names), so `*`, `arn:aws:s3:::*` and `arn:aws:s3:::*/*`
leave s3:GetObject unconstrained while `arn:aws:iam::*:policy/fn2-*`, one account, one region or a policy
variable constrain it. A NotResource element leaves `a` unconstrained unless its entries cover every resource
of `a` (so it is read as "everything but the listed resources").

Results are memoised per statement shape (its Action/NotAction and Resource/NotResource lists): generated and
real accounts repeat statements across many policies.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from graphiam.catalog import ActionInfo, Catalog
from graphiam.policy import Statement
from graphiam.policy.wildcard import Pattern

_PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")
_MULTI_SEGMENT = re.compile(r"(Path|ObjectName)$")
_CACHE_LIMIT = 16384


def probes(arn_format: str) -> tuple[str, str]:
    """Two ARNs of a resource type (catalogue ARN format) that share nothing but its fixed text."""

    def one(i: int) -> str:
        fixed = {
            "Partition": "aws",
            "Region": ("zz-probe-1", "yy-probe-2")[i],
            "Account": ("000000000000", "999999999999")[i],
        }

        def sub(m: re.Match[str]) -> str:
            name = m.group(1)
            if name in fixed:
                return fixed[name]
            return f"zq{i}/probe{i}" if _MULTI_SEGMENT.search(name) else f"zqprobe{i}"

        return _PLACEHOLDER.sub(sub, arn_format).replace("*", f"zqstar{i}")

    return one(0), one(1)


def mask_of(indices: Iterable[int], size: int) -> int:
    """The bit set (an int, bit i for index i) of `indices`, all below `size`: built as bytes, since setting
    thousands of bits one by one on a growing int is quadratic."""
    buf = bytearray((size + 7) // 8)
    for i in indices:
        buf[i >> 3] |= 1 << (i & 7)
    return int.from_bytes(buf, "little")


def bits(mask: int) -> list[int]:
    """The indices of the set bits of `mask`, ascending."""
    text = format(mask, "b")[::-1]
    out = []
    i = text.find("1")
    while i >= 0:
        out.append(i)
        i = text.find("1", i + 1)
    return out


@dataclass(frozen=True)
class StatementView:
    """Bit sets over `Coverage.actions` (bit i: the catalogue action of index i, in name order): a few
    kilobytes for a statement naming every action, where sets of action ids took hundreds."""

    covered: int  # the catalogue actions the Action/NotAction names
    free: int  # those of them whose every resource the Resource/NotResource leaves unconstrained
    whole: frozenset[str]  # services (lowercase) the Action/NotAction names whole: `s3:*`, `*`, NotAction


class Coverage:
    """Statement views over one catalogue, memoised. Actions are numbered in lowercase-name order
    (`actions`, `index`), and sets of them are bit sets (`mask_of`, `bits`)."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.actions: tuple[ActionInfo, ...] = tuple(
            sorted(catalog.actions(), key=lambda a: (a.full_name.lower(), a.full_name))
        )
        self.size = len(self.actions)
        self.index: dict[int, int] = {id(a): i for i, a in enumerate(self.actions)}  # id(ActionInfo) -> bit
        self.all = (1 << self.size) - 1
        self._views: dict[tuple[object, ...], StatementView] = {}
        self._patterns: dict[str, int] = {}
        self._type_covered: dict[tuple[tuple[str, ...], str], bool] = {}
        self._services: dict[str, int] = {}
        self._entries: dict[tuple[str, ...], tuple[frozenset[str] | None, bool]] = {}
        self._arn_services: dict[int, tuple[frozenset[str], frozenset[str]]] = {}
        self.wildcard_only = self.mask(i for i, a in enumerate(self.actions) if not a.resource_types)
        by_service: dict[str, list[int]] = {}
        for i, a in enumerate(self.actions):
            for rt in a.resource_types:
                by_service.setdefault(_arn_service(rt.arn_pattern), []).append(i)
        self._by_arn_service = {k: self.mask(v) for k, v in by_service.items()}
        # `covers` reads an action only through its resource types: actions with the same ones (a
        # "signature") are covered alike, so a statement is matched once per signature, not per action
        signatures: dict[tuple[tuple[str, bool], ...], list[int]] = {}
        for i, a in enumerate(self.actions):
            if a.resource_types:
                signatures.setdefault(
                    tuple((rt.arn_pattern, rt.required) for rt in a.resource_types), []
                ).append(i)
        self._signatures = [(self.actions[ids[0]], self.mask(ids)) for ids in signatures.values()]
        self._signature_of: list[int] = [-1] * self.size
        for n, ids in enumerate(signatures.values()):
            for i in ids:
                self._signature_of[i] = n
        by_sig_service: dict[str, list[int]] = {}
        for n, (a, _) in enumerate(self._signatures):
            for service in {_arn_service(rt.arn_pattern) for rt in a.resource_types}:
                by_sig_service.setdefault(service, []).append(n)
        self._signatures_of = by_sig_service

    def mask(self, indices: Iterable[int]) -> int:
        return mask_of(indices, self.size)

    def of_actions(self, actions: Iterable[ActionInfo]) -> int:
        """The bit set of catalogue actions."""
        return self.mask(self.index[id(a)] for a in actions)

    def service_ids(self, service: str) -> int:
        """The bit set of one service's actions."""
        hit = self._services.get(service)
        if hit is None:
            hit = self._services[service] = self.of_actions(self.catalog.actions(service))
        return hit

    def view(self, st: Statement) -> StatementView:
        names = tuple(
            sorted(a.lower() for a in (st.actions if st.actions is not None else st.not_actions or ()))
        )
        key = (st.actions is not None, names, st.resources, st.not_resources)
        hit = self._views.get(key)
        if hit is None:
            covered, named_whole = self._covered(st.actions is not None, names)
            if st.not_resources is None and any(r == "*" for r in st.resources or ()):
                free = covered
            else:
                whole = self._whole(st, covered)
                free = whole if st.not_resources is None else covered & ~whole
            hit = StatementView(covered=covered, free=free, whole=named_whole)
            if len(self._views) >= _CACHE_LIMIT:
                self._views.clear()
            self._views[key] = hit
        return hit

    def _whole(self, st: Statement, covered: int) -> int:
        """The actions of `covered` whose every resource the statement's (Not)Resource entries match."""
        pats = st.resource_patterns or ()
        key = tuple(p.source for p in pats)
        services, star = self._entry_facts(key, pats)
        out = covered & self.wildcard_only if star else 0
        candidates = covered & ~self.wildcard_only
        if services is not None:
            near = 0
            for s in services:
                near |= self._by_arn_service.get(s, 0)
            candidates &= near
            numbers: Iterable[int] = sorted({n for s in services for n in self._signatures_of.get(s, ())})
        elif candidates.bit_count() < len(self._signatures):
            numbers = sorted({self._signature_of[i] for i in bits(candidates)})
        else:
            numbers = range(len(self._signatures))
        for n in numbers:
            rep, ids = self._signatures[n]
            hit = ids & candidates
            if hit and self.covers(st, rep):
                out |= hit
        return out

    def _pattern(self, pattern: str) -> int:
        hit = self._patterns.get(pattern)
        if hit is None:
            hit = self.of_actions(self.catalog.expand(pattern))
            if len(self._patterns) >= _CACHE_LIMIT:
                self._patterns.clear()
            self._patterns[pattern] = hit
        return hit

    def _covered(self, positive: bool, names: tuple[str, ...]) -> tuple[int, frozenset[str]]:
        """The actions the Action (or NotAction) list covers, and the services it names whole (by what it
        says: `Catalog.services_granted_whole`, never because its patterns happen to cover a service)."""
        named = 0
        for p in names:
            named |= self._pattern(p)
        if positive:
            return named, frozenset(self.catalog.services_granted_whole(actions=names))
        return self.all & ~named, frozenset(self.catalog.services_granted_whole(not_actions=names))

    def covers(self, st: Statement, a: ActionInfo) -> bool:
        """Whether the statement's Resource (or NotResource) entries match every resource `a` is asked on."""
        pats = st.resource_patterns or ()
        if any(p.source == "*" for p in pats):
            return True
        key = tuple(p.source for p in pats)
        services, star = self._entry_facts(key, pats)
        if not a.resource_types:
            return star
        if services is not None:  # every entry names one ARN service: a quick no for the others
            required_services, all_services = self._services_of(a)
            if (
                (not required_services <= services)
                if required_services
                else services.isdisjoint(all_services)
            ):
                return False
        required = [rt for rt in a.resource_types if rt.required]
        hits = (self._covered_type(key, pats, rt.arn_pattern) for rt in required or a.resource_types)
        return all(hits) if required else any(hits)

    def _entry_facts(
        self, key: tuple[str, ...], pats: Sequence[Pattern]
    ) -> tuple[frozenset[str] | None, bool]:
        """The ARN services the entries name (None when one does not name exactly one), and whether one
        matches the request resource `*` of actions without resource types."""
        hit = self._entries.get(key)
        if hit is None:
            services: set[str] | None = set()
            for source in key:
                parts = source.split(":", 3)
                if (
                    services is None
                    or len(parts) < 4
                    or parts[0] != "arn"
                    or any(c in parts[2] for c in "*?$")
                ):
                    services = None
                else:
                    services.add(parts[2].lower())
            hit = (None if services is None else frozenset(services), any(p.matches("*", {}) for p in pats))
            if len(self._entries) >= _CACHE_LIMIT:
                self._entries.clear()
            self._entries[key] = hit
        return hit

    def _services_of(self, a: ActionInfo) -> tuple[frozenset[str], frozenset[str]]:
        hit = self._arn_services.get(id(a))
        if hit is None:
            required = frozenset(_arn_service(rt.arn_pattern) for rt in a.resource_types if rt.required)
            hit = self._arn_services[id(a)] = (
                required,
                frozenset(_arn_service(rt.arn_pattern) for rt in a.resource_types),
            )
        return hit

    def unconstrained(self, st: Statement, a: ActionInfo) -> bool:
        """`st` applies to `a` without resource constraints: its Resource covers every resource of `a`, or its
        NotResource does not exclude them all."""
        return self.covers(st, a) if st.not_resources is None else not self.covers(st, a)

    def _covered_type(self, key: tuple[str, ...], pats: Sequence[Pattern], arn_format: str) -> bool:
        hit = self._type_covered.get((key, arn_format))
        if hit is None:
            first, second = probes(arn_format)
            hit = any(p.matches(first, {}) and p.matches(second, {}) for p in pats)
            if len(self._type_covered) >= 4 * _CACHE_LIMIT:
                self._type_covered.clear()
            self._type_covered[(key, arn_format)] = hit
        return hit


def _arn_service(arn_format: str) -> str:
    parts = arn_format.split(":", 3)
    return parts[2].lower() if len(parts) > 2 else ""
