"""externalAccess on resources: what stored resource policies open to other accounts, outside the
organization or to anyone (answers worked out by hand from tests.helpers.write_resource_store)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from graphiam.changes.load import load_files
from graphiam.graph.snapshot import build_snapshot
from graphiam.queries.external import external_resources
from graphiam.store import Database, open_database
from tests.helpers import (
    ORG_BUCKET,
    PUBLIC_BUCKET,
    RES_A,
    RES_B,
    RES_FUNCTION,
    RES_KEY,
    RES_X,
    SHARED_BUCKET,
    GraphQLClient,
    write_resource_store,
)

READER, NOPERM = f"arn:aws:iam::{RES_B}:role/reader", f"arn:aws:iam::{RES_B}:role/noperm"
Row = tuple[str, str, str, bool, bool, bool, bool]


def _open(tmp_path_factory: pytest.TempPathFactory, with_org: bool) -> Iterator[Database]:
    d = open_database(None, buffer_pool_mb=128)
    load_files(d, [write_resource_store(tmp_path_factory.mktemp("ext"), with_org=with_org)])
    yield d
    d.close()


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    yield from _open(tmp_path_factory, False)


@pytest.fixture(scope="module")
def in_org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    yield from _open(tmp_path_factory, True)


def rows(db: Database) -> list[Row]:
    """(resource, kind, principal, outside organization, public, conditional, RCP denied)"""
    return [
        (
            r.resource,
            r.principal_kind,
            r.principal,
            r.outside_organization,
            r.public,
            bool(r.conditions),
            r.rcp_denied,
        )
        for r in external_resources(build_snapshot(db))
    ]


def test_without_an_organization_every_other_account_is_outside(plain: Database) -> None:
    assert rows(plain) == [
        (RES_KEY, "account", RES_B, True, False, False, False),
        (RES_FUNCTION, "principal", READER, True, False, False, False),
        # `*` limited by an organization id: no organization is stored, so it may be anyone's
        (ORG_BUCKET, "everyone", "*", True, False, True, False),
        (PUBLIC_BUCKET, "everyone", "*", True, True, False, False),
        (SHARED_BUCKET, "principal", READER, True, False, False, False),
        (SHARED_BUCKET, "principal", NOPERM, True, False, False, False),
        (SHARED_BUCKET, "account", RES_X, True, False, False, False),
        # the queue's grant to SNS is bound by aws:SourceArn: not listed
    ]


def test_the_organization_decides_inside_outside_and_its_rcp_blocks(in_org: Database) -> None:
    assert rows(in_org) == [
        (RES_KEY, "account", RES_B, False, False, False, False),
        (RES_FUNCTION, "principal", READER, False, False, False, False),  # Lambda: no RCPs
        # the orgonly bucket's `*` requires the stored organization: neither public nor external
        (PUBLIC_BUCKET, "everyone", "*", True, True, False, True),  # public, but the RCP denies outsiders
        (SHARED_BUCKET, "principal", READER, False, False, False, False),
        (SHARED_BUCKET, "principal", NOPERM, False, False, False, False),
        (SHARED_BUCKET, "account", RES_X, True, False, False, True),
    ]
    assert external_resources(build_snapshot(in_org), account=RES_B) == []
    assert len(external_resources(build_snapshot(in_org), account=RES_A)) == 6


def test_graphql_lists_roles_and_resources(in_org: Database) -> None:
    gql = GraphQLClient(in_org)
    query = """query($t: [ExternalTarget!]) { externalAccess(targets: $t) { target role account principal
      principalKind outsideOrganization unconditional hop { action }
      resource { arn type actions statementIndex public rcpDenied conditions { key values } } } }"""
    got = gql(query, {"t": ["RESOURCE"]})["externalAccess"]
    public = next(r for r in got if r["resource"]["arn"] == PUBLIC_BUCKET)
    assert public == {
        "target": "RESOURCE",
        "role": None,
        "account": RES_A,
        "principal": "*",
        "principalKind": "EVERYONE",
        "outsideOrganization": True,
        "unconditional": True,
        "hop": None,
        "resource": {
            "arn": PUBLIC_BUCKET,
            "type": "s3:bucket",
            "actions": ["s3:GetObject"],
            "statementIndex": 0,
            "public": True,
            "rcpDenied": True,
            "conditions": [],
        },
    }
    assert len(got) == 6
    # B's roles trust their own account only: no role is open from outside the loaded accounts
    assert gql(query, {"t": ["ROLE"]})["externalAccess"] == []
    assert len(gql(query)["externalAccess"]) == 6
