"""Issue 16's table (Scale): every row, measured on generated orgs of both shapes, each step in a child.

    .venv/bin/python benchmarks/bench_scale.py [--sizes 10000,100000] [--shapes default,wide]
        [--rows load,first,reads,reload,workers] [--check] [--timeout 1800] [--runs 3]

A quick run (about a minute): `--sizes 1000 --shapes default --rows load,first,reads`.

Orgs (`layout`): `benchmarks/generate_org.py`, seed 7, 60 % users, 40 % roles, policies 30 % of the
principals. The default shape up to 10,000 principals is one account (1,000: the org of the golden
`tests/data/golden/default-1000.json`; 10,000: 6,000 users, 4,000 roles, 3,000 policies, as issue 16
measured); above, and for the wide shape at every size, accounts of 500 principals (100,000: 200 accounts
× 500, with cross-account trust between them; wide 10,000: 20 accounts × 500, 6,000 users in 200 groups).

Rows (each child's peak RSS is `resource.getrusage(RUSAGE_SELF).ru_maxrss`, read when its step ends; a child
past `--timeout` is killed and its row says "did not finish in N s", with the peak it had reached):
- `load`: `load_files` of the org into a new database file with every derived fact (CAN_ASSUME, escalation,
  the import summary with its findings): wall time and peak RSS;
- `first`: the FIRST query of each kind (whoCan, escalationPaths, the findings report's first page) after
  a load (asked in turn by the process that loaded, in that order: the first one builds the snapshot) and
  after a restart (a fresh process per kind: from opening the database to the answer);
- `reads`: whoCan (4 questions × `--runs`), assumptionChains at depth 6 (10 sources) and escalationPaths
  (10 principals that can become administrator), medians, warm: the snapshot and indexes built by a first
  untimed question, the per-answer caches cleared before each question (as `bench_engines.py` does);
- `reload`: `load_files` of one 500-principal account's file again into the loaded org (orgs of several
  accounts only): wall time and peak RSS;
- `workers`: read throughput of `serve --workers 2` vs `--workers 1` (`bench_workers.py --orgs
  --workers-org`, one round).
`--check` compares the results with the golden of the same org (`tests/data/golden/*.json`,
`benchmarks/data/golden-*.json`; `results_digest.py`) after the load and, when `reload` runs, after the
reload.

Every child pins the clock (`results_digest.pinned_clock`). GraphQL is asked in process with no time limit.
Figures are printed, never asserted; the machine is shared, so the load average is printed with them.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import results_digest as rd  # noqa: E402

ROWS = ("load", "first", "reads", "reload", "workers")
GOLDEN_DIRS = (ROOT / "tests" / "data" / "golden", ROOT / "benchmarks" / "data")

WHO_CAN = """query($a: String!, $r: String!) {
  whoCan(action: $a, resource: $r) { principalArn decision conditional } }"""
CHAINS = """query($f: String!) { assumptionChains(from: $f, maxDepth: 6) { length hops { from to } } }"""
PATHS = """query($f: String!) {
  escalationPaths(from: $f) { length steps { from to technique permissions { action resource } } } }"""
FINDINGS = """{ policyFindings(first: 50) { totalCount nodes { policyArn findings { category actionCount }
  principals { arn isAdmin canBecomeAdmin } } } }"""


def layout(shape: str, principals: int) -> rd.OrgSpec:
    """The generated org of `shape` with about `principals` principals (see the module docstring)."""
    if shape == "default" and principals <= 10_000:
        accounts, per = 1, principals
    else:
        accounts = max(2 if shape == "wide" else 1, principals // 500)
        per = principals // accounts
    return rd.OrgSpec(
        users=per * 3 // 5, roles=per * 2 // 5, policies=per * 3 // 10, accounts=accounts, seed=7, shape=shape
    )


def golden_for(spec: rd.OrgSpec) -> Path | None:
    for folder in GOLDEN_DIRS:
        for path in sorted(folder.glob("*.json")):
            made = json.loads(path.read_text()).get("made", {})
            if made.get("org") == spec.as_json():
                return path
    return None


# ---- children ----


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6


def cpu_s() -> float:
    """CPU seconds (user + system) this process has used: on a shared machine a figure the others' load
    inflates less than wall time."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def emit(**values: Any) -> None:
    print(json.dumps(values), flush=True)


