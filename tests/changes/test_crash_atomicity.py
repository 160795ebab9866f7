"""Crash atomicity (issue 13): `graphiam load`, and a mutation through the server, killed with SIGKILL at many
moments, the commit included; the database must reopen exactly as it was before the write or exactly as the
write leaves it, every row of every table compared (`graph_fingerprint`). scripts/crash_loop.py runs the
longer version (50 kills at random moments on a bigger generated organisation).

The moments: the engine writes its write-ahead log (`<db>.wal`) when a transaction commits, and a COMMIT that
COPYed is where kuzu 0.11.3 is not atomic, so most kills land 0 to T seconds after the log appears, T being
how long the uninterrupted write ran from then on (commit, checkpoint, and what graphiam does after); the
others land anywhere in the run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers import (
    copy_database,
    fingerprint_file,
    free_port,
    generator_module,
    start_server,
    wait_for_wal,
    write,
)

CLI = [sys.executable, "-m", "graphiam.cli"]
FRACTIONS = (0.0, 0.2, 0.45, 0.7)  # of the time from the log appearing to the end of the write


@dataclass(frozen=True)
class Org:
    base: Path  # a database holding both accounts, and an admin token in its token file
    token: str
    edited: Path  # the first account again, a quarter of its users gone
    old: dict[str, str]  # the fingerprint of `base`


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Org:
    """Two generated accounts loaded, and an edited copy of the first one to load over them."""
    tmp = tmp_path_factory.mktemp("crash")
    exports = generator_module().generate_org(users=60, roles=30, policies=80, accounts=2, seed=7)
    files = [write(tmp, f"account-{i}.json", e) for i, e in enumerate(exports)]
    edited = dict(exports[0])
    edited["UserDetailList"] = [u for i, u in enumerate(exports[0]["UserDetailList"]) if i % 4]
    (tmp / "edited").mkdir()
    base = tmp / "base" / "db"
    subprocess.run([*CLI, "load", *map(str, files), "--db", str(base)], check=True, capture_output=True)
    token = subprocess.run(
        [*CLI, "token", "create", "--role", "admin", "--name", "t", "--db", str(base)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    return Org(base, token, write(tmp / "edited", "account-0.json", edited), fingerprint_file(base))


def _state(found: dict[str, str], old: dict[str, str], new: dict[str, str]) -> str:
    if found == old:
        return "old"
    if found == new:
        return "new"
    differ = sorted(t for t in set(found) | set(old) if found.get(t) not in (old.get(t), new.get(t)))
    return f"neither: {found.get('error') or differ}"


def test_a_load_killed_at_any_moment_leaves_the_old_or_the_new_database(org, tmp_path):
    old = org.old

    def load(db: Path) -> subprocess.Popen[bytes]:
        copy_database(org.base, db)
        return subprocess.Popen(
            [*CLI, "load", str(org.edited), "--db", str(db)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    reference = tmp_path / "reference" / "db"
    started = time.monotonic()
    proc = load(reference)
    logged = wait_for_wal(reference, proc, timeout=120)
    assert proc.wait(timeout=120) == 0
    ended = time.monotonic()
    assert logged is not None, "the load wrote no write-ahead log"
    new = fingerprint_file(reference)
    assert old != new and "error" not in new

    outcomes = []
    trial = tmp_path / "trial" / "db"
    moments = [("after the log", f * (ended - logged)) for f in FRACTIONS]
    moments.append(("from the start", 0.5 * (logged - started)))
    for when, delay in moments:
        proc = load(trial)
        if when == "after the log":
            wait_for_wal(trial, proc, timeout=120)
        time.sleep(delay)
        logging = any(".wal" in p.name for p in trial.parent.iterdir())
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        outcomes.append((when, round(delay, 3), logging, _state(fingerprint_file(trial), old, new)))
    assert all(state in ("old", "new") for *_, state in outcomes), outcomes
    assert any(logging for _, _, logging, _ in outcomes), (
        f"no kill landed while the log was there: {outcomes}"
    )


IMPORT = """mutation($doc: JSON!) { importExport(input: {document: $doc}) { ok errors { message } } }"""


def test_a_mutation_killed_at_any_moment_leaves_the_old_or_the_new_database(org, tmp_path):
    old, token = org.old, org.token
    document = json.loads(org.edited.read_text())

    def serve(db: Path) -> tuple[subprocess.Popen[bytes], str]:
        copy_database(org.base, db)
        port = free_port()
        return start_server({**os.environ, "GRAPHIAM_DB": str(db)}, port, timeout=90), (
            f"http://127.0.0.1:{port}/graphql"
        )

    def send(url: str, out: dict[str, Any]) -> None:
        try:
            r = httpx.post(
                url,
                json={"query": IMPORT, "variables": {"doc": document}},
                headers={"Authorization": f"Bearer {token}"},
                timeout=120,
            )
            out["body"] = r.json()
        except httpx.TransportError as exc:  # the server was killed
            out["error"] = str(exc)

    reference = tmp_path / "reference" / "db"
    proc, url = serve(reference)
    answer: dict[str, Any] = {}
    sender = threading.Thread(target=send, args=(url, answer))
    sender.start()
    logged = wait_for_wal(reference, proc, timeout=120)
    sender.join()
    answered = time.monotonic()
    proc.terminate()
    proc.wait(timeout=60)
    assert answer["body"]["data"]["importExport"]["ok"], answer
    assert logged is not None, "the mutation wrote no write-ahead log"
    new = fingerprint_file(reference)
    assert old != new and "error" not in new

    outcomes = []
    trial = tmp_path / "trial" / "db"
    for fraction in FRACTIONS[1:]:
        delay = fraction * (answered - logged)
        proc, url = serve(trial)
        answer = {}
        sender = threading.Thread(target=send, args=(url, answer))
        sender.start()
        wait_for_wal(trial, proc, timeout=120)
        time.sleep(delay)
        logging = any(".wal" in p.name for p in trial.parent.iterdir())
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        sender.join()
        outcomes.append((round(delay, 3), logging, _state(fingerprint_file(trial), old, new)))
    assert all(state in ("old", "new") for *_, state in outcomes), outcomes
    assert any(logging for _, logging, _ in outcomes), f"no kill landed while the log was there: {outcomes}"
