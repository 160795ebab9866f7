"""The graph writers produce files their tools can read: DOT that parses (every ARN quoted, whatever it
holds), GraphML that xml.etree parses with typed keys, Cytoscape.js and JSON that round-trip. Over hostile
names and over the whole of Cloudsplaining's example export."""

from __future__ import annotations

import itertools
import json
import re
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from graphiam.changes.load import load_files
from graphiam.graph.snapshot import build_snapshot
from graphiam.queries import graph_formats as F
from graphiam.queries.escalation_paths import build_index
from graphiam.queries.graph_view import GraphEdge, GraphNode, GraphView, graph_view
from graphiam.store import open_database
from tests.helpers import GAAD_EXAMPLE

NS = {"g": F.GRAPHML_NS}
NASTY = [
    'arn:aws:iam::123456789012:user/q"uote',
    "arn:aws:iam::123456789012:role/back\\slash\\",
    "arn:aws:iam::123456789012:policy/{brace};->[x]=y",
    "line\nbreak",
    "arn:aws:iam::123456789012:user/üñí+=,.@_-",
    "arn:aws:iam::123456789012:user/ctrl\x01char",
    "node",
    "-1",
]


def nasty_view() -> GraphView:
    nodes = [
        GraphNode(
            id=a,
            kind=("USER", "ROLE", "POLICY", "SERVICE_PRINCIPAL")[i % 4],
            label=a.rsplit("/", 1)[-1],
            account="123456789012" if i % 3 else None,
            is_admin=i == 1,
            distance=i % 2,
            properties={"path": "/p/", "distance": i % 2},
        )
        for i, a in enumerate(NASTY)
    ]
    edges = [
        GraphEdge(
            id=f"CAN_ASSUME:{a}->{b}",
            source=a,
            target=b,
            kind="CAN_ASSUME",
            label='sts:"Assume"',
            properties={"conditions": ["aws:MultiFactorAuthPresent"], "needsConditions": True},
        )
        for a, b in itertools.pairwise(NASTY)
    ]
    edges.append(
        GraphEdge(
            id="ESCALATES_TO:self",
            source=NASTY[0],
            target=NASTY[0],
            kind="ESCALATES_TO",
            label="iam-001",
            properties={"technique": "iam-001", "makesAdmin": True},
        )
    )
    return GraphView(nodes=nodes, edges=edges, truncated=True)


# ---- a DOT reader following Graphviz's grammar and lexer (quoted strings: only \" is an escape) ----

_TOKEN = re.compile(
    r'\s+|"(?:\\.|[^"\\])*"|[A-Za-z_\x80-\uffff][A-Za-z_0-9\x80-\uffff]*|-?(?:\.\d+|\d+(?:\.\d*)?)'
    r"|->|--|[{}\[\];,=:]",
    re.S,
)


def dot_tokens(text: str) -> list[str]:
    out, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        assert m, f"not DOT at {pos}: {text[pos : pos + 40]!r}"
        if not m.group().isspace():
            assert not (m.group().startswith('"') and "\n" in m.group()), m.group()
            out.append(m.group())
        pos = m.end()
    return out


def dot_label(token: str) -> str:
    """A quoted label as Graphviz shows it: \\" is ", \\\\ is \\, \\n a line break."""
    return re.sub(
        r"\\(.)", lambda m: {"n": "\n", '"': '"', "\\": "\\"}.get(m.group(1), "\\" + m.group(1)), token[1:-1]
    )


