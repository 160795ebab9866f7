"""The seeds/ demo org is well-formed GAAD, and seeds/facts.json matches its documents.

Deliberately independent of graphiam's importer and store (written in parallel): plain json + re.
"""

from __future__ import annotations

import csv
import itertools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from graphiam.ingest.credential_report import parse_credential_report

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
# Cloudsplaining's example export, where the demo org's AWS-managed policies are copied from
GAAD_EXAMPLE = Path(__file__).resolve().parent / "data" / "gaad" / "cloudsplaining-example.json"
MANIFEST = json.loads((SEEDS / "manifest.json").read_text())
EXPORTS = {name: json.loads((SEEDS / name).read_text()) for name in MANIFEST["exports"]}
FACTS = json.loads((SEEDS / "facts.json").read_text())
MAIN_ACCOUNT = "111111111111"

ARN = re.compile(
    r"^arn:aws:iam::(?P<account>\d{12}|aws):(?P<kind>user|group|role|policy|instance-profile)"
    r"(?P<path>/(?:[\x21-\x7e]+/)?)(?P<name>[\w+=,.@-]+)$"
)
ID_PREFIX = {"user": "AIDA", "group": "AGPA", "role": "AROA", "policy": "ANPA", "instance-profile": "AIPA"}


def document(raw: str | dict[str, Any]) -> dict[str, Any]:
    """A policy document as GAAD gives it: a dict, or URL-encoded JSON text."""
    return json.loads(unquote(raw)) if isinstance(raw, str) else raw


def default_document(policy: dict[str, Any]) -> dict[str, Any]:
    (version,) = [v for v in policy["PolicyVersionList"] if v["IsDefaultVersion"]]
    return document(version["Document"])


def account_of(export: dict[str, Any]) -> str:
    return str(export["UserDetailList"][0]["Arn"].split(":")[4])


def all_documents(export: dict[str, Any]) -> Iterator[tuple[str, str | dict[str, Any]]]:
    for user in export["UserDetailList"]:
        for p in user.get("UserPolicyList", []):
            yield f"{user['Arn']}#{p['PolicyName']}", p["PolicyDocument"]
    for group in export["GroupDetailList"]:
        for p in group["GroupPolicyList"]:
            yield f"{group['Arn']}#{p['PolicyName']}", p["PolicyDocument"]
    for role in export["RoleDetailList"]:
        yield f"{role['Arn']}#trust", role["AssumeRolePolicyDocument"]
        for p in role["RolePolicyList"]:
            yield f"{role['Arn']}#{p['PolicyName']}", p["PolicyDocument"]
    for policy in export["Policies"]:
        for version in policy["PolicyVersionList"]:
            yield f"{policy['Arn']}#{version['VersionId']}", version["Document"]


