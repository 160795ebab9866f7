"""The graph view on the demo org: edges as the exports and seeds/facts.json say, breadth-first balls of the
whole graph, truncation nearest-first, a deterministic order, one-line errors naming what is wrong."""

from __future__ import annotations

import json
from collections import deque
from typing import Any

import pytest

from graphiam.changes.load import load_files
from graphiam.errors import InputError, NotFoundError
from graphiam.graph.snapshot import build_snapshot
from graphiam.queries.escalation_paths import build_index
from graphiam.queries.graph_view import GraphView, graph_view
from graphiam.store import open_database
from tests.helpers import SEEDS

FACTS = json.loads((SEEDS / "facts.json").read_text())
EXPORTS = [json.loads((SEEDS / FACTS["accounts"][a]["file"]).read_text()) for a in sorted(FACTS["accounts"])]
NEEDS = {"mfa": "aws:MultiFactorAuthPresent", "source_ip": "aws:SourceIp", "external_id": "sts:ExternalId"}
ALICE = "arn:aws:iam::111111111111:user/engineering/alice"
CI_ROLE = "arn:aws:iam::111111111111:role/automation/CIDeployRole"


@pytest.fixture(scope="module")
def seeded():
    db = open_database(None, buffer_pool_mb=256)
    load_files(db, [SEEDS / "demo-org.json", SEEDS / "partner-account.json", SEEDS / "credential-report.csv"])
    yield db, build_index(db, build_snapshot(db))
    db.close()


@pytest.fixture(scope="module")
def whole(seeded):
    db, index = seeded
    return graph_view(db, index, max_nodes=5000, max_edges=20000)


def _pairs(view: GraphView, kind: str) -> set[tuple[str, str]]:
    return {(e.source, e.target) for e in view.edges if e.kind == kind}


def _details(export: dict[str, Any], key: str) -> list[dict[str, Any]]:
    lists = {"user": "UserDetailList", "group": "GroupDetailList", "role": "RoleDetailList"}
    details: list[dict[str, Any]] = export[lists[key]]
    return details


def test_member_of_edges_are_the_exports_group_lists(whole, seeded):
    expected = set()
    for export in EXPORTS:
        group_arn = {g["GroupName"]: g["Arn"] for g in export["GroupDetailList"]}
        expected |= {(u["Arn"], group_arn[g]) for u in export["UserDetailList"] for g in u["GroupList"]}
    assert expected and _pairs(whole, "MEMBER_OF") == expected
    db, index = seeded
    for export in EXPORTS:  # a group's neighbourhood over MEMBER_OF is its members
        for g in export["GroupDetailList"]:
            view = graph_view(db, index, around=[g["Arn"]], depth=1, edge_kinds=["MEMBER_OF"])
            members = {u["Arn"] for u in export["UserDetailList"] if g["GroupName"] in u["GroupList"]}
            assert {n.id for n in view.nodes} == members | {g["Arn"]}


def test_attached_edges_are_the_exports_attachments_and_say_how(whole):
    expected = set()
    for export in EXPORTS:
        for kind, inline_key in (
            ("user", "UserPolicyList"),
            ("group", "GroupPolicyList"),
            ("role", "RolePolicyList"),
        ):
            for d in _details(export, kind):
                expected |= {(p["PolicyArn"], d["Arn"], "identity") for p in d["AttachedManagedPolicies"]}
                expected |= {
                    (f"{d['Arn']}#{p['PolicyName']}", d["Arn"], "inline") for p in d.get(inline_key) or ()
                }
                if d.get("PermissionsBoundary"):
                    expected.add((d["PermissionsBoundary"]["PermissionsBoundaryArn"], d["Arn"], "boundary"))
    got = {(e.source, e.target, e.properties["how"]) for e in whole.edges if e.kind == "ATTACHED"}
    assert got == expected
    assert {(p, t) for p, t, how in got if how == "boundary"} == {
        (b, p) for p, b in FACTS["boundaries"].items()
    }


def test_has_role_edges_are_the_roles_instance_profiles(whole):
    expected = {
        (i["Arn"], r["Arn"])
        for export in EXPORTS
        for r in export["RoleDetailList"]
        for i in r["InstanceProfileList"]
    }
    assert expected and _pairs(whole, "HAS_ROLE") == expected
    assert {n.id for n in whole.nodes if n.kind == "INSTANCE_PROFILE"} == {i for i, _ in expected}


