"""Passing a role to EC2 needs an instance profile holding the role (technique precondition
`role_has_instance_profile`): EC2 hands an instance a role only through an instance profile, so a role that
trusts `ec2.amazonaws.com` but is in no instance profile cannot be reached by launching an instance.

Checked on both derivations: the production one (the load stores ESCALATES_TO and fan-out edges, read back
through GraphQL `graph` and `escalationPaths`) and the reference one (`derive_edges`: every target decided on
its own). The actor holds exactly the technique's permissions; every role trusts EC2 and is administrator.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from graphiam.derive.escalation.derive import derive_edges
from graphiam.derive.escalation.run import graph_facts
from graphiam.graph.snapshot import build_snapshot
from graphiam.store.escalation_store import fan_edges
from tests.helpers import ADMIN_ARN, GraphQLClient, allow, arn, export, role, user, write

EC2 = {"Service": "ec2.amazonaws.com"}
ACTOR = arn("user", "launcher")
# technique -> the actor's permissions (launch an instance / a spot instance; run a command on an instance)
TECHNIQUES = {
    "ec2-001": allow(["iam:PassRole", "ec2:RunInstances"]),
    "ec2-003": allow(["iam:PassRole", "ec2:RequestSpotInstances"]),
    "ssm-002": allow("ssm:SendCommand"),
}
GRAPH = "{ graph(edgeKinds: [ESCALATES_TO], maxNodes: 5000) { truncated edges { from to properties } } }"
PATHS = "query($a: String!) { escalationPaths(from: $a) { length steps { from to technique } } }"


def ec2_role(name: str, profile: bool) -> dict[str, Any]:
    return role(name, EC2, managed=(ADMIN_ARN,), profile=profile)


def load(gql: Any, tmp_path: Path, technique: str, roles: list[dict[str, Any]]) -> GraphQLClient:
    data = export(user("launcher", TECHNIQUES[technique]), roles=tuple(roles))
    client: GraphQLClient = gql(write(tmp_path, "export.json", data))
    return client


def stored(client: GraphQLClient, technique: str) -> set[str]:
    """Names of the roles the actor reaches by `technique` in the stored graph (fan-out edges expanded)."""
    g = client(GRAPH)["graph"]
    assert not g["truncated"]
    return {
        e["to"].rsplit("/", 1)[-1]
        for e in g["edges"]
        if e["from"] == ACTOR and e["properties"]["technique"] == technique
    }


def paths(client: GraphQLClient, technique: str) -> set[str]:
    """Names of the roles ending the actor's one-step escalation paths by `technique`."""
    found = client(PATHS, {"a": ACTOR})["escalationPaths"]
    return {
        p["steps"][0]["to"].rsplit("/", 1)[-1]
        for p in found
        if p["length"] == 1 and p["steps"][0]["technique"] == technique
    }


def reference(client: GraphQLClient, technique: str) -> dict[str, dict[str, str]]:
    """The reference derivation's edges from the actor by `technique`: target role name -> `via`."""
    snap = build_snapshot(client.db)
    edges, _ = derive_edges(snap, graph_facts(client.db, snap))
    return {
        e.target.rsplit("/", 1)[-1]: e.via for e in edges if e.source == ACTOR and e.technique == technique
    }


@pytest.mark.parametrize("technique", sorted(TECHNIQUES))
def test_a_role_trusting_ec2_without_an_instance_profile_is_not_reached(gql, tmp_path, technique):
    client = load(gql, tmp_path, technique, [ec2_role("Bare", profile=False)])
    assert stored(client, technique) == set()
    assert client(PATHS, {"a": ACTOR})["escalationPaths"] == []
    assert reference(client, technique) == {}


@pytest.mark.parametrize("technique", sorted(TECHNIQUES))
def test_a_role_trusting_ec2_with_an_instance_profile_is_reached(gql, tmp_path, technique):
    client = load(gql, tmp_path, technique, [ec2_role("Launchable", profile=True)])
    assert stored(client, technique) == {"Launchable"}
    assert paths(client, technique) == {"Launchable"}
    assert reference(client, technique) == {
        "Launchable": {
            "service": "ec2.amazonaws.com",
            "instance_profile": arn("instance-profile", "Launchable"),
        }
    }


@pytest.mark.parametrize("technique", sorted(TECHNIQUES))
def test_only_the_roles_with_an_instance_profile_are_reached(gql, tmp_path, technique):
    roles = [ec2_role("Bare", profile=False), ec2_role("Launchable", profile=True)]
    client = load(gql, tmp_path, technique, roles)
    assert stored(client, technique) == {"Launchable"}
    assert paths(client, technique) == {"Launchable"}
    assert set(reference(client, technique)) == {"Launchable"}


def test_a_fan_out_edge_holds_only_the_roles_with_an_instance_profile(gql, tmp_path):
    # 20 reachable roles: more than the production derivation writes one edge each (16), so it stores a fan
    with_profile = {f"Launchable{i:02}" for i in range(20)}
    roles = [ec2_role(n, profile=True) for n in sorted(with_profile)]
    roles += [ec2_role(f"Bare{i:02}", profile=False) for i in range(20)]
    client = load(gql, tmp_path, "ec2-001", roles)
    assert [(f["source"], f["technique"]) for f in fan_edges(client.db)] == [(ACTOR, "ec2-001")]
    assert stored(client, "ec2-001") == with_profile
    assert paths(client, "ec2-001") == with_profile
    assert set(reference(client, "ec2-001")) == with_profile
