"""`graph` over GraphQL: the view's nodes and edges, `export` in every format, errors as the caller's own."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from tests.helpers import SEEDS

FACTS = json.loads((SEEDS / "facts.json").read_text())
BOB = "arn:aws:iam::111111111111:user/engineering/bob"
OPS = "arn:aws:iam::111111111111:role/service-role/OpsAutomationRole"
QUERY = """query($around: [String!], $depth: Int!, $kinds: [GraphEdgeKind!], $max: Int!) {
  graph(around: $around, depth: $depth, edgeKinds: $kinds, maxNodes: $max) {
    nodes { id kind label account isAdmin canBecomeAdmin properties }
    edges { id from to kind label properties } truncated } }"""


@pytest.fixture(scope="module")
def q(seeded_gql):
    return seeded_gql


def test_bobs_escalation_to_an_administrator_role(q):
    g = q(QUERY, {"around": [BOB], "depth": 1, "kinds": ["ESCALATES_TO"], "max": 500})["graph"]
    [fact] = [f for f in FACTS["escalations"] if f["from"] == BOB]
    hops = {(e["from"], e["to"], e["properties"]["technique"]) for e in g["edges"]}
    assert (BOB, fact["to"], fact["technique"]) in hops and all(
        e["kind"] == "ESCALATES_TO" for e in g["edges"]
    )
    nodes = {n["id"]: n for n in g["nodes"]}
    assert nodes[OPS]["isAdmin"] is True and nodes[OPS]["kind"] == "ROLE" and not nodes[OPS]["canBecomeAdmin"]
    assert nodes[BOB]["properties"]["distance"] == 0 and nodes[BOB]["isAdmin"] is False
    assert nodes[BOB]["canBecomeAdmin"] is True  # PassRole + RunInstances to OpsAutomationRole
    assert {e["from"] for e in g["edges"]} | {e["to"] for e in g["edges"]} <= set(nodes)


def test_truncated_answers_say_so(q):
    g = q(QUERY, {"around": [BOB], "depth": 3, "kinds": None, "max": 3})["graph"]
    assert g["truncated"] and len(g["nodes"]) == 3 and g["nodes"][0]["id"] == BOB


def test_export_renders_the_same_graph(q):
    d = q(
        f"""{{ graph(around: ["{BOB}"], depth: 2) {{ nodes {{ id }} edges {{ id }}
             dot: export(format: DOT) graphml: export(format: GRAPHML) cy: export(format: CYTOSCAPE)
             js: export(format: JSON) }} }}"""
    )["graph"]
    ids = [n["id"] for n in d["nodes"]]
    root = ET.fromstring(d["graphml"])
    assert [n.get("id") for n in root.iter("{http://graphml.graphdrawing.org/xmlns}node")] == ids
    assert [n["data"]["id"] for n in json.loads(d["cy"])["elements"]["nodes"]] == ids
    assert [e["id"] for e in json.loads(d["js"])["edges"]] == [e["id"] for e in d["edges"]]
    assert d["dot"].startswith("digraph") and all(f'"{i}"' in d["dot"] for i in ids)


@pytest.mark.parametrize(
    "args, message",
    [
        (
            'around: ["arn:aws:iam::111111111111:user/ghost"]',
            "`around`: not in the graph: `arn:aws:iam::111111111111:user/ghost`",
        ),
        ("maxNodes: 5001", "`maxNodes` must be an integer from 1 to 5000, got 5001"),
        ("depth: 7", "`depth` must be an integer from 1 to 6, got 7"),
    ],
)
def test_bad_arguments_are_the_callers_errors(q, args, message):
    body = q.raw(f"{{ graph({args}) {{ truncated }} }}")
    [err] = body["errors"]
    assert err["message"] == message and err.get("extensions", {}).get("code") != "INTERNAL"


def test_one_view_is_computed_once_per_generation_whatever_the_order_of_its_arguments(q, monkeypatch):
    """A dashboard page's neighbourhood, asked on every visit: kept per generation by its arguments."""
    from graphiam.queries import graph_view

    calls: list[tuple[str, ...]] = []
    real = graph_view.graph_view

    def counted(*args, **kwargs):
        calls.append(tuple(kwargs["around"]))
        return real(*args, **kwargs)

    monkeypatch.setattr(graph_view, "graph_view", counted)
    fields = "nodes { id } edges { id } truncated"
    data = q(
        "query($a: String!, $b: String!) { "
        f"x: graph(around: [$a, $b], depth: 1, edgeKinds: [ATTACHED, MEMBER_OF]) {{ {fields} }} "
        f"y: graph(around: [$b, $a, $a], depth: 1, edgeKinds: [MEMBER_OF, ATTACHED]) {{ {fields} }} "
        f"z: graph(around: [$a, $b], depth: 1, edgeKinds: [MEMBER_OF]) {{ {fields} }} }}",
        {"a": BOB, "b": OPS},
    )
    assert len(calls) == 2  # x and y are one view; z another
    assert data["x"] == data["y"] != data["z"] and data["x"]["nodes"]
