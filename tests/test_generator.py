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
