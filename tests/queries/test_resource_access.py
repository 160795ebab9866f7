"""resourceAccess: who holds each access level on a stored resource (answers worked out by hand from
tests.helpers.write_resource_store)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from graphiam.changes.load import load_files
from graphiam.errors import NotFoundError
from graphiam.graph.snapshot import build_snapshot
from graphiam.queries.resource_access import ResourceAccess, level_actions, resource_access
from graphiam.store import Database, open_database
from tests.helpers import RES_A, RES_B, RES_KEY, RES_X, SHARED_BUCKET, write_resource_store

ALICE, APP = f"arn:aws:iam::{RES_A}:user/alice", f"arn:aws:iam::{RES_A}:role/app"
BOB, READER = f"arn:aws:iam::{RES_B}:user/bob", f"arn:aws:iam::{RES_B}:role/reader"


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    d = open_database(None, buffer_pool_mb=128)
    load_files(d, [write_resource_store(tmp_path_factory.mktemp("res"), with_org=False)])
    yield d
    d.close()


def by_level(r: ResourceAccess) -> dict[str, dict[str, tuple[str, tuple[str, ...]]]]:
    return {lv.level: {e.principal: (e.via, e.actions) for e in lv.entries} for lv in r.levels}


def test_a_shared_bucket_by_access_level(db: Database) -> None:
    r = resource_access(db, build_snapshot(db), arn=SHARED_BUCKET)
    assert (r.type, r.account, r.has_policy) == ("s3:bucket", RES_A, True)
    got = by_level(r)
    assert got["Read"] == {
        ALICE: ("identity", ("s3:GetObject",)),
        APP: ("identity", ("s3:GetObject",)),  # one decision per level: the first action allowed
        READER: ("both", ("s3:GetObject",)),
        RES_X: ("resource", ("s3:GetObject",)),  # the whole account X, not loaded
    }
    assert got["Write"] == {APP: ("identity", ("s3:PutObject",))}
    assert got["List"] == {}  # app's own policy is for the objects, the bucket policy grants no listing
    assert got["Permissions management"] == {APP: ("identity", ("s3:PutObjectAcl",))}
    assert got["Tagging"] == {APP: ("identity", ("s3:PutObjectTagging",))}
    read = next(lv for lv in r.levels if lv.level == "Read")
    assert read.total == 4 and "s3:GetObject on arn:aws:s3:::shared/*" in read.actions
    assert next(e for e in read.entries if e.principal == RES_X).kind == "account"


def test_a_key_levels_follow_the_catalogue_and_the_key_policy(db: Database) -> None:
    got = by_level(resource_access(db, build_snapshot(db), arn=RES_KEY))
    # kms:Decrypt is a Write action in AWS's reference; alice's IAM allow does not count (the key policy
    # names only account B)
    assert got["Write"] == {BOB: ("both", ("kms:Decrypt",))}
    assert all(not v for k, v in got.items() if k != "Write")


def test_first_caps_each_level_and_unknown_resources_are_refused(db: Database) -> None:
    r = resource_access(db, build_snapshot(db), arn=SHARED_BUCKET, first=1)
    read = next(lv for lv in r.levels if lv.level == "Read")
    assert [e.principal for e in read.entries] == [RES_X] and read.total == 4
    with pytest.raises(NotFoundError, match="not in the graph"):
        resource_access(db, build_snapshot(db), arn="arn:aws:s3:::nope")


def test_a_type_without_a_representative_set_takes_the_catalogue_actions() -> None:
    pairs = level_actions("logs:log-group", "arn:aws:logs:us-east-1:111111111111:log-group:g")
    assert pairs["Write"] and all(a.startswith("logs:") for level in pairs.values() for a, _ in level)
    assert all(len(v) <= 3 for v in pairs.values())
