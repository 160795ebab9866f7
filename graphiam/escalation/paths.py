"""Path search over assumption and escalation edges: every simple path, shortest first, bounded.

Pure: built from the stored edges (`Step`s) and the set of principals that are administrator now.
- `to_admin(source)`: paths that end in administrator: at a principal that is administrator now, over an
  edge whose technique makes its target administrator (`Step.admin`), or at a principal that can make
  itself administrator (its self-loop is appended as the last step). A path stops at the first of these,
  and never repeats a principal.
- `between(source, target)`: every simple path from `source` to `target`.
- `into(target)`: every simple path from anyone to `target`.
Iterative deepening with a distance bound (a reverse breadth-first search) keeps the depth-first search to
the branches that can still reach a goal in the hops left; parallel edges (several techniques between the
same two principals) give one path each.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, kw_only=True)
class Step:
    source: str
    target: str
    technique: str
    permissions: tuple[dict[str, Any], ...]
    needs: tuple[str, ...] = ()
    assumptions: tuple[str, ...] = ()
    admin: bool = False  # this step makes `target` administrator

    @property
    def statements(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(s for p in self.permissions for s in p.get("statements", ())))


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


class PathGraph:
    def __init__(self, steps: Iterable[Step], direct_admins: Iterable[str]) -> None:
        self.out: dict[str, dict[str, list[Step]]] = {}
        self.into_: dict[str, dict[str, list[Step]]] = {}
        self.loops: dict[str, list[Step]] = {}
        for s in steps:
            if s.source == s.target:
                self.loops.setdefault(s.source, []).append(s)
            else:
                self.out.setdefault(s.source, {}).setdefault(s.target, []).append(s)
                self.into_.setdefault(s.target, {}).setdefault(s.source, []).append(s)
        self.direct = frozenset(direct_admins)
        self.admin_dist = self._admin_distances()

    def terminal(self, arn: str) -> bool:
        """Administrator now, or can make itself administrator in one step."""
        return arn in self.direct or arn in self.loops

    def _goal(self, s: Step) -> bool:
        return s.admin or self.terminal(s.target)

    def _admin_distances(self) -> dict[str, int]:
        """Fewest edges from a principal to a goal edge, through principals that are not administrator."""
        dist: dict[str, int] = {}
        queue: deque[str] = deque()
        for src, targets in self.out.items():
            if any(self._goal(s) for ss in targets.values() for s in ss):
                dist[src] = 1
                queue.append(src)
        while queue:
            b = queue.popleft()
            if self.terminal(b):
                continue  # a path does not go on through an administrator
            for a, ss in self.into_.get(b, {}).items():
                if a not in dist and any(not s.admin for s in ss):
                    dist[a] = dist[b] + 1
                    queue.append(a)
        return dist

    def _distances_to(self, target: str) -> dict[str, int]:
        dist = {target: 0}
        queue = deque([target])
        while queue:
            b = queue.popleft()
            for a in self.into_.get(b, {}):
                if a not in dist:
                    dist[a] = dist[b] + 1
                    queue.append(a)
        return dist

    def to_admin(self, source: str, *, max_depth: int, limit: int) -> list[Path]:
        if source in self.direct:
            return []
        found = [Path(steps=(s,), reaches_admin=True) for s in self.loops.get(source, ())]
        start = self.admin_dist.get(source, _INF)
        for depth in range(start, max_depth + 1):
            if len(found) >= limit:
                break
            for steps in self._walk(source, depth, self.admin_dist, stop_at_goal=True):
                last = steps[-1]
                if last.admin or last.target in self.direct:
                    found.append(Path(steps=steps, reaches_admin=True))
                else:
                    found += [Path(steps=(*steps, s), reaches_admin=True) for s in self.loops[last.target]]
                if len(found) >= limit:
                    break
        return sorted(found, key=Path.sort_key)[:limit]

    def between(self, source: str, target: str, *, max_depth: int, limit: int) -> list[Path]:
        if source == target:
            return []
        dist = self._distances_to(target)
        found: list[Path] = []
        for depth in range(dist.get(source, _INF), max_depth + 1):
            for steps in self._walk(source, depth, dist, stop_at_goal=False, target=target):
                found.append(Path(steps=steps, reaches_admin=self.terminal(target) or steps[-1].admin))
                if len(found) >= limit:
                    return sorted(found, key=Path.sort_key)
        return sorted(found, key=Path.sort_key)

    def _walk(self, source: str, depth: int, dist: dict[str, int], *, stop_at_goal: bool,
              target: str | None = None) -> Iterator[tuple[Step, ...]]:
        """Simple paths of exactly `depth` edges from `source` ending at a goal (or at `target`)."""
        visited = {source}
        stack: list[Step] = []

        def go(node: str) -> Iterator[tuple[Step, ...]]:
            left = depth - len(stack)
            for b, ss in self.out.get(node, {}).items():
                if b in visited:
                    continue
                for s in ss:
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

    def into(self, target: str, *, max_depth: int, limit: int) -> list[Path]:
        """Simple paths of 1..max_depth edges from anyone to `target`, shortest first."""
        found: list[Path] = []
        frontier: list[tuple[tuple[Step, ...], frozenset[str]]] = [((), frozenset({target}))]
        for _ in range(max_depth):
            nxt = []
            for steps, seen in frontier:
                head = steps[0].source if steps else target
                for a, ss in self.into_.get(head, {}).items():
                    if a in seen:
                        continue
                    for s in ss:
                        path = (s, *steps)
                        found.append(Path(steps=path, reaches_admin=self.terminal(target)))
                        if len(found) >= limit:
                            return sorted(found, key=Path.sort_key)
                        nxt.append((path, seen | {a}))
            frontier = nxt
        return sorted(found, key=Path.sort_key)
