"""The browser side as HTTP serves it (no browser needed): GraphiQL's page and the dashboard come from the
package with every file they name, nothing from another host, under a Content-Security-Policy; the vendored
libraries are the npm files the vendor README lists, with their licences; GraphiQL's examples are the
README's, and each is a valid operation of the schema."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx
import pytest
from graphql import parse, validate

from graphiam.api.schema import build_schema
from graphiam.app import CSP, WEB, create_app
from graphiam.store import open_database
from tests.helpers import ROOT

BASE = "http://127.0.0.1:8000"


@pytest.fixture(scope="module")
def database() -> Any:
    db = open_database(None, buffer_pool_mb=64)
    yield db
    db.close()


def get(app: Any, *paths: str, accept: str = "text/html") -> list[httpx.Response]:
    async def go() -> list[httpx.Response]:
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as c,
        ):
            return [await c.get(p, headers={"accept": accept}) for p in paths]

    return asyncio.run(go())


def referenced(html: str) -> list[str]:
    """The src and href values of a page's script, link and a elements (not fragment links)."""
    return [u for u in re.findall(r'(?:src|href)="([^"]+)"', html) if not u.startswith("#")]


def test_graphiql_page_is_ours_and_names_only_files_of_this_server(database):
    app = create_app(database=database, load_seeds=False)
    (page,) = get(app, "/graphql")
    assert page.status_code == 200
    assert page.headers["content-security-policy"] == CSP
    assert "unpkg" not in page.text and "graphiql.min.js" in page.text
    urls = referenced(page.text)
    assert urls and all(not re.match(r"^[a-z]+:|^//", u) for u in urls), urls
    assets = get(app, *(urljoin("/graphql", u) for u in urls), accept="*/*")
    assert [r.status_code for r in assets] == [200] * len(urls), urls
    js = [r for r, u in zip(assets, urls, strict=True) if u.endswith(".js")]
    assert js and all(r.headers["content-type"].startswith("text/javascript") for r in js)


def test_dashboard_is_served_at_ui_and_root_sends_browsers_there(database):
    app = create_app(database=database, load_seeds=False)
    root, index = get(app, "/", "/ui/")
    assert root.status_code == 307 and root.headers["location"] == "ui/"
    assert index.status_code == 200 and index.headers["content-security-policy"] == CSP
    urls = referenced(index.text)
    assets = get(app, *(urljoin("/ui/", u) for u in urls), accept="*/*")
    assert [r.status_code for r in assets] == [200] * len(urls), urls


def test_switches_drop_the_pages(database):
    no_ide = create_app(database=database, load_seeds=False, ide=False)
    page, script, vendor, ui = get(
        no_ide, "/graphql", "/ui/graphiql/graphiql.js", "/ui/vendor/react/LICENSE", "/ui/"
    )
    assert page.status_code == 404 and script.status_code == 404
    assert vendor.status_code == 200 and ui.status_code == 200  # the dashboard uses the vendored libraries
    neither = create_app(database=database, load_seeds=False, ide=False, dashboard=False)
    assert [r.status_code for r in get(neither, "/", "/ui/", "/ui/vendor/react/LICENSE")] == [404] * 3


def test_vendored_files_are_the_listed_npm_files_with_their_licences():
    table = (WEB / "vendor" / "README.md").read_text()
    rows = re.findall(
        r"^\| `([^`]+)/` \| `([^`]+)` \| `[^`]+`(?: → `([^`]+)`)? \| `([0-9a-f]{64})` \|$", table, re.M
    )
    files = sorted(p for p in (WEB / "vendor").rglob("*") if p.suffix in (".js", ".css"))
    assert len(rows) == len(files) > 0
    for directory, package, renamed, digest in rows:
        folder = WEB / "vendor" / directory
        (path,) = [
            f for f in files if f.parent == folder and hashlib.sha256(f.read_bytes()).hexdigest() == digest
        ]
        assert not renamed or path.name == renamed
        assert "Permission is hereby granted, free of charge" in (folder / "LICENSE").read_text(), package


def test_graphiql_examples_are_the_readmes_and_valid_operations():
    script = ROOT / "scripts" / "graphiql_examples.py"
    check = subprocess.run([sys.executable, str(script), "--check"], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    examples = json.loads((WEB / "graphiql" / "examples.json").read_text())
    schema = build_schema()._schema
    assert len(examples) >= 6
    for ex in examples:
        assert ex["title"] and not validate(schema, parse(ex["query"])), ex["title"]


def test_package_data_ships_the_web_files():
    spec = (ROOT / "pyproject.toml").read_text()
    assert '"web/*"' in spec and '"web/**/*"' in spec
    assert Path(WEB / "ui" / "index.html").is_file()


def test_every_module_the_dashboard_imports_is_served(database):
    """Follow the ES module graph from js/main.js: every relative import resolves to a served file."""
    app = create_app(database=database, load_seeds=False)
    seen: set[str] = set()
    todo = ["/ui/js/main.js"]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        (r,) = get(app, path, accept="*/*")
        assert r.status_code == 200, path
        assert r.headers["content-type"].startswith("text/javascript"), path
        for spec in re.findall(r'^\s*import\s[^"\']*["\']([^"\']+)["\']', r.text, flags=re.M):
            assert spec.startswith("."), f"{path} imports {spec}: only files of this server"
            todo.append(urljoin(path, spec))
    assert len(seen) > 3