def test_can_assume_edges_and_their_conditions_are_the_facts(whole):
    got = {
        (e.source, e.target): set(e.properties["conditions"]) for e in whole.edges if e.kind == "CAN_ASSUME"
    }
    assert got == {(f["from"], f["to"]): {NEEDS[n] for n in f["needs"]} for f in FACTS["can_assume"]}
    services = {f["from"] for f in FACTS["can_assume"] if not f["from"].startswith("arn:")}
    assert {n.id for n in whole.nodes if n.kind == "SERVICE_PRINCIPAL"} == services
    assert all(n.account is None for n in whole.nodes if n.kind == "SERVICE_PRINCIPAL")


def test_escalations_and_administrators_are_the_facts(whole):
    techniques: dict[tuple[str, str], set[str]] = {
        (e.source, e.target): set() for e in whole.edges if e.kind == "ESCALATES_TO"
    }
    for e in whole.edges:
        if e.kind == "ESCALATES_TO":
            techniques[(e.source, e.target)].add(e.properties["technique"])
            assert e.label == e.properties["technique"]
    selfish = set()
    for f in FACTS["escalations"]:
        if "to" in f:
            assert f["technique"] in techniques[(f["from"], f["to"])], f
        else:  # a policy of its own it can change: a self-loop that makes it administrator
            loops = [e for e in whole.edges if e.kind == "ESCALATES_TO" and e.source == e.target == f["from"]]
            assert loops and all(e.properties["makesAdmin"] for e in loops), f
            if not f["technique"].startswith("iam:"):  # pathfinding.cloud's id; graphiam numbers its own
                assert f["technique"] in {e.properties["technique"] for e in loops}
            selfish.add(f["from"])
    principals = [n for n in whole.nodes if n.kind in ("USER", "ROLE")]
    assert {n.id for n in principals if n.is_admin} == set(FACTS["admin_equivalent"])
    assert selfish <= {n.id for n in principals if n.can_become_admin}
    assert not {n.id for n in principals if n.is_admin and n.can_become_admin}
    others = [n for n in whole.nodes if n.kind not in ("USER", "ROLE")]
    assert not any(n.is_admin or n.can_become_admin for n in others)


def _ball(whole: GraphView, centre: list[str], depth: int) -> dict[str, int]:
    """Undirected breadth-first distances from `centre` over every edge of the whole graph."""
    adj: dict[str, set[str]] = {}
    for e in whole.edges:
        adj.setdefault(e.source, set()).add(e.target)
        adj.setdefault(e.target, set()).add(e.source)
    dist = {c: 0 for c in centre}
    queue = deque(centre)
    while queue:
        a = queue.popleft()
        for b in sorted(adj.get(a, ())):
            if b not in dist and dist[a] < depth:
                dist[b] = dist[a] + 1
                queue.append(b)
    return dist


@pytest.mark.parametrize(
    "centre", [[ALICE], [CI_ROLE, "ec2.amazonaws.com"], ["arn:aws:iam::aws:policy/AdministratorAccess"]]
)
@pytest.mark.parametrize("depth", [1, 2, 3])
def test_a_neighbourhood_is_the_ball_of_the_whole_graph(seeded, whole, centre, depth):
    db, index = seeded
    view = graph_view(db, index, around=centre, depth=depth, max_nodes=5000)
    assert not view.truncated
    ball = _ball(whole, centre, depth)
    assert {n.id: n.distance for n in view.nodes} == ball
    assert {e.id for e in view.edges} == {e.id for e in whole.edges if e.source in ball and e.target in ball}
    assert [n.distance for n in view.nodes] == sorted(n.distance for n in view.nodes)


def test_cut_at_max_nodes_keeps_the_nearest_and_says_so(seeded, whole):
    db, index = seeded
    full = graph_view(db, index, around=[ALICE], depth=3, max_nodes=5000)
    for cap in (1, 4, 9, len(full.nodes) - 1):
        view = graph_view(db, index, around=[ALICE], depth=3, max_nodes=cap)
        assert view.truncated and len(view.nodes) == cap
        far = max(n.distance for n in view.nodes)
        assert {n.id for n in full.nodes if n.distance < far} <= {n.id for n in view.nodes}
        shown = {n.id for n in view.nodes}
        assert all(e.source in shown and e.target in shown for e in view.edges)
    exact = graph_view(db, index, around=[ALICE], depth=3, max_nodes=len(full.nodes))
    assert not exact.truncated and exact == full
    few = graph_view(db, index, around=[ALICE], depth=3, max_nodes=5000, max_edges=3)
    assert few.truncated and few.edges == full.edges[:3]


