"""resourceRisks: what stored resource policies let principals do beyond using the resource (a key policy
letting a principal change it or create grants), answers worked out by hand."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from graphiam.changes.load import load_files
from graphiam.graph.snapshot import build_snapshot
from graphiam.queries.resource_risks import resource_risks
from tests.helpers import RES_A, RES_B, RES_X, GraphQLClient, allow, doc, write_collect

KEY = f"arn:aws:kms:us-east-1:{RES_A}:key/k-2"


def _grant(principal: Any, action: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Principal": principal, "Action": action, "Resource": "*"}


def test_a_key_policy_letting_principals_change_it_or_grant(tmp_path: Path, make_db: Any) -> None:
    root = write_collect(
        tmp_path,
        {
            RES_A: {
                "users": {"keyadmin": [allow("kms:*", "*")], "admin": [allow("*", "*")], "reader": []},
                "resources": {
                    KEY: doc(
                        _grant({"AWS": f"arn:aws:iam::{RES_A}:root"}, "kms:*"),
                        _grant({"AWS": f"arn:aws:iam::{RES_B}:user/ops"}, "kms:CreateGrant"),
                        _grant({"AWS": RES_X}, "kms:PutKeyPolicy"),
                        _grant({"AWS": f"arn:aws:iam::{RES_A}:user/reader"}, "kms:Decrypt"),
                    )
                },
            },
            RES_B: {"users": {"ops": [allow("kms:CreateGrant", "*")]}},
        },
    )
    db = make_db()
    load_files(db, [root])
    risks = resource_risks(db, build_snapshot(db))
    got = [(r.risk, r.principal, r.kind, r.via, r.actions, r.conditional) for r in risks]
    assert got == [
        # account X is not loaded: any of its principals its own policies allow may replace the key policy
        ("key-policy-control", RES_X, "account", "resource", ("kms:PutKeyPolicy",), False),
        # keyadmin's IAM allow counts because the key policy allows its account (both are needed on a key)
        (
            "key-policy-control",
            f"arn:aws:iam::{RES_A}:user/keyadmin",
            "user",
            "both",
            ("kms:PutKeyPolicy", "kms:CreateGrant"),
            False,
        ),
        ("key-policy-control", f"arn:aws:iam::{RES_B}:user/ops", "user", "both", ("kms:CreateGrant",), False),
        # admin is administrator already (left out); reader may only decrypt
    ]
    assert resource_risks(db, build_snapshot(db), account=RES_B) == []
    rows = GraphQLClient(db)(
        "{ resourceRisks { resource risk principalArn kind via actions principalAccount role } }"
    )["resourceRisks"]
    assert [(r["risk"], r["principalArn"], r["kind"], r["via"]) for r in rows] == [
        ("KEY_POLICY_CONTROL", RES_X, "ACCOUNT", "RESOURCE"),
        ("KEY_POLICY_CONTROL", f"arn:aws:iam::{RES_A}:user/keyadmin", "USER", "BOTH"),
        ("KEY_POLICY_CONTROL", f"arn:aws:iam::{RES_B}:user/ops", "USER", "BOTH"),
    ]
    assert rows[0]["resource"] == KEY and rows[0]["role"] is None


def test_a_function_running_as_an_administrator(tmp_path: Path, make_db: Any) -> None:
    function = f"arn:aws:lambda:us-east-1:{RES_A}:function:ops"
    admin_role, dev = f"arn:aws:iam::{RES_A}:role/fn-admin", f"arn:aws:iam::{RES_B}:user/dev"
    deployer = f"arn:aws:iam::{RES_A}:user/deployer"
    lambda_trust = doc(
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    )
    root = write_collect(
        tmp_path,
        {
            RES_A: {
                "users": {"deployer": []},
                "roles": {"fn-admin": (lambda_trust, [allow("*", "*")])},
                "resources": {
                    function: doc(
                        {**_grant({"AWS": dev}, "lambda:InvokeFunction"), "Resource": function},
                        {**_grant({"AWS": deployer}, "lambda:UpdateFunctionCode"), "Resource": function},
                    )
                },
                "resource_roles": {function: admin_role},
            },
            RES_B: {"users": {"dev": [allow("lambda:InvokeFunction", "*")]}},
        },
    )
    db = make_db()
    load_files(db, [root])
    snap = build_snapshot(db)
    fn = snap.resource(function)
    assert fn is not None and fn.role == admin_role
    got = [(r.risk, r.principal, r.via, r.role) for r in resource_risks(db, snap)]
    assert got == [
        # B's dev: the function policy names it and its own policy allows (both needed across accounts)
        ("invoke-admin-function", dev, "both", admin_role),
        # deployer: named by the function policy in its own account, no identity allow needed
        ("update-admin-function", deployer, "resource", admin_role),
    ]
