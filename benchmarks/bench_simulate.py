"""Decisions per second through graphiam's `simulate`: in process (query layer, over the stored graph) and
over HTTP (a real uvicorn server, one client, sequential requests: latency percentiles).

    .venv/bin/python benchmarks/bench_simulate.py [--runs 5] [--http-requests 2000]

Workload: the 2,000 conformance requests (tests/conformance) against gaad.json. Baselines measured in the same
run: the pure engine alone on the same requests (policies pre-resolved), and `{ __typename }` over HTTP (the
floor of the GraphQL/HTTP stack). Prints medians.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from graphiam.changes.load import load_files  # noqa: E402
from graphiam.graph.context import request_context  # noqa: E402
from graphiam.graph.snapshot import build_snapshot  # noqa: E402
from graphiam.policy import Evaluation, Request, evaluate  # noqa: E402
from graphiam.queries.simulate import simulate  # noqa: E402
from graphiam.store import open_database  # noqa: E402

CONF = ROOT / "tests" / "conformance"
QUERY = """query($p: String!, $a: String!, $r: String!, $c: [ContextEntryInput!], $o: String) {
  simulate(principal: $p, action: $a, resource: $r, context: $c, resourceOwner: $o) { decision } }"""


def _ctx(c: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"key": k, "values": v, "type": "STRING_LIST"} if isinstance(v, list) else {"key": k, "values": [v]}
        for k, v in c.items()
    ]


def in_process(requests: list[dict[str, Any]], runs: int) -> tuple[float, float]:
    db = open_database(None)
    load_files(db, [CONF / "gaad.json"])
    snap = build_snapshot(db)
    rates = []
    for _ in range(runs):
        t = time.perf_counter()
        for r in requests:
            simulate(
                snap,
                principal=r["principalArn"],
                action=r["action"],
                resource=r["resourceArn"],
                context=r["context"],
                resource_owner=r["resourceAccount"],
            )
        rates.append(len(requests) / (time.perf_counter() - t))
    # baseline: the engine alone, policies and context resolved before timing
    work: list[Callable[[], Evaluation]] = []
    for r in requests:
        p = snap.principal(r["principalArn"])
        assert p is not None, r["principalArn"]
        trust = snap.principal(r["resourceArn"])
        rp = trust.trust if trust and r["action"].lower().startswith("sts:assumerole") else None
        req = Request(
            action=r["action"],
            resource=r["resourceArn"],
            principal_arn=p.arn,
            principal_account=p.account,
            principal_type=p.principal_type,
            resource_account=r["resourceAccount"],
            context=request_context(p, snap, r["resourceArn"], r["context"]),
        )
        work.append(
            partial(
                evaluate,
                req,
                identity=p.identity,
                boundaries=p.boundary,
                resource_policy=rp,
                resource_policy_required=rp is not None,
            )
        )
    base = []
    for _ in range(runs):
        t = time.perf_counter()
        for decide in work:
            decide()
        base.append(len(work) / (time.perf_counter() - t))
    db.close()
    return statistics.median(rates), statistics.median(base)


def over_http(requests: list[dict[str, Any]], n: int) -> tuple[list[float], list[float]]:
    with tempfile.TemporaryDirectory() as tmp, socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        env = {**os.environ, "GRAPHIAM_DB": f"{tmp}/db"}
        subprocess.run(
            [sys.executable, "-m", "graphiam.cli", "load", str(CONF / "gaad.json")],
            env=env,
            check=True,
            capture_output=True,
        )
        proc = subprocess.Popen(
            [sys.executable, "-m", "graphiam.cli", "serve", "--port", str(port), "--log-level", "warning"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            url = f"http://127.0.0.1:{port}/graphql"
            with httpx.Client(timeout=10) as c:
                for _ in range(200):
                    try:
                        c.get(f"http://127.0.0.1:{port}/health")
                        break
                    except httpx.TransportError:
                        time.sleep(0.1)
                # no token: a server on a loopback address allows reads without one
                headers: dict[str, str] = {}
                body = {"query": QUERY}
                for r in requests[:100]:  # warm up (parser/validation caches, snapshot)
                    c.post(url, json={**body, "variables": _vars(r)}, headers=headers)
                lat = []
                for i in range(n):
                    r = requests[i % len(requests)]
                    t = time.perf_counter()
                    resp = c.post(url, json={**body, "variables": _vars(r)}, headers=headers)
                    lat.append((time.perf_counter() - t) * 1000)
                    resp.raise_for_status()
                floor = []
                for _ in range(min(n, 1000)):
                    t = time.perf_counter()
                    c.post(url, json={"query": "{ __typename }"}, headers=headers).raise_for_status()
                    floor.append((time.perf_counter() - t) * 1000)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    return lat, floor


def _vars(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "p": r["principalArn"],
        "a": r["action"],
        "r": r["resourceArn"],
        "c": _ctx(r["context"]),
        "o": r["resourceAccount"],
    }


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "--engine", choices=("kuzu", "ladybug"), help="graph engine (default: $GRAPHIAM_ENGINE, else kuzu)"
    )
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--http-requests", type=int, default=2000)
    args = ap.parse_args()
    if args.engine:  # the store reads it when it opens a database, here and in the processes started below
        os.environ["GRAPHIAM_ENGINE"] = args.engine
    requests = [json.loads(x) for x in (CONF / "requests.jsonl").read_text().splitlines() if x.strip()]
    rate, base = in_process(requests, args.runs)
    print(
        f"in process: simulate {rate:,.0f} decisions/s (median of {args.runs}); "
        f"engine alone {base:,.0f}/s; simulate/engine = {rate / base:.2f}"
    )
    lat, floor = over_http(requests, args.http_requests)
    print(
        f"over HTTP ({args.http_requests} sequential requests, one client): "
        f"simulate p50 {pct(lat, 0.5):.2f} ms, p90 {pct(lat, 0.9):.2f} ms, p99 {pct(lat, 0.99):.2f} ms, "
        f"{1000 / statistics.mean(lat):,.0f} req/s"
    )
    print(
        f"baseline {{ __typename }} over HTTP: p50 {pct(floor, 0.5):.2f} ms; simulate/baseline p50 = "
        f"{pct(lat, 0.5) / pct(floor, 0.5):.2f}"
    )


if __name__ == "__main__":
    main()
