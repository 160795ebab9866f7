"""isAdmin and canBecomeAdmin mean the same everywhere: GraphQL User/Role, effectivePermissions,
policyFindings, the graph (GraphQL and `graphiam graph`) and `graphiam report --json`; null with the missing
documents named when an export omitted a policy they rest on; whoCan lists principals resting on a missing
document as unknown. The export is tests/queries/test_admin.py's (`gappy_export`)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.helpers import ADMIN_ARN, GraphQLClient, arn, run_cli
from tests.queries.test_admin import OMITTED, OMITTED_POLICY, OPS, gappy_export, write_export

PRINCIPALS = [arn("user", n) for n in ("admin", "bounded", "reader", "esc", "assumer", "plain", "partial")]
PRINCIPALS.append(OPS)
FACTS = "isAdmin canBecomeAdmin adminConditions incomplete adminReason"


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """The export file, and a database on disk loaded from it by `graphiam load`."""
    tmp = tmp_path_factory.mktemp("admin")
    export = write_export(tmp, gappy_export())
    db = tmp / "db"
    r = run_cli("load", str(export), db=db)
    assert r.returncode == 0, r.stderr
    return export, db


@pytest.fixture(scope="module")
def client(files):
    from graphiam.changes.load import load_files
    from graphiam.store import open_database

    db = open_database(None, buffer_pool_mb=128)
    load_files(db, [files[0]])
    yield GraphQLClient(db)
    db.close()


def _principals(client: GraphQLClient) -> dict[str, dict[str, Any]]:
    query = (
        "{ "
        + " ".join(f'p{i}: principal(arn: "{a}") {{ arn {FACTS} }}' for i, a in enumerate(PRINCIPALS))
        + " }"
    )
    return {p["arn"]: p for p in client(query).values()}


def _effective(client: GraphQLClient, principal: str) -> dict[str, Any]:
    query = """query($p: String!) { effectivePermissions(principal: $p) {
        isAdmin canBecomeAdmin incomplete warnings
        administrator { isAdmin canBecomeAdmin conditions incomplete reason } } }"""
    data: dict[str, Any] = client(query, {"p": principal})["effectivePermissions"]
    return data


def test_the_placeholder_administrator_role_is_unknown_and_says_why(client):
    ops = _principals(client)[OPS]
    assert ops["isAdmin"] is None and ops["canBecomeAdmin"] is None  # today's main: false
    assert ops["incomplete"] == [ADMIN_ARN] and ADMIN_ARN in ops["adminReason"]
    e = _effective(client, OPS)
    assert e["isAdmin"] is None and e["incomplete"] == [ADMIN_ARN]
    assert e["administrator"]["incomplete"] == [ADMIN_ARN]
    assert any(ADMIN_ARN in w for w in e["warnings"])


def test_an_omitted_boundary_is_unknown_and_says_why(client):
    got = _principals(client)
    bounded, reader = got[arn("user", "bounded")], got[arn("user", "reader")]
    assert bounded["isAdmin"] is None and bounded["incomplete"] == [OMITTED]  # today's main: false
    assert reader["isAdmin"] is False and reader["canBecomeAdmin"] is None
    e = _effective(client, arn("user", "bounded"))
    assert e["isAdmin"] is None and e["incomplete"] == [OMITTED]
    assert any(OMITTED in w for w in e["warnings"])


def test_can_become_admin(client):
    got = _principals(client)
    assert got[arn("user", "esc")]["canBecomeAdmin"] is True
    assert got[arn("user", "esc")]["isAdmin"] is False
    assert got[arn("user", "plain")]["canBecomeAdmin"] is False
    assert got[arn("user", "admin")]["isAdmin"] is True
    assert got[arn("user", "admin")]["canBecomeAdmin"] is False


def test_who_can_lists_unknown_principals(client):
    data = client(
        """{ whoCan(action: "s3:GetObject", resource: "*") { principalArn decision unknown incomplete }
             whoCanSummary(action: "s3:GetObject", resource: "*") { total unknown } }"""
    )
    rows = {r["principalArn"]: r for r in data["whoCan"]}
    known = {a for a, r in rows.items() if not r["unknown"]}
    assert known == {arn("user", "admin"), arn("user", "plain")}
    assert all(rows[a]["decision"] == "ALLOWED" and rows[a]["incomplete"] == [] for a in known)
    assert {a: r["incomplete"] for a, r in rows.items() if r["unknown"]} == {
        OPS: [ADMIN_ARN],
        arn("user", "bounded"): [OMITTED],
        arn("user", "reader"): [OMITTED],
        arn("user", "partial"): [OMITTED_POLICY],
    }
    # unknown ones come last, and are counted apart
    assert [r["unknown"] for r in data["whoCan"]] == sorted(r["unknown"] for r in data["whoCan"])
    assert data["whoCanSummary"] == {"total": 2, "unknown": 4}


def test_simulate_warns_about_the_missing_boundary(client):
    sim = client(
        f'{{ simulate(principal: "{arn("user", "bounded")}", action: "s3:GetObject", resource: "*") '
        "{ decision warnings } }"
    )["simulate"]
    assert sim["decision"] == "IMPLICIT_DENY" and any(OMITTED in w for w in sim["warnings"])


def test_chains_from_a_principal_under_a_missing_boundary_say_so(client):
    page = client(f'{{ assumptionChainPage(from: "{arn("user", "bounded")}") {{ totalCount warnings }} }}')[
        "assumptionChainPage"
    ]
    assert page["totalCount"] == 0 and any(OMITTED in w for w in page["warnings"])


def test_the_facts_agree_everywhere(client, files):
    """GraphQL principal, effectivePermissions, graph nodes, policyFindings, `graphiam report --json` and
    `graphiam graph --format json` give each principal the same isAdmin and canBecomeAdmin."""
    _, db = files
    truth = {a: (p["isAdmin"], p["canBecomeAdmin"]) for a, p in _principals(client).items()}
    # the export shows every kind of answer
    assert {v for v, _ in truth.values()} == {True, False, None}
    assert {v for _, v in truth.values()} == {True, False, None}
    for a in PRINCIPALS:
        e = _effective(client, a)
        assert (e["isAdmin"], e["canBecomeAdmin"]) == truth[a], a
        assert (e["administrator"]["isAdmin"], e["administrator"]["canBecomeAdmin"]) == truth[a], a
    nodes = client("{ graph(maxNodes: 1000) { nodes { id kind isAdmin canBecomeAdmin } } }")["graph"]["nodes"]
    assert {
        n["id"]: (n["isAdmin"], n["canBecomeAdmin"]) for n in nodes if n["kind"] in ("USER", "ROLE")
    } == truth
    findings = client(
        "{ policyFindings { warnings nodes { principals { arn kind isAdmin canBecomeAdmin } } } }"
    )["policyFindings"]
    reached = {r["arn"]: r for p in findings["nodes"] for r in p["principals"] if r["kind"] != "group"}
    assert {a for a in reached if truth[a][0] is None}  # some unknown one is reached
    assert all((r["isAdmin"], r["canBecomeAdmin"]) == truth[a] for a, r in reached.items())
    assert any(ADMIN_ARN in w for w in findings["warnings"])

    r = run_cli("report", "--json", db=db)
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    in_report = {x["arn"]: x for p in report["policies"] for x in p["principals"] if x["kind"] != "group"}
    assert set(in_report) == set(reached)
    assert all((x["isAdmin"], x["canBecomeAdmin"]) == truth[a] for a, x in in_report.items())
    assert any(ADMIN_ARN in w for w in report["warnings"])

    r = run_cli("graph", "--format", "json", db=db)
    assert r.returncode == 0, r.stderr
    exported = json.loads(r.stdout)["nodes"]
    assert {
        n["id"]: (n["isAdmin"], n["canBecomeAdmin"]) for n in exported if n["kind"] in ("USER", "ROLE")
    } == truth


def test_report_and_paths_text_say_unknown(files):
    _, db = files
    r = run_cli("report", db=db)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert any("user/bounded [admin unknown]" in ln for ln in lines)
    assert any("user/esc [can become admin]" in ln for ln in lines)
    assert any("user/admin [admin]" in ln for ln in lines)
    assert any(ln.startswith("warning: ") and ADMIN_ARN in ln for ln in lines)
    r = run_cli("paths", "--from", OPS, db=db)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[-1].startswith("isAdmin: unknown, canBecomeAdmin: unknown (")
    r = run_cli("paths", "--from", arn("user", "partial"), db=db)
    assert f"rests on policies without a document: {OMITTED_POLICY}" in r.stdout
