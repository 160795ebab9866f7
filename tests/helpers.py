"""Plain helpers shared by test modules (fixtures live in tests/conftest.py).

- paths: the checkout, the test data, the demo organisation (`SEEDS`);
- `GraphQLClient`: GraphQL documents run against the ASGI app, in process;
- the real server: `free_port`, `start_server` (`graphiam serve` in a subprocess);
- mutations over GraphQL: `mutate`, its `RESULT` selection, and `graph_dump` (every node and edge);
- GAAD exports written in Python: `user`, `role`, `group`, `managed_policy`, `export` … in account `ACCT`
  unless told (one inline policy per principal, statements as arguments), and `assume_user`, `assume_role`,
  `assume_export` in account `X` (one policy document per principal, the export written to a file);
- generated organisations: `generator_module` (benchmarks/generate_org.py), `write`, `generated_exports`.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx

from graphiam.store import Database

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
GAAD_EXAMPLE = TESTS / "data" / "gaad" / "cloudsplaining-example.json"
CONFORMANCE = TESTS / "conformance"
SEEDS = ROOT / "seeds"


# ---- GraphQL in process ------------------------------------------------------------------------------------


class GraphQLClient:
    """Runs GraphQL documents against the ASGI app (lifespan included) and returns `data`."""

    def __init__(self, db: Database) -> None:
        from graphiam.app import create_app  # here: a child process that imports these helpers stays light

        self.db = db
        self.app = create_app(database=db, load_seeds=False)

    async def _post(self, query: str, variables: dict[str, Any] | None) -> dict[str, Any]:
        async with self.app.router.lifespan_context(self.app):
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://graphiam.test") as c:
                r = await c.post("/graphql", json={"query": query, "variables": variables or {}})
                assert r.status_code == 200, r.text
                body: dict[str, Any] = r.json()
                return body

    def raw(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        return asyncio.run(self._post(query, variables))

    def __call__(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        body = self.raw(query, variables)
        assert "errors" not in body, body["errors"]
        data: dict[str, Any] = body["data"]
        return data


# ---- the real server ---------------------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start_server(
    env: dict[str, str], port: int, *args: str, command: list[str] | None = None, timeout: float = 60
) -> subprocess.Popen[bytes]:
    """`graphiam serve` on `port` with `env` and more `args` (`command`: how to run graphiam, default this
    interpreter's `-m graphiam.cli`), returned once /health answers (`timeout` seconds at most)."""
    proc = subprocess.Popen(
        [
            *(command or [sys.executable, "-m", "graphiam.cli"]),
            *("serve", "--port", str(port), "--log-level", "warning", *args),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.2)


# ---- mutations ---------------------------------------------------------------------------------------------

RESULT = "ok dryRun errors { code message path jsonPath } applied { operation arn }"


def graph_dump(db: Database) -> dict[str, list[str]]:
    """Every node and edge with every property (derived edges included), as sorted JSON lines. Labels come
    from `label()`: the engine's own keys in a node or relationship value differ (`_label`, `_LABEL`)."""
    nodes = sorted(
        json.dumps(
            {**{k: v for k, v in r["n"].items() if not k.startswith("_")}, "label": r["label"]},
            sort_keys=True,
            default=str,
        )
        for r in db.execute("MATCH (n) RETURN n, label(n) AS label")
    )
    edges = sorted(
        json.dumps(
            {
                "a": r["a"],
                "b": r["b"],
                **{k: v for k, v in r["e"].items() if not k.startswith("_")},
                "label": r["label"],
            },
            sort_keys=True,
            default=str,
        )
        for r in db.execute(
            "MATCH (a)-[e]->(b) RETURN coalesce(a.arn, a.key, a.name, a.id) AS a, "
            "coalesce(b.arn, b.key, b.name, b.id) AS b, e, label(e) AS label"
        )
    )
    return {"nodes": nodes, "edges": edges}


VOLATILE = (("Account", "loaded_at"),)  # the load's own clock: differs between two loads of the same files


def graph_fingerprint(
    db: Database, *, ignore: tuple[tuple[str, str], ...] = VOLATILE, skip: tuple[str, ...] = ("Import",)
) -> dict[str, str]:
    """Every row of every node table (but Meta) and of every relationship table per (from, to) pair, as
    `"<rows>:<sha256 of the sorted rows>"` per table, read as Arrow in one read transaction (fast on a
    generated org, where `graph_dump` would time out). Columns in `ignore` ((table, column) pairs) are left
    out, and the tables of `skip` (the import history: each load records its own clock and id). Two databases
    with the same fingerprint hold the same nodes, edges and properties."""
    from graphiam.store.clone import table_copies

    out: dict[str, str] = {}
    with db.read_transaction():
        for table, pair, data in table_copies(db):
            if table in skip:
                continue
            drop = [c for t, c in ignore if t == table and c in data.column_names]
            rows = sorted(
                json.dumps(r, sort_keys=True, default=str) for r in data.drop_columns(drop).to_pylist()
            )
            digest = hashlib.sha256("\n".join(rows).encode()).hexdigest()[:16]
            out[table if pair is None else f"{table}({pair[0]}->{pair[1]})"] = f"{len(rows)}:{digest}"
    return out


FINGERPRINT = """
import json, sys
from graphiam.store import Database
from tests.helpers import graph_fingerprint
try:
    db = Database(sys.argv[1], query_timeout_ms=600_000, buffer_pool_mb=512)
except Exception as exc:
    print(json.dumps({"error": str(exc).splitlines()[0] if str(exc) else type(exc).__name__}))
    raise SystemExit(0)
try:
    print(json.dumps(graph_fingerprint(db)))
finally:
    db.close()
"""


def fingerprint_file(path: Path | str) -> dict[str, str]:
    """`graph_fingerprint` of the database at `path`, opened read-write as the server opens it (replaying
    its write-ahead log) in a child process, so that a damaged database cannot crash the caller. A database
    that does not open gives `{"error": reason}`; a child that dies gives `{"error": "exit N: ..."}`."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    r = subprocess.run(
        [sys.executable, "-c", FINGERPRINT, str(path)], capture_output=True, text=True, env=env, cwd=ROOT
    )
    if r.returncode != 0:
        return {"error": f"exit {r.returncode}: {r.stderr.strip().splitlines()[-1:]}"}
    result: dict[str, str] = json.loads(r.stdout.strip().splitlines()[-1])
    return result


def database_files(db: Path) -> list[Path]:
    """The database file at `db` and every file beside it named after it (`<db>.wal`, `<db>.engine` …)."""
    if not db.parent.is_dir():
        return []
    return sorted(p for p in db.parent.iterdir() if p.name == db.name or p.name.startswith(db.name + "."))


def copy_database(src: Path, dst: Path) -> None:
    """A closed database and the files named after it, copied to `dst` (whatever was at `dst` goes)."""
    for p in database_files(dst):
        p.unlink()
    dst.parent.mkdir(parents=True, exist_ok=True)
    for p in database_files(src):
        shutil.copyfile(p, dst.parent / (dst.name + p.name[len(src.name) :]))


def wait_for_wal(db: Path, proc: subprocess.Popen[bytes], timeout: float) -> float | None:
    """Wait until a write-ahead log (`*.wal`) appears beside `db` (the engine writes it when a transaction
    commits) or `proc` ends; the time it appeared (`time.monotonic()`), None when it did not."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if any(p.name.endswith(".wal") for p in database_files(db)):
            return time.monotonic()
        time.sleep(0.001)
    return None


def mutate(
    client: Any,
    name: str,
    input_type: str,
    value: dict[str, Any],
    *,
    fields: str = RESULT,
    dryRun: bool = False,
    requests: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Run mutation `name` with `value` as its `input_type` input; its result selected by `fields`."""
    body = client(
        f"mutation($input: {input_type}!, $dry: Boolean!, $requests: [SimulationRequestInput!]) "
        f"{{ {name}(input: $input, dryRun: $dry, requests: $requests) {{ {fields} }} }}",
        {"input": value, "dry": dryRun, "requests": requests},
    )
    result: dict[str, Any] = body[name]
    return result


# ---- GAAD exports in account ACCT: statements as arguments -------------------------------------------------

ACCT = "123456789012"
ADMIN_ARN = "arn:aws:iam::aws:policy/AdministratorAccess"
MFA = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}


def arn(kind: str, name: str, account: str = ACCT) -> str:
    return f"arn:aws:iam::{account}:{kind}/{name}"


def cm(name: str, account: str = ACCT) -> str:
    """A customer-managed policy ARN (in ACCT unless told)."""
    return f"arn:aws:iam::{account}:policy/{name}"


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def inline(*statements: dict[str, Any], name: str = "p") -> dict[str, Any]:
    return {"PolicyName": name, "PolicyDocument": doc(*statements)}


def trust(
    principal: Any, condition: dict[str, Any] | None = None, action: str = "sts:AssumeRole"
) -> dict[str, Any]:
    """A trust policy with one Allow statement for `principal` (a Principal element)."""
    st: dict[str, Any] = {"Effect": "Allow", "Principal": principal, "Action": action}
    if condition:
        st["Condition"] = condition
    return doc(st)


def user(
    name: str,
    *statements: dict[str, Any],
    managed: tuple[str, ...] = (),
    groups: tuple[str, ...] = (),
    boundary: str | None = None,
    tags: dict[str, str] | None = None,
    account: str = ACCT,
) -> dict[str, Any]:
    u: dict[str, Any] = {
        "UserName": name,
        "Arn": arn("user", name, account),
        "Path": "/",
        "GroupList": list(groups),
        "AttachedManagedPolicies": [{"PolicyName": a.rsplit("/", 1)[-1], "PolicyArn": a} for a in managed],
        "UserPolicyList": [inline(*statements)] if statements else [],
        "Tags": [{"Key": k, "Value": v} for k, v in (tags or {}).items()],
    }
    if boundary:
        u["PermissionsBoundary"] = {"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": boundary}
    return u


def group(
    name: str, *statements: dict[str, Any], managed: tuple[str, ...] = (), account: str = ACCT
) -> dict[str, Any]:
    return {
        "GroupName": name,
        "Arn": arn("group", name, account),
        "Path": "/",
        "AttachedManagedPolicies": [{"PolicyName": a.rsplit("/", 1)[-1], "PolicyArn": a} for a in managed],
        "GroupPolicyList": [inline(*statements)] if statements else [],
    }


def role(
    name: str,
    trusts: dict[str, Any],
    *statements: dict[str, Any],
    managed: tuple[str, ...] = (),
    profile: bool = False,
    boundary: str | None = None,
    account: str = ACCT,
) -> dict[str, Any]:
    """A role trusting `trusts` (a Principal element); `profile`: in an instance profile of the same name."""
    r: dict[str, Any] = {
        "RoleName": name,
        "Arn": arn("role", name, account),
        "Path": "/",
        "AssumeRolePolicyDocument": trust(trusts),
        "AttachedManagedPolicies": [{"PolicyName": a.rsplit("/", 1)[-1], "PolicyArn": a} for a in managed],
        "RolePolicyList": [inline(*statements)] if statements else [],
        "InstanceProfileList": [
            {
                "InstanceProfileName": name,
                "Path": "/",
                "Arn": arn("instance-profile", name, account),
                "Roles": [],
            }
        ]
        if profile
        else [],
    }
    if boundary:
        r["PermissionsBoundary"] = {"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": boundary}
    return r


def managed_policy(policy_arn: str, *versions: dict[str, Any], default: int = 0) -> dict[str, Any]:
    return {
        "PolicyName": policy_arn.rsplit("/", 1)[-1],
        "Arn": policy_arn,
        "Path": "/",
        "DefaultVersionId": f"v{default + 1}",
        "PolicyVersionList": [
            {"VersionId": f"v{i + 1}", "IsDefaultVersion": i == default, "Document": d}
            for i, d in enumerate(versions)
        ],
    }


ADMIN_POLICY = managed_policy(ADMIN_ARN, doc(allow("*")))
ADMIN_USER = user("admin", managed=(ADMIN_ARN,))


def export(
    *users: dict[str, Any],
    groups: tuple[dict[str, Any], ...] = (),
    roles: tuple[dict[str, Any], ...] = (),
    policies: tuple[dict[str, Any], ...] = (),
    account: str = ACCT,
) -> dict[str, Any]:
    """An export of `users` plus an `admin` user holding AdministratorAccess (always in the export)."""
    admin = ADMIN_USER if account == ACCT else user("admin", managed=(ADMIN_ARN,), account=account)
    return {
        "UserDetailList": [*users, admin],
        "GroupDetailList": list(groups),
        "RoleDetailList": list(roles),
        "Policies": [ADMIN_POLICY, *policies],
    }


def one_user_export(user_arn: str, document: dict[str, Any]) -> dict[str, Any]:
    """A GAAD export of one user (`user_arn`, named from the ARN) with `document` as its inline policy `p`."""
    return {
        "UserDetailList": [
            {
                "Path": "/",
                "UserName": user_arn.rsplit("/", 1)[-1],
                "UserId": "AIDA" + user_arn.rsplit("/", 1)[-1].upper(),
                "Arn": user_arn,
                "CreateDate": "2024-01-01T00:00:00Z",
                "GroupList": [],
                "AttachedManagedPolicies": [],
                "UserPolicyList": [{"PolicyName": "p", "PolicyDocument": document}],
            }
        ],
        "GroupDetailList": [],
        "RoleDetailList": [],
        "Policies": [],
    }


# ---- GAAD exports in account X: one policy document per principal, written to a file ----------------------

X = "arn:aws:iam::333333333333:"
ALLOW_ASSUME = doc({"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"})
NO_STS_BOUNDARY = X + "policy/NoSts"
ROOT_TRUST = trust({"AWS": X + "root"})


def assume_user(
    name: str,
    policy: dict[str, Any] | None = ALLOW_ASSUME,
    *,
    boundary: str | None = None,
    tags: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A user of X with `policy` inline (by default: sts:AssumeRole on everything)."""
    u: dict[str, Any] = {
        "UserName": name,
        "UserId": f"AIDA{name.upper()}",
        "Arn": X + f"user/{name}",
        "Path": "/",
        "GroupList": [],
        "AttachedManagedPolicies": [],
        "UserPolicyList": [{"PolicyName": "p", "PolicyDocument": policy}] if policy else [],
        "Tags": [{"Key": k, "Value": v} for k, v in (tags or {}).items()],
    }
    if boundary:
        u["PermissionsBoundary"] = {"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": boundary}
    return u


def assume_role(
    name: str, trust_doc: dict[str, Any], policy: dict[str, Any] | None = None, *, boundary: str | None = None
) -> dict[str, Any]:
    """A role of X with the trust policy `trust_doc` and `policy` inline."""
    r: dict[str, Any] = {
        "RoleName": name,
        "RoleId": f"AROA{name.upper()}",
        "Arn": X + f"role/{name}",
        "Path": "/",
        "AssumeRolePolicyDocument": trust_doc,
        "InstanceProfileList": [],
        "AttachedManagedPolicies": [],
        "Tags": [],
        "RolePolicyList": [{"PolicyName": "p", "PolicyDocument": policy}] if policy else [],
    }
    if boundary:
        r["PermissionsBoundary"] = {"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": boundary}
    return r


def assume_export(
    tmp_path: Path, users: list[dict[str, Any]], roles: list[dict[str, Any]], name: str = "x.json"
) -> Path:
    """The export of X (with the boundary policy NO_STS_BOUNDARY, allowing s3:* only) written to a file."""
    boundary = {
        "PolicyName": "NoSts",
        "PolicyId": "ANPANOSTS",
        "Arn": NO_STS_BOUNDARY,
        "Path": "/",
        "DefaultVersionId": "v1",
        "AttachmentCount": 0,
        "PermissionsBoundaryUsageCount": 1,
        "IsAttachable": True,
        "PolicyVersionList": [
            {
                "VersionId": "v1",
                "IsDefaultVersion": True,
                "Document": doc({"Effect": "Allow", "Action": "s3:*", "Resource": "*"}),
            }
        ],
    }
    path = tmp_path / name
    path.write_text(
        json.dumps(
            {"UserDetailList": users, "GroupDetailList": [], "RoleDetailList": roles, "Policies": [boundary]}
        )
    )
    return path


# ---- generated organisations -------------------------------------------------------------------------------


@functools.cache
def generator_module() -> ModuleType:
    """benchmarks/generate_org.py as a module (`generate_org(...)`, `account_of(export)`), loaded once."""
    spec = importlib.util.spec_from_file_location("generate_org", ROOT / "benchmarks" / "generate_org.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules["generate_org"] = module
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def write(tmp_path: Path, name: str, data: dict[str, Any]) -> Path:
    """`data` as JSON in `tmp_path / name`."""
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


def generated_exports(tmp_path: Path, n: int, seed: int, accounts: int = 1) -> list[Path]:
    """A generated organisation of `n` principals (2/3 users) and `n` policies, one file per account."""
    gen = generator_module()
    exports = gen.generate_org(
        users=n * 2 // 3, roles=n - n * 2 // 3, policies=n, accounts=accounts, seed=seed
    )
    return [write(tmp_path, f"org-{seed}-{i}.json", e) for i, e in enumerate(exports)]


# ---- deciding a request against policy documents given inline --------------------------------------------

SIMULATED_CALLER = f"arn:aws:iam::{ACCT}:user/simulated-caller"  # simulateCustom's caller when none is given
SIMULATE_CUSTOM = """query($p: [JSON!]!, $a: String!, $r: String!, $c: [ContextEntryInput!], $caller: String,
  $owner: String, $rp: JSON, $b: JSON) {
  simulateCustom(policies: $p, action: $a, resource: $r, context: $c, caller: $caller, resourceOwner: $owner,
                 resourcePolicy: $rp, permissionsBoundary: $b) {
    decision identityDecision boundaryDecision resourcePolicyDecision
    matchedStatements { policyArn statementIndex effect } } }"""


def engine_decision(
    policies: list[dict[str, Any]],
    action: str,
    resource: str = "*",
    *,
    context: dict[str, Any] | None = None,
    caller: str | None = None,
    owner: str | None = None,
    resource_policy: dict[str, Any] | None = None,
    boundary: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The policy engine's decision (graphiam.policy's public API), shaped as `graphql_decision`'s."""
    from graphiam.policy import PolicySource, Request, evaluate, parse_policy

    def source(d: dict[str, Any], name: str, kind: str, via: str) -> PolicySource:
        return PolicySource(document=parse_policy(d), policy_id=name, name=name, kind=kind, via=via)

    caller = caller or SIMULATED_CALLER
    ev = evaluate(
        Request(
            action=action,
            resource=resource,
            principal_arn=caller,
            principal_type="AssumedRole" if ":role/" in caller else "User",
            resource_account=owner,
            context=context or {},
        ),
        identity=[source(d, f"policies[{i}]", "custom", "custom") for i, d in enumerate(policies)],
        boundaries=None
        if boundary is None
        else [source(boundary, "permissionsBoundary", "custom", "boundary")],
        resource_policy=None
        if resource_policy is None
        else source(resource_policy, "resourcePolicy", "resource", "resource"),
    )
    return {
        "decision": ev.decision.value,
        "identity": ev.identity_decision.value,
        "boundary": ev.boundary_decision and ev.boundary_decision.value,
        "resource": ev.resource_decision and ev.resource_decision.value,
        "matched": sorted((m.source.policy_id, m.index, m.effect) for m in ev.matched),
    }


def graphql_decision(
    client: GraphQLClient,
    policies: list[dict[str, Any]],
    action: str,
    resource: str = "*",
    *,
    context: dict[str, Any] | None = None,
    caller: str | None = None,
    owner: str | None = None,
    resource_policy: dict[str, Any] | None = None,
    boundary: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """GraphQL simulateCustom's decision: the decision, each policy type's verdict, the matched statements."""
    entries = [
        {"key": k, "values": [v] if isinstance(v, str) else list(v)} for k, v in (context or {}).items()
    ]
    variables = {
        "p": policies,
        "a": action,
        "r": resource,
        "c": entries,
        "caller": caller,
        "owner": owner,
        "rp": resource_policy,
        "b": boundary,
    }
    s = client(SIMULATE_CUSTOM, variables)["simulateCustom"]
    return {
        "decision": s["decision"],
        "identity": s["identityDecision"],
        "boundary": s["boundaryDecision"],
        "resource": s["resourcePolicyDecision"],
        "matched": sorted(
            (m["policyArn"], m["statementIndex"], m["effect"].capitalize()) for m in s["matchedStatements"]
        ),
    }


def run_cli(*args: str, db: Path | str) -> subprocess.CompletedProcess[str]:
    """`graphiam ARGS...` in a subprocess with GRAPHIAM_DB set to `db`, its output captured as text."""
    env = {**os.environ, "GRAPHIAM_DB": str(db)}
    return subprocess.run(
        [sys.executable, "-m", "graphiam.cli", *args], env=env, capture_output=True, text=True, timeout=120
    )


# ---- two versions of one export, for `graphiam diff` (tests/queries/test_drift.py and others) -------------

OUTSIDE = "999999999999"
REORDERED = cm("reordered")
APP_POLICY = cm("app-policy")
RISKY = cm("risky")


def drift_exports() -> tuple[dict[str, Any], dict[str, Any]]:
    """(old, new): between them an administrator added (dave), a user removed (carol), a new policy version
    made default (app-policy v2), a trust to an outside account added (role App), a role anyone can assume
    (Public), bob newly allowed to assume the administrators' role Ops and to create access keys (policy
    `risky`), and a policy rewritten without a change of meaning (reordered: statements and keys in another
    order, strings for lists of one)."""
    ops = role("Ops", {"AWS": f"arn:aws:iam::{ACCT}:root"}, managed=(ADMIN_ARN,))
    reordered_old = managed_policy(
        REORDERED,
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Sid": "A", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::x/*"},
                {
                    "Sid": "B",
                    "Effect": "Allow",
                    "Action": ["ec2:DescribeInstances", "ec2:DescribeImages"],
                    "Resource": "*",
                },
            ],
        },
    )
    reordered_new = managed_policy(
        REORDERED,
        {
            "Statement": [
                {
                    "Resource": ["*"],
                    "Action": ["ec2:DescribeImages", "ec2:DescribeInstances"],
                    "Effect": "Allow",
                    "Sid": "B",
                },
                {"Resource": ["arn:aws:s3:::x/*"], "Effect": "Allow", "Sid": "A", "Action": ["s3:GetObject"]},
            ],
            "Version": "2012-10-17",
        },
    )
    app_v1 = doc(allow("s3:ListBucket", "arn:aws:s3:::app"))
    app_v2 = doc(allow("s3:ListBucket", "arn:aws:s3:::app"), allow("s3:PutObject", "arn:aws:s3:::app/*"))
    app = role("App", {"AWS": f"arn:aws:iam::{ACCT}:root"}, managed=(APP_POLICY,))
    app_new = {
        **app,
        "AssumeRolePolicyDocument": doc(
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCT}:root"},
                "Action": "sts:AssumeRole",
            },
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{OUTSIDE}:root"},
                "Action": "sts:AssumeRole",
            },
        ),
    }
    old = export(
        user("alice", managed=(REORDERED,)),
        user("bob", groups=("devs",)),
        user("carol", allow("ec2:Describe*")),
        groups=(group("devs", allow("ec2:Describe*")),),
        roles=(ops, app),
        policies=(reordered_old, managed_policy(APP_POLICY, app_v1)),
    )
    new = export(
        user("alice", managed=(REORDERED,)),
        user(
            "bob",
            allow("sts:AssumeRole", arn("role", "Ops")),
            groups=("devs",),
            managed=(RISKY,),
        ),
        user("dave", managed=(ADMIN_ARN,)),
        groups=(group("devs", allow("ec2:Describe*")),),
        roles=(ops, app_new, role("Public", {"AWS": "*"})),
        policies=(
            reordered_new,
            managed_policy(APP_POLICY, app_v1, app_v2, default=1),
            managed_policy(RISKY, doc(allow("iam:CreateAccessKey"))),
        ),
    )
    return old, new


