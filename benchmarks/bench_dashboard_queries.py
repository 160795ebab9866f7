"""The GraphQL questions a dashboard page asks, each timed on its own against a running server (warm).

    .venv/bin/python benchmarks/bench_dashboard_queries.py URL [--principal ARN] [--runs 5]

URL is a running `graphiam serve` (e.g. http://127.0.0.1:8000). The questions are read from the page's
own module (graphiam/web/ui/js/pages/principal.js: its `const NAME = \\`query ...\\`` strings), with the
variables the page sends on first load. Each is asked once, then `--runs` times in turn; then all of them at
once, as the browser sends them. Prints per question the first ask's ms (this principal's first visit:
per-principal answers not cached yet), the median (min–max) ms of the others and the answer's size. Without
`--principal`, the user with the longest shortest escalation path (as bench_dashboard.py picks it).
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
PAGES = ROOT / "graphiam" / "web" / "ui" / "js" / "pages"
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_dashboard import pick_principal  # noqa: E402


def page_queries(page: str) -> dict[str, str]:
    """NAME -> query text of the page module's `const NAME = \\`...\\`` strings (`${X}` filled from `X`)."""
    text = (PAGES / f"{page}.js").read_text()
    consts = dict(re.findall(r'(?:export )?const ([A-Z_]+) = "([^"]*)";', text))
    found = dict(re.findall(r"(?:export )?const ([A-Z_]+) = `(.*?)`;", text, flags=re.S))
    return {k: re.sub(r"\$\{([A-Z_]+)\}", lambda m: consts[m.group(1)], v) for k, v in found.items()}


def principal_questions(arn: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(name, query, variables) as principal.js asks them on a user's first load."""
    q = page_queries("principal")
    text = (PAGES / "principal.js").read_text()
    limit = int(re.search(r"const PATH_LIMIT = (\d+);", text).group(1))  # type: ignore[union-attr]
    # the variables principal.js sends: one place to keep in step with the page
    first = {"arn": arn}
    out = [
        ("Principal (Who)", q["PRINCIPAL"], first),
        ("Effective", q["EFFECTIVE"], first),
        ("AccessGraph", q["ACCESS_GRAPH"], {"arn": arn, "limit": limit, "first": 50}),
        ("Assumable", q["ASSUMABLE"], first),
        (
            "Neighbourhood",
            q["NEIGHBOURHOOD"],
            {
                "around": [arn],
                "depth": 1,
                "maxNodes": 80,
                "maxEdges": 600,
                "edgeKinds": ["MEMBER_OF", "ATTACHED", "CAN_ASSUME", "HAS_ROLE"],
            },
        ),
    ]
    return out


def ask(client: httpx.Client, url: str, query: str, variables: dict[str, Any]) -> tuple[float, int]:
    t = time.perf_counter()
    r = client.post(url, json={"query": query, "variables": variables}, timeout=300)
    ms = (time.perf_counter() - t) * 1000
    body = r.json()
    if body.get("errors"):
        raise SystemExit(f"error: {body['errors'][0]['message']}")
    return ms, len(r.content)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("url")
    ap.add_argument("--principal")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    base = args.url.rstrip("/")
    gql = f"{base}/graphql"
    arn = args.principal or pick_principal(base)
    print(f"principal: {arn}")
    questions = principal_questions(arn)
    with httpx.Client() as client:
        first: dict[str, float] = {}
        for name, query, variables in questions:  # the first visit of this principal: per-principal answers
            first[name] = ask(client, gql, query, variables)[0]  # are not cached yet
        times: dict[str, list[float]] = {name: [] for name, _, _ in questions}
        sizes: dict[str, int] = {}
        for _ in range(args.runs):
            for name, query, variables in questions:
                ms, size = ask(client, gql, query, variables)
                times[name].append(ms)
                sizes[name] = size
    together: list[float] = []
    for _ in range(args.runs):
        t = time.perf_counter()
        with ThreadPoolExecutor(len(questions)) as pool, httpx.Client() as c:
            list(pool.map(lambda x: ask(c, gql, x[1], x[2]), questions))
        together.append((time.perf_counter() - t) * 1000)
    head = f"{'question (warm server)':<24} {'first':>7} {'median ms':>10} {'min':>8} {'max':>8} {'bytes':>9}"
    print(f"\n{head}")
    for name, ts in times.items():
        m = statistics.median(ts)
        print(f"{name:<24} {first[name]:>7.0f} {m:>10.0f} {min(ts):>8.0f} {max(ts):>8.0f} {sizes[name]:>9}")
    total = sum(statistics.median(ts) for ts in times.values())
    print(f"{'sum':<24} {sum(first.values()):>7.0f} {total:>10.0f}")
    print(
        f"{'all at once (wall)':<24} {statistics.median(together):>10.0f} {min(together):>8.0f} "
        f"{max(together):>8.0f}"
    )


if __name__ == "__main__":
    main()
