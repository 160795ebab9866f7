"""The real server under concurrent load: 8 clients × 500 GraphQL operations each, with mutations interleaved.

Each write creates a user and its group membership in ONE mutation (`applyChanges`). Checked: zero errors
(every response 200 without `errors`), zero lost writes (every user created is there at the end, in the
group), reads consistent (a user is never seen without its membership; a client's counts never go backwards;
its own write is visible to its next read; an unrelated decision never changes).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from typing import Any

import httpx

from tests.helpers import free_port, start_server

CLIENTS = 8
OPERATIONS = 500
WRITE_EVERY = 50  # 10 writes per client, 80 in all
ACCOUNT = "999999999999"
GROUP = f"arn:aws:iam::{ACCOUNT}:group/load-test"
ALICE = "arn:aws:iam::111111111111:user/engineering/alice"

WRITE = (
    "mutation($c: [ChangeInput!]!) { applyChanges(changes: $c) { ok errors { code message } "
    "user { arn groups { arn } } } }"
)
OWN = "query($a: String!) { user(arn: $a) { arn groups { arn } } }"
LIST = (
    "query($acct: String!) { users(account: $acct, first: 100) { totalCount edges { node { arn "
    "groups { arn } } } } }"
)
SIM = 'query($p: String!) { simulate(principal: $p, action: "s3:GetObject", resource: "*") { decision } }'
MEMBERS = "query($g: String!) { group(arn: $g) { members { arn } } }"


class Client:
    def __init__(self, base: str, token: str, index: int) -> None:
        self.http = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60)
        self.index = index
        self.created: list[str] = []
        self.problems: list[str] = []
        self.last_total = 0
        self.decision: str | None = None

    def call(self, query: str, variables: dict[str, Any]) -> dict[str, Any] | None:
        r = self.http.post("/graphql", json={"query": query, "variables": variables})
        body = r.json() if r.headers.get("content-type", "").startswith("application/json") else {}
        if r.status_code != 200 or body.get("errors") or body.get("data") is None:
            self.problems.append(f"{r.status_code} {r.text[:300]}")
            return None
        return body["data"]  # type: ignore[no-any-return]

    def write(self, n: int) -> None:
        name = f"cc-{self.index}-{n}"
        arn = f"arn:aws:iam::{ACCOUNT}:user/{name}"
        data = self.call(
            WRITE,
            {
                "c": [
                    {"createUser": {"account": ACCOUNT, "name": name}},
                    {"addUserToGroup": {"userArn": arn, "groupArn": GROUP}},
                ]
            },
        )
        if data is None:
            return
        result = data["applyChanges"]
        if not result["ok"] or result["user"] != {"arn": arn, "groups": [{"arn": GROUP}]}:
            self.problems.append(f"write {name}: {result}")
        self.created.append(arn)

    def read(self, i: int) -> None:
        kind = i % 4
        if kind == 0 and self.created:  # read-your-write, whole
            data = self.call(OWN, {"a": self.created[-1]})
            if data is not None and data["user"] != {"arn": self.created[-1], "groups": [{"arn": GROUP}]}:
                self.problems.append(f"own write not visible whole: {data}")
        elif kind == 1:
            data = self.call(LIST, {"acct": ACCOUNT})
            if data is not None:
                conn = data["users"]
                if conn["totalCount"] < max(self.last_total, len(self.created)):
                    self.problems.append(f"users went backwards: {conn['totalCount']} < {self.last_total}")
                self.last_total = conn["totalCount"]
                half = [e["node"]["arn"] for e in conn["edges"] if e["node"]["groups"] != [{"arn": GROUP}]]
                if half:
                    self.problems.append(f"users seen without their membership: {half}")
        elif kind == 2:
            data = self.call(SIM, {"p": ALICE})
            if data is not None:
                decision = data["simulate"]["decision"]
                if self.decision not in (None, decision):
                    self.problems.append(f"decision changed: {self.decision} -> {decision}")
                self.decision = decision
        else:
            data = self.call(MEMBERS, {"g": GROUP})
            if data is not None:
                members = {m["arn"] for m in data["group"]["members"]}
                if not set(self.created) <= members:
                    self.problems.append(f"own members missing: {set(self.created) - members}")

    def run(self) -> None:
        try:
            for i in range(OPERATIONS):
                if i % WRITE_EVERY == WRITE_EVERY - 1:
                    self.write(i)
                else:
                    self.read(i)
        except Exception as exc:  # noqa: BLE001 - reported as a problem of this client
            self.problems.append(f"{type(exc).__name__}: {exc}")
        finally:
            self.http.close()


def test_eight_clients_with_interleaved_writes_lose_nothing_and_read_consistently(tmp_path):
    db = tmp_path / "db"
    env = {**os.environ, "GRAPHIAM_DB": str(db)}
    made = subprocess.run(
        [
            sys.executable,
            "-m",
            "graphiam.cli",
            "token",
            "create",
            "--role",
            "admin",
            "--name",
            "load-test",
            "--db",
            str(db),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert made.returncode == 0, made.stderr
    token = made.stdout.split()[0]
    port = free_port()
    proc = start_server(env, port)  # an empty database: the demo organisation is loaded
    try:
        base = f"http://127.0.0.1:{port}"
        setup = Client(base, token, -1)
        data = setup.call(
            f'mutation {{ createGroup(input: {{account: "{ACCOUNT}", name: "load-test"}}) {{ ok }} }}', {}
        )
        assert data == {"createGroup": {"ok": True}}, setup.problems
        clients = [Client(base, token, i) for i in range(CLIENTS)]
        threads = [threading.Thread(target=c.run) for c in clients]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
        assert not any(t.is_alive() for t in threads), "clients did not finish"
        problems = [p for c in clients for p in c.problems]
        assert problems == [], problems[:10]
        created = {arn for c in clients for arn in c.created}
        assert len(created) == CLIENTS * (OPERATIONS // WRITE_EVERY)
        final = Client(base, token, -2)
        group = final.call(MEMBERS, {"g": GROUP})
        assert group is not None, final.problems
        members = {m["arn"] for m in group["group"]["members"]}
        assert members == created  # zero lost writes
        listed = final.call(LIST, {"acct": ACCOUNT})
        assert listed is not None and listed["users"]["totalCount"] == len(created), final.problems
        assert final.problems == []
    finally:
        proc.terminate()
        proc.wait(timeout=30)
