"""`graphiam graph`: files in the chosen format, a summary on stderr, one-line errors."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from tests.helpers import SEEDS, run_cli

BOB = "arn:aws:iam::111111111111:user/engineering/bob"
FACTS = json.loads((SEEDS / "facts.json").read_text())


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    path = tmp_path_factory.mktemp("graph") / "db"
    r = run_cli("load", str(SEEDS / "demo-org.json"), str(SEEDS / "partner-account.json"), db=path)
    assert r.returncode == 0, r.stderr
    return path


def test_whole_account_as_cytoscape_file(db, tmp_path):
    out = tmp_path / "org.json"
    r = run_cli("graph", "--account", "111111111111", "--format", "cytoscape", "-o", str(out), db=db)
    assert r.returncode == 0, r.stderr
    doc = json.loads(out.read_text())
    nodes = {n["data"]["id"]: n for n in doc["elements"]["nodes"]}
    admins = {i for i, n in nodes.items() if "admin" in n["classes"].split()}
    assert set(FACTS["admin_equivalent"]) <= admins
    assert f"{len(nodes)} nodes, {len(doc['elements']['edges'])} edges" in r.stderr and r.stdout == ""


def test_neighbourhood_as_graphml_on_stdout(db):
    r = run_cli(
        "graph", "--around", BOB, "--depth", "1", "--edge-kind", "MEMBER_OF", "--format", "graphml", db=db
    )
    assert r.returncode == 0, r.stderr
    root = ET.fromstring(r.stdout)
    ns = "{http://graphml.graphdrawing.org/xmlns}"
    groups = {e.get("target") for e in root.iter(f"{ns}edge")}
    export = json.loads((SEEDS / "demo-org.json").read_text())
    group_arn = {g["GroupName"]: g["Arn"] for g in export["GroupDetailList"]}
    [bob] = [u for u in export["UserDetailList"] if u["Arn"] == BOB]
    assert groups == {group_arn[g] for g in bob["GroupList"]}


def test_unknown_arns_fail_in_one_line(db):
    r = run_cli("graph", "--around", BOB, "arn:aws:iam::111111111111:user/ghost", db=db)
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.strip().splitlines() == [
        "graphiam: error: `around`: not in the graph: `arn:aws:iam::111111111111:user/ghost`"
    ]
