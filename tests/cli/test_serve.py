"""The real server: `graphiam serve` (uvicorn) on a free port, queried over HTTP with httpx."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx

from tests.helpers import CONFORMANCE, ROOT, free_port, start_server


def test_serve_answers_graphql_over_http(tmp_path):
    db = tmp_path / "db"
    env = {**os.environ, "GRAPHIAM_DB": str(db)}
    load = subprocess.run(
        [sys.executable, "-m", "graphiam.cli", "load", str(CONFORMANCE / "gaad.json")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert load.returncode == 0, load.stderr
    assert "20 users, 6 groups, 10 roles, 33 managed policies" in load.stdout
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "graphiam.cli", "serve", "--port", str(port), "--log-level", "warning"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.2)
        r = httpx.post(
            f"{base}/graphql",
            json={"query": "{ users { totalCount } roles(first: 3) { edges { node { arn } } } }"},
            timeout=10,
        )
        assert r.status_code == 200
        data = r.json()["data"]
        assert data["users"]["totalCount"] == 20
        assert len(data["roles"]["edges"]) == 3
        assert httpx.get(f"{base}/health", timeout=5).json()["accounts"] == ["123456789012"]
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_empty_database_gets_the_demo_org_and_the_readme_script_runs(tmp_path):
    env = {**os.environ, "GRAPHIAM_DB": str(tmp_path / "db")}
    port = free_port()
    proc = start_server(env, port)
    try:
        assert httpx.get(f"http://127.0.0.1:{port}/health").json()["accounts"] == [
            "111111111111",
            "222222222222",
        ]
        page = httpx.get(f"http://127.0.0.1:{port}/graphql", headers={"accept": "text/html"})
        assert page.status_code == 200 and "graphiql" in page.text.lower()
        readme = (ROOT / "README.md").read_text()
        script = readme.split("```python\n", 1)[1].split("```", 1)[0]
        script = script.replace("http://127.0.0.1:8000", f"http://127.0.0.1:{port}")
        out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        assert out.stdout.startswith("10 users; erin may iam:CreateUser:")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
