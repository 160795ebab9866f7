"""assumptionChains / assumptionChainPage / assumableRoles / Principal.assumableRoles / Role.assumableBy over
HTTP."""

from __future__ import annotations

import json

import pytest

from tests.helpers import SEEDS

FACTS = json.loads((SEEDS / "facts.json").read_text())
A = "arn:aws:iam::111111111111:"
ALICE = A + "user/engineering/alice"
PROD_ADMIN = A + "role/ProductionAdminRole"


@pytest.fixture(scope="module")
def client():
    from graphiam.changes.load import load_files
    from graphiam.store import open_database
    from tests.helpers import GraphQLClient

    db = open_database(None, buffer_pool_mb=256)
    load_files(db, [SEEDS / "demo-org.json", SEEDS / "partner-account.json"])
    yield GraphQLClient(db)
    db.close()


CHAINS = """query($from: String!, $to: String, $d: Int, $first: Int, $after: String) {
  assumptionChains(from: $from, to: $to, maxDepth: $d, first: $first, after: $after) {
    cursor length needsConditions
    hops { from to action needsConditions
           statements { policyArn statementIndex effect sid appliesVia }
           requiredConditions { key operator values role policyArn statementIndex } } } }"""


def test_the_documented_chains_with_reasons(client):
    for chain in FACTS["chains"]:
        data = client(CHAINS, {"from": chain[0], "to": chain[-1]})["assumptionChains"]
        assert [[h["from"] for h in c["hops"]] + [c["hops"][-1]["to"]] for c in data] == [chain]
    hops = client(CHAINS, {"from": ALICE, "to": PROD_ADMIN})["assumptionChains"][0]["hops"]
    assert [h["needsConditions"] for h in hops] == [True, False, False]
    assert hops[0]["requiredConditions"] == [
        {
            "key": "aws:MultiFactorAuthPresent",
            "operator": "Bool",
            "values": ["true"],
            "role": "REQUIRED",
            "policyArn": A + "role/PlatformEngineerRole#trust",
            "statementIndex": 0,
        }
    ]
    assert hops[0]["statements"] == [
        {
            "policyArn": A + "role/PlatformEngineerRole#trust",
            "statementIndex": 0,
            "effect": "Allow",
            "sid": "AliceWithMFA",
            "appliesVia": "trust",
        }
    ]
    assert {s["appliesVia"] for s in hops[1]["statements"]} == {"trust"}
    assert "boundary" in {s["appliesVia"] for s in hops[2]["statements"]}


def test_chains_from_a_service_principal_and_paging(client):
    data = client(CHAINS, {"from": "ec2.amazonaws.com"})["assumptionChains"]
    assert [c["hops"][0]["to"] for c in data if c["length"] == 1] == [
        A + "role/service-role/OpsAutomationRole",
        A + "role/service-role/WebAppInstanceRole",
    ]
    every = client(CHAINS, {"from": ALICE})["assumptionChains"]
    assert [c["length"] for c in every] == [1, 2, 3, 4]
    first = client(CHAINS, {"from": ALICE, "first": 2})["assumptionChains"]
    rest = client(CHAINS, {"from": ALICE, "first": 2, "after": first[-1]["cursor"]})["assumptionChains"]
    assert first + rest == every


def test_chain_page_counts_truncation_and_graph(client):
    q = f"""{{ assumptionChainPage(from: "{ALICE}", first: 10) {{ totalCount truncated hasNextPage endCursor
             graph {{ nodes {{ id label type }} edges {{ source target label needsConditions }} }} }} }}"""
    page = client(q)["assumptionChainPage"]
    assert page["totalCount"] == 4 and page["truncated"] is False and page["hasNextPage"] is False
    nodes = {n["id"]: (n["label"], n["type"]) for n in page["graph"]["nodes"]}
    assert nodes[ALICE] == ("alice", "User") and nodes[PROD_ADMIN] == ("ProductionAdminRole", "Role")
    assert {(e["source"], e["target"], e["needsConditions"]) for e in page["graph"]["edges"]} >= {
        (ALICE, A + "role/PlatformEngineerRole", True)
    }
    assert len(page["graph"]["edges"]) == 4


REACHED = "arn depth needsConditions role { name }"


def test_principal_and_role_reachability_fields(client):
    q = f'{{ principal(arn: "{ALICE}") {{ assumableRoles(maxDepth: 3) {{ {REACHED} }} }} }}'
    roles = client(q)["principal"]["assumableRoles"]
    assert [(r["role"]["name"], r["depth"], r["needsConditions"]) for r in roles] == [
        ("PlatformEngineerRole", 1, True),
        ("DeploymentManagerRole", 2, True),
        ("ProductionAdminRole", 3, True),
    ]
    q = """{ principal(arn: "%s") { ... on Role { assumableBy(maxDepth: 5) { id type depth needsConditions
                                                                             principal { arn } } } } }"""
    by = client(q % (A + "role/BreakGlassRole"))["principal"]["assumableBy"]
    got = {(b["id"], b["type"]): (b["depth"], b["needsConditions"]) for b in by}
    assert got[(A + "user/security/erin", "User")] == (1, True)
    assert got[("ec2.amazonaws.com", "ServicePrincipal")] == (2, True)
    assert next(b for b in by if b["type"] == "ServicePrincipal")["principal"] is None
    root = client('{ assumableRoles(from: "lambda.amazonaws.com", maxDepth: 2) { arn depth } }')[
        "assumableRoles"
    ]
    assert {r["arn"] for r in root} == {
        A + "role/service-role/DataProcessorLambdaRole",
        "arn:aws:iam::222222222222:role/service-role/AuditAutomationRole",
        A + "role/PartnerAuditRole",
    }


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (
            f'{{ assumptionChains(from: "{ALICE}", maxDepth: 11) {{ length }} }}',
            "`maxDepth` must be an integer between 1",
        ),
        (
            f'{{ assumptionChains(from: "{ALICE}", maxDepth: 0) {{ length }} }}',
            "`maxDepth` must be an integer between 1",
        ),
        (
            '{ assumptionChains(from: "arn:aws:iam::111111111111:user/nobody") { length } }',
            "is not in the graph",
        ),
        (
            f'{{ assumptionChains(from: "{ALICE}", to: "{ALICE}") {{ length }} }}',
            "is not a role in the graph",
        ),
        (
            f'{{ assumptionChains(from: "{ALICE}", first: 101) {{ length }} }}',
            "`first` must be between 0 and 100",
        ),
        (f'{{ assumptionChains(from: "{ALICE}", after: "bm9wZQ==") {{ length }} }}', "is not a cursor"),
    ],
)
def test_bad_input_is_one_clear_error(client, query, message):
    body = client.raw(query)
    assert message in body["errors"][0]["message"]
