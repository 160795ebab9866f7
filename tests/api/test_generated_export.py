"""Every entity and relationship of a generated export (benchmarks/generate_org.py) is browsable through
GraphQL exactly as the file says: counts, memberships, attachments, boundaries, trust policies, versions."""

from __future__ import annotations

import json
import sys
from typing import Any
from urllib.parse import unquote

import pytest

from tests.helpers import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
from generate_org import generate_org  # noqa: E402


def _doc(d: Any) -> Any:
    if isinstance(d, str):
        return json.loads(d if d.lstrip().startswith("{") else unquote(d))
    return d


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    exports = generate_org(users=60, roles=40, policies=80, accounts=2, seed=11)
    files = []
    for e in exports:
        f = tmp_path_factory.mktemp("gen") / "export.json"
        f.write_text(json.dumps(e))
        files.append(f)
    return exports, files


def test_generated_export_round_trips_through_graphql(gql, exported):
    exports, files = exported
    q = gql(*files)
    users = [u for e in exports for u in e["UserDetailList"]]
    roles = [r for e in exports for r in e["RoleDetailList"]]
    groups = {g["Arn"]: g for e in exports for g in e["GroupDetailList"]}
    policies = {p["Arn"]: p for e in exports for p in e["Policies"]}
    counts = q("{ users { totalCount } groups { totalCount } roles { totalCount } policies { totalCount } }")
    assert counts["users"]["totalCount"] == len(users)
    assert counts["roles"]["totalCount"] == len(roles)
    assert counts["groups"]["totalCount"] == len(groups)
    assert counts["policies"]["totalCount"] == len(policies)
    by_name = {(g["Arn"].split(":")[4], g["GroupName"]): g["Arn"] for g in groups.values()}
    for u in users:
        acct = u["Arn"].split(":")[4]
        d = q(
            "query($a: String!) { user(arn: $a) { groups { arn } permissionsBoundary { arn missingDocument } "
            "policies { attachedAs via policy { arn name document } } tags { key value } } }",
            {"a": u["Arn"]},
        )["user"]
        assert sorted(g["arn"] for g in d["groups"]) == sorted(
            {by_name[(acct, n)] for n in u.get("GroupList", [])}
        )
        direct = {
            p["policy"]["arn"]
            for p in d["policies"]
            if p["via"] == "DIRECT" and p["attachedAs"] == "IDENTITY"
        }
        assert direct == {a["PolicyArn"] for a in u.get("AttachedManagedPolicies", [])}
        inline = {
            p["policy"]["name"]: p["policy"]["document"]
            for p in d["policies"]
            if p["via"] == "DIRECT" and p["attachedAs"] == "INLINE"
        }
        assert inline == {p["PolicyName"]: _doc(p["PolicyDocument"]) for p in u.get("UserPolicyList", [])}
        want_b = (u.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")
        assert (d["permissionsBoundary"] or {}).get("arn") == want_b
        if want_b:
            assert d["permissionsBoundary"]["missingDocument"] == (want_b not in policies)
        assert {(t["key"], t["value"]) for t in d["tags"]} == {
            (t["Key"], t["Value"]) for t in u.get("Tags", [])
        }
    for r in roles:
        d = q(
            "query($a: String!) { role(arn: $a) { trustPolicy permissionsBoundary { arn } "
            "instanceProfiles { arn } policies { attachedAs policy { arn } } } }",
            {"a": r["Arn"]},
        )["role"]
        assert d["trustPolicy"] == _doc(r["AssumeRolePolicyDocument"])
        assert (d["permissionsBoundary"] or {}).get("arn") == (r.get("PermissionsBoundary") or {}).get(
            "PermissionsBoundaryArn"
        )
        assert {p["arn"] for p in d["instanceProfiles"]} == {
            ip["Arn"] for ip in r.get("InstanceProfileList", [])
        }
        attached = {p["policy"]["arn"] for p in d["policies"] if p["attachedAs"] == "IDENTITY"}
        assert attached == {a["PolicyArn"] for a in r.get("AttachedManagedPolicies", [])}
    for arn, p in policies.items():
        d = q(
            "query($a: String!) { policy(arn: $a) { document versions { versionId isDefault document } } }",
            {"a": arn},
        )["policy"]
        want = {
            v["VersionId"]: (bool(v.get("IsDefaultVersion")), _doc(v["Document"]))
            for v in p["PolicyVersionList"]
        }
        assert {v["versionId"]: (v["isDefault"], v["document"]) for v in d["versions"]} == want
        assert d["document"] == next(doc for default, doc in want.values() if default)