# ---- an iam-collect file store, written the way iam-collect lays it out ----

COLLECT_A, COLLECT_B, COLLECT_M = "111111111111", "222222222222", "999999999999"
COLLECT_ORG = "o-abcdefghij"
COLLECT_ROOT_OU = "r-ab12"
COLLECT_PROD_OU, COLLECT_DEV_OU = "ou-ab12-prod1111", "ou-ab12-dev22222"
SCP_FULL = "arn:aws:organizations::aws:policy/service_control_policy/p-FullAWSAccess"
SCP_NO_LEAVE = f"arn:aws:organizations::{COLLECT_M}:policy/{COLLECT_ORG}/service_control_policy/p-noleave1"
RCP_FULL = "arn:aws:organizations::aws:policy/resource_control_policy/p-RCPFullAWSAccess"
RCP_ORG_ONLY = f"arn:aws:organizations::{COLLECT_M}:policy/{COLLECT_ORG}/resource_control_policy/p-orgonly1"
KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
COLLECT_RESOURCES = {  # ARN -> type, in account A
    "arn:aws:s3:::shared-data": "s3:bucket",
    "arn:aws:s3:::public-site": "s3:bucket",
    "arn:aws:s3:::no-policy": "s3:bucket",
    f"arn:aws:kms:us-east-1:{COLLECT_A}:key/{KEY_ID}": "kms:key",
    f"arn:aws:sqs:us-east-1:{COLLECT_A}:jobs": "sqs:queue",
    f"arn:aws:sns:us-east-1:{COLLECT_A}:alerts": "sns:topic",
    f"arn:aws:lambda:us-east-1:{COLLECT_A}:function:process": "lambda:function",
    f"arn:aws:secretsmanager:us-east-1:{COLLECT_A}:secret:db-AbCdEf": "secretsmanager:secret",
    f"arn:aws:ecr:us-east-1:{COLLECT_A}:repository/app": "ecr:repository",
}