class DotGraph:
    """digraph ID? { stmt* } with node, edge, attr, ID=ID and subgraph statements."""

    def __init__(self, text: str) -> None:
        self.t = dot_tokens(text)
        self.i = 0
        self.nodes: dict[str, dict[str, str]] = {}
        self.edges: list[tuple[str, str, dict[str, str]]] = []
        assert self.take() == "digraph"
        if self.peek() != "{":
            self.id()
        self.block()
        assert self.i == len(self.t), "text after the graph"

    def peek(self) -> str:
        return self.t[self.i]

    def take(self, expected: str | None = None) -> str:
        tok = self.t[self.i]
        assert expected is None or tok == expected, (expected, tok, self.t[self.i - 5 : self.i + 5])
        self.i += 1
        return tok

    def id(self) -> str:
        tok = self.take()
        assert tok.startswith('"') or re.fullmatch(r"[A-Za-z_][A-Za-z_0-9]*|-?[\d.]+", tok), tok
        return tok

    def attrs(self) -> dict[str, str]:
        out: dict[str, str] = {}
        if self.peek() != "[":
            return out
        self.take("[")
        while self.peek() != "]":
            k = self.id()
            self.take("=")
            out[k] = self.id()
            if self.peek() in (",", ";"):
                self.take()
        self.take("]")
        return out

    def block(self) -> None:
        self.take("{")
        while self.peek() != "}":
            if self.peek() == "subgraph":
                self.take()
                self.id()
                self.block()
            elif self.peek() in ("graph", "node", "edge"):
                self.take()
                self.attrs()
            else:
                a = self.id()
                if self.peek() == "=":
                    self.take()
                    self.id()
                elif self.peek() == "->":
                    self.take()
                    b = self.id()
                    self.edges.append((a, b, self.attrs()))
                else:
                    assert a not in self.nodes, f"node {a} twice"
                    self.nodes[a] = self.attrs()
            if self.peek() == ";":
                self.take()
        self.take("}")


def check_dot(view: GraphView) -> DotGraph:
    g = DotGraph(F.to_dot(view))
    assert len(g.nodes) == len(view.nodes) and len(g.edges) == len(view.edges)
    by_tooltip = {dot_label(attrs["tooltip"]): tok for tok, attrs in g.nodes.items()}
    assert set(by_tooltip) == {n.id.replace("\r", "") for n in view.nodes}  # every ARN shown as it is
    for (a, b, _), e in zip(g.edges, view.edges, strict=True):
        assert (a, b) == (by_tooltip[e.source], by_tooltip[e.target])  # edges name the nodes' own tokens
    admins = {by_tooltip[n.id] for n in view.nodes if n.is_admin}
    assert {t for t, attrs in g.nodes.items() if attrs.get("color") == '"#c00000"'} == admins
    return g


def check_graphml(view: GraphView) -> ET.Element:
    root = ET.fromstring(F.to_graphml(view).encode("utf-8"))
    keys = {
        k.get("id"): (k.get("for"), k.get("attr.name"), k.get("attr.type")) for k in root.findall("g:key", NS)
    }
    [graph] = root.findall("g:graph", NS)
    assert graph.get("edgedefault") == "directed"
    nodes = graph.findall("g:node", NS)
    clean = [re.sub("[\x00-\x08\x0b\x0c\x0e-\x1f]", "", n.id) for n in view.nodes]
    assert [n.get("id") for n in nodes] == clean
    ids = set(clean)
    edges = graph.findall("g:edge", NS)
    assert len(edges) == len(view.edges) and all(
        e.get("source") in ids and e.get("target") in ids for e in edges
    )
    for el, target in [(n, "node") for n in nodes] + [(e, "edge") for e in edges]:
        for d in el.findall("g:data", NS):
            kind, _, typ = keys[d.get("key")]
            assert kind == target
            if typ == "boolean":
                assert d.text in ("true", "false")
            elif typ == "int":
                assert d.text is not None
                int(d.text)
    admin_key = next(k for k, (t, name, _) in keys.items() if t == "node" and name == "isAdmin")
    shown = [_found(n.find(f"g:data[@key='{admin_key}']", NS)).text == "true" for n in nodes]
    assert shown == [n.is_admin for n in view.nodes]
    return root


def _found(el: ET.Element | None) -> ET.Element:
    assert el is not None
    return el


def check_cytoscape(view: GraphView) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(F.to_cytoscape(view))
    nodes, edges = doc["elements"]["nodes"], doc["elements"]["edges"]
    assert [n["data"]["id"] for n in nodes] == [n.id for n in view.nodes]
    ids = {n["data"]["id"] for n in nodes}
    assert all(e["data"]["source"] in ids and e["data"]["target"] in ids for e in edges)
    assert len({e["data"]["id"] for e in edges}) == len(edges) == len(view.edges)
    assert [("admin" in n["classes"].split()) for n in nodes] == [n.is_admin for n in view.nodes]
    assert doc["data"]["truncated"] == view.truncated
    return doc


def test_hostile_names_survive_every_format():
    view = nasty_view()
    check_dot(view)
    check_graphml(view)
    check_cytoscape(view)
    assert json.loads(F.to_json(view)) == F.as_dict(view)
    assert "(truncated)" in F.to_dot(view)


