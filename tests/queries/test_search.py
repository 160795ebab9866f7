"""`search` on the demo org: what matches (name or ARN, case ignored), in which order, and the filters."""

from __future__ import annotations

import pytest

from graphiam.changes.load import load_files, seed_files
from graphiam.errors import InputError
from graphiam.queries.search import KINDS, search
from graphiam.store import open_database, reader
from tests.helpers import SEEDS


@pytest.fixture(scope="module")
def db():
    database = open_database(None, buffer_pool_mb=128)
    load_files(database, seed_files(SEEDS))
    yield database
    database.close()


def everything(db) -> list[tuple[str, str, str, str]]:
    """(table, arn, name, account) of every user, group, role and policy, inline and placeholders included."""
    out = []
    for table in KINDS.values():
        kinds = ["aws-managed", "customer-managed", "inline"] if table == "Policy" else None
        for r in reader.page(db, table, first=100_000, after=None, kinds=kinds, include_missing=True):
            out.append((table, r.arn, r.name, r.account))
    return out


@pytest.mark.parametrize(
    "text", ["admin", "ALICE", "role/", "111111111111:user/engineering/", "Deny", "zz-none"]
)
def test_finds_exactly_the_records_whose_name_or_arn_contains_the_text(db, text):
    hits = search(db, text, first=100)
    expected = {
        (t, arn)
        for t, arn, name, _ in everything(db)
        if text.lower() in name.lower() or text.lower() in arn.lower()
    }
    assert len(expected) <= 100
    assert {(h.table, h.arn) for h in hits} == expected


def test_order_is_exact_name_then_prefix_then_contains_then_arn_only(db):
    hits = search(db, "admins", first=100)
    assert hits[0].name == "Admins" and hits[0].rank == 0  # the group called Admins
    ranks = [h.rank for h in hits]
    assert ranks == sorted(ranks)
    for h in hits:
        name = h.name.lower()
        expected = 0 if name == "admins" else 1 if name.startswith("admins") else 2 if "admins" in name else 3
        assert h.rank == expected, h
    # inline policies of the Admins group match by ARN only, after every name match
    assert any(h.rank == 3 and h.arn.startswith("arn:aws:iam::111111111111:group/Admins#") for h in hits)


def test_kinds_account_and_first(db):
    roles = search(db, "role", kinds=["role"], first=100)
    assert roles and {h.table for h in roles} == {"Role"}
    partner = search(db, "a", account="222222222222", first=100)
    assert partner and {h.account for h in partner} == {"222222222222"}
    assert len(search(db, "a", first=3)) == 3
    assert search(db, "a", first=3) == search(db, "a", first=100)[:3]


@pytest.mark.parametrize("text", ["", "   ", "x" * 513])
def test_empty_or_huge_text_is_refused(db, text):
    with pytest.raises(InputError, match="`text`"):
        search(db, text)
