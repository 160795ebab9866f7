"""Dry runs (what-if): nothing is committed, caches are not polluted, and the report names the CAN_ASSUME
edges, escalation paths, administrators and decisions the change would open or close."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pyarrow as pa
import pytest

from graphiam.app import create_app
from graphiam.changes.apply import Change, apply_changes
from graphiam.changes.whatif import SimRequest
from graphiam.graph.snapshot import snapshot_cache
from graphiam.store import Database
from tests.helpers import RESULT, SEEDS, graph_dump, mutate

A = "arn:aws:iam::111111111111:"
GRACE = A + "user/contractors/grace"
PROD_ADMIN = A + "role/ProductionAdminRole"
ADMIN_ACCESS = "arn:aws:iam::aws:policy/AdministratorAccess"

PARTNER_AUDIT = A + "role/PartnerAuditRole"
AUDITOR = "arn:aws:iam::222222222222:user/auditor"
DEPLOY_MANAGER = A + "role/delivery/DeploymentManagerRole"
FRANK = A + "user/ops/network/frank"
CHANGES = (
    "changes { canAssumeAdded { from to action conditionKeys } canAssumeRemoved { from to } "
    "escalationsAdded { from to technique } escalationsRemoved { from to technique } "
    "adminsAdded adminsRemoved "
    "escalationPathsOpened { principal needs steps { from to technique } } "
    "escalationPathsClosed { principal } "
    "decisions { principal action resource before after flipped beforeError afterError } warnings }"
)
GRACE_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"AWS": GRACE}, "Action": "sts:AssumeRole"}],
}


@pytest.fixture
def demo(gql):
    return gql(SEEDS / "demo-org.json", SEEDS / "partner-account.json")


def test_dry_run_of_attaching_administrator_access_reports_the_paths_it_opens(demo):
    before, generation = graph_dump(demo.db), demo.db.generation
    result = mutate(
        demo,
        "attachPolicy",
        "AttachPolicyInput",
        {"policyArn": ADMIN_ACCESS, "targetArn": PARTNER_AUDIT},
        fields=f"{RESULT} {CHANGES}",
        dryRun=True,
    )
    assert result["ok"] and result["dryRun"]
    assert graph_dump(demo.db) == before and demo.db.generation == generation
    changes = result["changes"]
    assert changes["adminsAdded"] == [PARTNER_AUDIT]
    opened = {p["principal"]: p for p in changes["escalationPathsOpened"]}
    assert opened[AUDITOR]["steps"] == [{"from": AUDITOR, "to": PARTNER_AUDIT, "technique": "sts-001"}]
    assert opened[AUDITOR]["needs"] == ["sts:ExternalId"]
    assert changes["escalationPathsClosed"] == [] and changes["canAssumeRemoved"] == []
    # nothing was committed: the partner auditor still has no path
    paths = demo("query($a: String!) { escalationPaths(from: $a) { steps { to } } }", {"a": AUDITOR})
    assert paths["escalationPaths"] == []


def test_dry_run_of_a_trust_policy_reports_new_and_lost_edges_and_flipped_decisions(demo):
    before = graph_dump(demo.db)
    requests = [
        {"principal": GRACE, "action": "sts:AssumeRole", "resource": PROD_ADMIN},
        {"principal": GRACE, "action": "s3:GetObject", "resource": "arn:aws:s3:::any/key"},
    ]
    result = mutate(
        demo,
        "updateAssumeRolePolicy",
        "UpdateAssumeRolePolicyInput",
        {"roleArn": PROD_ADMIN, "document": GRACE_TRUST},
        fields=f"{RESULT} {CHANGES}",
        dryRun=True,
        requests=requests,
    )
    assert result["ok"] and graph_dump(demo.db) == before
    changes = result["changes"]
    assert {"from": GRACE, "to": PROD_ADMIN, "action": "sts:AssumeRole", "conditionKeys": []} in changes[
        "canAssumeAdded"
    ]
    assert {"from": DEPLOY_MANAGER, "to": PROD_ADMIN} in changes["canAssumeRemoved"]
    opened = {p["principal"]: p["steps"] for p in changes["escalationPathsOpened"]}
    assert opened[GRACE] == [{"from": GRACE, "to": PROD_ADMIN, "technique": "sts-001"}]
    assert DEPLOY_MANAGER in {p["principal"] for p in changes["escalationPathsClosed"]}
    flips = [(d["action"], d["before"], d["after"], d["flipped"]) for d in changes["decisions"]]
    assert flips == [
        ("sts:AssumeRole", "IMPLICIT_DENY", "ALLOWED", True),
        ("s3:GetObject", "ALLOWED", "ALLOWED", False),
    ]


def test_dry_run_reports_new_escalation_edges(demo):
    doc = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "iam:AttachUserPolicy", "Resource": "*"}],
    }
    result = mutate(
        demo,
        "putUserPolicy",
        "PutInlinePolicyInput",
        {"arn": FRANK, "policyName": "p", "document": doc},
        fields=f"{RESULT} {CHANGES}",
        dryRun=True,
    )
    changes = result["changes"]
    assert [e for e in changes["escalationsAdded"] if e["from"] == FRANK] == [
        {"from": FRANK, "to": FRANK, "technique": "iam-008"}
    ]
    # frank is not administrator yet: he can make himself one (canBecomeAdmin), a path opened
    assert FRANK not in changes["adminsAdded"]
    [opened] = [p for p in changes["escalationPathsOpened"] if p["principal"] == FRANK]
    assert opened["steps"] == [{"from": FRANK, "to": FRANK, "technique": "iam-008"}]
    assert changes["canAssumeAdded"] == [] and changes["escalationsRemoved"] == []


def test_dry_run_of_a_delete_reports_what_closes_and_undecidable_requests(demo):
    before = graph_dump(demo.db)
    result = mutate(
        demo,
        "deleteRole",
        "DeleteInput",
        {"arn": PROD_ADMIN},
        fields=f"{RESULT} role {{ arn }} {CHANGES}",
        dryRun=True,
        requests=[{"principal": PROD_ADMIN, "action": "iam:CreateUser"}],
    )
    assert result["ok"] and result["role"] is None and graph_dump(demo.db) == before
    [d] = result["changes"]["decisions"]
    assert (
        d["before"] == "ALLOWED"
        and d["after"] is None
        and d["flipped"]
        and "not in the graph" in d["afterError"]
    )
    assert {"from": DEPLOY_MANAGER, "to": PROD_ADMIN} in result["changes"]["canAssumeRemoved"]


def test_dry_run_of_several_changes_and_of_a_refused_one(demo):
    before = graph_dump(demo.db)
    q = (
        "mutation($c: [ChangeInput!]!) { applyChanges(changes: $c, dryRun: true) "
        "{ ok dryRun errors { code path } "
        "role { arn roleId } changes { canAssumeAdded { from to } adminsAdded } } }"
    )
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": FRANK}, "Action": "sts:AssumeRole"}],
    }
    changes = [
        {"createRole": {"account": "111111111111", "name": "Shortcut", "trustPolicy": trust}},
        {"attachPolicy": {"policyArn": ADMIN_ACCESS, "targetArn": A + "role/Shortcut"}},
    ]
    result = demo(q, {"c": changes})["applyChanges"]
    assert (
        result["ok"]
        and result["role"]["arn"] == A + "role/Shortcut"
        and result["role"]["roleId"].startswith("AROA")
    )
    assert {"from": FRANK, "to": A + "role/Shortcut"} in result["changes"]["canAssumeAdded"]
    assert A + "role/Shortcut" in result["changes"]["adminsAdded"]
    refused = demo(q, {"c": changes[1:]})["applyChanges"]
    assert not refused["ok"] and refused["changes"] is None
    assert [(e["code"], e["path"]) for e in refused["errors"]] == [
        ("NOT_FOUND", ["changes", "0", "attachPolicy", "targetArn"])
    ]
    assert graph_dump(demo.db) == before


def test_dry_run_import_changes_nothing(demo):
    export = json.loads((SEEDS / "partner-account.json").read_text())
    export["UserDetailList"] = []
    before = graph_dump(demo.db)
    result = mutate(
        demo,
        "importExport",
        "ImportExportInput",
        {"document": export},
        fields=f"{RESULT} changes {{ canAssumeRemoved {{ from to }} }}",
        dryRun=True,
    )
    assert result["ok"]
    assert {"from": AUDITOR, "to": PARTNER_AUDIT} in result["changes"]["canAssumeRemoved"]
    assert graph_dump(demo.db) == before


def test_dry_runs_do_not_pollute_the_snapshot_cache(make_db):
    """A simulate before, during-ish and after a dry run answers from the committed graph; a real change is
    seen."""
    db = make_db(SEEDS / "demo-org.json", SEEDS / "partner-account.json")
    app = create_app(database=db, load_seeds=False)
    sim = f'query {{ simulate(principal: "{PARTNER_AUDIT}", action: "iam:CreateUser") {{ decision }} }}'
    attach = (
        f'mutation($d: Boolean!) {{ attachPolicy(input: {{policyArn: "{ADMIN_ACCESS}", '
        f'targetArn: "{PARTNER_AUDIT}"}}, dryRun: $d, '
        f'requests: [{{principal: "{PARTNER_AUDIT}", action: "iam:CreateUser"}}]) '
        "{ ok changes { decisions { after } } } }"
    )

    async def go() -> list[str]:
        out = []
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c,
        ):

            async def post(q: str, v: dict[str, Any] | None = None) -> dict[str, Any]:
                r = await c.post("/graphql", json={"query": q, "variables": v or {}})
                assert "errors" not in r.json(), r.json()
                data: dict[str, Any] = r.json()["data"]
                return data

            out.append((await post(sim))["simulate"]["decision"])
            cached = snapshot_cache(app.state.services.caches).current(db)
            dry = await post(attach, {"d": True})
            out.append(dry["attachPolicy"]["changes"]["decisions"][0]["after"])
            assert (
                snapshot_cache(app.state.services.caches).current(db) is cached
            )  # same snapshot, still current
            out.append((await post(sim))["simulate"]["decision"])
            await post(attach, {"d": False})
            out.append((await post(sim))["simulate"]["decision"])
        return out

    assert asyncio.run(go()) == ["IMPLICIT_DENY", "ALLOWED", "IMPLICIT_DENY", "ALLOWED"]


def test_in_process_dry_run_leaves_generation_and_graph_alone(make_db):
    db = make_db(SEEDS / "demo-org.json", SEEDS / "partner-account.json")
    before, generation = graph_dump(db), db.generation
    result = apply_changes(
        db,
        [Change(op="updateAssumeRolePolicy", args={"role_arn": PROD_ADMIN, "document": GRACE_TRUST})],
        dry_run=True,
        requests=[SimRequest(principal=GRACE, action="sts:AssumeRole", resource=PROD_ADMIN)],
    )
    assert result.ok and result.changes.decisions[0].flipped
    assert graph_dump(db) == before and db.generation == generation


def test_engine_loses_committed_rel_rows_when_a_copy_is_rolled_back():
    """Why dry runs work on a copy (store/clone.py): in kuzu 0.11.3, rolling back a transaction that COPYed
    into a non-empty rel table drops every committed row of that table; LadybugDB keeps them. The engine
    adapter (store/engine.py `copy_rollback_loses_rel_rows`) says which, and this checks it against the
    engine that runs."""
    db = Database(None, buffer_pool_mb=64)
    c = db.connection()
    c.execute("CREATE NODE TABLE N(id STRING PRIMARY KEY)")
    c.execute("CREATE REL TABLE R(FROM N TO N)")
    c.execute("COPY N FROM $t", {"t": pa.table({"id": [f"n{i}" for i in range(5)]})})
    c.execute("COPY R FROM $t", {"t": pa.table({"from": ["n0", "n1"], "to": ["n1", "n2"]})})
    c.execute("BEGIN TRANSACTION")
    c.execute("COPY R FROM $t", {"t": pa.table({"from": ["n3"], "to": ["n4"]})})
    c.execute("ROLLBACK")
    result = c.execute("MATCH ()-[e:R]->() RETURN count(e)")
    assert not isinstance(result, list)
    assert result.get_next() == ([0] if db.engine.copy_rollback_loses_rel_rows else [2])  # 2 were committed
    db.close()
