"""Re-loading one account of a multi-account organisation gives the graph (derived edges included) and the
import summary that a fresh load of the same final files gives."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from graphiam.changes import load as loading
from graphiam.changes.load import load_files
from graphiam.derive import refresh
from graphiam.queries import history
from graphiam.store import Database, open_database
from tests.helpers import generator_module, graph_fingerprint

Doc = dict[str, Any]
ORG = {"users": 30, "roles": 24, "policies": 30, "accounts": 3, "seed": 11}


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Doc]:
    """account id -> its GAAD export (three accounts that trust each other's accounts)."""
    gen = generator_module()
    return {gen.account_of(d): d for d in gen.generate_org(**ORG)}


def _write(directory: Path, exports: dict[str, Doc]) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    out = []
    for account, export in sorted(exports.items()):
        path = directory / f"{account}.json"
        path.write_text(json.dumps(export))
        out.append(path)
    return out


def _document(value: Any) -> Doc:
    doc: Doc = json.loads(unquote(value) if isinstance(value, str) else json.dumps(value))
    return doc


def _statements(doc: Doc) -> list[Doc]:
    st = doc.get("Statement", [])
    return [st] if isinstance(st, dict) else list(st)


def _names_peer(statement: Doc, account: str) -> bool:
    aws = (
        statement.get("Principal", {}).get("AWS", []) if isinstance(statement.get("Principal"), dict) else []
    )
    aws = [aws] if isinstance(aws, str) else aws
    return any(account not in a for a in aws)


# ---- changes to one account's export: (the export, its account, the other accounts) -> None ----


def _policies_changed(e: Doc, account: str, peers: list[str]) -> None:
    used = {
        a["PolicyArn"]
        for x in e["UserDetailList"] + e["RoleDetailList"]
        for a in x["AttachedManagedPolicies"]
    }
    policy = next(p for p in e["Policies"] if p["Arn"] in used and f":{account}:" in p["Arn"])
    for v in policy["PolicyVersionList"]:
        if v["IsDefaultVersion"]:
            v["Document"] = {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
            }
    user = e["UserDetailList"][1]
    user["UserPolicyList"] = [
        {
            "PolicyName": "reach-peers",
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": f"arn:aws:iam::{p}:role/*"}
                    for p in peers
                ]
                + [{"Effect": "Allow", "Action": "iam:AttachUserPolicy", "Resource": "*"}],
            },
        }
    ]


def _principal_added(e: Doc, account: str, peers: list[str]) -> None:
    e["UserDetailList"].append(
        {
            "Path": "/",
            "UserName": "newcomer",
            "UserId": "AIDANEWCOMER000000001",
            "Arn": f"arn:aws:iam::{account}:user/newcomer",
            "CreateDate": "2024-01-01T00:00:00+00:00",
            "GroupList": [e["GroupDetailList"][0]["GroupName"]] if e["GroupDetailList"] else [],
            "AttachedManagedPolicies": [],
            "UserPolicyList": [
                {
                    "PolicyName": "everything",
                    "PolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {"Effect": "Allow", "Action": ["sts:AssumeRole", "iam:PassRole"], "Resource": "*"}
                        ],
                    },
                }
            ],
            "Tags": [],
        }
    )
    e["RoleDetailList"].append(
        {
            "Path": "/",
            "RoleName": "shared-with-peers",
            "RoleId": "AROANEWROLE0000000001",
            "Arn": f"arn:aws:iam::{account}:role/shared-with-peers",
            "CreateDate": "2024-01-01T00:00:00+00:00",
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{p}:root"},
                        "Action": "sts:AssumeRole",
                    }
                    for p in peers
                ],
            },
            "InstanceProfileList": [],
            "RolePolicyList": [],
            "AttachedManagedPolicies": [],
            "Tags": [],
        }
    )


def _principal_removed(e: Doc, account: str, peers: list[str]) -> None:
    trusted = [
        r
        for r in e["RoleDetailList"]
        if any(_names_peer(s, account) for s in _statements(_document(r["AssumeRolePolicyDocument"])))
    ]
    assert trusted, "the generated account has a role another account may assume"
    gone = {trusted[0]["Arn"], e["UserDetailList"][0]["Arn"]}
    e["RoleDetailList"] = [r for r in e["RoleDetailList"] if r["Arn"] not in gone]
    e["UserDetailList"] = [u for u in e["UserDetailList"] if u["Arn"] not in gone]


def _trust_added(e: Doc, account: str, peers: list[str]) -> None:
    for role in e["RoleDetailList"][:3]:
        doc = _document(role["AssumeRolePolicyDocument"])
        doc["Statement"] = _statements(doc) + [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{peers[0]}:root"},
                "Action": "sts:AssumeRole",
            },
            {"Effect": "Allow", "Principal": {"AWS": peers[1]}, "Action": "sts:AssumeRole"},
        ]
        role["AssumeRolePolicyDocument"] = doc


def _trust_removed(e: Doc, account: str, peers: list[str]) -> None:
    removed = 0
    for role in e["RoleDetailList"]:
        doc = _document(role["AssumeRolePolicyDocument"])
        kept = [s for s in _statements(doc) if not _names_peer(s, account)]
        removed += len(_statements(doc)) - len(kept)
        doc["Statement"] = kept or [
            {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ]
        role["AssumeRolePolicyDocument"] = doc
    assert removed, "the generated account trusts another account"


def _aws_managed_attached(e: Doc, account: str, peers: list[str]) -> None:
    """Every AWS-managed policy of the export attached to a role (its findings count once attached), and one
    detached from every user."""
    aws = [p for p in e["Policies"] if ":aws:policy/" in p["Arn"]]
    assert aws, "the generated export holds AWS-managed policies"
    role = e["RoleDetailList"][0]
    role["AttachedManagedPolicies"] += [{"PolicyName": p["PolicyName"], "PolicyArn": p["Arn"]} for p in aws]
    for user in e["UserDetailList"]:
        user["AttachedManagedPolicies"] = [
            a for a in user["AttachedManagedPolicies"] if a["PolicyArn"] != aws[0]["Arn"]
        ]


def _foreign_policy_named(e: Doc, account: str, peers: list[str]) -> None:
    """A user names a customer-managed policy of another (loaded) account that the export does not hold:
    the load writes nothing of that account, yet names it (its summary entities are read again)."""
    peer_policy = f"arn:aws:iam::{peers[0]}:policy/policy-shared-elsewhere"
    e["UserDetailList"][2]["AttachedManagedPolicies"].append(
        {"PolicyName": "policy-shared-elsewhere", "PolicyArn": peer_policy}
    )


CHANGES: dict[str, Callable[[Doc, str, list[str]], None]] = {
    "aws-managed-attached": _aws_managed_attached,
    "foreign-policy-named": _foreign_policy_named,
    "policies-changed": _policies_changed,
    "principal-added": _principal_added,
    "principal-removed": _principal_removed,
    "trust-added": _trust_added,
    "trust-removed": _trust_removed,
}


def _principals(export: Doc) -> int:
    return len(export["UserDetailList"]) + len(export["RoleDetailList"])


def _state(db: Database) -> tuple[dict[str, str], dict[str, Any]]:
    newest = history.latest(db)
    assert newest is not None
    return graph_fingerprint(db), newest[1]


@pytest.mark.parametrize(
    ("change", "where"), [*((c, "file") for c in sorted(CHANGES)), ("policies-changed", "memory")]
)
def test_reloading_one_account_equals_a_full_load_of_the_final_files(
    org, tmp_path, monkeypatch, change, where
):
    """On a database file (a failed write puts the file back) and in memory (rehearsed on a copy). The reload
    derives from a snapshot of part of the graph (the account and the principals it can reach)."""
    partial: list[int] = []
    build = getattr(refresh, "build_partial_snapshot")  # noqa: B009 (what refresh.py calls, spied on)

    def spy(db: Database, **scope: Any) -> Any:
        snap = build(db, **scope)
        partial.append(len(snap.principals))
        return snap

    monkeypatch.setattr(refresh, "build_partial_snapshot", spy)
    updated: list[frozenset[str] | None] = []
    summarise = getattr(loading, "summarise")  # noqa: B009 (what load.py calls, spied on)

    def summary_spy(db: Database, **kw: Any) -> Any:
        updated.append(kw.get("changed"))
        return summarise(db, **kw)

    monkeypatch.setattr(loading, "summarise", summary_spy)
    accounts = sorted(org)
    target, peers = accounts[1], [accounts[0], accounts[2]]
    db = open_database(tmp_path / "db" if where == "file" else None, buffer_pool_mb=256)
    fresh = open_database(None, buffer_pool_mb=256)
    try:
        files = _write(tmp_path / "org", org)
        load_files(db, files)
        final = json.loads(json.dumps(org))
        CHANGES[change](final[target], target, peers)
        _write(tmp_path / "org", {target: final[target]})  # the same file, changed
        load_files(db, [tmp_path / "org" / f"{target}.json"])
        assert partial and all(n < sum(map(_principals, final.values())) for n in partial)
        assert updated[-1] is not None and target in updated[-1]  # the summary is updated, not made anew
        load_files(fresh, files)
        got, want = _state(db), _state(fresh)
        assert got[0] == want[0]
        assert got[1] == want[1]
    finally:
        db.close()
        fresh.close()


def test_loading_a_new_account_into_an_organisation_equals_a_full_load(tmp_path):
    """The other accounts' roles that trusted the new account's root trusted an external principal; now its
    principals assume them."""
    gen = generator_module()
    exports = {gen.account_of(d): d for d in gen.generate_org(**{**ORG, "accounts": 4})}
    files = _write(tmp_path / "org", exports)
    newcomer = files[2]
    db = open_database(tmp_path / "db", buffer_pool_mb=256)
    fresh = open_database(None, buffer_pool_mb=256)
    try:
        load_files(db, [f for f in files if f != newcomer])
        load_files(db, [newcomer])
        load_files(fresh, files)
        got, want = _state(db), _state(fresh)
        assert got[0] == want[0]
        assert got[1] == want[1]
    finally:
        db.close()
        fresh.close()


def _everyone(e: Doc, index: int) -> None:
    """Role `index` of the export trusts every AWS principal whose account is one of the organisation's."""
    role = e["RoleDetailList"][index]
    role["AssumeRolePolicyDocument"] = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}],
    }


@pytest.mark.parametrize("whose", ["another account's role", "the account's own role"])
def test_a_trust_naming_everyone_is_re_derived_for_the_reloaded_account(org, tmp_path, whose):
    """Another account's role trusting `*`: the reloaded account's principals are re-decided against it (and
    nobody else is). The reloaded account's own role trusting `*`: every principal may assume it, so the
    derivation reads the whole graph."""
    accounts = sorted(org)
    target, peers = accounts[1], [accounts[0], accounts[2]]
    before = json.loads(json.dumps(org))
    _everyone(before[peers[0]] if whose.startswith("another") else before[target], 0)
    after = json.loads(json.dumps(before))
    _policies_changed(after[target], target, peers)
    db = open_database(tmp_path / "db", buffer_pool_mb=256)
    fresh = open_database(None, buffer_pool_mb=256)
    try:
        files = _write(tmp_path / "org", before)
        load_files(db, files)
        _write(tmp_path / "org", {target: after[target]})
        load_files(db, [tmp_path / "org" / f"{target}.json"])
        load_files(fresh, files)
        got, want = _state(db), _state(fresh)
        assert got[0] == want[0]
        assert got[1] == want[1]
        star = db.execute(
            "MATCH (s)-[:CAN_ASSUME]->(r:Role) WHERE r.arn = $r RETURN count(DISTINCT s.account) AS n",
            {
                "r": (after[peers[0]] if whose.startswith("another") else after[target])["RoleDetailList"][0][
                    "Arn"
                ]
            },
        )
        assert star[0]["n"] >= 2  # principals of more than one account assume the role trusting `*`
    finally:
        db.close()
        fresh.close()


CREDENTIALS_HEADER = (
    "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,"
    "password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,"
    "access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,"
    "access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,"
    "access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated"
)


def _credential_row(user: Doc, *, password: bool, keys: bool) -> str:
    return (
        f"{user['UserName']},{user['Arn']},2020-01-01T00:00:00+00:00,{str(password).lower()},N/A,N/A,N/A,false,"
        f"{str(keys).lower()},N/A,N/A,N/A,N/A,{str(keys).lower()},N/A,N/A,N/A,N/A,false,N/A,false,N/A"
    )


def test_a_credential_report_loaded_alone_equals_a_full_load(org, tmp_path):
    """A credential report changes what escalation techniques need (a password, access keys): the accounts of
    its users are re-derived."""
    accounts = sorted(org)
    files = _write(tmp_path / "org", org)
    users = [u for a in accounts[:2] for u in org[a]["UserDetailList"][:6]]
    report = tmp_path / "credential-report.csv"
    rows = [_credential_row(u, password=i % 2 == 0, keys=i % 3 == 0) for i, u in enumerate(users)]
    report.write_text("\n".join([CREDENTIALS_HEADER, *rows]) + "\n")
    db = open_database(tmp_path / "db", buffer_pool_mb=256)
    fresh = open_database(None, buffer_pool_mb=256)
    try:
        load_files(db, files)
        load_files(db, [report])
        load_files(fresh, [*files, report])
        got, want = _state(db), _state(fresh)
        assert got[0] == want[0]
        assert got[1] == want[1]
    finally:
        db.close()
        fresh.close()