def test_dot_quote_escapes_what_the_lexer_needs():
    for text in NASTY:
        [tok] = dot_tokens(F.dot_quote(text))
        assert dot_label(tok) == text.replace("\r", "")
    assert F.dot_quote('a"b') == '"a\\"b"' and F.dot_quote("a\\") == '"a\\\\"'


def test_an_unknown_format_is_refused():
    with pytest.raises(Exception, match="unknown format `svg`"):
        F.render(nasty_view(), "svg")


@pytest.fixture(scope="module")
def example():
    db = open_database(None, buffer_pool_mb=256)
    load_files(db, [GAAD_EXAMPLE])
    yield db, build_index(db, build_snapshot(db))
    db.close()


def test_cloudsplaining_example_account_in_every_format(example):
    db, index = example
    export = json.loads(GAAD_EXAMPLE.read_text())
    view = graph_view(db, index, max_nodes=5000, max_edges=20000)  # every account: its ARNs name two
    assert not view.truncated
    kinds = {k: {n.id for n in view.nodes if n.kind == k} for k in ("USER", "GROUP", "ROLE")}
    assert kinds["USER"] == {u["Arn"] for u in export["UserDetailList"]}
    assert kinds["GROUP"] == {g["Arn"] for g in export["GroupDetailList"]}
    assert kinds["ROLE"] == {r["Arn"] for r in export["RoleDetailList"]}
    group_arn = {g["GroupName"]: g["Arn"] for g in export["GroupDetailList"]}
    assert {(e.source, e.target) for e in view.edges if e.kind == "MEMBER_OF"} == {
        (u["Arn"], group_arn[g]) for u in export["UserDetailList"] for g in u["GroupList"]
    }
    for account in {u["Arn"].split(":")[4] for u in export["UserDetailList"]}:
        part = graph_view(db, index, account=account, max_nodes=5000, max_edges=20000)
        assert {n.id for n in part.nodes if n.kind == "USER"} == {
            u["Arn"] for u in export["UserDetailList"] if u["Arn"].split(":")[4] == account
        }
    check_dot(view)
    root = check_graphml(view)
    assert len(root.findall("g:graph/g:node", NS)) == len(view.nodes)
    doc = check_cytoscape(view)
    assert sum(1 for n in doc["elements"]["nodes"] if "admin" in n["classes"].split()) == sum(
        bool(n.is_admin) for n in view.nodes
    )
    assert json.loads(F.to_json(view)) == F.as_dict(view)
    assert any(n.is_admin for n in view.nodes) and any(e.kind == "ESCALATES_TO" for e in view.edges)


def test_edges_cut_at_max_edges_are_the_first_of_the_full_order(example):
    """Escalation edges are made lazily (distance by distance, source by source): the cut must be the prefix
    of the full order, on an export where fan-out escalation edges are dense."""
    db, index = example
    assert index.graph.fans, "the example export should hold fan-out escalation edges"
    full = graph_view(db, index, max_nodes=5000, max_edges=20000)
    assert not full.truncated
    explicit = {(s.source, s.target) for steps in index.graph.out.values() for s in steps}
    assert any(
        e.kind == "ESCALATES_TO" and (e.source, e.target) not in explicit for e in full.edges
    )  # from fans
    keys = [(max(n_dist(full, e.source), n_dist(full, e.target)), e.kind) for e in full.edges]
    assert keys == sorted(
        keys,
        key=lambda k: (k[0], ("MEMBER_OF", "ATTACHED", "CAN_ASSUME", "ESCALATES_TO", "HAS_ROLE").index(k[1])),
    )
    for cap in (1, 57, 500, len(full.edges) - 1):
        cut = graph_view(db, index, max_nodes=5000, max_edges=cap)
        assert cut.truncated and cut.edges == full.edges[:cap] and cut.nodes == full.nodes
    around = sorted(n.id for n in full.nodes if n.is_admin)[:2]
    ring = graph_view(db, index, around=around, depth=2, max_nodes=5000, max_edges=20000)
    for cap in (3, len(ring.edges) // 2):
        assert (
            graph_view(db, index, around=around, depth=2, max_nodes=5000, max_edges=cap).edges
            == ring.edges[:cap]
        )


def n_dist(view: GraphView, key: str) -> int:
    return next(n.distance for n in view.nodes if n.id == key)
