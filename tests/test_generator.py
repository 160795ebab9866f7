"""benchmarks/generate_org.py: deterministic, sized as asked, and valid GAAD."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

_PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "generate_org.py"
_spec = importlib.util.spec_from_file_location("generate_org", _PATH)
assert _spec and _spec.loader
gen = importlib.util.module_from_spec(_spec)
sys.modules["generate_org"] = gen
_spec.loader.exec_module(gen)

ARN = re.compile(
    r"^arn:aws:iam::(\d{12}|aws):(user|group|role|policy|instance-profile)(/(?:[\x21-\x7e]+/)?)([\w+=,.@-]+)$"
)


@pytest.fixture(scope="module")
def org() -> list[dict[str, Any]]:
    exports: list[dict[str, Any]] = gen.generate_org(users=300, roles=150, policies=300, accounts=3, seed=11)
    return exports


def documents(export: dict[str, Any]) -> list[str | dict[str, Any]]:
    docs: list[str | dict[str, Any]] = []
    for user in export["UserDetailList"]:
        docs += [p["PolicyDocument"] for p in user.get("UserPolicyList", [])]
    for group in export["GroupDetailList"]:
        docs += [p["PolicyDocument"] for p in group["GroupPolicyList"]]
    for role in export["RoleDetailList"]:
        docs += [role["AssumeRolePolicyDocument"]] + [p["PolicyDocument"] for p in role["RolePolicyList"]]
    for policy in export["Policies"]:
        docs += [v["Document"] for v in policy["PolicyVersionList"]]
    return docs


def decoded(raw: str | dict[str, Any]) -> dict[str, Any]:
    return json.loads(unquote(raw)) if isinstance(raw, str) else raw


def test_same_seed_gives_identical_output() -> None:
    kwargs: dict[str, Any] = {"users": 60, "roles": 30, "policies": 80, "accounts": 2}
    first = json.dumps(gen.generate_org(**kwargs, seed=3))
    assert json.dumps(gen.generate_org(**kwargs, seed=3)) == first
    assert json.dumps(gen.generate_org(**kwargs, seed=4)) != first


@pytest.mark.parametrize(
    ("users", "roles", "policies", "groups", "accounts"),
    [(0, 0, 0, None, 1), (1, 1, 1, None, 1), (45, 20, 70, None, 1), (50, 40, 60, 7, 2), (10, 5, 12, 0, 3)],
)
def test_counts_match_the_arguments(
    users: int, roles: int, policies: int, groups: int | None, accounts: int
) -> None:
    exports = gen.generate_org(
        users=users, roles=roles, policies=policies, groups=groups, accounts=accounts, seed=1
    )
    assert len(exports) == accounts
    for export in exports:
        assert len(export["UserDetailList"]) == users
        assert len(export["RoleDetailList"]) == roles
        assert len(export["Policies"]) == policies
        expected_groups = groups if groups is not None else (max(1, users // 20) if users else 0)
        assert len(export["GroupDetailList"]) == expected_groups


def test_account_ids_are_twelve_digits_distinct_and_stable(org: list[dict[str, Any]]) -> None:
    ids = [gen.account_of(export) for export in org]
    assert ids == gen.account_ids(3, 11)
    assert len(set(ids)) == 3 and all(re.fullmatch(r"[1-9]\d{11}", i) for i in ids)
    assert gen.account_ids(1, 11) == ids[:1]


def test_every_arn_is_well_formed_and_in_its_account(org: list[dict[str, Any]]) -> None:
    for export in org:
        account = gen.account_of(export)
        for key in ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies"):
            for entry in export[key]:
                match = ARN.match(entry["Arn"])
                assert match, entry["Arn"]
                assert match[1] in (account, "aws") and match[3] == entry["Path"]
        arns = [
            e["Arn"]
            for k in ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies")
            for e in export[k]
        ]
        assert len(arns) == len(set(arns))


def test_group_lists_name_existing_groups_and_vary(org: list[dict[str, Any]]) -> None:
    for export in org:
        groups = {g["GroupName"] for g in export["GroupDetailList"]}
        sizes = {len(u["GroupList"]) for u in export["UserDetailList"]}
        assert sizes == {0, 1, 2, 3, 4}
        for user in export["UserDetailList"]:
            assert set(user["GroupList"]) <= groups


def test_attachments_name_present_policies_or_a_deliberately_missing_boundary(
    org: list[dict[str, Any]],
) -> None:
    missing = 0
    for export in org:
        policies = {p["Arn"] for p in export["Policies"]}
        principals = export["UserDetailList"] + export["GroupDetailList"] + export["RoleDetailList"]
        for principal in principals:
            for ref in principal["AttachedManagedPolicies"]:
                assert ref["PolicyArn"] in policies
            boundary = principal.get("PermissionsBoundary", {}).get("PermissionsBoundaryArn")
            if boundary and boundary not in policies:
                assert gen.MISSING_BOUNDARY_MARK in boundary
                missing += 1
    assert missing > 0


def test_attachment_counts_agree(org: list[dict[str, Any]]) -> None:
    for export in org:
        counts: dict[str, int] = {}
        for principal in export["UserDetailList"] + export["GroupDetailList"] + export["RoleDetailList"]:
            for ref in principal["AttachedManagedPolicies"]:
                counts[ref["PolicyArn"]] = counts.get(ref["PolicyArn"], 0) + 1
        for policy in export["Policies"]:
            assert policy["AttachmentCount"] == counts.get(policy["Arn"], 0)


def test_exactly_one_default_version_and_some_policies_have_several(org: list[dict[str, Any]]) -> None:
    several = 0
    for export in org:
        for policy in export["Policies"]:
            defaults = [v["VersionId"] for v in policy["PolicyVersionList"] if v["IsDefaultVersion"]]
            assert defaults == [policy["DefaultVersionId"]]
            several += len(policy["PolicyVersionList"]) > 1
    assert several > 0


def test_about_a_quarter_of_documents_are_url_encoded_and_all_decode(org: list[dict[str, Any]]) -> None:
    docs = [d for export in org for d in documents(export)]
    share = sum(isinstance(d, str) for d in docs) / len(docs)
    assert 0.18 < share < 0.32
    for raw in docs:
        doc = decoded(raw)
        assert doc["Version"] == "2012-10-17" and doc["Statement"]


def test_realistic_shapes_are_present(org: list[dict[str, Any]]) -> None:
    text = json.dumps([decoded(d) for export in org for d in documents(export)])
    for needle in (
        '"NotAction"',
        '"NotResource"',
        "aws:SourceIp",
        "aws:MultiFactorAuthPresent",
        "sts:ExternalId",
        "aws:CurrentTime",
        "${aws:PrincipalTag/team}",
        "${aws:username}",
        '"Deny"',
        "ec2.amazonaws.com",
        ":root",
        "iam:PassRole",
        "sts:AssumeRole",
        '"Action": "*"',
    ):
        assert needle in text, needle
    main = org[0]
    paths = {u["Path"] for u in main["UserDetailList"]}
    assert {"/", "/engineering/", "/ops/team-a/"} <= paths
    assert any(r["InstanceProfileList"] for r in main["RoleDetailList"])
    assert all(
        r["InstanceProfileList"][0]["Roles"][0]["Arn"] == r["Arn"]
        for r in main["RoleDetailList"]
        if r["InstanceProfileList"]
    )
    assert any(u["Tags"] for u in main["UserDetailList"])
    assert any(p["Arn"].startswith("arn:aws:iam::aws:policy/") for p in main["Policies"])


def test_trust_policies_reach_the_other_generated_accounts(org: list[dict[str, Any]]) -> None:
    ids = [gen.account_of(export) for export in org]
    trusts = json.dumps([decoded(r["AssumeRolePolicyDocument"]) for r in org[0]["RoleDetailList"]])
    assert any(peer in trusts for peer in ids[1:])


def test_json_round_trips(org: list[dict[str, Any]]) -> None:
    for export in org:
        assert json.loads(json.dumps(export)) == export


def test_cli_writes_one_file_per_account(tmp_path: Path) -> None:
    out = tmp_path / "org"
    assert (
        gen.main(
            [
                "--users",
                "12",
                "--roles",
                "6",
                "--policies",
                "15",
                "--accounts",
                "2",
                "--seed",
                "5",
                "-o",
                str(out),
            ]
        )
        == 0
    )
    expected = gen.generate_org(users=12, roles=6, policies=15, accounts=2, seed=5)
    files = sorted(out.iterdir())
    assert [f.name for f in files] == sorted(f"{i}.json" for i in gen.account_ids(2, 5))
    written = {f.stem: json.loads(f.read_text()) for f in files}
    assert written == {gen.account_of(e): e for e in expected}


@pytest.mark.parametrize("kwargs", [{"users": -1}, {"accounts": 0}, {"policies": -5}])
def test_bad_sizes_are_rejected(kwargs: dict[str, int]) -> None:
    base = {"users": 1, "roles": 1, "policies": 1, "accounts": 1} | kwargs
    with pytest.raises(ValueError):
        gen.generate_org(**base)


# ---- the `wide` shape ----


@pytest.fixture(scope="module")
def wide() -> list[dict[str, Any]]:
    exports: list[dict[str, Any]] = gen.generate_org(
        users=300, roles=200, policies=150, accounts=4, seed=5, shape="wide"
    )
    return exports


def identity_statements(export: dict[str, Any]) -> list[dict[str, Any]]:
    boundaries = {
        p["PermissionsBoundary"]["PermissionsBoundaryArn"]
        for p in export["UserDetailList"] + export["RoleDetailList"]
        if "PermissionsBoundary" in p
    }
    docs = [p["PolicyDocument"] for u in export["UserDetailList"] for p in u.get("UserPolicyList", [])]
    docs += [p["PolicyDocument"] for g in export["GroupDetailList"] for p in g["GroupPolicyList"]]
    docs += [p["PolicyDocument"] for r in export["RoleDetailList"] for p in r["RolePolicyList"]]
    docs += [
        v["Document"]
        for p in export["Policies"]
        if p["Arn"] not in boundaries and not p["Arn"].startswith("arn:aws:iam::aws:")
        for v in p["PolicyVersionList"]
    ]
    return [s for d in docs for s in decoded(d)["Statement"]]


def test_the_wide_shape_is_deterministic_and_not_the_default() -> None:
    kwargs: dict[str, Any] = {"users": 60, "roles": 30, "policies": 40, "accounts": 3, "seed": 3}
    first = json.dumps(gen.generate_org(**kwargs, shape="wide"))
    assert json.dumps(gen.generate_org(**kwargs, shape="wide")) == first
    assert json.dumps(gen.generate_org(**{**kwargs, "seed": 4}, shape="wide")) != first
    assert json.dumps(gen.generate_org(**kwargs)) != first
    with pytest.raises(ValueError, match="shape"):
        gen.generate_org(**kwargs, shape="tall")


def test_the_wide_shape_has_the_asked_sizes_and_few_groups(wide: list[dict[str, Any]]) -> None:
    assert [gen.account_of(e) for e in wide] == gen.account_ids(4, 5)
    for export in wide:
        assert len(export["UserDetailList"]) == 300 and len(export["RoleDetailList"]) == 200
        assert len(export["Policies"]) == 150 and len(export["GroupDetailList"]) == 10
        groups = [g["GroupName"] for g in export["GroupDetailList"]]
        members = {g: 0 for g in groups}
        for user in export["UserDetailList"]:
            assert 1 <= len(user["GroupList"]) <= 3 and len(set(user["GroupList"])) == len(user["GroupList"])
            for g in user["GroupList"]:
                members[g] += 1
        assert members[groups[0]] >= 0.4 * 300  # one large group holds a good share of the users
        assert sorted(members.values(), reverse=True)[:2] == [members[groups[0]], members[groups[1]]]


def test_the_wide_shape_is_heavy_on_conditions_and_boundaries(wide: list[dict[str, Any]]) -> None:
    for export in wide:
        statements = identity_statements(export)
        share = sum("Condition" in s for s in statements) / len(statements)
        assert share > 0.55, share
        for key, low in (("UserDetailList", 0.45), ("RoleDetailList", 0.35)):
            bounded = sum("PermissionsBoundary" in p for p in export[key]) / len(export[key])
            assert bounded > low, (key, bounded)
        policies = {p["Arn"]: p for p in export["Policies"]}
        boundary = next(
            policies[u["PermissionsBoundary"]["PermissionsBoundaryArn"]]
            for u in export["UserDetailList"]
            if u.get("PermissionsBoundary", {}).get("PermissionsBoundaryArn") in policies
        )
        doc = decoded(boundary["PolicyVersionList"][0]["Document"])
        assert doc["Statement"][0]["Effect"] == "Allow" and doc["Statement"][0]["Resource"] == "*"


def test_the_wide_shape_trusts_broadly_across_its_accounts(wide: list[dict[str, Any]]) -> None:
    ids = [gen.account_of(e) for e in wide]
    for export in wide:
        account = gen.account_of(export)
        trusts = [decoded(r["AssumeRolePolicyDocument"]) for r in export["RoleDetailList"]]
        principals = [s["Principal"] for t in trusts for s in t["Statement"]]
        aws = [
            a for p in principals for a in ([p["AWS"]] if isinstance(p.get("AWS"), str) else p.get("AWS", []))
        ]
        peer_roots = {a.split(":")[4] for a in aws if a.endswith(":root") and a.split(":")[4] != account}
        assert peer_roots <= set(ids) and len(peer_roots) == len(ids) - 1
        assert "*" in aws  # the whole organization, or an ARN pattern, by condition
        assert f"arn:aws:iam::{account}:root" in aws
        assert len(aws) > len(export["RoleDetailList"]) / 2  # most roles trust principals, not only services
        allowed = [s for s in identity_statements(export) if s.get("Action") == "sts:AssumeRole"]
        assert any(s["Resource"] == "arn:aws:iam::*:role/*" for s in allowed)


def test_graphiam_loads_a_wide_org(tmp_path: Path) -> None:
    from tests.helpers import run_cli

    out = tmp_path / "org"
    assert (
        gen.main(
            ["--users", "30", "--roles", "20", "--policies", "20", "--accounts", "3"]
            + ["--seed", "2", "--shape", "wide", "-o", str(out)]
        )
        == 0
    )
    files = sorted(str(p) for p in out.iterdir())
    r = run_cli("load", *files, db=tmp_path / "db")
    assert r.returncode == 0, r.stderr
    assert "loaded 3 account(s)" in r.stdout + r.stderr
