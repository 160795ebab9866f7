"""`graphiam diff` of two imports that differ by 1%: time and peak memory, one fresh process per step.

    .venv/bin/python benchmarks/bench_diff.py [--principals 10000] [--change 0.01] [--accounts 1]

The old side is a generated organisation (benchmarks/generate_org.py, seed 7; users:roles 3:2, policies 30%
of principals, as bench_load); the new side is the same export with `--change` of its principals touched:
a quarter removed, a quarter added (copies under new names), a quarter given one more managed policy, a
quarter of as many roles given a trust statement naming an outside account. Steps, each a `graphiam` process
measured with `/usr/bin/time -v` (wall, peak RSS):

1. `graphiam load OLD` into a new database (import 1; its security summary computed from scratch);
2. `graphiam load NEW` into the same database (import 2; the summary reuses import 1's findings and
   sensitive-action answers where the inputs did not change);
3. `graphiam diff --since PREVIOUS --json` (the nightly-CI step: two stored summaries compared);
4. `graphiam diff OLD NEW --json` (both exports loaded into temporary databases, then compared).

The summary's share of each load is read from the load's progress output (the "summarising" stage). The
baseline, measured in the same run, is the load of OLD itself: ratios are against it.
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

OUTSIDE = "arn:aws:iam::999999999999:root"


def perturb(export: dict[str, Any], change: float, seed: int = 11) -> tuple[dict[str, Any], dict[str, int]]:
    """A copy of `export` with `change` of its principals touched (see the module docstring)."""
    rng = random.Random(seed)
    new = copy.deepcopy(export)
    users, roles = new["UserDetailList"], new["RoleDetailList"]
    n = max(4, round(change * (len(users) + len(roles))))
    quarter = n // 4
    managed = [p["Arn"] for p in new["Policies"]]
    picked = rng.sample(range(len(users)), 3 * quarter)
    removed = set(picked[:quarter])
    for i in picked[quarter : 2 * quarter]:  # added: copies under new names
        u = copy.deepcopy(users[i])
        u["UserName"] = f"{u['UserName']}-new"
        u["Arn"] = f"{u['Arn']}-new"
        u["UserId"] = "AIDANEW" + u["UserId"][7:]
        users.append(u)
    for i in picked[2 * quarter :]:  # one more managed policy
        arn = rng.choice(managed)
        refs = users[i]["AttachedManagedPolicies"]
        if all(r["PolicyArn"] != arn for r in refs):
            refs.append({"PolicyName": arn.rsplit("/", 1)[-1], "PolicyArn": arn})
    for i in rng.sample(range(len(roles)), min(quarter, len(roles))):  # trust an outside account
        doc = roles[i]["AssumeRolePolicyDocument"]
        if isinstance(doc, str):
            from urllib.parse import unquote

            doc = json.loads(unquote(doc) if doc.startswith("%") else doc)
        statements = doc["Statement"] if isinstance(doc["Statement"], list) else [doc["Statement"]]
        statements.append({"Effect": "Allow", "Principal": {"AWS": OUTSIDE}, "Action": "sts:AssumeRole"})
        roles[i]["AssumeRolePolicyDocument"] = {**doc, "Statement": statements}
    new["UserDetailList"] = [u for i, u in enumerate(users) if i not in removed]
    return new, {"touched": 4 * quarter, "principals": len(export["UserDetailList"]) + len(roles)}


def timed(cmd: list[str]) -> tuple[float, float, float, str]:
    """(wall seconds, CPU seconds, peak RSS MiB, stderr) of one command under /usr/bin/time -v."""
    r = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True)
    if r.returncode not in (0, 1):
        raise SystemExit(f"failed ({r.returncode}): {' '.join(cmd)}\n{r.stderr[-3000:]}")
    wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", r.stderr)
    peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", r.stderr)
    if wall is None or peak is None:
        raise SystemExit(f"/usr/bin/time -v printed no wall time or peak RSS:\n{r.stderr[-2000:]}")
    cpu = sum(float(x) for x in re.findall(r"(?:User|System) time \(seconds\): ([\d.]+)", r.stderr))
    h, m, s = wall.groups()
    return int(h or 0) * 3600 + int(m) * 60 + float(s), cpu, int(peak.group(1)) / 1024, r.stderr


def summary_seconds(progress: str) -> float | None:
    """The time the load spent summarising, from its progress bar (stage names and elapsed seconds)."""
    marks = [(stage, float(t)) for stage, t in re.findall(r"\d+/\d+ (.{40}) +([\d.]+)s", progress)]
    at = next((i for i, (stage, _) in enumerate(marks) if stage.startswith("summarising")), None)
    if at is None:
        return None
    # the summary's own "done" is the next mark after it
    end = next((t for stage, t in marks[at + 1 :] if stage.startswith("done")), None)
    return None if end is None else end - marks[at][1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--principals", type=int, default=10_000)
    ap.add_argument("--change", type=float, default=0.01)
    args = ap.parse_args()
    from generate_org import generate_org

    users = args.principals * 3 // 5
    roles = args.principals - users
    policies = args.principals * 3 // 10
    py = sys.executable
    with tempfile.TemporaryDirectory(prefix="bench-diff-") as tmp:
        t = Path(tmp)
        old = generate_org(users=users, roles=roles, policies=policies, seed=7)[0]
        new, facts = perturb(old, args.change)
        (t / "old.json").write_text(json.dumps(old))
        (t / "new.json").write_text(json.dumps(new))
        del old, new
        mb = (t / "old.json").stat().st_size / 1e6
        print(
            f"{args.principals} principals ({users} users, {roles} roles, {policies} policies); "
            f"{facts['touched']} touched ({args.change:.0%}); old.json {mb:.1f} MB"
        )
        db = str(t / "db")
        cli = [py, "-m", "graphiam.cli"]
        rows = []
        w, c, r, err = timed([*cli, "load", str(t / "old.json"), "--db", db, "--progress"])
        base = w
        rows.append(("1 load OLD (import 1, summary from scratch)", w, c, r, summary_seconds(err)))
        w, c, r, err = timed([*cli, "load", str(t / "new.json"), "--db", db, "--progress"])
        rows.append(("2 load NEW on top (import 2, summary reusing 1)", w, c, r, summary_seconds(err)))
        out = t / "since.json"
        w, c, r, _ = timed([*cli, "diff", "--since", "PREVIOUS", "--db", db, "--json", "-o", str(out)])
        doc = json.loads(out.read_text())
        rows.append(("3 diff --since PREVIOUS --json", w, c, r, None))
        out2 = t / "files.json"
        w, c, r, _ = timed(
            [*cli, "diff", str(t / "old.json"), str(t / "new.json"), "--json", "-o", str(out2)]
        )
        rows.append(("4 diff OLD.json NEW.json --json (two temporary loads)", w, c, r, None))
        print(f"{'step':<56} {'wall s':>7} {'x load':>6} {'CPU s':>7} {'peak RSS MiB':>12} {'summary s':>9}")
        for name, wall, cpu, rss, summ in rows:
            col = f"{summ:9.1f}" if summ is not None else f"{'-':>9}"
            print(f"{name:<56} {wall:7.1f} {wall / base:6.2f} {cpu:7.1f} {rss:12.0f} {col}")
        by_cat: dict[str, int] = {}
        for item in doc["items"]:
            by_cat[item["category"]] = by_cat.get(item["category"], 0) + 1
        print(f"changes: {len(doc['items'])} ({', '.join(f'{k} {v}' for k, v in by_cat.items())})")
        print(
            f"diff JSON {out.stat().st_size / 1e6:.1f} MB; same items from files: "
            f"{json.loads(out2.read_text())['items'] == doc['items']}"
        )
        size = subprocess.run(
            [
                py,
                "-c",
                "import sys; from graphiam.store import open_database, history_store as H; "
                "db = open_database(sys.argv[1], read_only=True); print(len(H.import_summary(db, 2)))",
                db,
            ],
            capture_output=True,
            text=True,
        )
        print(f"stored summary (gzip, base64): {int(size.stdout) / 1e6:.2f} MB per import")
        hist = subprocess.run(
            [py, "-m", "graphiam.cli", "history", "--json", "--db", db], capture_output=True, text=True
        )
        print("import counts:", json.loads(hist.stdout)["imports"][-1]["counts"])


if __name__ == "__main__":
    main()
