"""whoCan on stored resources: the resource's own policy, RCPs and KMS key policies take part; principals
the policy grants that are not stored users or roles are listed as `outside` (answers worked out by hand from
tests.helpers.write_resource_store)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from graphiam.changes.load import load_files
from graphiam.graph.snapshot import build_snapshot
from graphiam.queries.who_can import WhoCan, who_can
from graphiam.store import Database, open_database
from tests.helpers import (
    ORG_BUCKET,
    PUBLIC_BUCKET,
    RES_A,
    RES_B,
    RES_KEY,
    RES_ORG,
    RES_QUEUE,
    RES_TOPIC,
    RES_X,
    SHARED_BUCKET,
    write_resource_store,
)

ALICE, CAROL, APP = (
    f"arn:aws:iam::{RES_A}:user/alice",
    f"arn:aws:iam::{RES_A}:user/carol",
    f"arn:aws:iam::{RES_A}:role/app",
)
BOB, READER, NOPERM = (
    f"arn:aws:iam::{RES_B}:user/bob",
    f"arn:aws:iam::{RES_B}:role/reader",
    f"arn:aws:iam::{RES_B}:role/noperm",
)


def _db(root: Path) -> Iterator[Database]:
    db = open_database(None, buffer_pool_mb=128)
    load_files(db, [root])
    yield db
    db.close()


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    yield from _db(write_resource_store(tmp_path_factory.mktemp("plain"), with_org=False))


@pytest.fixture(scope="module")
def in_org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    yield from _db(write_resource_store(tmp_path_factory.mktemp("org"), with_org=True))


def ask(db: Database, action: str, resource: str) -> WhoCan:
    return who_can(db, build_snapshot(db), action=action, resource=resource)


def via(w: WhoCan) -> dict[str, tuple[str, bool]]:
    return {a.principal_arn: (a.via, a.conditional) for a in w.allowed}


def outside(w: WhoCan) -> dict[tuple[str, str], bool]:
    return {(o.kind, o.principal): o.conditional for o in w.outside}


def test_a_bucket_shared_with_a_named_role_and_a_whole_account(plain: Database) -> None:
    w = ask(plain, "s3:GetObject", f"{SHARED_BUCKET}/data.csv")  # an object: its bucket's policy
    assert w.governed_by == SHARED_BUCKET
    # alice and app by their own policies; B's reader is named and its identity allows (both sides needed
    # across accounts); B's noperm is named but has no identity allow; bob is not named: denied
    assert via(w) == {ALICE: ("identity", False), APP: ("identity", False), READER: ("both", False)}
    # account X is not loaded: one entry for "any principal of X its own policies allow"
    assert outside(w) == {("account", RES_X): False}
    assert w.outside[0].outside_organization and w.outside[0].account == RES_X


def test_an_rcp_denying_outside_the_organization_drops_other_accounts(in_org: Database) -> None:
    w = ask(in_org, "s3:GetObject", f"{SHARED_BUCKET}/data.csv")
    # A and B are members: their principals carry the organization's id and the RCP does not deny them
    assert via(w) == {ALICE: ("identity", False), APP: ("identity", False), READER: ("both", False)}
    assert outside(w) == {}  # X is outside the organization: the RCP denies it whatever it does


def test_a_key_policy_without_the_account_grants_nothing_to_its_iam_allows(plain: Database) -> None:
    w = ask(plain, "kms:Decrypt", RES_KEY)
    # alice's IAM allow of kms:Decrypt is not enough: the key policy names only account B
    assert via(w) == {BOB: ("both", False)}
    assert outside(w) == {}  # B is loaded: its principals are decided one by one


def test_a_queue_granting_a_service_bound_by_source_arn_is_conditional(plain: Database) -> None:
    w = ask(plain, "sqs:SendMessage", RES_QUEUE)
    assert via(w) == {ALICE: ("identity", False)}
    assert outside(w) == {("service", "sns.amazonaws.com"): True}
    (cond,) = w.outside[0].required_conditions
    assert (cond.key, cond.operator, cond.values) == ("aws:SourceArn", "ArnEquals", (RES_TOPIC,))
    assert not w.outside[0].outside_organization


def test_a_public_bucket(plain: Database, in_org: Database) -> None:
    w = ask(plain, "s3:GetObject", f"{PUBLIC_BUCKET}/index.html")
    # `*` grants same-account principals by itself (carol has no policy; app's own policy is for `shared`);
    # across accounts B's principals still need their identity allow (noperm has none)
    assert via(w) == {
        ALICE: ("both", False),
        APP: ("resource", False),
        BOB: ("both", False),
        CAROL: ("resource", False),
        READER: ("both", False),
    }
    (everyone,) = w.outside
    assert (everyone.kind, everyone.conditional, everyone.public, everyone.outside_organization) == (
        "everyone",
        False,
        True,
        True,
    )
    assert not everyone.rcp_denied
    (blocked,) = ask(in_org, "s3:GetObject", f"{PUBLIC_BUCKET}/index.html").outside
    assert blocked.public and blocked.rcp_denied  # the RCP denies anyone outside the organization


def test_everyone_limited_to_the_organization_is_not_public(in_org: Database, plain: Database) -> None:
    w = ask(in_org, "s3:GetObject", f"{ORG_BUCKET}/x")
    assert via(w) == {
        ALICE: ("both", False),
        APP: ("resource", False),
        BOB: ("both", False),
        CAROL: ("resource", False),
        READER: ("both", False),
    }
    (everyone,) = w.outside
    assert everyone.conditional and not everyone.public and not everyone.outside_organization
    assert everyone.organizations == (RES_ORG,)
    assert [c.key for c in everyone.required_conditions] == ["aws:PrincipalOrgID"]
    # with no organization stored the principals' organization id is unknown: the caller's to show
    w = ask(plain, "s3:GetObject", f"{ORG_BUCKET}/x")
    # (alice's own policy suffices in her account; across accounts the bucket policy must allow too)
    assert via(w) == {
        ALICE: ("identity", False),
        APP: ("resource", True),
        BOB: ("both", True),
        CAROL: ("resource", True),
        READER: ("both", True),
    }
    assert outside(w) == {("everyone", "*"): True}
    assert w.outside[0].outside_organization  # no organization stored: nothing is known to be inside


def test_cross_account_needs_the_callers_identity_allow(plain: Database) -> None:
    w = ask(plain, "lambda:InvokeFunction", f"arn:aws:lambda:us-east-1:{RES_A}:function:process")
    assert via(w) == {READER: ("both", False)}
    # the same request by a principal of the resource's account that the policy does not name: identity only
    assert ALICE not in via(w)
