"""Escalation through a stored Lambda function's policy: a principal its policy lets replace the function's
code becomes the function's execution role (lambda-003), without any identity allow; invoking alone is not a
takeover; GAAD-only graphs (no stored function) are unchanged (tests/derive's comparisons)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from graphiam.changes.load import load_files
from tests.helpers import RES_A, GraphQLClient, allow, doc, write_collect

FUNCTION = f"arn:aws:lambda:us-east-1:{RES_A}:function:ops"
ADMIN_ROLE = f"arn:aws:iam::{RES_A}:role/fn-admin"
DEPLOYER, CALLER = f"arn:aws:iam::{RES_A}:user/deployer", f"arn:aws:iam::{RES_A}:user/caller"
PATHS = """query($f: String!) { escalationPaths(from: $f) { length reachesAdmin
  steps { from to technique assumptions permissions { action resource } } } }"""


def _store(tmp_path: Path, *, role: str | None) -> Path:
    trust = doc(
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    )
    return write_collect(
        tmp_path,
        {
            RES_A: {
                "users": {"deployer": [allow("lambda:GetFunction", "*")], "caller": []},
                "roles": {"fn-admin": (trust, [allow("*", "*")])},
                "resources": {
                    FUNCTION: doc(
                        {
                            "Effect": "Allow",
                            "Principal": {"AWS": DEPLOYER},
                            "Action": "lambda:UpdateFunctionCode",
                            "Resource": FUNCTION,
                        },
                        {
                            "Effect": "Allow",
                            "Principal": {"AWS": CALLER},
                            "Action": "lambda:InvokeFunction",
                            "Resource": FUNCTION,
                        },
                    )
                },
                "resource_roles": {FUNCTION: role} if role else {},
            }
        },
    )


def test_the_function_policy_lets_a_principal_take_over_its_role(tmp_path: Path, make_db: Any) -> None:
    db = make_db()
    load_files(db, [_store(tmp_path, role=ADMIN_ROLE)])
    gql = GraphQLClient(db)
    paths = gql(PATHS, {"f": DEPLOYER})["escalationPaths"]
    assert [(p["length"], p["reachesAdmin"]) for p in paths] == [(1, True)]
    (step,) = paths[0]["steps"]
    assert (step["from"], step["to"], step["technique"], step["assumptions"]) == (
        DEPLOYER,
        ADMIN_ROLE,
        "lambda-003",
        [],
    )
    assert {"action": "lambda:UpdateFunctionCode", "resource": FUNCTION} in step["permissions"]
    # invoking the function runs its code, not the caller's: no escalation
    assert gql(PATHS, {"f": CALLER})["escalationPaths"] == []


def test_without_the_functions_role_nothing_is_derived(tmp_path: Path, make_db: Any) -> None:
    db = make_db()
    load_files(db, [_store(tmp_path, role=None)])
    assert GraphQLClient(db)(PATHS, {"f": DEPLOYER})["escalationPaths"] == []
