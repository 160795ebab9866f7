"""The layer rule of docs/ARCHITECTURE.md and the absence of import cycles, checked on the source.

Every import counts, including those inside functions (a deferred import that dodges a cycle is still one);
imports under `if TYPE_CHECKING:` and `strawberry.lazy("...")` type references do not. An import of
`graphiam.a.b` that names a submodule (`from graphiam.a import b`) is an import of that submodule.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "graphiam"

# Top-level parts of graphiam in data-flow order: a part imports only from parts of earlier rows (and itself).
# Parts on one row do not import each other.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors",),
    ("cancel",),
    ("arn",),
    ("model",),
    ("policy", "catalog"),
    ("ingest",),
    ("store",),
    ("graph",),
    ("derive",),
    ("queries",),
    ("changes",),
    ("auth", "audit"),
    ("service",),
    ("api",),
    ("app",),
    ("cli",),
)
RANK = {part: i for i, row in enumerate(LAYERS) for part in row}
# The database is reached from the HTTP and command-line sides only through `service`.
THROUGH_SERVICE = {"api": {"store", "graph"}, "app": {"store", "graph"}, "cli": {"store", "graph"}}


@dataclass(frozen=True)
class Import:
    source: str  # importing module
    target: str  # imported graphiam module
    line: int

    def __str__(self) -> str:
        path = self.source.replace(".", "/")
        return f"{path}.py:{self.line} imports {self.target}"


def _modules() -> dict[str, Path]:
    out = {}
    for p in PACKAGE.rglob("*.py"):
        parts = list(p.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = p
    return out


MODULES = _modules()


def _is_type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING"
    )


def _walk(node: ast.AST) -> Iterator[ast.AST]:
    """Every node but the bodies of `if TYPE_CHECKING:` blocks."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child):
            for other in child.orelse:
                yield other
                yield from _walk(other)
            continue
        yield child
        yield from _walk(child)


def imports_of(module: str, text: str | None = None, *, is_package: bool = False) -> list[Import]:
    if text is None:
        path = MODULES[module]
        text, is_package = path.read_text(), path.name == "__init__.py"
    package = module if is_package else module.rsplit(".", 1)[0]
    out = []
    for node in _walk(ast.parse(text, module)):
        if isinstance(node, ast.Import):
            out += [Import(module, a.name, node.lineno) for a in node.names if a.name.startswith("graphiam")]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            if not name.startswith("graphiam"):
                continue
            for alias in node.names:
                sub = f"{name}.{alias.name}"
                out.append(Import(module, sub if sub in MODULES else name, node.lineno))
    return [i for i in out if i.target != module and not module.startswith(i.target + ".")]


ALL_IMPORTS = [i for m in sorted(MODULES) for i in imports_of(m)]


def part_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def layer_violations() -> list[Import]:
    out = []
    for imp in ALL_IMPORTS:
        src, dst = part_of(imp.source), part_of(imp.target)
        if not src or not dst or src == dst:
            continue
        if src not in RANK or dst not in RANK:
            out.append(imp)  # a part the map does not name
        elif RANK[dst] >= RANK[src] or dst in THROUGH_SERVICE.get(src, ()):
            out.append(imp)
    return out


def cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm, iterative)."""
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for imp in ALL_IMPORTS:
        if imp.target in graph:
            graph[imp.source].add(imp.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            v, it = work[-1]
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    if len(comp) > 1:
                        found.append(sorted(comp))
    return found


def test_every_top_level_part_is_on_the_map() -> None:
    parts = {part_of(m) for m in MODULES if part_of(m)}
    assert parts <= set(RANK), f"parts missing from LAYERS (and docs/ARCHITECTURE.md): {parts - set(RANK)}"


def test_imports_follow_the_layer_rule() -> None:
    bad = [str(i) for i in layer_violations()]
    assert not bad, "imports against the layer rule:\n" + "\n".join(bad)


def test_no_import_cycles() -> None:
    found = cycles()
    edges = []
    for comp in found:
        members = set(comp)
        edges += sorted({str(i) for i in ALL_IMPORTS if i.source in members and i.target in members})
    assert not found, f"import cycles: {found}\nimports inside them:\n" + "\n".join(edges)


def test_no_private_names_imported_across_modules() -> None:
    bad = []
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("graphiam"):
                bad += [
                    f"{module}:{node.lineno} imports {node.module}.{a.name}"
                    for a in node.names
                    if a.name.startswith("_")
                ]
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize(
    ("source", "expect"),
    [
        ("from graphiam.api.types import X\n", "graphiam.api.types"),
        ("def f():\n    from graphiam.queries import who_can\n", "graphiam.queries.who_can"),
    ],
)
def test_the_checker_sees_imports_and_deferred_imports(source: str, expect: str) -> None:
    """The checker itself: a deferred import in a function is found; so is `from package import module`;
    an import under `if TYPE_CHECKING:` is not."""
    found = imports_of("graphiam.store.probe", source + "if TYPE_CHECKING:\n    import graphiam.cli\n")
    assert [i.target for i in found] == [expect]
    assert RANK[part_of(expect)] > RANK["store"]  # so it is a violation for store/
