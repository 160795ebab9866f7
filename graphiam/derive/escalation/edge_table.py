"""The explicit edges of the path graph (CAN_ASSUME and ESCALATES_TO) as columns over node numbers.

At 10,000 principals an organisation holds over a million assumption edges; one `Step` object per edge took
19 s to build and most of them are never walked. `EdgeTable` keeps them as integer columns in both
orders (by source, then target: edges out; by target, then source: edges in) with a `Label` number per edge
(what the edges of one technique, action and conditions share). Traversals over the whole graph (distances
to administrator, who reaches what) run over the numbers; `Step`s are made only for the edges a path search
takes (`StepMaker.out_runs`), or per principal when asked for (`steps_out`, `steps_in`, `loops`). Nodes are
numbered in ARN order, so edges sorted by number are sorted by ARN.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from operator import attrgetter
from typing import Any


@dataclass(frozen=True, kw_only=True, slots=True)
class Step:
    source: str
    target: str
    technique: str
    permissions: tuple[dict[str, Any], ...]
    needs: tuple[str, ...] = ()
    assumptions: tuple[str, ...] = ()
    admin: bool = False  # this step makes `target` administrator
    ordinal: int = 0  # among parallel edges of one technique between the same two principals

    @property
    def statements(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(s for p in self.permissions for s in p.get("statements", ())))


@dataclass(frozen=True, kw_only=True)
class Label:
    """What the edges of one label share. An assumption (`action` set) has one permission: `action` on the
    role it assumes, needing `needs`."""

    technique: str
    admin: bool = False  # the technique makes its target administrator
    needs: tuple[str, ...] = ()
    action: str | None = None


@dataclass(frozen=True, kw_only=True)
class EdgeTable:
    """Edges over node numbers (`names[i]` is node i's ARN; `names` sorted). Node i's edges out are at
    positions `out_start[i]:out_start[i + 1]` of `out_target`/`out_label` (sorted by target number);
    `in_start`, `in_source` and `in_label` the same for edges in (sorted by source number). `marked`: the
    (source, target) numbers of the edges whose label makes the target administrator (few: they are
    skipped where a path cannot go on)."""

    names: Sequence[str]
    labels: Sequence[Label]
    out_start: Sequence[int]
    out_target: Sequence[int]
    out_label: Sequence[int]
    in_start: Sequence[int]
    in_source: Sequence[int]
    in_label: Sequence[int]
    marked: Sequence[tuple[int, int]] = ()

    @classmethod
    def of_steps(cls, steps: Iterable[Step]) -> EdgeTable:
        """The table of `steps` (their permissions and ordinals are left out: a label stands for them)."""
        given = list(steps)
        names = {a: i for i, a in enumerate(sorted({x for s in given for x in (s.source, s.target)}))}
        labels: dict[Label, int] = {}
        rows = []
        for s in given:
            perm = s.permissions[0] if s.permissions else {}
            label = Label(technique=s.technique, admin=s.admin, needs=s.needs, action=perm.get("action"))
            rows.append((names[s.source], names[s.target], labels.setdefault(label, len(labels))))
        n = len(names)
        out = sorted(rows)
        into = sorted(rows, key=lambda r: (r[1], r[0], r[2]))
        return cls(
            names=list(names),
            labels=list(labels),
            out_start=_starts((r[0] for r in out), n),
            out_target=array("i", (r[1] for r in out)),
            out_label=array("i", (r[2] for r in out)),
            in_start=_starts((r[1] for r in into), n),
            in_source=array("i", (r[0] for r in into)),
            in_label=array("i", (r[2] for r in into)),
            marked=[(a, b) for a, b, x in rows if list(labels)[x].admin],
        )

    @cached_property
    def admin_labels(self) -> bytes:
        """1 for each label that makes its target administrator."""
        return bytes(label.admin for label in self.labels)

    def has_loop(self, i: int) -> bool:
        """Node i has an edge to itself."""
        lo, hi = self.out_start[i], self.out_start[i + 1]
        at = bisect_left(self.out_target, i, lo, hi)
        return at < hi and self.out_target[at] == i


def _starts(keys: Iterable[int], n: int) -> array[int]:
    """CSR offsets of sorted `keys` over n numbers."""
    counts = [0] * (n + 1)
    for k in keys:
        counts[k + 1] += 1
    for i in range(n):
        counts[i + 1] += counts[i]
    return array("i", counts)


class StepMaker:
    """Makes the `Step`s of a table's edges (an assumption's permission shared by its parallel edges)."""

    def __init__(self, table: EdgeTable) -> None:
        self.table = table
        self._shared: dict[tuple[str, str, tuple[str, ...]], tuple[dict[str, Any], ...]] = {}

    def step(self, a: int, b: int, label: int, ordinal: int = 0) -> Step:
        names, lab = self.table.names, self.table.labels[label]
        source, target = names[a], names[b]
        perms: tuple[dict[str, Any], ...] = ()
        if lab.action is not None:
            key = (lab.action, target, lab.needs)
            perms = self._shared.get(key) or self._shared.setdefault(
                key, ({"action": lab.action, "resource": target, "statements": [], "needs": list(lab.needs)},)
            )
        return Step(
            source=source, target=target, technique=lab.technique, permissions=perms, needs=lab.needs,
            admin=lab.admin, ordinal=ordinal,
        )  # fmt: skip

    def run(self, a: int, b: int, labels: Sequence[int]) -> list[Step]:
        """The edges from a to b with `labels`, by technique; parallel edges of one technique ordered by
        their permissions and numbered (`ordinal`)."""
        if len(labels) == 1:
            return [self.step(a, b, labels[0])]
        return _numbered([self.step(a, b, x) for x in labels], attrgetter("technique"))

    def out_runs(self, a: int, take: Any) -> Iterator[list[Step]]:
        """Node a's edges out to other nodes, one run per target (in target order, so ARN order), keeping
        the edges whose (target, label) `take` accepts; a `Step` is made only for an edge kept, when the
        caller gets to it."""
        t = self.table
        if a >= len(t.out_start) - 1:
            return
        targets, labels = t.out_target, t.out_label
        p, hi = t.out_start[a], t.out_start[a + 1]
        while p < hi:
            b = targets[p]
            q = p + 1
            while q < hi and targets[q] == b:
                q += 1
            if b != a:
                kept = [x for x in labels[p:q] if take(b, x)]
                if kept:
                    yield self.run(a, b, kept)
            p = q


class _Steps(Mapping[str, list[Step]]):
    """Each node's edges (`mode`: "out", "in", or "loop": to itself) as `Step`s, made when first asked for;
    self-loops are only in "loop"."""

    def __init__(self, table: EdgeTable, ids: Mapping[str, int], mode: str) -> None:
        self._t = table
        self._ids = ids
        self._mode = mode
        self._maker = StepMaker(table)
        self._made: dict[str, list[Step]] = {}
        self._keys: list[str] | None = None

    def _make(self, i: int) -> list[Step]:
        t, step = self._t, self._maker.step
        if self._mode == "in":
            lo, hi = t.in_start[i], t.in_start[i + 1]
            pairs = zip(t.in_source[lo:hi], t.in_label[lo:hi], strict=True)
            return _numbered([step(a, i, x) for a, x in pairs if a != i], attrgetter("source", "technique"))
        lo, hi = t.out_start[i], t.out_start[i + 1]
        if self._mode == "loop":  # edges out are sorted by target: the self-loops are one run
            lo = bisect_left(t.out_target, i, lo, hi)
            hi = bisect_right(t.out_target, i, lo, hi)
            return _numbered([step(i, i, x) for x in t.out_label[lo:hi]], attrgetter("technique"))
        pairs = zip(t.out_target[lo:hi], t.out_label[lo:hi], strict=True)
        return _numbered([step(i, b, x) for b, x in pairs if b != i], attrgetter("target", "technique"))

    def get(self, key: str, default: Any = None) -> Any:
        hit = self._made.get(key)
        if hit is not None:
            return hit or default
        i = self._ids.get(key)
        if i is None or i >= len(self._t.out_start) - 1:
            return default
        hit = self._made[key] = self._make(i)
        return hit or default

    def __getitem__(self, key: str) -> list[Step]:
        hit: list[Step] | None = self.get(key)
        if not hit:
            raise KeyError(key)
        return hit

    def _nodes(self) -> list[str]:
        if self._keys is None:
            t = self._t
            if self._mode == "loop":
                self._keys = [name for i, name in enumerate(t.names) if t.has_loop(i)]
                return self._keys
            start, other = (t.in_start, t.in_source) if self._mode == "in" else (t.out_start, t.out_target)
            keys = []
            for i, name in enumerate(t.names):
                lo, hi = start[i], start[i + 1]
                if hi > lo and (other[lo] != i or other[hi - 1] != i):  # sorted: not only self-loops
                    keys.append(name)
            self._keys = keys
        return self._keys

    def __iter__(self) -> Iterator[str]:
        return iter(self._nodes())

    def __len__(self) -> int:
        return len(self._nodes())

    def __contains__(self, key: object) -> bool:
        if self._mode == "loop":  # asked for every principal (`PathGraph.terminal`): no steps made
            i = self._ids.get(key) if isinstance(key, str) else None
            return i is not None and i < len(self._t.out_start) - 1 and self._t.has_loop(i)
        return isinstance(key, str) and bool(self.get(key))


def steps_out(table: EdgeTable, ids: Mapping[str, int]) -> Mapping[str, list[Step]]:
    """Each node's edges out (self-loops left out), in (target, technique, ordinal) order."""
    return _Steps(table, ids, "out")


