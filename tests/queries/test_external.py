"""externalAccess: roles that principals outside the loaded accounts can assume, read against the export
itself."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

import pytest

from graphiam.changes.load import load_files
from graphiam.store import open_database
from tests.helpers import GAAD_EXAMPLE, GraphQLClient

QUERY = """query($a: String) { externalAccess(account: $a) { role account principal principalKind
  principalAccount outsideOrganization unconditional
  hop { action requiredConditions { key operator values role } } } }"""


def _trusts(path: Path) -> Iterator[tuple[str, str, str, bool]]:
    """(role ARN, AWS or Federated principal entries of its trust's Allow statements) from the raw export."""
    data = json.loads(path.read_text())
    for r in data["RoleDetailList"]:
        doc = r["AssumeRolePolicyDocument"]
        if isinstance(doc, str):
            doc = json.loads(unquote(doc))
        sts = doc["Statement"] if isinstance(doc["Statement"], list) else [doc["Statement"]]
        for st in sts:
            if st["Effect"] != "Allow" or not isinstance(st.get("Principal"), dict):
                continue
            for kind in ("AWS", "Federated"):
                entries = st["Principal"].get(kind, [])
                for e in [entries] if isinstance(entries, str) else entries:
                    yield r["Arn"], kind, e, bool(st.get("Condition"))


@pytest.fixture(scope="module")
def db():
    d = open_database(None, buffer_pool_mb=256)
    load_files(d, [GAAD_EXAMPLE])
    yield d
    d.close()


def test_every_outside_principal_a_trust_names_is_listed(db):
    account = "200611803367"
    expected = set()
    for role, kind, entry, conditional in _trusts(GAAD_EXAMPLE):
        if kind == "Federated":
            expected.add((role, entry, "FEDERATED", conditional))
        elif entry.split(":")[4] != account:
            root = entry.endswith(":root")
            expected.add((role, entry, "ACCOUNT" if root else "ROLE", conditional))
    assert expected  # the example trusts another account and an SSO SAML provider
    rows = GraphQLClient(db)(QUERY)["externalAccess"]
    got = {(r["role"], r["principal"], r["principalKind"], not r["unconditional"]) for r in rows}
    assert got == expected
    assert all(
        r["outsideOrganization"] for r in rows
    )  # no organization loaded: every other account is outside
    saml = [r for r in rows if r["principalKind"] == "FEDERATED"]
    assert saml and all(r["hop"]["action"] == "sts:AssumeRoleWithSAML" for r in saml)
    assert all(c["key"] == "SAML:aud" for r in saml for c in r["hop"]["requiredConditions"])


def test_member_accounts_of_the_stored_organization_are_inside(db, tmp_path):
    org = {
        "Organization": {"Id": "o-exampleorg1", "MasterAccountId": "072528804237"},
        "Roots": [{"Id": "r-ex12"}],
        "Accounts": [
            {"Id": "072528804237", "ParentId": "r-ex12"},
            {"Id": "200611803367", "ParentId": "r-ex12"},
        ],
        "Policies": [
            {
                "Id": "p-FullAWSAccess",
                "Content": {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
                },
                "Targets": ["r-ex12"],
            }
        ],
    }
    path = tmp_path / "org.json"
    path.write_text(json.dumps(org))
    d = open_database(None, buffer_pool_mb=256)
    try:
        load_files(d, [GAAD_EXAMPLE, path])
        rows = GraphQLClient(d)(QUERY)["externalAccess"]
        inside = {r["principal"] for r in rows if not r["outsideOrganization"]}
        assert inside and all(p.split(":")[4] == "072528804237" for p in inside)
        assert all(r["outsideOrganization"] for r in rows if r["principalKind"] == "FEDERATED")
        assert GraphQLClient(d)(QUERY, {"a": "999999999999"})["externalAccess"] == []
    finally:
        d.close()
