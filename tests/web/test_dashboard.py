"""The dashboard at /ui/ in Chromium on the demo org, every request not to the server blocked: each number,
graph and decision it shows is checked against the API's own answer (never a number written here), no page
logs an error, and each page's screenshot is saved (ARTIFACTS)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.web.conftest import Server, Tab

ORG = "arn:aws:iam::111111111111:"
BOB = f"{ORG}user/engineering/bob"
ALICE = f"{ORG}user/engineering/alice"
PLATFORM = f"{ORG}role/PlatformEngineerRole"


@pytest.fixture
def signed_in(tab: Tab, server: Server) -> Iterator[Tab]:
    """A tab whose session holds the admin token (as the Token dialog leaves it)."""
    tab.goto("/ui/")
    tab.page.evaluate("t => sessionStorage.setItem('graphiam.token', t)", server.admin_token)
    tab.page.reload()
    tab.page.wait_for_selector('#token-button[data-role="ADMIN"]')  # the page acts with the token
    yield tab
    assert tab.offsite == [], "the dashboard tried to reach the network"
    assert tab.errors == [], "the page logged errors"


def open_page(tab: Tab, route: str) -> None:
    """Go to a dashboard route and wait until every panel has its answer."""
    tab.goto(f"/ui/#{route}")
    tab.page.wait_for_function(
        "r => document.querySelector('#main').dataset.state === 'ready' && location.hash === r",
        arg=f"#{route}",
        timeout=30_000,
    )


UNLABELLED = """() => [...document.querySelectorAll('input, select, textarea, button, a[href], [role=img]')]
    .filter(e => e.offsetParent !== null || e.getAttribute('role') === 'img')
    .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')
                 && !e.getAttribute('aria-labelledby') && !(e.textContent || '').trim()
                 && !e.getAttribute('title'))
    .map(e => e.outerHTML.slice(0, 120))"""


def unlabelled(tab: Tab) -> list[str]:
    """Controls, links and drawings on the page without an accessible name (label, text, aria-label …)."""
    names: list[str] = tab.page.evaluate(UNLABELLED)
    return names


def stat(tab: Tab, key: str) -> int:
    return int(tab.page.locator(f'[data-stat="{key}"]').inner_text().replace(",", ""))


def test_overview_shows_the_demo_orgs_numbers(signed_in: Tab, server: Server):
    tab = signed_in
    open_page(tab, "/")
    api = server.graphql(
        "{ accounts { id } users(first: 0) { totalCount } groups(first: 0) { totalCount } "
        "roles(first: 0) { totalCount } policies(first: 0, kinds: [AWS_MANAGED, CUSTOMER_MANAGED, INLINE]) "
        "{ totalCount } administrators { now } escalationSummary { arn } "
        "externalAccess(targets: [ROLE]) { role unconditional } "
        "policyFindings(first: 0) { totalCount summary { category policies } } }"
    )
    assert stat(tab, "accounts") == len(api["accounts"]) == 2
    for key in ("users", "groups", "roles", "policies"):
        assert stat(tab, key) == api[key]["totalCount"] > 0, key
    assert stat(tab, "admins") == len(api["administrators"]) > 0
    assert stat(tab, "admins-now") == sum(a["now"] for a in api["administrators"])
    assert stat(tab, "can-become-admin") == len(api["escalationSummary"]) > 0
    assert stat(tab, "external-entries") == len(api["externalAccess"])
    assert stat(tab, "finding-policies") == api["policyFindings"]["totalCount"] > 0
    bars = {
        li.get_attribute("data-label"): int(li.get_attribute("data-value") or -1)
        for li in tab.page.locator('[data-chart="findings"] li').all()
    }
    assert bars == {s["category"]: s["policies"] for s in api["policyFindings"]["summary"]}
    for account in api["accounts"]:
        per = server.graphql(
            "query($a: String!) { users(account: $a, first: 0) { totalCount } roles(account: $a, first: 0) "
            "{ totalCount } }",
            {"a": account["id"]},
        )
        bar = tab.page.locator(f'[data-chart="by-account"] li[data-label="{account["id"]}"]')
        assert (
            int(bar.get_attribute("data-value") or -1)
            == per["users"]["totalCount"] + per["roles"]["totalCount"]
        )
    # every panel says which query it came from
    tab.page.locator('[data-panel="counts"] > details.query summary').click()
    shown = tab.page.locator('[data-panel="counts"] > details.query pre').first.inner_text()
    assert "users(first: 0) { totalCount }" in shown
    link = tab.page.locator('[data-panel="counts"] > details.query a').first.get_attribute("href") or ""
    assert link.startswith("../graphql#query=")
    assert unlabelled(tab) == []
    tab.shot("dashboard-overview")
    tab.shot("dashboard-overview-top", full_page=False)


def test_search_then_principal_then_its_escalation_graph(signed_in: Tab, server: Server):
    tab = signed_in
    page = tab.page
    open_page(tab, "/")
    page.keyboard.press("/")  # the search box, keyboard first
    page.keyboard.type("alice")
    page.wait_for_selector("#search-results li[role=option][aria-selected=true]")
    hits = server.graphql('{ search(text: "alice", first: 12) { arn } }')["search"]
    assert page.locator("#search-results li[role=option]").count() == len(hits)
    assert hits[0]["arn"] == ALICE
    page.keyboard.press("Enter")
    page.wait_for_function(
        "() => document.querySelector('#main').dataset.state === 'ready' "
        "&& location.hash.startsWith('#/user/')"
    )
    assert page.evaluate("location.hash") == f"#/user/{quote(ALICE, safe='')}"

    api = server.graphql(
        "query($a: String!) { "
        "escalationPaths(from: $a, limit: 50) { reachesAdmin steps { from to technique } } "
        "assumptionChainPage(from: $a, first: 50) { graph { nodes { id } edges { source target } } } "
        "administrators { arn } principal(arn: $a) { isAdmin policies { policy { arn } } } }",
        {"a": ALICE},
    )
    steps = [s for p in api["escalationPaths"] for s in p["steps"]]
    assert steps, "alice has an escalation path in the demo org"
    chain = api["assumptionChainPage"]["graph"]
    expected_nodes = {s["from"] for s in steps} | {s["to"] for s in steps} | {n["id"] for n in chain["nodes"]}
    expected_edges = {(s["from"], s["to"]) for s in steps} | {
        (e["source"], e["target"]) for e in chain["edges"]
    }
    drawn = page.evaluate(
        """() => { const cy = document.querySelector('[data-graph="access"]').cy;
        return { nodes: cy.nodes().map(n => ({ id: n.id(), admin: n.data('admin') })),
                 edges: cy.edges().map(e => [e.source().id(), e.target().id(), e.data('label')]) }; }"""
    )
    assert {n["id"] for n in drawn["nodes"]} == expected_nodes
    assert {(a, b) for a, b, _ in drawn["edges"]} == expected_edges
    admins = {a["arn"] for a in api["administrators"]}
    assert {n["id"] for n in drawn["nodes"] if n["admin"]} == expected_nodes & admins
    # every edge says why: the escalation technique, or the assume action
    reasons = {(s["from"], s["to"]): s["technique"] for s in steps}
    for a, b, label in drawn["edges"]:
        assert label == ("AssumeRole" if reasons.get((a, b), "sts-001") == "sts-001" else reasons[(a, b)])
    # the same edges as a table, for keyboards and screen readers
    rows = page.locator('table[data-edges="access"] tbody tr')
    assert rows.count() == len(drawn["edges"])
    # the policies table lists what the API says applies
    policies = page.locator('table[data-table="policies"] tbody tr')
    assert policies.count() == len(api["principal"]["policies"])
    tab.shot("dashboard-principal")
    tab.shot("dashboard-principal-graph", selector='[data-panel="access-graph"]')

    # click a node: its page opens
    target = steps[0]["to"]
    position = page.evaluate(
        """id => { const box = document.querySelector('[data-graph="access"]');
        box.scrollIntoView({ block: "center" });
        const p = box.cy.getElementById(id).renderedPosition(); const r = box.getBoundingClientRect();
        return { x: r.x + p.x, y: r.y + p.y }; }""",
        target,
    )
    # cytoscape reads the container's place on the page on scroll events: let the scroll's event pass first
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    page.mouse.click(position["x"], position["y"])
    page.wait_for_function("h => location.hash === h", arg=f"#/role/{quote(target, safe='')}")


def test_simulator_answers_a_demo_question_and_its_url_is_shareable(signed_in: Tab, server: Server):
    tab = signed_in
    page = tab.page
    open_page(tab, "/simulate")
    page.get_by_label("Principal (user or role ARN)").fill(ALICE)
    page.get_by_label("Action").fill("sts:AssumeRole")
    page.get_by_label("Resource").fill(PLATFORM)
    page.get_by_role("button", name="Decide").click()
    page.wait_for_selector("[data-decision]")
    q = (
        "query($p: String!, $r: String!, $c: [ContextEntryInput!]) { simulate(principal: $p, "
        'action: "sts:AssumeRole", resource: $r, context: $c) { decision missingContextKeys '
        "matchedStatements { sid } } }"
    )
    without = server.graphql(q, {"p": ALICE, "r": PLATFORM})["simulate"]
    assert page.locator("[data-decision]").get_attribute("data-decision") == without["decision"] != "ALLOWED"
    missing = page.locator('[data-list="missing"] li code').all_inner_texts()
    assert missing == without["missingContextKeys"] == ["aws:MultiFactorAuthPresent"]
    # "what would change it": add the key, give it a value, decide again
    page.get_by_role("button", name="Add to the context").click()
    context = page.get_by_label("Context entries")
    context.fill(context.input_value() + "true")
    page.get_by_role("button", name="Decide").click()
    page.wait_for_selector('[data-decision="ALLOWED"]')
    mfa = [{"key": "aws:MultiFactorAuthPresent", "values": ["true"]}]
    with_mfa = server.graphql(q, {"p": ALICE, "r": PLATFORM, "c": mfa})["simulate"]
    assert with_mfa["decision"] == "ALLOWED"
    assert page.locator('[data-list="matched"] > li').count() == len(with_mfa["matchedStatements"]) > 0
    tab.shot("dashboard-simulator")
    shared = page.evaluate("location.hash")
    assert "ctx=aws%3AMultiFactorAuthPresent%3Dtrue" in shared
    page.goto("about:blank")
    tab.goto(f"/ui/{shared}")  # a shared link gives the same answer
    page.wait_for_selector('[data-decision="ALLOWED"]')


def test_tables_page_through_the_api_and_export(signed_in: Tab, server: Server):
    tab = signed_in
    page = tab.page
    open_page(tab, "/browse/users?size=3")
    users = server.graphql("{ users(first: 100) { totalCount nodes { arn } } }")["users"]
    arns = [n["arn"] for n in users["nodes"]]

    def shown() -> list[str]:
        return [
            a.get_attribute("title") or ""
            for a in page.locator('table[data-table="browse-users"] tbody a.entity').all()
        ]

    assert shown() == arns[:3]
    assert page.locator(".pager-status").inner_text() == f"1–3 of {users['totalCount']}"
    page.get_by_role("button", name="Next →").click()
    page.wait_for_function("() => document.querySelector('.pager-status').textContent.startsWith('4')")
    assert shown() == arns[3:6]
    with page.expect_download() as got:
        page.locator(".table-wrap .exports button", has_text="CSV").click()
    rows = list(csv.DictReader(io.StringIO(Path(got.value.path()).read_text())))
    assert [r["User"] for r in rows] == arns[3:6]
    with page.expect_download() as got:
        page.get_by_role("button", name="JSON (every page)").click()
    every = json.loads(Path(got.value.path()).read_text())
    assert [r["arn"] for r in every] == arns


PAGES = [
    ("/role/" + quote(PLATFORM, safe=""), "role"),
    ("/group/" + quote(f"{ORG}group/Admins", safe=""), "group"),
    ("/policy/" + quote(f"{ORG}policy/engineering/DeveloperAccess", safe=""), "policy"),
    ("/search?q=admin", "search"),
    ("/paths?from=" + quote(ALICE, safe=""), "paths"),
    (
        "/whatif?op=attachPolicy&policyArn="
        + quote("arn:aws:iam::aws:policy/AdministratorAccess", safe="")
        + "&targetArn="
        + quote(f"{ORG}role/PartnerAuditRole", safe=""),
        "whatif",
    ),
]


@pytest.mark.parametrize(("route", "name"), PAGES, ids=[n for _, n in PAGES])
def test_every_page_renders_its_answer(signed_in: Tab, server: Server, route: str, name: str):
    tab = signed_in
    open_page(tab, route)
    page = tab.page
    assert page.locator(".error").count() == 0, page.locator(".error").all_inner_texts()
    assert page.locator("h1").inner_text()
    assert unlabelled(tab) == []
    if name == "whatif":  # dry run: what it opens, drawn before and after; nothing written
        admins = int(page.locator('[data-stat="admins-added"]').inner_text())
        assert admins == 1
        assert page.evaluate("() => document.querySelector('[data-graph=\"after\"]').cy.nodes().length") > 0
        after = server.graphql(
            "query($a: String!) { role(arn: $a) { isAdmin } }", {"a": f"{ORG}role/PartnerAuditRole"}
        )
        assert after["role"]["isAdmin"] is False
    if name == "role":
        who = server.graphql("query($a: String!) { role(arn: $a) { assumableBy { id } } }", {"a": PLATFORM})
        rows = page.locator('table[data-table="assumable-by"] tbody tr')
        assert rows.count() == len(who["role"]["assumableBy"]) > 0
    if name == "policy":
        findings = server.graphql(
            "query($a: String!) { policyFindings(policies: [$a]) { nodes { findings { category } } } }",
            {"a": f"{ORG}policy/engineering/DeveloperAccess"},
        )["policyFindings"]["nodes"][0]["findings"]
        assert page.locator('[data-list="findings"] > li').count() == len(findings) > 0
        assert page.locator("ol.statements > li.risky").count() > 0
    tab.shot(f"dashboard-{name}")


def test_a_node_expands_into_its_neighbours(signed_in: Tab, server: Server):
    tab = signed_in
    page = tab.page
    open_page(tab, "/user/" + quote(BOB, safe=""))
    box = '[data-graph="neighbourhood"]'
    before = page.evaluate(f"() => document.querySelector('{box}').cy.nodes().map(n => n.id())")
    group = next(n for n in before if ":group/" in n)
    page.locator(
        f"{box} ~ details.graph-table summary, .graph-figure:has({box}) details.graph-table summary"
    ).first.click()
    page.get_by_role("button", name=f"Expand {group.rsplit('/', 1)[-1]}").click()
    page.wait_for_function(f"n => document.querySelector('{box}').cy.nodes().length > n", arg=len(before))
    after = set(page.evaluate(f"() => document.querySelector('{box}').cy.nodes().map(n => n.id())"))
    members = server.graphql("query($g: String!) { group(arn: $g) { members { arn } } }", {"g": group})
    assert {m["arn"] for m in members["group"]["members"]} <= after


def test_the_access_graph_draws_the_shortest_paths_and_more_on_request(signed_in: Tab, server: Server):
    tab = signed_in
    page = tab.page
    bot = f"{ORG}user/automation/ci-bot"
    route = f"/user/{quote(bot, safe='')}"
    q = "query($a: String!, $n: Int!) { escalationPaths(from: $a, limit: $n) "
    q += "{ steps { from to technique } } }"
    every = server.graphql(q, {"a": bot, "n": 50})["escalationPaths"]
    assert len(every) > 2, "ci-bot has several escalation paths in the demo org"

    def drawn_paths() -> int:
        return int(page.locator('[data-panel="access-graph"] ol[data-list="paths"] > li').count())

    def drawn_escalations() -> set[tuple[str, str, str]]:
        edges = page.evaluate(
            """() => document.querySelector('[data-graph="access"]').cy.edges('[kind = "ESCALATES_TO"]')
            .map(e => [e.source().id(), e.target().id(), e.data('label')])"""
        )
        return {(a, b, t) for a, b, t in edges}

    def escalations(paths: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
        return {
            (s["from"], s["to"], s["technique"])
            for p in paths
            for s in p["steps"]
            if s["technique"] != "sts-001"
        }

    open_page(tab, f"{route}?paths=2")  # a shared link with its own limit
    first = server.graphql(q, {"a": bot, "n": 2})["escalationPaths"]
    assert drawn_paths() == 2
    assert drawn_escalations() == escalations(first) != escalations(every)
    # the neighbourhood's link keeps the view's other parameters
    hood = page.get_by_role("link", name="Also draw escalation edges").get_attribute("href") or ""
    assert "paths=2" in hood and "hood=all" in hood
    page.locator('[data-more="paths"]').click()
    page.wait_for_function(
        "() => location.hash.includes('paths=50') "
        "&& document.querySelector('#main').dataset.state === 'ready'"
        ' && document.querySelectorAll(\'[data-panel="access-graph"] ol[data-list="paths"] > li\').length > 2'
    )
    assert drawn_paths() == len(every)
    assert drawn_escalations() == escalations(every)
    assert page.locator('[data-more="paths"]').count() == 0  # all of them are drawn
