"""A graph view (`graphiam.queries.graph_view.GraphView`) written for other tools. Pure: text in, text out.

- `dot`: Graphviz (`dot -Tsvg`), PMapper style: administrators filled red and bold, principals that can become
  administrator outlined orange, those whose facts are unknown (a policy without a document) outlined grey and
  dashed, one cluster per account,
  escalation edges red and dashed, assume-role edges blue (dashed when the hop needs conditions). Every ID and
  label is a quoted string (DOT quoting: `\\` and `"` escaped, newlines as `\\n`), so any ARN is safe.
- `graphml`: GraphML for Gephi and yEd, written with xml.etree (escaping is the library's); properties become
  typed `data` keys (lists joined with `,`), characters XML 1.0 forbids are dropped.
- `cytoscape`: Cytoscape.js elements JSON (`cy.add(json.elements)`): `data` per node and edge, `classes` for
  styling (the kind, `admin`, `can-become-admin`, `admin-unknown`).
- `json`: the GraphQL shape (`nodes`, `edges` with `from`/`to`, `truncated`).
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from typing import Any

from graphiam.errors import InputError
from graphiam.queries.graph_view import GraphEdge, GraphNode, GraphView

FORMATS = ("dot", "graphml", "json", "cytoscape")
GRAPHML_NS = "http://graphml.graphdrawing.org/xmlns"

_SHAPES = {
    "USER": "box",
    "GROUP": "folder",
    "ROLE": "box",
    "POLICY": "note",
    "INSTANCE_PROFILE": "component",
    "SERVICE_PRINCIPAL": "ellipse",
    "EXTERNAL_PRINCIPAL": "octagon",
}
_FILL = {
    "USER": "#dae8fc",
    "GROUP": "#e1d5e7",
    "ROLE": "#d5e8d4",
    "POLICY": "#fff2cc",
    "INSTANCE_PROFILE": "#f5f5f5",
    "SERVICE_PRINCIPAL": "#ffffff",
    "EXTERNAL_PRINCIPAL": "#ffe6cc",
}
_EDGE_STYLE = {
    "MEMBER_OF": 'color="#7f7f7f"',
    "ATTACHED": 'color="#b8860b", style="dotted"',
    "HAS_ROLE": 'color="#7f7f7f"',
    "CAN_ASSUME": 'color="#1f4e9e"',
    "ESCALATES_TO": 'color="#c00000", style="dashed", penwidth=2',
}


def render(view: GraphView, fmt: str) -> str:
    if fmt not in FORMATS:
        raise InputError(f"`format`: unknown format `{fmt}`; known: {', '.join(FORMATS)}")
    return {"dot": to_dot, "graphml": to_graphml, "json": to_json, "cytoscape": to_cytoscape}[fmt](view)


# ---- DOT ----


def dot_quote(text: str) -> str:
    """A DOT quoted string: backslash and double quote escaped, line breaks as `\\n`."""
    s = text.replace("\\", "\\\\").replace('"', '\\"').replace("\r\n", "\n").replace("\r", "\n")
    return '"' + s.replace("\n", "\\n") + '"'


def _dot_node(n: GraphNode) -> str:
    label = n.label if n.kind not in ("USER", "ROLE") else f"{n.label}\n({n.kind.lower()})"
    attrs = [
        f"label={dot_quote(label)}",
        f"shape={_SHAPES[n.kind]}",
        f"fillcolor={dot_quote(_FILL[n.kind])}",
        f"tooltip={dot_quote(n.id)}",
    ]
    style = ["filled", "rounded"] if n.kind == "ROLE" else []
    if n.is_admin:
        attrs += ['fillcolor="#f8cecc"', 'color="#c00000"', "penwidth=3", 'fontname="Helvetica-Bold"']
    elif n.can_become_admin:
        attrs += ['color="#e69500"', "penwidth=3"]
    elif n.is_admin is None or n.can_become_admin is None:
        attrs += ['color="#7f7f7f"', "penwidth=2"]
        style = [*(style or ["filled"]), "dashed"]
    if style:
        attrs.append(f"style={dot_quote(','.join(style))}")
    return f"{dot_quote(n.id)} [{', '.join(attrs)}];"


def _dot_edge(e: GraphEdge) -> str:
    style = _EDGE_STYLE[e.kind]
    if e.kind == "CAN_ASSUME" and e.properties.get("needsConditions"):
        style += ', style="dashed"'
    tip = e.label + (
        f" (needs {', '.join(e.properties['conditions'])})" if e.properties.get("conditions") else ""
    )
    return (
        f"{dot_quote(e.source)} -> {dot_quote(e.target)} [label={dot_quote(e.label)}, "
        f"tooltip={dot_quote(tip)}, {style}];"
    )


def to_dot(view: GraphView) -> str:
    lines = [
        "digraph iam {",
        '  graph [rankdir=LR, fontname="Helvetica", label="graphiam IAM graph'
        + (" (truncated)" if view.truncated else "")
        + '"];',
        '  node [style=filled, fontname="Helvetica", fontsize=10];',
        '  edge [fontname="Helvetica", fontsize=8];',
    ]
    by_account: dict[str | None, list[GraphNode]] = {}
    for n in view.nodes:
        by_account.setdefault(n.account if n.account not in (None, "aws") else None, []).append(n)
    for account, nodes in by_account.items():
        if account is None:
            continue
        lines.append(f"  subgraph {dot_quote('cluster_' + account)} {{")
        lines.append(f'    label={dot_quote("account " + account)}; style="rounded"; color="#999999";')
        lines += [f"    {_dot_node(n)}" for n in nodes]
        lines.append("  }")
    lines += [f"  {_dot_node(n)}" for n in by_account.get(None, ())]
    lines += [f"  {_dot_edge(e)}" for e in view.edges]
    lines.append("}")
    return "\n".join(lines) + "\n"


# ---- GraphML ----

_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        value = ",".join(str(v) for v in value)
    return _XML_BAD.sub("", str(value))


def _attr_type(values: list[Any]) -> str:
    if values and all(isinstance(v, bool) for v in values):
        return "boolean"
    if values and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return "int"
    return "string"


def _node_data(n: GraphNode) -> dict[str, Any]:
    return {
        "label": n.label,
        "kind": n.kind,
        "account": n.account,
        "isAdmin": n.is_admin,
        "canBecomeAdmin": n.can_become_admin,
        **n.properties,
    }


def _edge_data(e: GraphEdge) -> dict[str, Any]:
    return {"label": e.label, "kind": e.kind, **e.properties}


def to_graphml(view: GraphView) -> str:
    ET.register_namespace("", GRAPHML_NS)
    root = ET.Element(f"{{{GRAPHML_NS}}}graphml")
    node_rows = [(n.id, _node_data(n)) for n in view.nodes]
    edge_rows = [(e, _edge_data(e)) for e in view.edges]
    keys: dict[tuple[str, str], str] = {}
    for target, rows in (("node", [d for _, d in node_rows]), ("edge", [d for _, d in edge_rows])):
        names = sorted({k for d in rows for k, v in d.items() if v is not None})
        for name in names:
            kid = f"{target[0]}_{name}"
            keys[(target, name)] = kid
            ET.SubElement(
                root,
                f"{{{GRAPHML_NS}}}key",
                {
                    "id": kid,
                    "for": target,
                    "attr.name": name,
                    "attr.type": _attr_type([d[name] for d in rows if d.get(name) is not None]),
                },
            )
    graph = ET.SubElement(root, f"{{{GRAPHML_NS}}}graph", {"id": "iam", "edgedefault": "directed"})
    truncated = ET.SubElement(graph, f"{{{GRAPHML_NS}}}desc")
    truncated.text = "truncated" if view.truncated else "complete"
    for nid, data in node_rows:
        el = ET.SubElement(graph, f"{{{GRAPHML_NS}}}node", {"id": _xml_text(nid)})
        _data(el, keys, "node", data)
    for e, data in edge_rows:
        el = ET.SubElement(
            graph,
            f"{{{GRAPHML_NS}}}edge",
            {"id": _xml_text(e.id), "source": _xml_text(e.source), "target": _xml_text(e.target)},
        )
        _data(el, keys, "edge", data)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _data(el: ET.Element, keys: dict[tuple[str, str], str], target: str, data: dict[str, Any]) -> None:
    for name, value in sorted(data.items()):
        if value is not None:
            ET.SubElement(el, f"{{{GRAPHML_NS}}}data", {"key": keys[(target, name)]}).text = _xml_text(value)


# ---- JSON ----


def as_dict(view: GraphView) -> dict[str, Any]:
    """The GraphQL shape of the view."""
    return {
        "nodes": [
            {
                "id": n.id,
                "kind": n.kind,
                "label": n.label,
                "account": n.account,
                "isAdmin": n.is_admin,
                "canBecomeAdmin": n.can_become_admin,
                "properties": n.properties,
            }
            for n in view.nodes
        ],
        "edges": [
            {
                "id": e.id,
                "from": e.source,
                "to": e.target,
                "kind": e.kind,
                "label": e.label,
                "properties": e.properties,
            }
            for e in view.edges
        ],
        "truncated": view.truncated,
    }


def to_json(view: GraphView) -> str:
    return json.dumps(as_dict(view), indent=1, ensure_ascii=False) + "\n"


def cytoscape(view: GraphView) -> dict[str, Any]:
    nodes = [
        {
            "data": {"id": n.id, **_node_data(n)},
            "classes": " ".join([n.kind.lower(), *_admin_classes(n)]),
        }
        for n in view.nodes
    ]
    edges = [
        {
            "data": {"id": e.id, "source": e.source, "target": e.target, **_edge_data(e)},
            "classes": e.kind.lower(),
        }
        for e in view.edges
    ]
    return {"elements": {"nodes": nodes, "edges": edges}, "data": {"truncated": view.truncated}}


def _admin_classes(n: GraphNode) -> list[str]:
    if n.is_admin:
        return ["admin"]
    if n.can_become_admin:
        return ["can-become-admin"]
    if n.is_admin is None or n.can_become_admin is None:
        return ["admin-unknown"]
    return []


def to_cytoscape(view: GraphView) -> str:
    return json.dumps(cytoscape(view), indent=1, ensure_ascii=False) + "\n"
