"""Dashboard page loads in Chromium on a generated organisation, with a warm server.

    .venv/bin/python benchmarks/bench_dashboard.py [--users 6000 --roles 4000 --policies 3000] [--runs 5]
                                                  [--db DIR] [--principal ARN]

The org (benchmarks/generate_org.py, seed 7, one account) is loaded in process with the real loader (every
derived edge) into DIR (kept, and reused when it already holds a database) or a temporary directory; then
`graphiam serve` runs on it and Chromium (as the browser tests launch it: tests/web/conftest.py) opens
dashboard pages. Each page is first loaded until it answers without an error (the server builds its snapshot,
escalation and findings indexes once per database generation: that is the warm-up, timed apart), then, in
turn so load from other processes hits all alike, each page is loaded `--runs` times in a fresh document.
A load's time is from the start of the navigation to the moment every panel has its answer
(`main[data-state=ready]`, `performance.now()` in the page). Pages:
- baseline: the search page without a query (the page's scripts and layout, no GraphQL question);
- the overview (counts, administrators, can-become-administrator, external access, findings, a page of the
  findings table);
- a principal page: the user with the longest escalation path to administrator (who, policies, effective
  permissions, roles it can assume and escalation paths drawn, neighbourhood drawn);
- the same with escalation edges in its neighbourhood too (`?hood=all`: the page's default until the
  neighbourhood left them to the access graph).
Prints medians (and min/max), the ratio to the baseline, and the panels that showed an error.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from generate_org import generate_org  # noqa: E402

from graphiam.changes.load import load_files  # noqa: E402
from graphiam.store.db import Database  # noqa: E402
from graphiam.store.schema import ensure_schema  # noqa: E402
from tests.web.conftest import CHROMIUM_ARGS, HOW_TO_GET_A_BROWSER, chromium_path  # noqa: E402


def load_org(db_path: Path, users: int, roles: int, policies: int) -> None:
    t = time.perf_counter()
    export = generate_org(users=users, roles=roles, policies=policies, seed=7)[0]
    src = db_path.parent / "org.json"
    src.write_text(json.dumps(export))
    del export
    db = Database(db_path, buffer_pool_mb=2048, query_timeout_ms=3_600_000)
    ensure_schema(db)
    load_files(db, [src])
    db.close()
    print(
        f"loaded {users} users + {roles} roles, {policies} policies in {time.perf_counter() - t:.0f} s",
        flush=True,
    )


def serve(db_path: Path, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "GRAPHIAM_DB": str(db_path), "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "graphiam.cli", "serve", "--port", str(port), "--log-level", "warning"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        if proc.poll() is not None:
            raise SystemExit("graphiam serve exited")
        time.sleep(0.5)
    raise SystemExit("graphiam serve did not start")


def pick_principal(base: str) -> str:
    """The user with the longest shortest escalation path (a page with a drawing to make)."""
    for _ in range(30):
        r = httpx.post(
            f"{base}/graphql",
            json={
                "query": "{ escalationSummary { arn shortestPathLength } users(first: 1) { nodes { arn } } }"
            },
            timeout=120,
        ).json()
        if not r.get("errors"):
            users = [e for e in r["data"]["escalationSummary"] if ":user/" in e["arn"]]
            if users:
                return max(users, key=lambda e: (e["shortestPathLength"], e["arn"]))["arn"]
            return str(r["data"]["users"]["nodes"][0]["arn"])
        time.sleep(2)
    raise SystemExit(f"the server kept failing: {r['errors']}")


def load_once(page: object, url: str) -> tuple[float, list[str], dict[str, tuple[int, int]]]:
    """One load in a fresh document: ms from navigation start to every panel answered, the errors shown, and
    per panel the ms to the API's answer and to the panel drawn."""
    page.goto("about:blank")  # type: ignore[attr-defined]
    page.goto(url)  # type: ignore[attr-defined]
    page.wait_for_function(  # type: ignore[attr-defined]
        "() => document.querySelector('#main').dataset.state === 'ready'", timeout=300_000
    )
    ms = float(
        page.evaluate("() => Number(document.querySelector('#main').dataset.readyMs || performance.now())")
    )  # type: ignore[attr-defined]
    errors = page.locator("section.panel:has(.error) h2").all_inner_texts()  # type: ignore[attr-defined]
    panels = page.evaluate(  # type: ignore[attr-defined]
        """() => Object.fromEntries([...document.querySelectorAll('section.panel[data-ms]')].map(
            s => [s.querySelector('h2').textContent, [Number(s.dataset.answerMs), Number(s.dataset.ms)]]))"""
    )
    return ms, errors, {k: (int(a), int(b)) for k, (a, b) in panels.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=6000)
    ap.add_argument("--roles", type=int, default=4000)
    ap.add_argument("--policies", type=int, default=3000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--db", type=Path, help="keep the loaded database here (reused when it exists)")
    ap.add_argument("--url", help="a running `graphiam serve` to measure instead of loading and starting one")
    ap.add_argument(
        "--pages", default="baseline,overview,principal,hood-all", help="which pages (comma-separated)"
    )
    ap.add_argument("--principal", help="the principal page's ARN (default: the longest path's user)")
    args = ap.parse_args()
    path = chromium_path()
    if path is None:
        raise SystemExit(HOW_TO_GET_A_BROWSER)
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        proc = None
        if args.url:
            base = args.url.rstrip("/")
        else:
            db_path = args.db or Path(tmp) / "db"
            if not db_path.exists():
                db_path.parent.mkdir(parents=True, exist_ok=True)
                load_org(db_path, args.users, args.roles, args.policies)
            else:
                print(f"reusing the database in {db_path}", flush=True)
            from tests.helpers import free_port

            port = free_port()
            base = f"http://127.0.0.1:{port}"
            t = time.perf_counter()
            proc = serve(db_path, port)
            print(f"server up in {time.perf_counter() - t:.1f} s", flush=True)
        try:
            t = time.perf_counter()
            who = args.principal or pick_principal(base)
            print(f"principal: {who} (escalation summary answered after {time.perf_counter() - t:.1f} s)")
            every = {
                "baseline": ("baseline (no query)", f"{base}/ui/#/search"),
                "overview": ("overview", f"{base}/ui/#/"),
                "principal": ("principal page", f"{base}/ui/#/user/{quote(who, safe='')}"),
                "hood-all": ("principal, hood=all", f"{base}/ui/#/user/{quote(who, safe='')}?hood=all"),
            }
            pages = dict(every[k.strip()] for k in args.pages.split(","))
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1360, "height": 900})
                for name, url in pages.items():  # warm-up: until a load shows no error
                    t = time.perf_counter()
                    loads = 0
                    for loads in range(1, 21):  # noqa: B007 (printed below)
                        _, errors, _ = load_once(page, url)
                        if not errors:
                            break
                    print(f"warm-up {name}: {loads} load(s), {time.perf_counter() - t:.1f} s", flush=True)
                times: dict[str, list[float]] = {name: [] for name in pages}
                failed: dict[str, set[str]] = {name: set() for name in pages}
                panels: dict[str, dict[str, list[tuple[int, int]]]] = {name: {} for name in pages}
                for _ in range(args.runs):
                    for name, url in pages.items():
                        ms, errors, per_panel = load_once(page, url)
                        times[name].append(ms)
                        failed[name].update(errors)
                        for panel, pair in per_panel.items():
                            panels[name].setdefault(panel, []).append(pair)
                browser.close()
        finally:
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=60)
    base_ms = statistics.median(times.get("baseline (no query)", [float("nan")]))
    print(f"\n{'page (warm server)':<24} {'median ms':>10} {'min':>8} {'max':>8} {'× baseline':>11}  errors")
    for name, ts in times.items():
        m = statistics.median(ts)
        err = ", ".join(sorted(failed[name])) or "none"
        print(f"{name:<24} {m:>10.0f} {min(ts):>8.0f} {max(ts):>8.0f} {m / base_ms:>11.1f}  {err}")
    print("\nper panel, median ms from the page's start of the panel: API answer / answered and drawn")
    for name, per in panels.items():
        for panel, pairs in per.items():
            a = statistics.median(p[0] for p in pairs)
            b = statistics.median(p[1] for p in pairs)
            print(f"  {name:<22} {panel:<44} {a:>7.0f} / {b:>7.0f}")


if __name__ == "__main__":
    main()
