"""GraphiQL at /graphql in Chromium, with every request that is not to the server blocked and recorded: it
renders from graphiam's own files, lists the README's examples, and runs them with the API's answer."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from tests.helpers import ROOT
from tests.web.conftest import Server, Tab

EXAMPLES: list[dict[str, Any]] = json.loads((ROOT / "graphiam/web/graphiql/examples.json").read_text())
RESPONSE_EDITOR = "document.querySelector('.graphiql-response .CodeMirror').CodeMirror"
RESPONSE = RESPONSE_EDITOR + ".getValue()"


def run_and_read(tab: Tab) -> dict[str, Any]:
    page = tab.page
    page.evaluate(RESPONSE_EDITOR + ".setValue('')")
    page.locator(".graphiql-execute-button").click()
    page.wait_for_function(f"() => {RESPONSE}.includes('data')")
    body: dict[str, Any] = json.loads(page.evaluate(RESPONSE))
    return body


def test_graphiql_renders_offline_with_the_readme_examples_and_runs_one(tab: Tab, server: Server):
    page = tab.page
    tab.goto("/graphql")
    page.wait_for_selector(".graphiam-examples button")
    assert page.locator(".graphiam-examples button").all_inner_texts() == [e["title"] for e in EXAMPLES]
    who_can = next(i for i, e in enumerate(EXAMPLES) if "whoCan(" in e["query"])
    page.locator(".graphiam-examples button").nth(who_can).click()
    page.wait_for_function(
        "() => document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.getValue()"
        ".includes('whoCan')"
    )
    body = run_and_read(tab)
    assert "errors" not in body
    expected = server.graphql(EXAMPLES[who_can]["query"])
    assert body["data"] == expected and len(expected["whoCan"]) > 0
    assert [t.strip() for t in page.locator(".graphiql-tab").all_inner_texts()][-1]  # opened in a new tab
    tab.shot("graphiql")
    assert tab.offsite == [], "GraphiQL tried to reach the network"
    assert tab.errors == []


def test_a_query_handed_over_in_the_fragment_opens_and_the_token_is_sent(tab: Tab, server: Server):
    page = tab.page
    tab.goto("/ui/")  # the dashboard's origin: its token (sessionStorage) is GraphiQL's default header
    page.evaluate(f"sessionStorage.setItem('graphiam.token', {json.dumps(server.admin_token)})")
    query = "{ viewer { role name authenticated } }"
    tab.goto("/graphql#query=" + quote(query))
    page.wait_for_function(
        "() => document.querySelector('.graphiql-query-editor .CodeMirror')"
        f"?.CodeMirror.getValue() === {json.dumps(query)}"
    )
    assert "#" not in page.url  # the fragment is read once and cleared
    body = run_and_read(tab)
    assert body["data"]["viewer"] == {"role": "ADMIN", "name": "browser-tests", "authenticated": True}
    assert tab.offsite == [] and tab.errors == []