def steps_in(table: EdgeTable, ids: Mapping[str, int]) -> Mapping[str, list[Step]]:
    """Each node's edges in (self-loops left out), in (source, technique, ordinal) order."""
    return _Steps(table, ids, "in")


def loops(table: EdgeTable, ids: Mapping[str, int]) -> Mapping[str, list[Step]]:
    """Each node's edges to itself, by technique, parallel ones numbered."""
    return _Steps(table, ids, "loop")


def _numbered(steps: list[Step], key: Any) -> list[Step]:
    """`steps` sorted by `key`; parallel edges (equal keys) ordered by their permissions and numbered."""
    steps.sort(key=key)
    out: list[Step] = []
    i = 0
    while i < len(steps):
        j = i + 1
        k = key(steps[i])
        while j < len(steps) and key(steps[j]) == k:
            j += 1
        if j - i == 1:
            out.append(steps[i])
        else:
            run = steps[i:j]
            if any(x.permissions for x in run):
                run.sort(key=lambda x: repr(x.permissions))
            out.append(run[0])
            out += [
                Step(
                    source=x.source,
                    target=x.target,
                    technique=x.technique,
                    permissions=x.permissions,
                    needs=x.needs,
                    assumptions=x.assumptions,
                    admin=x.admin,
                    ordinal=n,
                )  # fmt: skip
                for n, x in enumerate(run)
                if n
            ]
        i = j
    return out
