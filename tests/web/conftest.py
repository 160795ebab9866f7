"""Browser tests: `graphiam serve` on the demo org, driven through Debian's Chromium with Playwright.

Playwright's own browser download cannot work here (and is not needed): the tests launch the system's
`chromium` (`GRAPHIAM_CHROMIUM`, else `/usr/bin/chromium`, else `chromium` on PATH). Without it, or without
the `playwright` package, they skip with how to get them — except in CI (`CI=true`), where they fail.

One server and one browser per module; every page records its console errors and page errors (`Tab.errors`)
and every request it tried that was not to the server (`Tab.offsite`: all such requests are blocked).
Screenshots go to `ARTIFACTS` (`GRAPHIAM_ARTIFACTS`, else `tmp/artifacts/` in the checkout).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.helpers import ROOT, free_port, run_cli, start_server

ARTIFACTS = Path(os.environ.get("GRAPHIAM_ARTIFACTS") or ROOT / "tmp" / "artifacts")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HOW_TO_GET_A_BROWSER = (
    "browser tests need Chromium and Playwright for Python: `apt-get install chromium` (Debian; or set "
    "GRAPHIAM_CHROMIUM to a Chromium binary) and `pip install -e '.[test]'` (never `playwright install`)"
)


def chromium_path() -> str | None:
    """The Chromium binary to drive, or None."""
    for candidate in (os.environ.get("GRAPHIAM_CHROMIUM"), "/usr/bin/chromium"):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; in CI the browser tests must run: {HOW_TO_GET_A_BROWSER}")
    pytest.skip(f"{reason}: {HOW_TO_GET_A_BROWSER}")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the `playwright` package is not installed")
    path = chromium_path()
    if path is None:
        _unavailable("no Chromium found")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@dataclass
class Server:
    url: str
    admin_token: str
    db: Path

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """The API's own answer (over HTTP, as the page asks), to compare the page with."""
        r = httpx.post(
            f"{self.url}/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"Authorization": f"Bearer {self.admin_token}"},
            timeout=30,
        )
        r.raise_for_status()
        body = r.json()
        assert "errors" not in body, body["errors"]
        data: dict[str, Any] = body["data"]
        return data


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`graphiam serve` on a new database (the demo org is loaded into it), with an admin token made first."""
    db = tmp_path_factory.mktemp("web") / "db"
    made = run_cli("token", "create", "--role", "admin", "--name", "browser-tests", db=db)
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    port = free_port()
    proc = start_server({**os.environ, "GRAPHIAM_DB": str(db)}, port)
    try:
        yield Server(url=f"http://127.0.0.1:{port}", admin_token=token, db=db)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@dataclass
class Tab:
    """A browser page on the server: its console errors, page errors and blocked off-site requests."""

    page: Any
    base: str
    errors: list[str] = field(default_factory=list)
    offsite: list[str] = field(default_factory=list)

    def goto(self, path: str) -> None:
        self.page.goto(self.base + path)

    def shot(self, name: str, *, selector: str | None = None, full_page: bool = True) -> Path:
        """A screenshot in ARTIFACTS: the whole page, or the element `selector` finds."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        out = ARTIFACTS / f"{name}.png"
        if selector is None:
            self.page.screenshot(path=str(out), full_page=full_page)
        else:
            self.page.locator(selector).screenshot(path=str(out))
        return out


@pytest.fixture
def tab(browser: Any, server: Server) -> Iterator[Tab]:
    context = browser.new_context(viewport={"width": 1360, "height": 860}, service_workers="block")
    page = context.new_page()
    t = Tab(page=page, base=server.url)
    host = urlsplit(server.url).netloc

    def route(r: Any) -> None:
        if urlsplit(r.request.url).netloc == host:
            r.continue_()
        else:
            t.offsite.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    page.on("console", lambda m: t.errors.append(f"console: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: t.errors.append(f"page error: {e}"))
    try:
        yield t
    finally:
        context.close()
