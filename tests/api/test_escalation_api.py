"""GraphQL: escalationPaths, escalationPathsTo, escalationSummary and Principal.isAdmin on the demo org."""

from __future__ import annotations

import pytest

from graphiam.changes.load import seed_files
from tests.helpers import SEEDS

ORG = "arn:aws:iam::111111111111:"
STEP = (
    "from to technique techniqueName conditions assumptions makesAdmin statements "
    "permissions { action resource statements conditions }"
)


@pytest.fixture(scope="module")
def client():
    from graphiam.changes.load import load_files
    from graphiam.store import open_database
    from tests.helpers import GraphQLClient

    db = open_database(None, buffer_pool_mb=256)
    load_files(db, seed_files(SEEDS))
    yield GraphQLClient(db)
    db.close()


def test_paths_from_bob_prove_each_permission(client):
    bob = f"{ORG}user/engineering/bob"
    data = client(f'{{ escalationPaths(from: "{bob}") {{ length reachesAdmin steps {{ {STEP} }} }} }}')
    [path] = data["escalationPaths"]
    assert path["reachesAdmin"] and path["length"] == 1
    step = path["steps"][0]
    assert (step["from"], step["to"], step["technique"]) == (
        f"{ORG}user/engineering/bob",
        f"{ORG}role/service-role/OpsAutomationRole",
        "ec2-001",
    )
    perms = {p["action"]: p for p in step["permissions"]}
    assert set(perms) == {"iam:PassRole", "ec2:RunInstances"}
    assert perms["iam:PassRole"]["resource"] == f"{ORG}role/service-role/OpsAutomationRole"
    assert all(p["statements"] for p in step["permissions"])


def test_multi_hop_path_with_conditions_and_to(client):
    alice = f"{ORG}user/engineering/alice"
    data = client(
        f'{{ a: escalationPaths(from: "{alice}") {{ length conditions steps {{ technique to conditions }} }}'
        f'  b: escalationPaths(from: "{alice}", to: "{ORG}role/delivery/DeploymentManagerRole", maxDepth: 2) '
        f"{{ length steps {{ to }} }}"
        f'  c: escalationPaths(from: "{alice}", maxDepth: 2) {{ length }} }}'
    )
    [path] = data["a"]
    assert path["length"] == 3 and [s["technique"] for s in path["steps"]] == ["sts-001"] * 3
    assert path["conditions"] == ["aws:MultiFactorAuthPresent"]
    assert [s["to"] for s in data["b"][0]["steps"]][-1] == f"{ORG}role/delivery/DeploymentManagerRole"
    assert data["c"] == []  # three hops are needed


FACTS = "isAdmin canBecomeAdmin adminConditions incomplete adminReason"


def test_self_escalation_and_is_admin(client):
    data = client(
        f'{{ escalationPaths(from: "{ORG}user/ops/dba/carol") {{ steps {{ from to technique makesAdmin }} }}'
        f'  carol: principal(arn: "{ORG}user/ops/dba/carol") {{ {FACTS} }}'
        f'  erin: principal(arn: "{ORG}user/security/erin") {{ {FACTS} }}'
        f'  frank: principal(arn: "{ORG}user/ops/network/frank") {{ {FACTS} }} }}'
    )
    [step] = data["escalationPaths"][0]["steps"]
    assert step["from"] == step["to"] and step["technique"] == "iam-001" and step["makesAdmin"]
    carol, erin, frank = data["carol"], data["erin"], data["frank"]
    # carol is not administrator now, and can make herself one (a new version of her own policy)
    assert carol["isAdmin"] is False and carol["canBecomeAdmin"] is True and "iam-001" in carol["adminReason"]
    # erin is administrator when she uses MFA (a Deny without it)
    assert erin["isAdmin"] is True and erin["canBecomeAdmin"] is False
    assert erin["adminConditions"] == ["aws:MultiFactorAuthPresent"]
    assert "aws:MultiFactorAuthPresent" in erin["adminReason"]
    assert frank["isAdmin"] is False and frank["canBecomeAdmin"] is False
    assert carol["incomplete"] == erin["incomplete"] == frank["incomplete"] == []


def test_reverse_and_summary(client):
    target = f"{ORG}role/ProductionAdminRole"
    data = client(
        f'{{ escalationPathsTo(to: "{target}", maxDepth: 3) {{ length steps {{ from to }} }}'
        " escalationSummary { arn selfEscalation shortestPathLength firstTechnique principal { name } } }"
    )
    starts = {p["steps"][0]["from"].rsplit("/", 1)[-1] for p in data["escalationPathsTo"]}
    assert {"DeploymentManagerRole", "PlatformEngineerRole", "alice"} <= starts
    assert all(p["steps"][-1]["to"] == target for p in data["escalationPathsTo"])
    lengths = [p["length"] for p in data["escalationPathsTo"]]
    assert lengths == sorted(lengths)
    summary = {e["principal"]["name"]: e for e in data["escalationSummary"]}
    assert summary["dave"]["firstTechnique"] == "graphiam-001" and summary["dave"]["selfEscalation"]
    assert "erin" not in summary and "frank" not in summary


@pytest.mark.parametrize(
    "query,message",
    [
        (
            f'{{ escalationPaths(from: "{ORG}user/engineering/bob", maxDepth: 11) {{ length }} }}',
            "`maxDepth`",
        ),
        (f'{{ escalationPaths(from: "{ORG}user/engineering/bob", limit: 0) {{ length }} }}', "`limit`"),
        (
            '{ escalationPaths(from: "arn:aws:iam::111111111111:user/nobody") { length } }',
            "is not in the graph",
        ),
        (
            '{ escalationPathsTo(to: "arn:aws:iam::111111111111:role/nobody") { length } }',
            "is not in the graph",
        ),
    ],
)
def test_errors_are_one_line_messages(client, query, message):
    body = client.raw(query)
    assert message in body["errors"][0]["message"]
