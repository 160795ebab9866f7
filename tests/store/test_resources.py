"""Resources and RCPs in the store: written with their account, read back by the snapshot, NAMES derived."""

from __future__ import annotations

import json

from graphiam.derive.refresh import refresh_derived
from graphiam.graph.snapshot import build_snapshot
from graphiam.model import (
    AccountExport,
    Organization,
    OrgUnit,
    Resource,
    ResourceControlPolicy,
    ServiceControlPolicy,
    User,
)
from graphiam.store import Database, open_database, reader
from graphiam.store.org_store import replace_organization
from graphiam.store.writer import load_exports

A, B = "111111111111", "222222222222"
ALICE = f"arn:aws:iam::{A}:user/alice"
ALL = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
)
BUCKET_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": [ALICE, B]}, "Action": "s3:GetObject", "Resource": "*"},
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abcdefghij"}},
            },
            {
                "Effect": "Deny",
                "Principal": {"Service": "logs.amazonaws.com"},
                "Action": "*",
                "Resource": "*",
            },
        ],
    }
)


def _export(
    *, users: bool = True, resources: tuple[Resource, ...] = (), parts: set[str] | None = None
) -> AccountExport:
    return AccountExport(
        account_id=A,
        source="test",
        users=(User(arn=ALICE, name="alice", account=A),) if users else (),
        resources=resources,
        parts=frozenset(parts or {"iam", "resources"}),
    )


def _bucket(name: str, policy: str | None = BUCKET_POLICY) -> Resource:
    return Resource(
        arn=f"arn:aws:s3:::{name}", type="s3:bucket", account=A, region="us-east-1", name=name, policy=policy
    )


def _org() -> Organization:
    return Organization(
        id="o-abcdefghij",
        management_account=None,
        source="org.json",
        units=(
            OrgUnit(id="r-abcd", kind="root"),
            OrgUnit(id="ou-abcd-11111111", kind="ou", parent_id="r-abcd"),
            OrgUnit(id=A, kind="account", parent_id="ou-abcd-11111111"),
        ),
        policies=(
            ServiceControlPolicy(
                id="p-FullAWSAccess", name="F", document=ALL, targets=("r-abcd", "ou-abcd-11111111", A)
            ),
        ),
        rcps=(
            ResourceControlPolicy(
                id="p-RCPFullAWSAccess",
                name="RCPFull",
                document=ALL,
                targets=("r-abcd", "ou-abcd-11111111", A),
            ),
            ResourceControlPolicy(
                id="p-rcp1", name="deny-public", document=ALL, targets=("ou-abcd-11111111",)
            ),
        ),
    )


def _load(db, *exports: AccountExport, org: Organization | None = None) -> None:
    with db.transaction():
        if org is not None:
            replace_organization(db, org)
        load_exports(db, list(exports), after=lambda tx, touched: _derive(tx, touched))


def _derive(tx: Database, touched: frozenset[str]) -> None:
    refresh_derived(tx, touched)


def test_resources_and_rcp_levels_reach_the_snapshot() -> None:
    db = open_database(None)
    _load(db, _export(resources=(_bucket("shared"), _bucket("plain", None))), org=_org())
    snap = build_snapshot(db)
    shared = snap.resource("arn:aws:s3:::shared")
    assert shared is not None and shared.type == "s3:bucket" and shared.account == A
    assert shared.policy is not None and len(shared.policy.document.statements) == 3
    assert snap.resource("arn:aws:s3:::plain").policy is None  # type: ignore[union-attr]
    assert snap.governing_resource("arn:aws:s3:::shared/some/key.txt") is shared
    assert snap.governing_resource("arn:aws:s3:::other/key") is None
    assert [r.arn for r in snap.resources_of(type="s3:bucket", account=A)] == [
        "arn:aws:s3:::plain",
        "arn:aws:s3:::shared",
    ]
    rcps = snap.rcp_levels(A)
    assert rcps is not None
    assert [[p.policy_id for p in level] for level in rcps] == [
        ["p-RCPFullAWSAccess"],
        ["p-RCPFullAWSAccess", "p-rcp1"],
        ["p-RCPFullAWSAccess"],
    ]
    assert all(p.kind == "rcp" for level in rcps for p in level)
    assert snap.rcp_levels(B) is None
    scps = snap.scp_levels(A)
    assert scps is not None and [len(level) for level in scps] == [1, 1, 1]
    assert reader.account_counts(db)[A].resources == 2


def test_names_edges_point_at_stored_principals_and_named_nodes() -> None:
    db = open_database(None)
    _load(db, _export(resources=(_bucket("shared"),)))
    names = reader.names_of(db, ["arn:aws:s3:::shared"])["arn:aws:s3:::shared"]
    got = {(n.table, n.kind, n.value, n.effect, n.conditional, n.principal_kind) for n in names}
    assert got == {
        ("User", "user", ALICE, "Allow", False, "AWS"),
        ("Named", "account", B, "Allow", False, "AWS"),
        ("Named", "everyone", "*", "Allow", True, "AWS"),
        ("Named", "organization", "o-abcdefghij", "Allow", True, "aws:PrincipalOrgID"),
        ("Named", "service", "logs.amazonaws.com", "Deny", False, "Service"),
    }


def test_a_resources_only_export_keeps_the_accounts_iam() -> None:
    db = open_database(None)
    _load(db, _export(resources=(_bucket("one"),)))
    _load(db, _export(users=False, resources=(_bucket("two"),), parts={"resources"}))
    assert reader.by_arns(db, "User", [ALICE])  # the IAM of the account stayed
    assert [r.arn for r in reader.all_resources(db)] == ["arn:aws:s3:::two"]  # its resources were replaced
    # and an IAM-only export keeps the resources
    _load(db, _export(parts={"iam"}))
    assert [r.arn for r in reader.all_resources(db)] == ["arn:aws:s3:::two"]
    # the NAMES edge to alice came back after her account's IAM was reloaded
    names = reader.names_of(db, ["arn:aws:s3:::two"])["arn:aws:s3:::two"]
    assert any(n.table == "User" and n.value == ALICE for n in names)


def test_removing_an_account_removes_its_resources() -> None:
    from graphiam.store.mutations import remove_account

    db = open_database(None)
    _load(db, _export(resources=(_bucket("one"),)))
    with db.transaction():
        remove_account(db, A)
    assert reader.all_resources(db) == []
    assert reader.names_of(db, ["arn:aws:s3:::one"]) == {"arn:aws:s3:::one": []}