def test_order_does_not_depend_on_the_order_of_around(seeded):
    db, index = seeded
    a = graph_view(db, index, around=[ALICE, CI_ROLE], depth=2)
    b = graph_view(db, index, around=[CI_ROLE, ALICE, ALICE], depth=2)
    assert (
        a == b
        and len({e.id for e in a.edges}) == len(a.edges)
        and len({n.id for n in a.nodes}) == len(a.nodes)
    )


def test_edge_kinds_and_account_narrow_the_search(seeded):
    db, index = seeded
    shared = "arn:aws:iam::222222222222:role/SharedArtifactsRole"
    wide = graph_view(db, index, around=[CI_ROLE], depth=1)
    assert shared in {n.id for n in wide.nodes}
    kept = graph_view(db, index, around=[CI_ROLE], depth=1, account="111111111111")
    assert shared not in {n.id for n in kept.nodes}
    assert {n.account for n in kept.nodes} <= {"111111111111", "aws", None}
    only = graph_view(db, index, around=[CI_ROLE], depth=2, edge_kinds=["CAN_ASSUME"])
    assert {e.kind for e in only.edges} == {"CAN_ASSUME"}
    assumptions = graph_view(db, index, edge_kinds=["CAN_ASSUME"], max_nodes=5000)
    assert {n.id for n in only.nodes} == set(_ball(assumptions, [CI_ROLE], 2))


def test_a_whole_account_is_its_nodes_and_their_neighbours(seeded):
    db, index = seeded
    partner = next(e for e in EXPORTS if e["UserDetailList"][0]["Arn"].split(":")[4] == "222222222222")
    view = graph_view(db, index, account="222222222222", max_nodes=5000)
    own = {n.id for n in view.nodes if n.distance == 0}
    expected = {d["Arn"] for k in ("user", "group", "role") for d in _details(partner, k)}
    expected |= {p["Arn"] for p in partner["Policies"] if p["Arn"].split(":")[4] == "222222222222"}
    assert expected <= own and all(n.account == "222222222222" for n in view.nodes if n.distance == 0)
    outside = {n.id for n in view.nodes if n.distance == 1}
    assert "arn:aws:iam::111111111111:role/PartnerAuditRole" in outside  # the partner's auditor can assume it
    assert (
        "arn:aws:iam::111111111111:role/automation/CIDeployRole" in outside
    )  # it can assume SharedArtifacts


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            {"around": [ALICE, "arn:aws:iam::111111111111:user/nobody", "nonsense"]},
            "`around`: not in the graph: `arn:aws:iam::111111111111:user/nobody`, `nonsense`",
        ),
        ({"around": []}, "`around` is empty"),
        ({"around": [ALICE], "depth": 0}, "`depth` must be an integer from 1 to 6, got 0"),
        ({"around": [ALICE], "depth": 7}, "`depth` must be an integer from 1 to 6, got 7"),
        ({"max_nodes": 0}, "`maxNodes` must be an integer from 1 to 5000, got 0"),
        ({"max_nodes": 5001}, "`maxNodes` must be an integer from 1 to 5000, got 5001"),
        ({"max_edges": 20001}, "`maxEdges` must be an integer from 1 to 20000"),
        ({"edge_kinds": ["FRIENDS_WITH"]}, "`edgeKinds`: unknown kind(s) FRIENDS_WITH"),
        ({"edge_kinds": []}, "`edgeKinds` is empty"),
        ({"account": "999999999999"}, "`account`: `999999999999` is not a loaded account"),
    ],
)
def test_bad_input_is_refused_naming_what(seeded, kwargs, message):
    db, index = seeded
    with pytest.raises((InputError, NotFoundError)) as err:
        graph_view(db, index, **kwargs)
    assert message in str(err.value) and "\n" not in str(err.value)