def first_questions(db: Any) -> dict[str, Any]:
    """The questions of the `first` and `reads` rows, chosen from the load (seeded)."""
    from graphiam.queries import history
    from graphiam.store import assume_store, reader

    rng = random.Random(7)
    users, roles, _ = reader.all_principal_rows(db)
    user_arns = sorted(u.arn for u in users)
    role_arns = sorted(r.arn for r in roles)
    newest = history.latest(db)
    climbers = sorted(newest[1]["escalations"]) if newest else []
    sample = rng.sample(user_arns, k=min(300, len(user_arns)))
    starts = sorted({r["src"] for r in assume_store.out_edges(db, "User", sample)})
    return {
        "whoCan": [
            ["s3:GetObject", "*"],
            ["iam:PassRole", role_arns[len(role_arns) // 2]],
            ["iam:CreateUser", "*"],
            ["sts:AssumeRole", role_arns[min(7, len(role_arns) - 1)]],
        ],
        "chains": rng.sample(starts, k=min(10, len(starts))),
        "paths": rng.sample(climbers, k=min(10, len(climbers))) or user_arns[:1],
    }


def ask_first(ask: rd.Asker, kind: str, q: dict[str, Any]) -> float:
    started = time.perf_counter()
    if kind == "whoCan":
        ask(WHO_CAN, a=q["whoCan"][0][0], r=q["whoCan"][0][1])
    elif kind == "escalationPaths":
        ask(PATHS, f=q["paths"][0])
    else:
        ask(FINDINGS)
    return time.perf_counter() - started


FIRST_KINDS = ("whoCan", "escalationPaths", "findings")


def child(kind: str, payload: dict[str, Any]) -> None:
    with rd.pinned_clock():
        started = time.perf_counter()
        db = rd.open_db(Path(payload["db"]))
        opened = time.perf_counter() - started
        if kind == "load":
            from graphiam.changes.load import load_files

            t, c = time.perf_counter(), cpu_s()
            load_files(db, payload["files"])
            emit(load_s=time.perf_counter() - t, cpu_s=cpu_s() - c, peak_mb=peak_mb())
            if payload.get("first"):
                ask = rd.Asker(db)
                q = first_questions(db)
                for k in FIRST_KINDS:
                    emit(first=k, seconds=ask_first(ask, k, q))
                ask.close()
        elif kind == "reload":
            from graphiam.changes.load import load_files

            t, c = time.perf_counter(), cpu_s()
            load_files(db, payload["files"])
            emit(reload_s=time.perf_counter() - t, cpu_s=cpu_s() - c, peak_mb=peak_mb(), open_s=opened)
        elif kind == "first":
            ask = rd.Asker(db)
            seconds = ask_first(ask, payload["kind"], payload["questions"])
            emit(first=payload["kind"], seconds=opened + seconds, open_s=opened, peak_mb=peak_mb())
            ask.close()
        elif kind == "reads":
            reads(db, payload)
        elif kind == "check":
            golden = json.loads(Path(payload["golden"]).read_text())
            try:
                got = rd.digest(db, golden["questions"])
            except Exception as exc:  # a question that fails is a result that changed: say which
                emit(problems=[f"the digest failed: {' '.join(str(exc).split())[:400]}"], peak_mb=peak_mb())
            else:
                emit(problems=rd.compare(golden, got), peak_mb=peak_mb())
        db.close()


def reads(db: Any, payload: dict[str, Any]) -> None:
    from graphiam.graph.snapshot import snapshot_cache

    q = payload["questions"]
    runs = payload["runs"]
    ask = rd.Asker(db)
    snapshot_cache(ask.services.caches).get(db)

    def timed(query: str, **variables: str) -> float:
        ask.services.caches.pop("who_can", None)
        ask.services.caches.pop("effective", None)
        t = time.perf_counter()
        ask(query, **variables)
        return (time.perf_counter() - t) * 1000

    out: dict[str, Any] = {}
    timed(WHO_CAN, a="s3:PutObject", r="*")  # warm-up, untimed
    out["whoCan_ms"] = statistics.median(
        timed(WHO_CAN, a=a, r=r) for _ in range(runs) for a, r in q["whoCan"]
    )
    if q["chains"]:
        timed(CHAINS, f=q["chains"][0])
        out["chains_ms"] = statistics.median(timed(CHAINS, f=s) for s in q["chains"])
    if q["paths"]:
        timed(PATHS, f=q["paths"][0])
        out["paths_ms"] = statistics.median(timed(PATHS, f=s) for s in q["paths"])
    ask.close()
    emit(**out, sources={"chains": len(q["chains"]), "paths": len(q["paths"])}, peak_mb=peak_mb())


# ---- the parent ----


@dataclass
class Outcome:
    lines: list[dict[str, Any]] = field(default_factory=list)
    status: str = "ok"  # ok | timeout | failed: <reason>
    seconds: float = 0.0
    peak_mb: float | None = None  # of a child killed at the timeout (VmHWM)
    cpu_s: float | None = None  # CPU seconds of a child killed at the timeout

    def get(self, key: str) -> Any:
        for line in self.lines:
            if key in line:
                return line[key]
        return None


def vm_hwm_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024 / 1e6
    except OSError:
        return None
    return None


def proc_cpu_s(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_child(kind: str, payload: dict[str, Any], timeout: float) -> Outcome:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", kind, json.dumps(payload)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    out = Outcome()
    errors: list[str] = []

    def read_out() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("{"):
                out.lines.append(json.loads(line))

    def read_err() -> None:
        assert proc.stderr is not None
        errors.extend(proc.stderr)

    readers = [threading.Thread(target=read_out), threading.Thread(target=read_err)]
    for t in readers:
        t.start()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        out.peak_mb = vm_hwm_mb(proc.pid)
        out.cpu_s = proc_cpu_s(proc.pid)
        proc.kill()
        proc.wait()
        out.status = "timeout"
    for t in readers:
        t.join()
    out.seconds = time.perf_counter() - started
    if out.status == "ok" and proc.returncode != 0:
        last = [e.strip() for e in errors if e.strip()][-1:] or [f"exit {proc.returncode}"]
        out.status = f"failed: {last[0][:300]}"
    return out


@dataclass
class Row:
    label: str
    target: str
    measured: str
    met: str


def fmt_s(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds >= 1 else f"{seconds * 1000:.0f} ms"


def judge(ok: bool | None) -> str:
    return "—" if ok is None else ("yes" if ok else "no")


class Bench:
    def __init__(self, args: argparse.Namespace, tmp: Path) -> None:
        self.args = args
        self.tmp = tmp
        self.rows: list[Row] = []

    def add(self, label: str, target: str, measured: str, met: str) -> None:
        row = Row(label, target, measured, met)
        self.rows.append(row)
        print(f"  {label}: {measured} (target {target}: {met})", flush=True)

    def unfinished(self, label: str, target: str, out: Outcome) -> None:
        if out.status == "timeout":
            peak = f", peak {out.peak_mb:,.0f} MB so far" if out.peak_mb else ""
            peak += f", CPU {out.cpu_s:,.0f} s" if out.cpu_s is not None else ""
            self.add(
                label,
                target,
                f"did not finish in {self.args.timeout:.0f} s{peak}",
                "no" if target != "—" else "—",
            )
        else:
            self.add(label, target, out.status, "no" if target != "—" else "—")

    def org(self, shape: str, size: int) -> None:
        args = self.args
        spec = layout(shape, size)
        name = f"{size:,} {shape}" + (f", {spec.accounts} accounts" if spec.accounts > 1 else "")
        print(f"\n{spec.principals:,} principals, {shape} shape, {spec.accounts} account(s): …", flush=True)
        folder = self.tmp / f"{shape}-{size}"
        files = rd.write_org(spec, folder / "org")
        db = folder / "db"
        at10k, at100k = size == 10_000, size == 100_000
        rows = set(args.rows)
        payload: dict[str, Any] = {"db": str(db), "files": [str(f) for f in files], "first": "first" in rows}
        load = run_child("load", payload, args.timeout)
        target = "< 30 s, < 1 GB" if at10k else ("< 6 min, < 6 GB" if at100k else "—")
        label = f"load {name} with every derived fact"
        seconds, peak = load.get("load_s"), load.get("peak_mb")
        if seconds is None:
            self.unfinished(label, target, load)
            return
        limit_s, limit_mb = (30, 1000) if at10k else ((360, 6000) if at100k else (None, None))
        met = None if limit_s is None else seconds < limit_s and peak < limit_mb
        cpu = f" (CPU {load.get('cpu_s'):,.0f} s)" if load.get("cpu_s") is not None else ""
        self.add(label, target, f"{fmt_s(seconds)}{cpu}, peak RSS {peak:,.0f} MB", judge(met))
        if "first" in rows:
            firsts = {line["first"]: line["seconds"] for line in load.lines if "first" in line}
            for kind in FIRST_KINDS:
                label = f"first {kind} after the load ({name})"
                if kind in firsts:
                    s = firsts[kind]
                    self.add(label, "< 2 s" if at10k else "—", fmt_s(s), judge(s < 2 if at10k else None))
                else:
                    self.unfinished(label, "< 2 s" if at10k else "—", load)
        q = None
        if rows & {"first", "reads"}:
            q = self.questions(db)
        if "first" in rows and q is not None:
            for kind in FIRST_KINDS:
                out = run_child("first", {"db": str(db), "kind": kind, "questions": q}, args.timeout)
                label = f"first {kind} after a restart, open to answer ({name})"
                s = out.get("seconds")
                if s is None:
                    self.unfinished(label, "< 2 s" if at10k else "—", out)
                else:
                    self.add(label, "< 2 s" if at10k else "—", fmt_s(s), judge(s < 2 if at10k else None))
        if "reads" in rows and q is not None:
            out = run_child("reads", {"db": str(db), "questions": q, "runs": args.runs}, args.timeout)
            for key, what, limit in (
                ("whoCan_ms", f"whoCan over {spec.principals:,} principals, median, warm", 300),
                ("chains_ms", "assumptionChains depth 6 from a principal, median, warm", 100),
                ("paths_ms", "escalationPaths from a principal, median, warm", 50),
            ):
                label = f"{what} ({name})"
                value = out.get(key)
                if value is None:
                    self.unfinished(label, f"< {limit} ms" if at10k else "—", out)
                else:
                    ok = value < limit if at10k else None
                    self.add(label, f"< {limit} ms" if at10k else "—", f"{value:.1f} ms", judge(ok))
        golden = golden_for(spec) if args.check else None
        if args.check:
            self.check(f"results after the load ({name})", spec, db, golden)
        if "reload" in rows:
            if spec.accounts < 2:
                self.add(f"re-load one account ({name})", "—", "n/a: one account", "—")
            else:
                account = sorted(f for f in files if f.suffix == ".json")[len(files) // 2]
                out = run_child("reload", {"db": str(db), "files": [str(account)]}, args.timeout)
                per = spec.principals // spec.accounts
                label = f"re-load one {per}-principal account inside the org ({name})"
                s = out.get("reload_s")
                if s is None:
                    self.unfinished(label, "< 10 s" if at100k else "—", out)
                else:
                    self.add(
                        label,
                        "< 10 s" if at100k else "—",
                        f"{fmt_s(s)} (CPU {out.get('cpu_s'):,.1f} s), peak RSS {out.get('peak_mb'):,.0f} MB",
                        judge(s < 10 if at100k else None),
                    )
                    if args.check:
                        self.check(f"results after the re-load ({name})", spec, db, golden)

    def questions(self, db: Path) -> dict[str, Any] | None:
        code = (
            "import json, sys; sys.path.insert(0, sys.argv[2]); import bench_scale as b\n"
            "db = b.rd.open_db(sys.argv[1]); print(json.dumps(b.first_questions(db))); db.close()"
        )
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        r = subprocess.run(
            [sys.executable, "-c", code, str(db), str(ROOT / "benchmarks")],
            capture_output=True,
            text=True,
            env=env,
        )
        if r.returncode != 0:
            print(f"  cannot choose questions: {r.stderr.strip()[-300:]}")
            return None
        found: dict[str, Any] = json.loads(r.stdout.strip().splitlines()[-1])
        return found

    def check(self, label: str, spec: rd.OrgSpec, db: Path, golden: Path | None) -> None:
        if golden is None:
            self.add(label, "as the golden", f"no golden for {spec.as_json()}", "—")
            return
        out = run_child("check", {"db": str(db), "golden": str(golden)}, self.args.timeout)
        problems = out.get("problems")
        if problems is None:
            self.unfinished(label, "as the golden", out)
        elif problems:
            self.add(label, "as the golden", f"DIFFERENT from {golden.name}: " + " || ".join(problems), "no")
        else:
            self.add(label, "as the golden", f"same as {golden.name}", "yes")

    def workers(self) -> None:
        a = self.args
        cmd = [sys.executable, str(ROOT / "benchmarks" / "bench_workers.py"), "--orgs", str(a.workers_org)]
        cmd += ["--rounds", "1", "--seconds", str(a.workers_seconds), "--warmup", str(a.workers_seconds / 2)]
        print(f"\nread throughput: {' '.join(cmd[1:])}", flush=True)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=a.timeout)
        except subprocess.TimeoutExpired:
            self.add(
                "read throughput serve --workers 2 vs 1",
                "≥ 1.7×",
                f"did not finish in {a.timeout:.0f} s",
                "no",
            )
            return
        lines = [x for x in r.stdout.splitlines() if "ratio" in x]
        label = f"read throughput serve --workers 2 vs --workers 1 ({a.workers_org} principals, mixed reads)"
        if r.returncode != 0 or not lines:
            self.add(label, "≥ 1.7×", f"failed: {(r.stderr or r.stdout).strip()[-300:]}", "no")
            return
        ratio = float(lines[-1].rsplit("ratio", 1)[1].strip().rstrip("x"))
        self.add(label, "≥ 1.7×", lines[-1].strip().removeprefix("median: "), judge(ratio >= 1.7))

    def table(self) -> None:
        la = os.getloadavg()
        print(f"\nload average {la[0]:.1f} {la[1]:.1f} {la[2]:.1f} at the end")
        width = max(len(r.label) for r in self.rows)
        print(f"{'row':<{width}}  {'target':<16}  {'met':<4}  measured")
        for r in self.rows:
            print(f"{r.label:<{width}}  {r.target:<16}  {r.met:<4}  {r.measured}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000,100000", help="principals per org, comma-separated")
    ap.add_argument("--shapes", default="default,wide", help="generate_org shapes, comma-separated")
    ap.add_argument("--rows", default=",".join(ROWS), help=f"which rows: {', '.join(ROWS)}")
    ap.add_argument("--check", action="store_true", help="compare the results with the golden of each org")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds a child may take (default 1800)")
    ap.add_argument("--runs", type=int, default=3, help="runs of each whoCan question")
    ap.add_argument("--workers-org", type=int, default=1000, help="principals of the workers row's org")
    ap.add_argument("--workers-seconds", type=float, default=15)
    ap.add_argument("--keep", type=Path, help="generate and keep orgs and databases under this directory")
    ap.add_argument("--child", nargs=2, metavar=("KIND", "PAYLOAD"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child[0], json.loads(args.child[1]))
        return
    args.rows = [r.strip() for r in args.rows.split(",") if r.strip()]
    unknown = set(args.rows) - set(ROWS)
    if unknown:
        ap.error(f"unknown rows: {', '.join(sorted(unknown))} (choose from {', '.join(ROWS)})")
    shapes = [s.strip() for s in args.shapes.split(",")]
    la = os.getloadavg()
    print(
        f"{os.cpu_count()} cores, load average {la[0]:.1f} {la[1]:.1f} {la[2]:.1f} at the start", flush=True
    )
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        bench = Bench(args, args.keep or Path(tmp))
        for size in (int(s) for s in args.sizes.split(",")):
            if set(args.rows) - {"workers"} or args.check:
                for shape in shapes:
                    bench.org(shape, size)
        if "workers" in args.rows:
            bench.workers()
        bench.table()


if __name__ == "__main__":
    main()
