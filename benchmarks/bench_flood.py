"""A cheap read during a flood of heavy ones, on a real server (`graphiam serve`) over a generated org.

    .venv/bin/python benchmarks/bench_flood.py [--users 2000 --roles 1000 --policies 3000]
        [--heavy 16] [--aliases 4] [--depth 10] [--seconds 30] [--root PATH ...] [--db PATH]

The org (benchmarks/generate_org.py, seed 7; by default the issue's: 2,000 users, 1,000 roles, 3,000
policies) is loaded once. Then, for each `--root` (a graphiam checkout, default this one; pass the main
checkout first and this one second for a before/after in one run) a server is started from that checkout
(PYTHONPATH) on the same database, and measured:

- alone: `{ users(first: 1) { totalCount } }` (the cheap read) sent 200 times in a row: median and p99;
- flood: `--heavy` clients each sending, back to back, requests of `--aliases` aliases of
  `whoCan(viaChains: true, maxDepth: --depth)` (each alias a resource never asked before: no cached answer),
  while the cheap read is sent in a loop for `--seconds`: its median, p99 and worst, and how the heavy
  requests ended (answered, TIMEOUT, refused);
- drain: once the last heavy response has arrived, how long the server still burns CPU (work of requests
  that have already ended: before cancellation, timed-out requests ran on);
- the issue's flood: 8 requests of 50 aliases at depth 10 at once, and the cheap read while they last;
- the server's RSS at the end.

Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

CHEAP = "{ users(first: 1) { totalCount } }"
ACTIONS = (
    "s3:GetObject",
    "s3:PutObject",
    "ec2:RunInstances",
    "iam:PassRole",
    "dynamodb:GetItem",
    "kms:Decrypt",
)
TICK = os.sysconf("SC_CLK_TCK")


def heavy_query(aliases: int, depth: int, tag: str) -> str:
    one = (
        'a{i}: whoCan(action: "{a}", resource: "arn:aws:s3:::{t}-{i}/*", viaChains: true, maxDepth: {d}) '
        "{{ principalArn }}"
    )
    return (
        "{ "
        + " ".join(one.format(i=i, a=ACTIONS[i % len(ACTIONS)], t=tag, d=depth) for i in range(aliases))
        + " }"
    )


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def wait_idle(pid: int, *, window: float = 0.3, busy: float = 0.05, limit: float = 120.0) -> float:
    """Seconds until the server uses less than `busy` of a core over `window` (the drain)."""
    start = time.perf_counter()
    while time.perf_counter() - start < limit:
        before = cpu_seconds(pid)
        time.sleep(window)
        if cpu_seconds(pid) - before < busy * window:
            return max(0.0, time.perf_counter() - start - window)
    return limit


def pct(values: list[float], q: float) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def describe(ms: list[float]) -> str:
    if not ms:
        return "no samples"
    return (
        f"median {statistics.median(ms):8.1f} ms   p99 {pct(ms, 99):8.1f} ms   "
        f"max {max(ms):8.1f} ms   (n={len(ms)})"
    )


class Server:
    def __init__(self, root: Path, db: Path, port: int) -> None:
        env = {**os.environ, "PYTHONPATH": str(root)}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "graphiam.cli", "serve", "--db", str(db), "--port", str(port)]
            + ["--log-level", "warning"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=str(root),
        )
        self.url = f"http://127.0.0.1:{port}/graphql"
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"server from {root} did not start")
            time.sleep(0.2)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def post(http: httpx.Client, url: str, query: str) -> tuple[float, str]:
    """(milliseconds, outcome): `ok`, the first error code, or the transport error's name."""
    start = time.perf_counter()
    try:
        r = http.post(url, json={"query": query})
        body = r.json()
        errors = body.get("errors") or []
        outcome = errors[0].get("extensions", {}).get("code", "ERROR") if errors else "ok"
    except (httpx.HTTPError, ValueError) as exc:
        outcome = type(exc).__name__
    return (time.perf_counter() - start) * 1000, outcome


def cheap_loop(
    url: str, stop: threading.Event, seconds: float, pause: float = 0.01, limit: int = 1 << 30
) -> list[float]:
    """The cheap read's latencies (ms), sent in a loop for `seconds` (or `limit` times, or until `stop`)."""
    out: list[float] = []
    with httpx.Client(timeout=60) as http:
        end = time.perf_counter() + seconds
        while time.perf_counter() < end and not stop.is_set() and len(out) < limit:
            ms, outcome = post(http, url, CHEAP)
            out.append(ms if outcome == "ok" else max(ms, 10_000.0))  # a failed read counts as 10 s at least
            time.sleep(pause)
    return out


