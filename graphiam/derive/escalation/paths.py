"""Path search over assumption and escalation edges: every simple path, shortest first, bounded.

Pure: built from the stored edges (`Step`s), the fan-out edges (`Fan`: one actor reaching every member of a
`TargetSet` by one technique, stored once instead of one edge per target) and the set of principals that
are administrator now.
- `to_admin(source)`: paths that end in administrator: at a principal that is administrator now, over an
  edge whose technique makes its target administrator (`Step.admin`), or at a principal that can make
  itself administrator (its self-loop is appended as the last step). A path stops at the first of these,
  and never repeats a principal.
- `between(source, target)`: every simple path from `source` to `target`.
- `into(target)`: every simple path from anyone to `target`.
Iterative deepening with a distance bound (a reverse breadth-first search) keeps the depth-first search to
the branches that can still reach a goal in the hops left; parallel edges (several techniques, or several
edges of one technique, between the same two principals) give one path each. Edges are visited in one
canonical order (target, technique, ordinal), so a truncated answer (`limit`) does not depend on storage
order: within one length, the paths kept are the first ones by target names.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

from graphiam.cancel import NEVER, Cancel
from graphiam.derive.escalation.edge_table import (
    EdgeTable,
    Label,
    Step,
    StepMaker,
    loops,
    steps_in,
    steps_out,
)
from graphiam.derive.escalation.numbered import NumberedGraph

__all__ = ["EdgeTable", "Fan", "Label", "Path", "PathGraph", "Step", "TargetSet"]


@dataclass(frozen=True, kw_only=True)
class TargetSet:
    """Principals one fan-out edge reaches: sorted, with how many parallel edges lead to each (default 1)."""

    id: str
    members: tuple[str, ...]
    counts: dict[str, int] = field(default_factory=dict)
    member_set: frozenset[str] = frozenset()

    @classmethod
    def of(cls, id: str, arns: Iterable[str]) -> TargetSet:
        counts: dict[str, int] = {}
        for a in arns:
            counts[a] = counts.get(a, 0) + 1
        members = tuple(sorted(counts))
        return cls(
            id=id,
            members=members,
            counts={a: n for a, n in counts.items() if n > 1},
            member_set=frozenset(members),
        )

    def count(self, arn: str) -> int:
        return self.counts.get(arn, 1)


@dataclass(frozen=True, kw_only=True)
class Fan:
    """`source` reaches every member of `targets` except itself with `technique`."""

    source: str
    technique: str
    admin: bool
    targets: TargetSet


@dataclass(frozen=True, kw_only=True)
class Path:
    steps: tuple[Step, ...]
    reaches_admin: bool = False

    @property
    def needs(self) -> tuple[str, ...]:
        return tuple(sorted({k for s in self.steps for k in s.needs}))

    def sort_key(self) -> tuple[Any, ...]:
        return len(self.steps), [(s.target, s.technique) for s in self.steps]


_INF = 1 << 30


def _out_key(s: Step) -> tuple[Any, ...]:
    return s.target, s.technique, s.ordinal


def _in_key(s: Step) -> tuple[Any, ...]:
    return s.source, s.technique, s.ordinal


def _fan_steps(f: Fan, arns: Iterable[str], skip: str | None = None) -> Iterator[Step]:
    for b in arns:
        if b != f.source and b != skip:
            for i in range(f.targets.count(b)):
                yield Step(
                    source=f.source, target=b, technique=f.technique, permissions=(), admin=f.admin, ordinal=i
                )


class _Within:
    """Members of target sets at distance <= bound, per distance map (memoised per set and bound); `by_id`:
    the distances by node number (`_INF` for none)."""

    def __init__(self, dist: dict[str, int], ids: Mapping[str, int] | None = None, n: int = 0) -> None:
        self.dist = dist
        self.by_id = [_INF] * n
        if ids is not None:
            for a, d in dist.items():
                i = ids.get(a)
                if i is not None and i < n:
                    self.by_id[i] = d
        self._upto: dict[int, list[str]] = {}
        self._memo: dict[tuple[str, int], list[str]] = {}

    def upto(self, bound: int) -> list[str]:
        hit = self._upto.get(bound)
        if hit is None:
            hit = self._upto[bound] = sorted(a for a, d in self.dist.items() if d <= bound)
        return hit

    def members(self, ts: TargetSet, bound: int) -> list[str]:
        key = (ts.id, bound)
        hit = self._memo.get(key)
        if hit is None:
            near = self.upto(bound)
            if len(near) < len(ts.members):
                hit = [a for a in near if a in ts.member_set]
            else:
                hit = [a for a in ts.members if self.dist.get(a, _INF) <= bound]
            self._memo[key] = hit
        return hit


class PathGraph:
    def __init__(
        self, edges: EdgeTable | Iterable[Step], direct_admins: Iterable[str], fans: Iterable[Fan] = ()
    ) -> None:
        """`edges`: the explicit edges (a table, or `Step`s: their permissions then come from labels)."""
        table = edges if isinstance(edges, EdgeTable) else EdgeTable.of_steps(edges)
        self.table = table
        ids = {a: i for i, a in enumerate(table.names)}  # grows with principals only fans name
        # each principal's edges (in `_out_key` / `_in_key` order), made when a search first enters it
        self.out = steps_out(table, ids)
        self.into_ = steps_in(table, ids)
        self.loops = loops(table, ids)
        self.fans: dict[str, list[Fan]] = {}
        self.fans_of_set: dict[str, list[Fan]] = {}
        self.sets: dict[str, TargetSet] = {}
        for f in sorted(fans, key=lambda f: (f.source, f.technique, f.targets.id)):
            self.fans.setdefault(f.source, []).append(f)
            self.fans_of_set.setdefault(f.targets.id, []).append(f)
            self.sets[f.targets.id] = f.targets
        self.sets_of: dict[str, list[str]] = {}
        for sid, ts in sorted(self.sets.items()):
            for a in ts.members:
                self.sets_of.setdefault(a, []).append(sid)
        self.numbers = NumberedGraph(
            table,
            ids,
            {sid: ts.members for sid, ts in self.sets.items()},
            [(f.source, f.targets.id, f.admin) for fs in self.fans_of_set.values() for f in fs],
        )
        self.direct = frozenset(direct_admins)
        self._terminal = self.direct | frozenset(self.loops)
        self._terminal_members: dict[str, list[str]] = {}
        self.admin_dist = self._admin_distances()
        self._ids = ids
        self._maker = StepMaker(table)
        self._admin_within = self._within(self.admin_dist)
        terminal = bytearray(len(table.names))
        for arn in (*self.direct, *self.loops):
            i = ids.get(arn)
            if i is not None and i < len(terminal):
                terminal[i] = 1
        self._terminal_ids = bytes(terminal)

    def _within(self, dist: dict[str, int]) -> _Within:
        return _Within(dist, self._ids, len(self.table.names))

    def terminal(self, arn: str) -> bool:
        """Administrator now, or can make itself administrator in one step."""
        return arn in self._terminal

    def _goal(self, s: Step) -> bool:
        return s.admin or self.terminal(s.target)

    def terminal_members(self, ts: TargetSet) -> list[str]:
        hit = self._terminal_members.get(ts.id)
        if hit is None:
            hit = self._terminal_members[ts.id] = [a for a in ts.members if self.terminal(a)]
        return hit

    def _fan_has_goal(self, f: Fan) -> bool:
        arns = f.targets.members if f.admin else self.terminal_members(f.targets)
        return any(a != f.source for a in arns)

    def _admin_distances(self) -> dict[str, int]:
        """Fewest edges from a principal to a goal edge, through principals that are not administrator."""
        terminal = self._terminal
        # an explicit edge to a principal that is administrator (or can make itself one), an edge that makes
        # its target administrator, a fan with such a member
        first = self.numbers.sources_into(sorted(terminal)) | self.numbers.marked_sources()
        first.update(src for src, fs in self.fans.items() if any(self._fan_has_goal(f) for f in fs))
        return self.numbers.distances(dict.fromkeys(first, 1), admin_ok=False, stop=terminal)

    def _distances_to(self, target: str) -> dict[str, int]:
        return self.numbers.distances({target: 0}, admin_ok=True)

    def reaching(self, targets: Iterable[str]) -> set[str]:
        """Every principal with a path (any length, through administrators too) to one of `targets`; the
        targets themselves included."""
        return set(self.numbers.distances(dict.fromkeys(targets, 0), admin_ok=True))

    def reaching_each(self, targets: Mapping[str, Iterable[str]]) -> dict[str, set[str]]:
        """`reaching` of each group of `targets` (key -> principals), in one pass: principal -> the keys of
        the groups it reaches."""
        return self.numbers.reaching_each(targets)

    def to_admin(self, source: str, *, max_depth: int, limit: int, cancel: Cancel = NEVER) -> list[Path]:
        if source in self.direct:
            return []
        # a principal's self-loops come in (technique, ordinal) order, so the paths they end are sorted: of
        # each run of them only the first `limit` can be kept (and more than `limit` stop the search as well)
        found = [Path(steps=(s,), reaches_admin=True) for s in self.loops.get(source, ())[:limit]]
        start = self.admin_dist.get(source, _INF)
        for depth in range(start, max_depth + 1):
            if len(found) >= limit:
                break
            for steps in self._walk(source, depth, self._admin_within, stop_at_goal=True, cancel=cancel):
                last = steps[-1]
                if last.admin or last.target in self.direct:
                    found.append(Path(steps=steps, reaches_admin=True))
                else:
                    ends = self.loops[last.target][:limit]
                    found += [Path(steps=(*steps, s), reaches_admin=True) for s in ends]
                if len(found) >= limit:
                    break
        return sorted(found, key=Path.sort_key)[:limit]

    def between(
        self, source: str, target: str, *, max_depth: int, limit: int, cancel: Cancel = NEVER
    ) -> list[Path]:
        if source == target:
            return []
        within = self._within(self._distances_to(target))
        found: list[Path] = []
        for depth in range(within.dist.get(source, _INF), max_depth + 1):
            for steps in self._walk(source, depth, within, stop_at_goal=False, target=target, cancel=cancel):
                found.append(Path(steps=steps, reaches_admin=self.terminal(target) or steps[-1].admin))
                if len(found) >= limit:
                    return sorted(found, key=Path.sort_key)
        return sorted(found, key=Path.sort_key)

    def _next(
        self, node: str, left: int, within: _Within, stop_at_goal: bool, target: str | None
    ) -> Iterator[Step]:
        """Edges leaving `node` that can matter with `left` hops to go, in canonical order: to a goal (last
        hop), or not to a goal and within reach of one (earlier hops). A `Step` is made only for an edge the
        walk gets to."""
        take = self._take(left, within, stop_at_goal, target)
        i = self._ids.get(node)
        runs = self._maker.out_runs(i, take) if i is not None else iter(())
        parts: list[Iterable[Step]] = [chain.from_iterable(runs)]
        for f in self.fans.get(node, ()):
            if left == 1:
                if stop_at_goal:
                    arns: Iterable[str] = f.targets.members if f.admin else self.terminal_members(f.targets)
                else:
                    arns = (target,) if target in f.targets.member_set else ()
            elif stop_at_goal and f.admin:
                continue  # every step is a goal: it cannot be a middle step
            else:
                arns = within.members(f.targets, left - 1)
            parts.append(_fan_steps(f, arns))
        return iter(parts[0]) if len(parts) == 1 else heapq.merge(*parts, key=_out_key)

    def _take(
        self, left: int, within: _Within, stop_at_goal: bool, target: str | None
    ) -> Callable[[int, int], bool]:
        """Which explicit edges (target number, label) `_walk` can use with `left` hops to go: as it decides
        them, on the numbers, before any `Step` is made."""
        admin, near, bound, term = self.table.admin_labels, within.by_id, left - 1, self._terminal_ids
        goal = self._ids.get(target, -1) if target is not None else -1

        def last_to_admin(b: int, x: int) -> bool:
            return bool(admin[x] or term[b])

        def toward_admin(b: int, x: int) -> bool:
            return not admin[x] and not term[b] and near[b] <= bound

        def last_to_target(b: int, x: int) -> bool:
            return b == goal

        def toward_target(b: int, x: int) -> bool:
            return b != goal and near[b] <= bound

        if stop_at_goal:
            return last_to_admin if left == 1 else toward_admin
        return last_to_target if left == 1 else toward_target

    def _walk(
        self,
        source: str,
        depth: int,
        within: _Within,
        *,
        stop_at_goal: bool,
        target: str | None = None,
        cancel: Cancel = NEVER,
    ) -> Iterator[tuple[Step, ...]]:
        """Simple paths of exactly `depth` edges from `source` ending at a goal (or at `target`); `cancel` is
        checked at every principal the walk enters."""
        visited = {source}
        stack: list[Step] = []
        dist = within.dist

        def go(node: str) -> Iterator[tuple[Step, ...]]:
            cancel.check()
            left = depth - len(stack)
            for s in self._next(node, left, within, stop_at_goal, target):
                b = s.target
                if b in visited:
                    continue
                goal = self._goal(s) if stop_at_goal else b == target
                if left == 1:
                    if goal:
                        yield (*stack, s)
                elif not goal and dist.get(b, _INF) <= left - 1:
                    visited.add(b)
                    stack.append(s)
                    yield from go(b)
                    stack.pop()
                    visited.discard(b)

        yield from go(source)

    def _into(self, head: str) -> list[Step]:
        """Edges into `head`, in canonical order (source, technique, ordinal)."""
        fans = [f for sid in self.sets_of.get(head, ()) for f in self.fans_of_set[sid] if f.source != head]
        if not fans:
            return self.into_.get(head, [])
        extra = [s for f in fans for s in _fan_steps(f, (head,))]
        return sorted([*self.into_.get(head, ()), *extra], key=_in_key)

    def into(self, target: str, *, max_depth: int, limit: int, cancel: Cancel = NEVER) -> list[Path]:
        """Simple paths of 1..max_depth edges from anyone to `target`, shortest first."""
        found: list[Path] = []
        frontier: list[tuple[tuple[Step, ...], frozenset[str]]] = [((), frozenset({target}))]
        for _ in range(max_depth):
            nxt = []
            for steps, seen in frontier:
                cancel.check()
                head = steps[0].source if steps else target
                for s in self._into(head):
                    if s.source in seen:
                        continue
                    path = (s, *steps)
                    found.append(Path(steps=path, reaches_admin=self.terminal(target)))
                    if len(found) >= limit:
                        return sorted(found, key=Path.sort_key)
                    nxt.append((path, seen | {s.source}))
            frontier = nxt
        return sorted(found, key=Path.sort_key)
