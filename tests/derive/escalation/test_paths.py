"""Path search over node numbers (`escalation.numbered`, `escalation.edge_table`) answers what a plain search
over `Step` objects answers: on random graphs of explicit edges (parallel ones, self-loops, steps that make
their target administrator) and fan-out edges, distances to administrator, who reaches what (one pass for
every group), distances to a principal, and every path to administrator or to a principal.

The references below walk `Step` lists and expanded fans one principal at a time, as the module docstring of
`escalation.paths` states the rules; they are slow and plain on purpose.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Iterable

import pytest

from graphiam.derive.escalation.paths import Fan, PathGraph, Step, TargetSet

NAMES = [f"arn:aws:iam::111111111111:role/r{i:02d}" for i in range(14)]
PLAIN = ("sts-001", "iam-012", "ec2-001")
ADMIN = "iam-009"  # a step that makes its target administrator


def _graph(seed: int) -> tuple[list[Step], list[str], list[Fan]]:
    rng = random.Random(seed)
    steps = []
    for _ in range(rng.randrange(10, 45)):
        a, b = rng.choice(NAMES), rng.choice(NAMES)
        technique = ADMIN if rng.random() < 0.12 else rng.choice(PLAIN)
        perms: tuple[dict[str, object], ...] = ()
        needs: tuple[str, ...] = ()
        if technique == "sts-001":
            needs = ("aws:MultiFactorAuthPresent",) if rng.random() < 0.3 else ()
            perms = ({"action": "sts:AssumeRole", "resource": b, "statements": [], "needs": list(needs)},)
        for _ in range(2 if rng.random() < 0.15 else 1):  # parallel edges now and then
            steps.append(
                Step(source=a, target=b, technique=technique, permissions=perms, needs=needs,
                     admin=technique == ADMIN)
            )  # fmt: skip
    direct = rng.sample(NAMES, rng.randrange(0, 3))
    fans = []
    for k in range(rng.randrange(0, 4)):
        members = rng.sample(NAMES + ["arn:aws:iam::111111111111:user/only-in-a-set"], rng.randrange(1, 6))
        ts = TargetSet.of(f"set-{k}", members)
        for source in rng.sample(NAMES, rng.randrange(1, 3)):
            admin = rng.random() < 0.2
            fans.append(Fan(source=source, technique=ADMIN if admin else "iam-012", admin=admin, targets=ts))
    return steps, direct, fans


def _edges(steps: list[Step], fans: list[Fan]) -> list[Step]:
    """Every edge, fans expanded (a fan reaches each member but its actor)."""
    out = list(steps)
    for f in fans:
        out += [
            Step(source=f.source, target=b, technique=f.technique, permissions=(), admin=f.admin)
            for b in f.targets.members
            if b != f.source
        ]
    return out


def _terminal(steps: list[Step], direct: Iterable[str]) -> set[str]:
    return set(direct) | {s.source for s in steps if s.source == s.target}


def _admin_distances(steps: list[Step], direct: list[str], fans: list[Fan]) -> dict[str, int]:
    edges = [s for s in _edges(steps, fans) if s.source != s.target]
    terminal = _terminal(steps, direct)
    dist = {s.source: 1 for s in edges if s.admin or s.target in terminal}
    queue = deque(sorted(dist))
    while queue:
        b = queue.popleft()
        if b in terminal:
            continue
        for s in edges:
            if s.target == b and not s.admin and s.source not in dist:
                dist[s.source] = dist[b] + 1
                queue.append(s.source)
    return dist


def _reaching(steps: list[Step], fans: list[Fan], targets: Iterable[str]) -> set[str]:
    edges = _edges(steps, fans)
    seen = set(targets)
    queue = deque(seen)
    while queue:
        b = queue.popleft()
        for s in edges:
            if s.target == b and s.source not in seen:
                seen.add(s.source)
                queue.append(s.source)
    return seen


def _hops(path: Iterable[Step]) -> tuple[tuple[str, str, str], ...]:
    return tuple((s.source, s.target, s.technique) for s in path)


def _paths_to_admin(
    steps: list[Step], direct: list[str], fans: list[Fan], source: str, depth: int
) -> list[tuple[tuple[str, str, str], ...]]:
    """Every simple path of at most `depth` edges to administrator (hops; a parallel edge gives its own
    path): it ends at a principal that is administrator now, over a step that makes its target one, or at a
    principal that can make itself one (its self-loop appended); it goes on through no such principal."""
    edges = [s for s in _edges(steps, fans) if s.source != s.target]
    terminal = _terminal(steps, direct)
    loops = [s for s in steps if s.source == s.target]
    if source in direct:
        return []
    found = [_hops([s]) for s in loops if s.source == source]

    def go(node: str, path: list[Step], visited: set[str]) -> None:
        for s in edges:
            if s.source != node or s.target in visited:
                continue
            if s.admin or s.target in terminal:
                if s.admin or s.target in direct:
                    found.append(_hops([*path, s]))
                else:
                    found.extend(_hops([*path, s, x]) for x in loops if x.source == s.target)
            elif len(path) + 1 < depth:
                go(s.target, [*path, s], visited | {s.target})

    go(source, [], {source})
    return sorted(found)


def _paths_between(
    steps: list[Step], fans: list[Fan], source: str, target: str, depth: int
) -> list[tuple[tuple[str, str, str], ...]]:
    edges = [s for s in _edges(steps, fans) if s.source != s.target]
    found = []

    def go(node: str, path: list[Step], visited: set[str]) -> None:
        for s in edges:
            if s.source != node or s.target in visited:
                continue
            if s.target == target:
                found.append(_hops([*path, s]))
            elif len(path) + 1 < depth:
                go(s.target, [*path, s], visited | {s.target})

    if source != target:
        go(source, [], {source})
    return sorted(found)


@pytest.mark.parametrize("seed", range(40))
def test_numbered_traversals_equal_plain_ones(seed: int) -> None:
    steps, direct, fans = _graph(seed)
    g = PathGraph(steps, direct, fans)
    assert g.admin_dist == _admin_distances(steps, direct, fans)
    groups = {f"doc-{k}": random.Random(seed + k).sample(NAMES, 2) for k in range(4)}
    each = g.reaching_each(groups)
    for key, arns in groups.items():
        expected = _reaching(steps, fans, arns)
        assert g.reaching(arns) == expected
        assert {a for a, keys in each.items() if key in keys} == expected
    target = NAMES[seed % len(NAMES)]
    assert g._distances_to(target) == _bfs_to(steps, fans, target)


@pytest.mark.parametrize("seed", range(40))
def test_paths_equal_those_of_a_plain_search(seed: int) -> None:
    steps, direct, fans = _graph(seed)
    g = PathGraph(steps, direct, fans)
    for source in NAMES:
        got = g.to_admin(source, max_depth=4, limit=10**6)
        assert sorted(_hops(p.steps) for p in got) == _paths_to_admin(steps, direct, fans, source, 4)
        assert [p.sort_key() for p in got] == sorted(p.sort_key() for p in got)
        target = NAMES[(NAMES.index(source) * 5 + seed) % len(NAMES)]
        between = g.between(source, target, max_depth=3, limit=10**6)
        assert sorted(_hops(p.steps) for p in between) == _paths_between(steps, fans, source, target, 3)


def test_parallel_edges_are_numbered_and_a_cut_answer_keeps_the_paths_found_first() -> None:
    a, b, c = NAMES[:3]
    mfa = ("aws:MultiFactorAuthPresent",)
    with_mfa = {"action": "sts:AssumeRole", "resource": b, "statements": [], "needs": list(mfa)}
    plain = {"action": "sts:AssumeRole", "resource": b, "statements": [], "needs": []}
    steps = [
        Step(source=a, target=b, technique="sts-001", needs=mfa, permissions=(with_mfa,)),
        Step(source=a, target=b, technique="sts-001", permissions=(plain,)),
        *[Step(source=b, target=b, technique=ADMIN, permissions=(), admin=True) for _ in range(3)],
        Step(source=a, target=c, technique=ADMIN, permissions=(), admin=True),
    ]  # fmt: skip
    g = PathGraph(steps, [], [])
    assert [s.ordinal for s in g.out[a]] == [0, 1, 0]
    # parallel edges ordered by their permissions as written out
    assert [s.permissions for s in g.out[a][:2]] == sorted([(with_mfa,), (plain,)], key=repr)
    assert [s.ordinal for s in g.loops[b]] == [0, 1, 2]
    every = g.to_admin(a, max_depth=3, limit=100)
    assert len(every) == 1 + 2 * 3
    cut = g.to_admin(a, max_depth=3, limit=4)  # the paths found first (by target names), sorted
    assert len(cut) == 4 and all(p in every for p in cut)
    assert [p.steps[-1].ordinal for p in cut] == [0, 1, 2, 0]  # b's self-loops, in order, then again
    assert g.to_admin(b, max_depth=3, limit=2) == g.to_admin(b, max_depth=3, limit=100)[:2]


def _bfs_to(steps: list[Step], fans: list[Fan], target: str) -> dict[str, int]:
    edges = _edges(steps, fans)
    dist = {target: 0}
    queue = deque([target])
    while queue:
        b = queue.popleft()
        for s in edges:
            if s.target == b and s.source not in dist:
                dist[s.source] = dist[b] + 1
                queue.append(s.source)
    return dist