def flood(server: Server, args: argparse.Namespace, label: str) -> dict[str, Any]:
    stop = threading.Event()
    outcomes: Counter[str] = Counter()
    heavy_ms: list[float] = []
    lock = threading.Lock()
    started = threading.Barrier(args.heavy + 1)

    def heavy(n: int) -> None:
        with httpx.Client(timeout=120) as http:
            k = 0
            started.wait()
            while not stop.is_set():
                ms, outcome = post(
                    http, server.url, heavy_query(args.aliases, args.depth, f"{label}-{n}-{k}")
                )
                k += 1
                with lock:
                    outcomes[outcome] += 1
                    heavy_ms.append(ms)

    threads = [threading.Thread(target=heavy, args=(n,)) for n in range(args.heavy)]
    for t in threads:
        t.start()
    started.wait()
    time.sleep(1.0)  # every heavy client has a request in flight
    cheap = cheap_loop(server.url, threading.Event(), args.seconds)
    stop.set()
    for t in threads:
        t.join()
    return {
        "cheap": cheap,
        "heavy": heavy_ms,
        "outcomes": dict(outcomes),
        "drain": wait_idle(server.proc.pid),
    }


def issue_flood(server: Server) -> dict[str, Any]:
    """The issue's eight requests of 50 aliases of whoCan(viaChains, maxDepth 10), and the cheap read while
    they last."""
    outcomes: Counter[str] = Counter()
    done = threading.Event()
    lock = threading.Lock()
    remaining = [8]

    def heavy(n: int) -> None:
        with httpx.Client(timeout=120) as http:
            _, outcome = post(http, server.url, heavy_query(50, 10, f"issue-{n}"))
        with lock:
            outcomes[outcome] += 1
            remaining[0] -= 1
            if remaining[0] == 0:
                done.set()

    threads = [threading.Thread(target=heavy, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    time.sleep(0.3)
    cheap = cheap_loop(server.url, done, 60)
    for t in threads:
        t.join()
    drain = wait_idle(server.proc.pid)
    return {"cheap": cheap, "outcomes": dict(outcomes), "drain": drain}


def revision(root: Path) -> str:
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "log", "-1", "--format=%h %s"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        out = "?"
    return f"{root} ({out[:60]})"


def load(args: argparse.Namespace, root: Path, db: Path, work: Path) -> None:
    from generate_org import account_of, generate_org

    files = []
    for export in generate_org(
        users=args.users, roles=args.roles, policies=args.policies, accounts=1, seed=args.seed
    ):
        path = work / f"{account_of(export)}.json"
        path.write_text(json.dumps(export))
        files.append(str(path))
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "graphiam.cli", "load", "--db", str(db), *files],
        env={**os.environ, "PYTHONPATH": str(root)},
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    print(
        f"loaded {args.users} users, {args.roles} roles, {args.policies} policies "
        f"in {time.perf_counter() - start:.0f} s"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", type=int, default=2000)
    ap.add_argument("--roles", type=int, default=1000)
    ap.add_argument("--policies", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--heavy", type=int, default=16, help="heavy clients sending at once")
    ap.add_argument("--aliases", type=int, default=4, help="whoCan aliases per heavy request")
    ap.add_argument("--depth", type=int, default=10, help="whoCan maxDepth")
    ap.add_argument(
        "--seconds", type=float, default=30.0, help="how long the cheap read is sampled in the flood"
    )
    ap.add_argument("--root", action="append", type=Path, help="graphiam checkout to serve from (repeatable)")
    ap.add_argument("--db", type=Path, help="a database to reuse (loaded when it does not exist)")
    ap.add_argument("--port", type=int, default=18731)
    args = ap.parse_args()
    roots = [r.resolve() for r in args.root or [ROOT]]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        db = args.db or work / "db"
        if not db.exists():
            load(args, roots[0], db, work)
        results = []
        for n, root in enumerate(roots):
            print(f"\n== {revision(root)}")
            server = Server(root, db, args.port + n)
            try:
                with httpx.Client(timeout=300) as http:
                    post(http, server.url, CHEAP)
                    post(http, server.url, heavy_query(1, args.depth, f"warm-{n}"))  # snapshot, catalogue
                wait_idle(server.proc.pid)
                alone = cheap_loop(server.url, threading.Event(), 120, pause=0.0, limit=200)
                print(f"cheap read alone:        {describe(alone)}")
                f = flood(server, args, f"r{n}")
                print(
                    f"cheap read in the flood: {describe(f['cheap'])}\n"
                    f"  ({args.heavy} clients × {args.aliases} aliases of "
                    f"whoCan(viaChains, maxDepth {args.depth}); "
                    f"heavy requests: {f['outcomes']}, median {statistics.median(f['heavy']) / 1000:.1f} s)\n"
                    f"  server busy after the last heavy response: {f['drain']:.2f} s"
                )
                i = issue_flood(server)
                print(
                    f"issue's flood (8 × 50 aliases): cheap read {describe(i['cheap'])}\n"
                    f"  heavy requests: {i['outcomes']}; server busy after they ended: {i['drain']:.2f} s"
                )
                print(f"server RSS at the end: {rss_mb(server.proc.pid):.0f} MB")
                results.append((root, alone, f, i))
            finally:
                server.stop()
        if len(results) == 2:
            (_, a0, f0, i0), (_, a1, f1, i1) = results
            print("\n== ratios (first root / second root)")
            print(f"cheap p99 in the flood: {pct(f0['cheap'], 99) / pct(f1['cheap'], 99):.1f}×")
            med0, med1 = statistics.median(f0["cheap"]), statistics.median(f1["cheap"])
            print(f"cheap median in the flood: {med0 / med1:.1f}×")


if __name__ == "__main__":
    main()
