"""Whole-graph traversals of the path graph over node numbers: distances (breadth-first over edges in) and
who reaches what (strongly connected components).

The explicit edges are an `EdgeTable`; a fan-out edge (one actor to every member of a target set) is kept as
its set: a breadth-first search looks at a set's fans once, when it first reaches one of its members, and the
component search walks actor -> set -> members. At 10,000 principals one reverse search per policy without a
document (237 of them, each walking the million assumption edges again) took 72 s; `reaching_each` answers
them all in one pass.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping, MutableMapping, Sequence

from graphiam.derive.escalation.edge_table import EdgeTable


class NumberedGraph:
    """`table`'s edges and the fan-out sets over node numbers. `ids` (ARN -> number, the table's names
    first) grows with the principals only a set or a fan names; `members`: set id -> its principals;
    `fans`: (actor, set id, makes its target administrator)."""

    def __init__(
        self,
        table: EdgeTable,
        ids: MutableMapping[str, int],
        members: Mapping[str, Sequence[str]],
        fans: Iterable[tuple[str, str, bool]],
    ) -> None:
        self.table = table
        self.ids = ids
        self.names = list(table.names)
        self._n = len(table.in_start) - 1  # numbers with explicit edges
        order = sorted(members)
        number = {sid: k for k, sid in enumerate(order)}
        self._members = [[self.id(a) for a in members[sid]] for sid in order]
        self._sources: list[list[int]] = [[] for _ in order]  # set -> its fans' actors
        self._plain: list[list[int]] = [[] for _ in order]  # the same, of fans that do not make administrator
        fan_sets: dict[int, set[int]] = {}
        for source, sid, admin in fans:
            a, k = self.id(source), number[sid]
            self._sources[k].append(a)
            if not admin:
                self._plain[k].append(a)
            fan_sets.setdefault(a, set()).add(k)
        self._fan_sets = {a: sorted(ks) for a, ks in fan_sets.items()}
        self._sets_of: dict[int, list[int]] = {}  # principal -> the sets holding it
        for k, ms in enumerate(self._members):
            for a in ms:
                self._sets_of.setdefault(a, []).append(k)
        self._plain_into = self._plain_sources(table.marked)

    def id(self, arn: str) -> int:
        """The number of `arn` (a new one for a principal without explicit edges)."""
        i = self.ids.get(arn)
        if i is None:
            i = self.ids[arn] = len(self.names)
            self.names.append(arn)
        return i

    def _plain_sources(self, marked: Iterable[tuple[int, int]]) -> dict[int, list[int]]:
        """For each principal with an edge in that makes it administrator: the sources of its other edges in
        (a path does not go on past a step that ends at administrator)."""
        t = self.table
        out: dict[int, list[int]] = {}
        for b in sorted({b for _, b in marked}):
            lo, hi = t.in_start[b], t.in_start[b + 1]
            pairs = zip(t.in_source[lo:hi], t.in_label[lo:hi], strict=True)
            out[b] = [a for a, x in pairs if not t.labels[x].admin]
        return out

    def sources_into(self, arns: Iterable[str]) -> set[str]:
        """The sources of the explicit edges into `arns` (self-loops left out)."""
        t, names = self.table, self.names
        out: set[str] = set()
        for arn in arns:
            b = self.ids.get(arn)
            if b is not None and b < self._n:
                out.update(names[a] for a in t.in_source[t.in_start[b] : t.in_start[b + 1]] if a != b)
        return out

    def marked_sources(self) -> set[str]:
        """The sources of the explicit edges that make their target administrator (self-loops left out)."""
        return {self.names[a] for a, b in self.table.marked if a != b}

    def distances(
        self, starts: Mapping[str, int], *, admin_ok: bool, stop: Collection[str] = ()
    ) -> dict[str, int]:
        """Breadth-first over edges in from `starts` (ARN -> its distance): every source of an edge into a
        reached principal is reached one step further. Edges that make their target administrator are
        skipped unless `admin_ok`; principals in `stop` are not gone through. Each set's fans are looked at
        once, when the search first reaches one of its members."""
        dist = [-1] * (len(self.names) + len(starts))
        queue = []
        for arn, d in sorted(starts.items(), key=lambda x: (x[1], x[0])):
            i = self.id(arn)
            dist[i] = d
            queue.append(i)
        halt = bytearray(len(dist))
        for arn in stop:
            k = self.ids.get(arn)
            if k is not None:
                halt[k] = 1
        t, n = self.table, self._n
        in_start, in_source = t.in_start, t.in_source
        plain = {} if admin_ok else self._plain_into
        sets_of = self._sets_of
        set_sources = self._sources if admin_ok else self._plain
        seen_sets = bytearray(len(set_sources))
        for b in queue:  # grows while it is walked
            if halt[b]:
                continue
            d = dist[b] + 1
            if b < n:
                srcs = plain.get(b)
                for a in in_source[in_start[b] : in_start[b + 1]] if srcs is None else srcs:
                    if dist[a] < 0:
                        dist[a] = d
                        queue.append(a)
            for k in sets_of.get(b, ()):
                if not seen_sets[k]:
                    seen_sets[k] = 1
                    for a in set_sources[k]:
                        if dist[a] < 0:
                            dist[a] = d
                            queue.append(a)
        names = self.names
        return {names[i]: d for i, d in enumerate(dist) if d >= 0}

    def reaching_each(self, targets: Mapping[str, Iterable[str]]) -> dict[str, set[str]]:
        """For every node with a path (any length) to a principal of one of the groups `targets` (itself
        included): the keys of those groups. The strongly connected components (Tarjan's algorithm,
        iterative), each holding the union of what its members and the components they reach hold (as
        bitmasks of the keys), sinks first."""
        keys = sorted(targets)
        own: dict[int, int] = {}
        for bit, key in enumerate(keys):
            for arn in targets[key]:
                i = self.id(arn)
                own[i] = own.get(i, 0) | 1 << bit
        names = self.names
        return {
            names[i]: {keys[b] for b in range(len(keys)) if m >> b & 1} for i, m in self._masks(own).items()
        }

    def _masks(self, own: dict[int, int]) -> dict[int, int]:
        """Node number -> the union of `own` over every node it reaches (itself included), where not 0."""
        t = self.table
        n, total = self._n, len(self.names)
        out_start, out_target = t.out_start, t.out_target
        members, fan_sets = self._members, self._fan_sets

        def succ(v: int) -> Sequence[int]:
            if v >= total:  # a target set: its members
                return members[v - total]
            near: Sequence[int] = out_target[out_start[v] : out_start[v + 1]] if v < n else ()
            sets = fan_sets.get(v)
            return near if sets is None else [*near, *(total + k for k in sets)]

        size = total + len(members)
        index = [-1] * size
        low = [0] * size
        comp = [-1] * size  # the root of the component a node was settled in
        mask = [0] * size
        on = bytearray(size)
        stack: list[int] = []
        counter = 0
        for root in range(size):
            if index[root] >= 0:
                continue
            index[root] = low[root] = counter
            counter += 1
            stack.append(root)
            on[root] = 1
            work: list[tuple[int, Iterator[int]]] = [(root, iter(succ(root)))]
            while work:
                v, it = work[-1]
                for w in it:
                    if index[w] < 0:
                        index[w] = low[w] = counter
                        counter += 1
                        stack.append(w)
                        on[w] = 1
                        work.append((w, iter(succ(w))))
                        break
                    if on[w] and index[w] < low[v]:
                        low[v] = index[w]
                else:
                    work.pop()
                    if work and low[v] < low[work[-1][0]]:
                        low[work[-1][0]] = low[v]
                    if low[v] == index[v]:  # v is the root of a component: settle it
                        scc = []
                        while True:
                            w = stack.pop()
                            on[w] = 0
                            comp[w] = v
                            scc.append(w)
                            if w == v:
                                break
                        m = 0
                        for w in scc:
                            m |= own.get(w, 0)
                            for x in succ(w):
                                if comp[x] != v:  # a component settled before (Tarjan: sinks first)
                                    m |= mask[x]
                        for w in scc:
                            mask[w] = m
        return {i: m for i, m in enumerate(mask[:total]) if m}
