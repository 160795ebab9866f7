"""GraphQL: escalationPaths, escalationPathsTo, escalationSummary and Principal.isAdmin on the demo org."""

from __future__ import annotations

from typing import Any

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


def test_administrators_are_exactly_the_principals_whose_is_admin_holds(client):
    every: list[dict[str, Any]] = []
    for kind in ("users", "roles"):
        page = client(
            f"{{ {kind}(first: 100) {{ totalCount nodes {{ arn account isAdmin adminReason }} }} }}"
        )[kind]
        assert page["totalCount"] == len(page["nodes"])
        every += page["nodes"]
    data = client("{ administrators { arn account kind now principal { arn isAdmin adminReason } } }")
    admins = data["administrators"]
    assert [a["arn"] for a in admins] == sorted(p["arn"] for p in every if p["isAdmin"])
    assert len(admins) >= 2 and {a["kind"] for a in admins} == {"USER", "ROLE"}
    for a in admins:
        assert a["principal"]["arn"] == a["arn"] and a["principal"]["isAdmin"]
        assert a["kind"] == ("ROLE" if ":role/" in a["arn"] else "USER")
        assert a["now"], a  # isAdmin means allowed everything now; self-escalation is canBecomeAdmin
    partner = client('{ administrators(account: "222222222222") { arn account } }')["administrators"]
    assert partner == [
        {"arn": a["arn"], "account": a["account"]} for a in admins if a["account"] == "222222222222"
    ]


def test_the_escalation_summary_is_computed_once_per_generation_and_depth(client, monkeypatch):
    from graphiam.queries import escalation_paths

    calls: list[int] = []
    real = escalation_paths.escalation_summary

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs["max_depth"])
        return real(*args, **kwargs)

    monkeypatch.setattr(escalation_paths, "escalation_summary", counted)
    data = client(
        "{ a: escalationSummary { arn shortestPathLength } b: escalationSummary { arn shortestPathLength } "
        "c: escalationSummary(maxDepth: 1) { arn shortestPathLength } }"
    )
    assert sorted(calls) == [1, 5]
    assert data["a"] == data["b"] and data["a"]
    assert data["c"] == [e for e in data["a"] if e["shortestPathLength"] <= 1]


def test_administrators_among_some_arns(client):
    every = [a["arn"] for a in client("{ administrators { arn } }")["administrators"]]
    others = [u["arn"] for u in client("{ users(first: 3) { nodes { arn } } }")["users"]["nodes"]]
    asked = [every[-1], *others, every[0], "arn:aws:iam::111111111111:user/nobody", "ec2.amazonaws.com"]
    data = client("query($a: [String!]) { administrators(arns: $a) { arn } }", {"a": asked})
    assert [a["arn"] for a in data["administrators"]] == sorted(
        {every[0], every[-1], *(o for o in others if o in every)}
    )
    assert client("{ administrators(arns: []) { arn } }")["administrators"] == []


def test_admin_summary_counts_the_lists_and_first_cuts_them(client):
    data = client(
        "{ administrators { arn account now } "
        "escalationSummary { arn shortestPathLength principal { account } } "
        "adminSummary { administrators allowedEverythingNow canBecomeAdmin "
        "byPathLength { length principals } "
        "byAccount { account administrators canBecomeAdmin } } "
        "a2: administrators(first: 2) { arn } s3: escalationSummary(first: 3) { arn } "
        "s0: escalationSummary(first: 0) { arn } }"
    )
    admins, summary, counts = data["administrators"], data["escalationSummary"], data["adminSummary"]
    assert counts["administrators"] == len(admins) and counts["canBecomeAdmin"] == len(summary) > 0
    assert counts["allowedEverythingNow"] == sum(a["now"] for a in admins)
    lengths: dict[int, int] = {}
    for e in summary:
        lengths[e["shortestPathLength"]] = lengths.get(e["shortestPathLength"], 0) + 1
    assert counts["byPathLength"] == [{"length": n, "principals": k} for n, k in sorted(lengths.items())]
    accounts = sorted({a["account"] for a in admins} | {e["principal"]["account"] for e in summary})
    assert counts["byAccount"] == [
        {
            "account": acct,
            "administrators": sum(a["account"] == acct for a in admins),
            "canBecomeAdmin": sum(e["principal"]["account"] == acct for e in summary),
        }
        for acct in accounts
    ]
    assert data["a2"] == [{"arn": a["arn"]} for a in admins[:2]]
    assert data["s3"] == [{"arn": e["arn"]} for e in summary[:3]] and data["s0"] == []
    body = client.raw("{ administrators(first: -1) { arn } }")
    assert body["errors"][0]["message"] == "`first` must be 0 or more, got -1"


def test_a_principals_paths_chains_and_assumable_roles_are_computed_once_per_generation(client, monkeypatch):
    """The dashboard's principal page asks them on every visit: computed once per arguments and generation."""
    from graphiam.queries import chains, escalation_paths

    calls: list[tuple[str, Any]] = []

    def counted(name: str, real: Any, key: str) -> Any:
        def run(*args: Any, **kwargs: Any) -> Any:
            calls.append((name, kwargs[key]))
            return real(*args, **kwargs)

        return run

    monkeypatch.setattr(
        escalation_paths, "escalation_paths", counted("paths", escalation_paths.escalation_paths, "limit")
    )
    monkeypatch.setattr(chains, "chain_paths", counted("chains", chains.chain_paths, "max_depth"))
    monkeypatch.setattr(chains, "assumable_roles", counted("assumable", chains.assumable_roles, "max_depth"))
    bot = f"{ORG}user/automation/ci-bot"
    data = client(
        "query($a: String!) { "
        "p1: escalationPaths(from: $a, limit: 2) { length steps { from to technique } } "
        "p2: escalationPaths(from: $a, limit: 2) { length steps { from to technique } } "
        "p3: escalationPaths(from: $a, limit: 50) { length steps { from to technique } } "
        "c1: assumptionChainPage(from: $a, first: 1) { totalCount graph { nodes { id } } } "
        "c2: assumptionChainPage(from: $a, first: 50) { totalCount graph { nodes { id } } } "
        "r1: assumableRoles(from: $a) { arn depth } "
        "r2: principal(arn: $a) { assumableRoles { arn depth } } }",
        {"a": bot},
    )
    assert sorted(calls) == [("assumable", 5), ("chains", 5), ("paths", 2), ("paths", 50)]
    assert data["p1"] == data["p2"] == data["p3"][:2] and len(data["p3"]) > 2  # ci-bot has more paths
    assert data["c1"]["totalCount"] == data["c2"]["totalCount"] > 0
    assert data["r1"] == data["r2"]["assumableRoles"]