def entities(export: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for kind, key in (
        ("user", "UserDetailList"),
        ("group", "GroupDetailList"),
        ("role", "RoleDetailList"),
        ("policy", "Policies"),
    ):
        for entry in export[key]:
            yield kind, entry


# ---- GAAD well-formedness ---------------------------------------------------------------------


def test_manifest_lists_existing_files() -> None:
    for name in (
        *MANIFEST["exports"],
        *MANIFEST["config_snapshots"],
        *MANIFEST["organizations"],
        *MANIFEST["credential_reports"],
    ):
        assert (SEEDS / name).is_file(), name
    assert MANIFEST["exports"][0] == "demo-org.json"


@pytest.mark.parametrize("name", list(EXPORTS))
def test_export_has_the_gaad_sections(name: str) -> None:
    assert set(EXPORTS[name]) == {"UserDetailList", "GroupDetailList", "RoleDetailList", "Policies"}


@pytest.mark.parametrize("name", list(EXPORTS))
def test_every_arn_is_well_formed_and_matches_its_entry(name: str) -> None:
    export = EXPORTS[name]
    account = account_of(export)
    for kind, entry in entities(export):
        match = ARN.match(entry["Arn"])
        assert match, entry["Arn"]
        name_key = {"user": "UserName", "group": "GroupName", "role": "RoleName", "policy": "PolicyName"}[
            kind
        ]
        assert match["kind"] == kind
        assert match["name"] == entry[name_key]
        assert match["path"] == entry["Path"]
        assert match["account"] == ("aws" if kind == "policy" and match["account"] == "aws" else account)
        id_key = {"user": "UserId", "group": "GroupId", "role": "RoleId", "policy": "PolicyId"}[kind]
        assert entry[id_key].startswith(ID_PREFIX[kind]) and len(entry[id_key]) == 21, entry[id_key]
    for role in export["RoleDetailList"]:
        for profile in role["InstanceProfileList"]:
            assert ARN.match(profile["Arn"]) and profile["Arn"].split(":")[4] == account
            assert [r["Arn"] for r in profile["Roles"]] == [role["Arn"]]


@pytest.mark.parametrize("name", list(EXPORTS))
def test_names_are_unique(name: str) -> None:
    arns = [entry["Arn"] for _, entry in entities(EXPORTS[name])]
    assert len(arns) == len(set(arns))


@pytest.mark.parametrize("name", list(EXPORTS))
def test_group_lists_name_existing_groups(name: str) -> None:
    export = EXPORTS[name]
    groups = {g["GroupName"] for g in export["GroupDetailList"]}
    for user in export["UserDetailList"]:
        assert set(user["GroupList"]) <= groups, user["UserName"]


@pytest.mark.parametrize("name", list(EXPORTS))
def test_attached_and_boundary_policies_are_present(name: str) -> None:
    export = EXPORTS[name]
    policies = {p["Arn"]: p for p in export["Policies"]}
    for kind, entry in entities(export):
        if kind == "policy":
            continue
        for ref in entry["AttachedManagedPolicies"]:
            assert ref["PolicyArn"] in policies, (entry["Arn"], ref["PolicyArn"])
            assert policies[ref["PolicyArn"]]["PolicyName"] == ref["PolicyName"]
        if "PermissionsBoundary" in entry:
            boundary = entry["PermissionsBoundary"]
            assert boundary["PermissionsBoundaryType"] == "PermissionsBoundaryPolicy"
            assert boundary["PermissionsBoundaryArn"] in policies


@pytest.mark.parametrize("name", list(EXPORTS))
def test_attachment_counts_agree_with_the_principals(name: str) -> None:
    export = EXPORTS[name]
    counts: dict[str, int] = {}
    boundary_counts: dict[str, int] = {}
    for kind, entry in entities(export):
        if kind == "policy":
            continue
        for ref in entry["AttachedManagedPolicies"]:
            counts[ref["PolicyArn"]] = counts.get(ref["PolicyArn"], 0) + 1
        if "PermissionsBoundary" in entry:
            arn = entry["PermissionsBoundary"]["PermissionsBoundaryArn"]
            boundary_counts[arn] = boundary_counts.get(arn, 0) + 1
    for policy in export["Policies"]:
        assert policy["AttachmentCount"] == counts.get(policy["Arn"], 0), policy["Arn"]
        assert policy["PermissionsBoundaryUsageCount"] == boundary_counts.get(policy["Arn"], 0), policy["Arn"]


@pytest.mark.parametrize("name", list(EXPORTS))
def test_exactly_one_default_version_per_policy(name: str) -> None:
    for policy in EXPORTS[name]["Policies"]:
        defaults = [v["VersionId"] for v in policy["PolicyVersionList"] if v["IsDefaultVersion"]]
        assert defaults == [policy["DefaultVersionId"]], policy["Arn"]
        ids = [v["VersionId"] for v in policy["PolicyVersionList"]]
        assert len(ids) == len(set(ids)) and all(re.fullmatch(r"v\d+", i) for i in ids)


@pytest.mark.parametrize("name", list(EXPORTS))
def test_every_document_decodes_to_a_policy(name: str) -> None:
    for where, raw in all_documents(EXPORTS[name]):
        doc = document(raw)
        assert doc.get("Version") == "2012-10-17", where
        statements = doc["Statement"] if isinstance(doc["Statement"], list) else [doc["Statement"]]
        for statement in statements:
            assert statement["Effect"] in ("Allow", "Deny"), where
            assert ("Action" in statement) != ("NotAction" in statement), where
            if where.endswith("#trust"):
                assert "Principal" in statement, where
            else:
                assert ("Resource" in statement) != ("NotResource" in statement), where


def test_some_documents_are_url_encoded_as_the_raw_api_returns_them() -> None:
    raw = [r for export in EXPORTS.values() for _, r in all_documents(export)]
    encoded = [r for r in raw if isinstance(r, str)]
    assert encoded and all(r.startswith("%7B") for r in encoded)
    assert len(encoded) < len(raw)


def test_the_primer_is_covered() -> None:
    main = EXPORTS["demo-org.json"]
    groups = {g["GroupName"] for g in main["GroupDetailList"]}
    assert {"Admins", "NetworkEngineers", "DatabaseAdministrators", "Developers"} <= groups
    assert max(len(u["GroupList"]) for u in main["UserDetailList"]) >= 3
    aws_managed = {p["PolicyName"] for p in main["Policies"] if p["Arn"].startswith("arn:aws:iam::aws:")}
    assert {
        "AdministratorAccess",
        "ReadOnlyAccess",
        "PowerUserAccess",
        "IAMUserChangePassword",
        "AmazonEC2ReadOnlyAccess",
    } <= aws_managed
    assert any(len(p["PolicyVersionList"]) >= 3 for p in main["Policies"])
    text = json.dumps([document(r) for export in EXPORTS.values() for _, r in all_documents(export)])
    for needle in (
        "aws:SourceIp",
        "aws:MultiFactorAuthPresent",
        "BoolIfExists",
        "aws:CurrentTime",
        "DateGreaterThan",
        "DateLessThan",
        "sts:ExternalId",
        "${aws:PrincipalTag/team}",
        "NotAction",
        "NotResource",
        "ec2.amazonaws.com",
        "lambda.amazonaws.com",
    ):
        assert needle in text, needle
    assert all(u["Tags"] for u in main["UserDetailList"])


# ---- the credential report --------------------------------------------------------------------


def test_credential_report_header_is_exactly_aws() -> None:
    with (SEEDS / "credential-report.csv").open() as handle:
        header = next(csv.reader(handle))
    assert header == [
        "user",
        "arn",
        "user_creation_time",
        "password_enabled",
        "password_last_used",
        "password_last_changed",
        "password_next_rotation",
        "mfa_active",
        "access_key_1_active",
        "access_key_1_last_rotated",
        "access_key_1_last_used_date",
        "access_key_1_last_used_region",
        "access_key_1_last_used_service",
        "access_key_2_active",
        "access_key_2_last_rotated",
        "access_key_2_last_used_date",
        "access_key_2_last_used_region",
        "access_key_2_last_used_service",
        "cert_1_active",
        "cert_1_last_rotated",
        "cert_2_active",
        "cert_2_last_rotated",
    ]


def test_credential_report_users_are_seed_users() -> None:
    main = EXPORTS["demo-org.json"]
    users = {u["Arn"]: u for u in main["UserDetailList"]}
    for name in MANIFEST["credential_reports"]:
        facts = parse_credential_report((SEEDS / name).read_text(), source=name)
        rows = [f for f in facts if not f.is_root]
        (root,) = [f for f in facts if f.is_root]
        assert root.arn == f"arn:aws:iam::{MAIN_ACCOUNT}:root"
        for row in rows:
            assert row.arn in users, row.arn
            assert users[row.arn]["UserName"] == row.user
            assert users[row.arn]["CreateDate"] == row.user_creation_time
        assert {f.arn for f in rows} == set(users)  # the report covers every user of the account


def test_credential_report_has_humans_and_bots() -> None:
    facts = {f.user: f for f in parse_credential_report((SEEDS / "credential-report.csv").read_text())}
    assert facts["alice"].password_enabled and facts["alice"].mfa_active
    assert facts["ci-bot"].password_enabled is False and facts["ci-bot"].access_keys_active >= 1


# ---- the documented facts, checked against the documents ---------------------------------------
# A deliberately small evaluator for one question: may principal P call sts:AssumeRole on role R?
# Trust must let P in; unless a Service principal, P's identity policies (boundary included) must allow
# sts:AssumeRole on R. Condition keys on the statements used are reported, not evaluated.

NEEDS = {"aws:multifactorauthpresent": "mfa", "aws:sourceip": "source_ip", "sts:externalid": "external_id"}


def _pattern(text: str) -> re.Pattern[str]:
    return re.compile(
        "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in text), re.DOTALL
    )


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _statements(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return _as_list(doc["Statement"])


def _matches(statement: dict[str, Any], action: str, resource: str) -> bool:
    if "Action" in statement:
        acts = any(_pattern(a.lower()).fullmatch(action.lower()) for a in _as_list(statement["Action"]))
    else:
        acts = not any(
            _pattern(a.lower()).fullmatch(action.lower()) for a in _as_list(statement["NotAction"])
        )
    if "Resource" in statement:
        res = any(_pattern(r).fullmatch(resource) for r in _as_list(statement["Resource"]))
    else:
        res = not any(_pattern(r).fullmatch(resource) for r in _as_list(statement["NotResource"]))
    return acts and res


def _needs(statement: dict[str, Any]) -> set[str]:
    keys = {key.lower() for operator in statement.get("Condition", {}).values() for key in operator}
    return {NEEDS[k] for k in keys if k in NEEDS}


@dataclass
class Principal:
    arn: str
    account: str
    identity: list[dict[str, Any]] = field(default_factory=list)
    boundary: dict[str, Any] | None = None


def _principals() -> dict[str, Principal]:
    out: dict[str, Principal] = {}
    for export in EXPORTS.values():
        account = account_of(export)
        policies = {p["Arn"]: default_document(p) for p in export["Policies"]}
        groups = {g["GroupName"]: g for g in export["GroupDetailList"]}

        def docs(
            entry: dict[str, Any], inline_key: str, policies: dict[str, dict[str, Any]] = policies
        ) -> list[dict[str, Any]]:
            found = [document(p["PolicyDocument"]) for p in entry.get(inline_key, [])]
            return found + [policies[r["PolicyArn"]] for r in entry["AttachedManagedPolicies"]]

        for user in export["UserDetailList"]:
            identity = docs(user, "UserPolicyList")
            for name in user["GroupList"]:
                identity += docs(groups[name], "GroupPolicyList")
            out[user["Arn"]] = Principal(user["Arn"], account, identity)
        for role in export["RoleDetailList"]:
            out[role["Arn"]] = Principal(role["Arn"], account, docs(role, "RolePolicyList"))
        for entry in (*export["UserDetailList"], *export["RoleDetailList"]):
            if "PermissionsBoundary" in entry:
                out[entry["Arn"]].boundary = policies[entry["PermissionsBoundary"]["PermissionsBoundaryArn"]]
    return out


def _identity_allows(principal: Principal, role_arn: str) -> set[str] | None:
    """The condition needs under which identity (and boundary) allow sts:AssumeRole; None if never."""

    def allowing(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            s
            for d in docs
            for s in _statements(d)
            if s["Effect"] == "Allow" and _matches(s, "sts:AssumeRole", role_arn)
        ]

    allows = allowing(principal.identity)
    denies = [
        s
        for d in principal.identity
        for s in _statements(d)
        if s["Effect"] == "Deny" and _matches(s, "sts:AssumeRole", role_arn)
    ]
    if not allows or any("Condition" not in s for s in denies):
        return None
    needs: set[str] = set()
    unconditional = [s for s in allows if "Condition" not in s]
    for s in unconditional or allows:
        needs |= _needs(s)
    for s in denies:
        needs |= _needs(s)
    if principal.boundary is not None:
        bounded = allowing([principal.boundary])
        if not bounded:
            return None
        needs |= (
            set().union(*(_needs(s) for s in bounded)) if all("Condition" in s for s in bounded) else set()
        )
    return needs


def computed_can_assume() -> set[tuple[str, str, frozenset[str]]]:
    principals = _principals()
    edges: set[tuple[str, str, frozenset[str]]] = set()
    for export in EXPORTS.values():
        account = account_of(export)
        for role in export["RoleDetailList"]:
            for statement in _statements(document(role["AssumeRolePolicyDocument"])):
                if statement["Effect"] != "Allow" or "sts:AssumeRole" not in _as_list(statement["Action"]):
                    continue
                trust_needs = _needs(statement)
                for service in _as_list(statement["Principal"].get("Service", [])):
                    edges.add((service, role["Arn"], frozenset(trust_needs)))
                for named in _as_list(statement["Principal"].get("AWS", [])):
                    root = re.fullmatch(r"(?:arn:aws:iam::)?(\d{12})(?::root)?", named)
                    if root:  # the account root: every principal of that account, except the role itself
                        candidates = [
                            p for p in principals.values() if p.account == root[1] and p.arn != role["Arn"]
                        ]
                    else:
                        candidates = [principals[named]] if named in principals else []
                    for candidate in candidates:
                        needs = _identity_allows(candidate, role["Arn"])
                        if needs is not None:
                            edges.add((candidate.arn, role["Arn"], frozenset(trust_needs | needs)))
        assert account  # every export has an account
    return edges


def test_documented_can_assume_edges_are_exactly_what_the_documents_allow() -> None:
    documented = {(e["from"], e["to"], frozenset(e["needs"])) for e in FACTS["can_assume"]}
    assert computed_can_assume() == documented


def test_documented_chains_follow_can_assume_edges() -> None:
    edges = {(e["from"], e["to"]) for e in FACTS["can_assume"]}
    assert any(len(chain) >= 4 for chain in FACTS["chains"])
    for chain in FACTS["chains"]:
        for hop in itertools.pairwise(chain):
            assert hop in edges, hop


def test_documented_boundaries_match_the_export() -> None:
    found = {
        entry["Arn"]: entry["PermissionsBoundary"]["PermissionsBoundaryArn"]
        for export in EXPORTS.values()
        for _, entry in entities(export)
        if "PermissionsBoundary" in entry
    }
    assert found == FACTS["boundaries"]


def test_admin_equivalent_principals_have_administrator_access() -> None:
    principals = _principals()
    admins = {
        arn
        for arn, p in principals.items()
        if p.boundary is None
        and any(
            s["Effect"] == "Allow"
            and s.get("Action") == "*"
            and s.get("Resource") == "*"
            and "Condition" not in s
            for d in p.identity
            for s in _statements(d)
        )
    }
    assert admins == set(FACTS["admin_equivalent"])


def test_documented_escalations_are_set_up() -> None:
    principals = _principals()
    main = EXPORTS["demo-org.json"]
    policies = {p["Arn"]: p for p in main["Policies"]}
    for escalation in FACTS["escalations"]:
        actor = principals[escalation["from"]]
        target = escalation.get("policy", "*")
        for permission in escalation["permissions"]:
            resource = target if permission.startswith("iam:") and "policy" in escalation else "*"
            if permission == "iam:PassRole":
                resource = escalation["to"]
            assert any(
                s["Effect"] == "Allow" and _matches(s, permission, resource)
                for d in actor.identity
                for s in _statements(d)
            ), (escalation["from"], permission)
        if "policy" in escalation:
            attached = [d for d in actor.identity if d == default_document(policies[escalation["policy"]])]
            assert attached, "the policy is attached to the actor"
    dave_policy = policies["arn:aws:iam::111111111111:policy/engineering/ReleaseManagerPolicy"]
    non_default = [
        document(v["Document"]) for v in dave_policy["PolicyVersionList"] if not v["IsDefaultVersion"]
    ]
    assert any(s.get("Action") == "*" for d in non_default for s in _statements(d))


def test_facts_name_only_principals_that_exist() -> None:
    principals = _principals()
    for entry in FACTS["simulate"]:
        assert entry["principal"] in principals
        assert entry["decision"] in ("ALLOWED", "EXPLICIT_DENY", "IMPLICIT_DENY")


# ---- reproducibility --------------------------------------------------------------------------


def test_seeds_are_what_build_seeds_makes() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("build_seeds", SEEDS / "build_seeds.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name, doc in module.build(GAAD_EXAMPLE).items():
        assert (SEEDS / name).read_text() == module.render(doc), f"{name} is stale: run seeds/build_seeds.py"


def test_aws_managed_documents_are_the_real_ones() -> None:
    real = {p["Arn"]: p for p in json.loads(GAAD_EXAMPLE.read_text())["Policies"]}
    copied = [p for p in EXPORTS["demo-org.json"]["Policies"] if p["Arn"] in real]
    assert {p["PolicyName"] for p in copied} >= {"AdministratorAccess", "ReadOnlyAccess", "PowerUserAccess"}
    for policy in copied:
        assert policy["PolicyVersionList"] == real[policy["Arn"]]["PolicyVersionList"]


def test_the_demo_org_holds_resources_and_an_rcp_blocking_the_public_bucket() -> None:
    from graphiam.changes.load import load_files, seed_files
    from graphiam.graph.snapshot import build_snapshot
    from graphiam.queries.resources import is_public
    from graphiam.store import open_database, reader

    db = open_database(None, buffer_pool_mb=256)
    load_files(db, seed_files(SEEDS))
    snap = build_snapshot(db)
    assert {r.arn: r.type for r in snap.resources.values()} == {
        "arn:aws:s3:::example-corp-partner-share": "s3:bucket",
        "arn:aws:s3:::example-corp-public-site": "s3:bucket",
        "arn:aws:kms:us-east-1:111111111111:key/3f1c9a2e-5b7d-4e8f-9a10-2b3c4d5e6f70": "kms:key",
    }
    assert reader.account_counts(db)["111111111111"].resources == 3
    assert is_public(snap.resources["arn:aws:s3:::example-corp-public-site"].policy_text)
    assert not is_public(snap.resources["arn:aws:s3:::example-corp-partner-share"].policy_text)
    names = reader.names_of(db, ["arn:aws:s3:::example-corp-partner-share"])[
        "arn:aws:s3:::example-corp-partner-share"
    ]
    assert any(n.kind == "account" and n.value == "222222222222" and n.effect == "Allow" for n in names)
    levels = snap.rcp_levels("111111111111")
    assert levels is not None and "DenyPublicS3" in [p.name for p in levels[0]]
    assert snap.rcp_levels("222222222222") is None  # the partner is outside the organization
    db.close()
