"""Read throughput of `graphiam serve --workers 2` against `--workers 1` on a mixed read workload.

    .venv/bin/python benchmarks/bench_workers.py [--orgs demo,1000] [--workers 2] [--clients 8]
        [--seconds 20] [--warmup 8] [--rounds 3]

For each org (the demo org the server loads into an empty database; a generated org of 1,000 principals,
benchmarks/generate_org.py seed 7: 600 users, 400 roles, 300 policies), a server is started with
`--workers 1`, then one with `--workers N`, alternating for `--rounds` rounds, on the same database. Each
server is warmed for `--warmup` seconds (every process builds its snapshot and caches on first use), then
`--clients` client threads (keep-alive `http.client` connections, cheap on the client side) send the mixed
workload back to back for `--seconds`: a page of users, `simulate` of a principal, `whoCan` (one of ten
resources: computed once per process, then cached) and `assumptionChains` from a role, in turn. Printed:
requests per second of each run, the CPU time the server processes and the client spent per request,
the medians, the ratio of the medians, errors, and the load average (the
machine is shared: the ratio only means something on an idle one). Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import generate_org  # noqa: E402

CLI = [sys.executable, "-m", "graphiam.cli"]
ACTIONS = ("s3:GetObject", "ec2:RunInstances", "iam:PassRole", "dynamodb:GetItem", "kms:Decrypt")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """`graphiam serve --workers N` on `db` (anonymous reads: loopback), until `stop`."""

    def __init__(self, db: Path, workers: int) -> None:
        self.port = free_port()
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.proc = subprocess.Popen(
            [*CLI, "serve", "--db", str(db), "--port", str(self.port), "--log-level", "warning"]
            + ["--workers", str(workers), "--no-dashboard"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=str(ROOT),
        )
        deadline = time.monotonic() + 600
        while True:
            try:
                status, _ = request(self.port, "GET", "/health", None)
                if status == 200:
                    return
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"server on {db} did not start")
            time.sleep(0.3)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


TICK = os.sysconf("SC_CLK_TCK")


def tree_cpu(root: int) -> float:
    """CPU seconds (user + system) of `root` and every process below it (the writer and the readers)."""
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(proc.name)] = int(fields[1])
        cpu[int(proc.name)] = (int(fields[11]) + int(fields[12])) / TICK
    tree, grew = {root}, True
    while grew:
        below = {pid for pid, parent in parents.items() if parent in tree} - tree
        grew = bool(below)
        tree |= below
    return sum(cpu.get(pid, 0.0) for pid in tree)


def request(port: int, method: str, path: str, body: bytes | None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        conn.request(method, path, body=body, headers=headers)
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def graphql(port: int, query: str) -> dict[str, Any]:
    status, body = request(port, "POST", "/graphql", json.dumps({"query": query}).encode())
    answer: dict[str, Any] = json.loads(body)
    if status != 200 or "errors" in answer:
        raise SystemExit(f"{query[:60]}: HTTP {status}: {body[:300]!r}")
    return answer["data"]


def workload(port: int) -> list[bytes]:
    """The mixed read requests, as ready POST bodies."""
    users = [n["arn"] for n in graphql(port, "{ users(first: 100) { nodes { arn } } }")["users"]["nodes"]]
    roles = [n["arn"] for n in graphql(port, "{ roles(first: 100) { nodes { arn } } }")["roles"]["nodes"]]
    queries = []
    for i in range(40):
        user = users[i % len(users)]
        role = roles[i % len(roles)]
        action = ACTIONS[i % len(ACTIONS)]
        queries += [
            "{ users(first: 50) { totalCount nodes { arn name } } }",
            f'{{ simulate(principal: "{user}", action: "{action}", resource: "arn:aws:s3:::bench-{i}/x") '
            "{ decision } }",
            f'{{ whoCan(action: "{action}", resource: "arn:aws:s3:::bench-{i % 10}/*") {{ principalArn }} }}',
            f'{{ assumptionChains(from: "{role}", maxDepth: 4, first: 20) {{ length }} }}',
        ]
    return [json.dumps({"query": q}).encode() for q in queries]


def drive(port: int, bodies: list[bytes], clients: int, seconds: float) -> tuple[float, int]:
    """(requests per second, errors) with `clients` threads sending `bodies` in turn for `seconds`."""
    done = [0] * clients
    errors = [0] * clients
    end = time.perf_counter() + seconds

    def client(k: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        i = k * 7
        while time.perf_counter() < end:
            body = bodies[i % len(bodies)]
            i += 1
            try:
                conn.request("POST", "/graphql", body=body, headers={"Content-Type": "application/json"})
                r = conn.getresponse()
                payload = r.read()
                ok = r.status == 200 and b'"errors"' not in payload
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
                ok = False
            done[k] += ok
            errors[k] += not ok
        conn.close()

    start = time.perf_counter()
    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(done) / (time.perf_counter() - start), sum(errors)


def prepare(org: str, tmp: Path) -> Path:
    db = tmp / org / "db"
    if org == "demo":  # the server loads the demo org into an empty database
        Server(db, 1).stop()
        return db
    n = int(org)
    exports = generate_org.generate_org(users=n * 3 // 5, roles=n * 2 // 5, policies=n * 3 // 10, seed=7)
    files = []
    for i, e in enumerate(exports):
        f = tmp / f"org-{n}-{i}.json"
        f.write_text(json.dumps(e))
        files.append(str(f))
    start = time.perf_counter()
    subprocess.run([*CLI, "load", *files, "--db", str(db)], check=True, capture_output=True, cwd=str(ROOT))
    print(f"  loaded {n} principals in {time.perf_counter() - start:.1f} s")
    return db


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--orgs", default="demo,1000", help="demo and/or numbers of generated principals")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--warmup", type=float, default=8.0)
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    print(f"cores: {os.cpu_count()}, load average at start: {os.getloadavg()}")
    with tempfile.TemporaryDirectory(prefix="bench-workers-") as d:
        for org in args.orgs.split(","):
            print(f"org {org}:")
            db = prepare(org, Path(d))
            rates: dict[int, list[float]] = {1: [], args.workers: []}
            for rnd in range(args.rounds):
                for workers in (1, args.workers):
                    server = Server(db, workers)
                    try:
                        bodies = workload(server.port)
                        drive(server.port, bodies, args.clients, args.warmup)
                        cpu, own = tree_cpu(server.proc.pid), time.process_time()
                        rate, errors = drive(server.port, bodies, args.clients, args.seconds)
                        served = rate * args.seconds
                        cpu = (tree_cpu(server.proc.pid) - cpu) / served * 1000
                        own = (time.process_time() - own) / served * 1000
                    finally:
                        server.stop()
                    rates[workers].append(rate)
                    print(
                        f"  round {rnd + 1}, --workers {workers}: {rate:7.1f} requests/s "
                        f"(server CPU {cpu:.2f} ms/request, client {own:.2f}; {errors} errors; "
                        f"load average {os.getloadavg()[0]:.1f})"
                    )
            one, many = statistics.median(rates[1]), statistics.median(rates[args.workers])
            print(
                f"  median: --workers 1 {one:.1f}/s, --workers {args.workers} {many:.1f}/s, "
                f"ratio {many / one:.2f}x"
            )
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