def _collect_folder(account_dir: Path, arn: str) -> Path:
    """iam-collect's folder for a resource: service/[region]/[aws]/[type]/url-encoded id, lower-cased."""
    from urllib.parse import quote

    _, _, service, region, account, resource = arn.split(":", 5)
    rtype, rid = "", resource
    for sep in ("/", ":"):
        if sep in resource and service not in ("s3",):
            rtype, rid = resource.split(sep, 1)
            break
    parts = [service, region, "aws" if account == "aws" else "", rtype, quote(rid, safe="")]
    return account_dir.joinpath(*[p.lower() for p in parts if p])


def _put(folder: Path, **facts: Any) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, value in facts.items():
        if value is not None:
            (folder / f"{name.replace('_', '-')}.json").write_text(json.dumps(value, indent=2))


def write_iam_collect_store(root: Path) -> Path:
    """Two accounts (A: IAM and nine resources, B: IAM), an organization (root → prod OU → A, dev OU → B,
    management account M) with SCPs and RCPs at each level. Returns the store's root."""
    a, b, m = COLLECT_A, COLLECT_B, COLLECT_M
    part = root / "aws" / "aws"
    acc_a, acc_b = part / "accounts" / a, part / "accounts" / b
    alice, devs = f"arn:aws:iam::{a}:user/team/Alice", f"arn:aws:iam::{a}:group/devs"
    app_role, profile = f"arn:aws:iam::{a}:role/app-role", f"arn:aws:iam::{a}:instance-profile/app-profile"
    read_s3, boundary = f"arn:aws:iam::{a}:policy/ReadS3", f"arn:aws:iam::{a}:policy/Boundary"
    ro = "arn:aws:iam::aws:policy/ReadOnlyAccess"
    bob, reader = f"arn:aws:iam::{b}:user/bob", f"arn:aws:iam::{b}:role/reader"
    s3_read = doc(allow(["s3:GetObject", "s3:ListBucket"], "*"))
    _put(
        _collect_folder(acc_a, alice),
        metadata={
            "arn": alice,
            "path": "/team/",
            "id": "AIDAALICE",
            "name": "Alice",
            "created": "2024-01-01T00:00:00Z",
        },
        groups=[devs],
        managed_policies=[read_s3],
        inline_policies=[{"PolicyName": "kms-use", "PolicyDocument": doc(allow("kms:Decrypt", "*"))}],
        tags={"team": "data"},
    )
    _put(
        _collect_folder(acc_a, devs),
        metadata={"arn": devs, "path": "/", "name": "devs", "id": "AGPADEVS"},
        managed_policies=[ro],
    )
    _put(
        _collect_folder(acc_a, app_role),
        metadata={
            "arn": app_role,
            "name": "app-role",
            "id": "AROAAPP",
            "path": "/",
            "permissionBoundary": boundary,
        },
        trust_policy=doc(
            {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ),
        managed_policies=[read_s3],
        instance_profiles=[profile],
        tags={"env": "prod"},
    )
    _put(
        _collect_folder(acc_a, profile),
        metadata={"arn": profile, "name": "/", "id": "AIPAAPP", "path": "/", "roles": [app_role]},
    )
    for arn, name, document in ((read_s3, "ReadS3", s3_read), (boundary, "Boundary", doc(allow("*", "*")))):
        _put(
            _collect_folder(acc_a, arn),
            metadata={
                "arn": arn,
                "name": name,
                "id": f"ANPA{name.upper()}",
                "defaultVersionId": "v2",
                "path": "/",
            },
            current_policy=document,
        )
    _put(
        _collect_folder(acc_a, ro),
        metadata={"arn": ro, "name": "ReadOnlyAccess", "defaultVersionId": "v99", "path": "/"},
        current_policy=doc(allow(["s3:Get*", "s3:List*", "kms:Describe*"], "*")),
    )
    shared = doc(
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{b}:root"},
            "Action": ["s3:GetObject", "s3:ListBucket"],
            "Resource": ["arn:aws:s3:::shared-data", "arn:aws:s3:::shared-data/*"],
        }
    )
    public = doc(
        {
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::public-site/*",
        }
    )
    key = doc(
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{a}:root"},
            "Action": "kms:*",
            "Resource": "*",
        },
        {"Effect": "Allow", "Principal": {"AWS": reader}, "Action": "kms:Decrypt", "Resource": "*"},
    )
    queue = doc(
        {
            "Effect": "Allow",
            "Principal": {"Service": "sns.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": f"arn:aws:sqs:us-east-1:{a}:jobs",
            "Condition": {"ArnEquals": {"aws:SourceArn": f"arn:aws:sns:us-east-1:{a}:alerts"}},
        }
    )
    topic = doc(
        {
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": "sns:Publish",
            "Resource": f"arn:aws:sns:us-east-1:{a}:alerts",
            "Condition": {"StringEquals": {"aws:PrincipalOrgID": COLLECT_ORG}},
        }
    )
    function = doc(
        {
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "lambda:InvokeFunction",
            "Resource": f"arn:aws:lambda:us-east-1:{a}:function:process",
            "Condition": {"StringEquals": {"AWS:SourceAccount": a}},
        }
    )
    secret = doc(
        {
            "Effect": "Allow",
            "Principal": {"AWS": reader},
            "Action": "secretsmanager:GetSecretValue",
            "Resource": "*",
        }
    )
    repo = doc({"Sid": "pull", "Effect": "Allow", "Principal": {"AWS": b}, "Action": ["ecr:BatchGetImage"]})
    policies = dict(
        zip(COLLECT_RESOURCES, (shared, public, None, key, queue, topic, function, secret, repo), strict=True)
    )
    for arn, policy in policies.items():
        name = arn.rsplit(":", 1)[-1].rsplit("/", 1)[-1]
        meta: dict[str, Any] = {"arn": arn, "name": name}
        if arn.startswith("arn:aws:s3"):
            meta["region"] = "us-east-1"
        _put(
            _collect_folder(acc_a, arn),
            metadata=meta,
            policy=policy,
            tags={"owner": "data"} if "s3" in arn else None,
        )
    (acc_a / "organization.json").write_text(json.dumps({"organizationId": COLLECT_ORG}))
    _put(
        _collect_folder(acc_b, bob),
        metadata={"arn": bob, "path": "/", "id": "AIDABOB", "name": "bob"},
        inline_policies=[
            {"PolicyName": "read", "PolicyDocument": doc(allow(["s3:GetObject", "kms:Decrypt"], "*"))}
        ],
    )
    _put(
        _collect_folder(acc_b, reader),
        metadata={"arn": reader, "name": "reader", "id": "AROAREADER", "path": "/"},
        trust_policy=doc(
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{b}:root"}, "Action": "sts:AssumeRole"}
        ),
        inline_policies=[{"PolicyName": "all", "PolicyDocument": doc(allow("*", "*"))}],
    )
    org = part / "organizations" / COLLECT_ORG
    _put(
        org,
        metadata={
            "id": COLLECT_ORG,
            "arn": f"arn:aws:organizations::{m}:organization/{COLLECT_ORG}",
            "rootOu": COLLECT_ROOT_OU,
            "rootAccountArn": f"arn:aws:organizations::{m}:account/{COLLECT_ORG}/{m}",
            "rootAccountId": m,
            "features": {"SERVICE_CONTROL_POLICY": True, "RESOURCE_CONTROL_POLICY": True},
        },
        structure={COLLECT_ROOT_OU: {"children": {COLLECT_PROD_OU: {}, COLLECT_DEV_OU: {}}, "accounts": []}},
        ous={
            COLLECT_ROOT_OU: {"scps": [SCP_FULL], "rcps": [RCP_FULL, RCP_ORG_ONLY], "s3Policies": []},
            COLLECT_PROD_OU: {
                "parent": COLLECT_ROOT_OU,
                "scps": [SCP_FULL, SCP_NO_LEAVE],
                "rcps": [RCP_FULL],
                "s3Policies": [],
            },
            COLLECT_DEV_OU: {
                "parent": COLLECT_ROOT_OU,
                "scps": [SCP_FULL],
                "rcps": [RCP_FULL],
                "s3Policies": [],
            },
        },
        accounts={
            a: {"ou": COLLECT_PROD_OU, "scps": [SCP_FULL], "rcps": [RCP_FULL], "s3Policies": [], "tags": {}},
            b: {"ou": COLLECT_DEV_OU, "scps": [SCP_FULL], "rcps": [RCP_FULL], "s3Policies": [], "tags": {}},
            m: {"ou": COLLECT_ROOT_OU, "scps": [SCP_FULL], "rcps": [RCP_FULL], "s3Policies": [], "tags": {}},
        },
    )
    for ou, name in ((COLLECT_ROOT_OU, "Root"), (COLLECT_PROD_OU, "Prod"), (COLLECT_DEV_OU, "Dev")):
        _put(
            org / "ous" / ou,
            metadata={"arn": f"arn:aws:organizations::{m}:ou/{COLLECT_ORG}/{ou}", "name": name},
            tags={},
        )
    everything = doc(allow("*", "*"))
    no_leave = doc(deny("organizations:LeaveOrganization"))
    org_only = doc(
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": ["s3:*", "sqs:*", "kms:*", "secretsmanager:*", "sts:*"],
            "Resource": "*",
            "Condition": {
                "StringNotEqualsIfExists": {"aws:PrincipalOrgID": COLLECT_ORG},
                "BoolIfExists": {"aws:PrincipalIsAWSService": "false"},
            },
        }
    )
    for kind, arn, name, document in (
        ("scps", SCP_FULL, "FullAWSAccess", everything),
        ("scps", SCP_NO_LEAVE, "no-leave", no_leave),
        ("rcps", RCP_FULL, "RCPFullAWSAccess", everything),
        ("rcps", RCP_ORG_ONLY, "org-only", org_only),
    ):
        pid = arn.rsplit("/", 1)[-1]
        _put(
            org / kind / pid.lower(),
            metadata={"arn": arn, "name": name, "description": None, "awsManaged": ":aws:" in arn},
            policy=document,
            tags={},
        )
    return root


def write_collect(
    root: Path,
    accounts: dict[str, dict[str, Any]],
    *,
    org: dict[str, Any] | None = None,
) -> Path:
    """A small iam-collect store: per account `users` {name: [statement, ...]} (one inline policy),
    `roles` {name: (trust document, [statement, ...])}, `resources` {arn: policy document or None},
    `resource_roles` {arn: the role it runs as (iam-collect's Lambda metadata `role`)}; `org`
    (optional) {"id", "management", "members": [account, ...], "rcps": [document, ...]} puts every member
    under the root, the RCPs attached to the root. Returns the store's root."""
    part = root / "aws" / "aws"
    for account, spec in accounts.items():
        acc = part / "accounts" / account
        acc.mkdir(parents=True, exist_ok=True)
        for name, statements in spec.get("users", {}).items():
            user_arn = f"arn:aws:iam::{account}:user/{name}"
            _put(
                _collect_folder(acc, user_arn),
                metadata={"arn": user_arn, "path": "/", "id": f"AIDA{name.upper()}", "name": name},
                inline_policies=[{"PolicyName": "p", "PolicyDocument": doc(*statements)}]
                if statements
                else None,
            )
        for name, (trust_doc, statements) in spec.get("roles", {}).items():
            role_arn = f"arn:aws:iam::{account}:role/{name}"
            _put(
                _collect_folder(acc, role_arn),
                metadata={"arn": role_arn, "name": name, "id": f"AROA{name.upper()}", "path": "/"},
                trust_policy=trust_doc,
                inline_policies=[{"PolicyName": "p", "PolicyDocument": doc(*statements)}]
                if statements
                else None,
            )
        for res_arn, policy in spec.get("resources", {}).items():
            meta: dict[str, Any] = {"arn": res_arn, "name": res_arn.rsplit(":", 1)[-1].rsplit("/", 1)[-1]}
            if res_arn.startswith("arn:aws:s3"):
                meta["region"] = "us-east-1"
            if res_arn in spec.get("resource_roles", {}):
                meta["role"] = spec["resource_roles"][res_arn]
            _put(_collect_folder(acc, res_arn), metadata=meta, policy=policy)
        if org is not None and account in org["members"]:
            (acc / "organization.json").write_text(json.dumps({"organizationId": org["id"]}))
    if org is None:
        return root
    oid, m, root_ou = org["id"], org["management"], "r-test"
    base = part / "organizations" / oid
    rcp_arns = [RCP_FULL] + [
        f"arn:aws:organizations::{m}:policy/{oid}/resource_control_policy/p-rcp{i}"
        for i in range(len(org.get("rcps", ())))
    ]
    _put(
        base,
        metadata={
            "id": oid,
            "arn": f"arn:aws:organizations::{m}:organization/{oid}",
            "rootOu": root_ou,
            "rootAccountArn": f"arn:aws:organizations::{m}:account/{oid}/{m}",
            "rootAccountId": m,
            "features": {"SERVICE_CONTROL_POLICY": True, "RESOURCE_CONTROL_POLICY": True},
        },
        structure={root_ou: {"children": {}, "accounts": []}},
        ous={root_ou: {"scps": [SCP_FULL], "rcps": rcp_arns, "s3Policies": []}},
        accounts={
            a: {"ou": root_ou, "scps": [SCP_FULL], "rcps": [RCP_FULL], "s3Policies": [], "tags": {}}
            for a in {*org["members"], m}
        },
    )
    _put(
        base / "ous" / root_ou,
        metadata={"arn": f"arn:aws:organizations::{m}:ou/{oid}/{root_ou}", "name": "Root"},
    )
    everything = doc(allow("*", "*"))
    for kind, arn, document in (
        ("scps", SCP_FULL, everything),
        ("rcps", RCP_FULL, everything),
        *(("rcps", a, d) for a, d in zip(rcp_arns[1:], org.get("rcps", ()), strict=True)),
    ):
        pid = arn.rsplit("/", 1)[-1]
        _put(
            base / kind / pid.lower(),
            metadata={"arn": arn, "name": pid, "description": None, "awsManaged": ":aws:" in arn},
            policy=document,
        )
    return root


# ---- resources with policies (issue 14 §3): A owns them, B is loaded, X is neither loaded nor a member ----

RES_A, RES_B, RES_X, RES_M, RES_ORG = (
    "111111111111",
    "222222222222",
    "333333333333",
    "999999999999",
    "o-testorg123",
)
SHARED_BUCKET, PUBLIC_BUCKET, ORG_BUCKET = (
    "arn:aws:s3:::shared",
    "arn:aws:s3:::public",
    "arn:aws:s3:::orgonly",
)
RES_KEY = f"arn:aws:kms:us-east-1:{RES_A}:key/k-1"
RES_QUEUE = f"arn:aws:sqs:us-east-1:{RES_A}:jobs"
RES_TOPIC = f"arn:aws:sns:us-east-1:{RES_A}:alerts"
RES_FUNCTION = f"arn:aws:lambda:us-east-1:{RES_A}:function:process"


def _grant(principal: Any, action: Any, resource: Any, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Principal": principal, "Action": action, "Resource": resource, **extra}


def write_resource_store(root: Path, *, with_org: bool) -> Path:
    """Account A: users alice (s3:GetObject, kms:Decrypt, sqs:SendMessage on `*`) and carol (no policy), role
    app (s3:* on shared/*); resources: bucket `shared` (its policy names B's roles `reader` and `noperm` and
    the whole account X for s3:GetObject), bucket `public` (`*`), bucket `orgonly` (`*` with
    aws:PrincipalOrgID of the organization), a KMS key whose policy names only account B, a queue granting SNS
    with aws:SourceArn, a function invocable by B's role `reader`. Account B: user bob (s3:GetObject,
    kms:Decrypt), roles reader (s3:GetObject) and noperm (nothing). `with_org`: an organization (A and B
    members) whose root RCP denies S3/KMS/SQS to principals outside it."""
    a, b, x = RES_A, RES_B, RES_X
    ec2 = doc({"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"})
    b_trust = doc(
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{b}:root"}, "Action": "sts:AssumeRole"}
    )
    reader, noperm = f"arn:aws:iam::{b}:role/reader", f"arn:aws:iam::{b}:role/noperm"
    accounts = {
        a: {
            "users": {
                "alice": [allow(["s3:GetObject", "kms:Decrypt", "sqs:SendMessage"], "*")],
                "carol": [],
            },
            "roles": {"app": (ec2, [allow("s3:*", f"{SHARED_BUCKET}/*")])},
            "resources": {
                SHARED_BUCKET: doc(
                    _grant({"AWS": [reader, noperm, x]}, "s3:GetObject", f"{SHARED_BUCKET}/*"),
                ),
                PUBLIC_BUCKET: doc(_grant("*", "s3:GetObject", f"{PUBLIC_BUCKET}/*")),
                ORG_BUCKET: doc(
                    _grant(
                        "*",
                        "s3:GetObject",
                        f"{ORG_BUCKET}/*",
                        Condition={"StringEquals": {"aws:PrincipalOrgID": RES_ORG}},
                    )
                ),
                RES_KEY: doc(_grant({"AWS": f"arn:aws:iam::{b}:root"}, "kms:*", "*")),
                RES_QUEUE: doc(
                    _grant(
                        {"Service": "sns.amazonaws.com"},
                        "sqs:SendMessage",
                        RES_QUEUE,
                        Condition={"ArnEquals": {"aws:SourceArn": RES_TOPIC}},
                    )
                ),
                RES_FUNCTION: doc(_grant({"AWS": reader}, "lambda:InvokeFunction", RES_FUNCTION)),
            },
        },
        b: {
            "users": {"bob": [allow(["s3:GetObject", "kms:Decrypt"], "*")]},
            "roles": {
                "reader": (b_trust, [allow(["s3:GetObject", "lambda:InvokeFunction"], "*")]),
                "noperm": (b_trust, []),
            },
        },
    }
    org = None
    if with_org:
        outside = {
            "Effect": "Deny",
            "Principal": "*",
            "Action": ["s3:*", "kms:*", "sqs:*"],
            "Resource": "*",
            "Condition": {
                "StringNotEqualsIfExists": {"aws:PrincipalOrgID": RES_ORG},
                "BoolIfExists": {"aws:PrincipalIsAWSService": "false"},
            },
        }
        org = {"id": RES_ORG, "management": RES_M, "members": [a, b], "rcps": [doc(outside)]}
    return write_collect(root, accounts, org=org)
