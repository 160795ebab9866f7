"""The import history: each load records one import with its summary, in its transaction; ids, PREVIOUS and
LATEST; a mutation makes the database differ from its newest import; summaries reuse what they may."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from graphiam.changes.apply import Change, apply_changes
from graphiam.changes.load import load_files
from graphiam.errors import IngestError, InputError, NotFoundError
from graphiam.queries import history
from graphiam.queries import summary as S
from graphiam.store import open_database
from tests.helpers import ACCT, ADMIN_ARN, arn, drift_exports, write


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp = Path(tmp_path_factory.mktemp("history"))
    old, new = drift_exports()
    return write(tmp, "old.json", old), write(tmp, "new.json", new)


@pytest.fixture
def db():
    d = open_database(None, buffer_pool_mb=256)
    yield d
    d.close()


def test_each_load_records_an_import(db, files):
    old, new = files
    assert history.imports(db) == [] and history.latest(db) is None
    load_files(db, [old])
    load_files(db, [new])
    first, second = history.imports(db)
    assert (first.id, second.id) == (1, 2) and first.at <= second.at
    assert first.accounts == (ACCT,)
    assert first.files == (
        {
            "name": str(old),
            "bytes": old.stat().st_size,
            "sha256": hashlib.sha256(old.read_bytes()).hexdigest(),
        },
    )
    assert first.counts["users"] == 4 and second.counts["admins"] == first.counts["admins"] + 1
    assert history.resolve(db, "PREVIOUS").id == 1
    assert history.resolve(db, "latest").id == 2
    assert history.resolve(db, "1").id == 1
    with pytest.raises(NotFoundError, match="no import with id 9"):
        history.resolve(db, 9)
    with pytest.raises(InputError, match="not an import id"):
        history.resolve(db, "yesterday")
    # the stored summary is the summary of the database as the load left it
    assert history.stored_summary(db, 2) == S.summarise(db)
    summary, imp = history.current_summary(db)
    assert imp is not None and imp.id == 2 and summary == history.stored_summary(db, 2)


def test_a_failed_load_records_nothing(db, files, tmp_path):
    load_files(db, [files[0]])
    bad = tmp_path / "bad.json"
    bad.write_text('{"UserDetailList": [{"UserName": 1}]}')
    with pytest.raises(IngestError):
        load_files(db, [files[1], bad])
    assert [i.id for i in history.imports(db)] == [1]
    with pytest.raises(NotFoundError, match="only one import"):
        history.resolve(db, "PREVIOUS")


def test_no_import_yet(db):
    with pytest.raises(NotFoundError, match="no import recorded"):
        history.resolve(db, "LATEST")


def test_a_mutation_makes_the_database_differ_from_its_newest_import(db, files):
    load_files(db, [files[0]])
    assert history.changed_after_latest(db) is None
    alice = arn("user", "alice")
    result = apply_changes(
        db, [Change(op="attachPolicy", args={"policy_arn": ADMIN_ARN, "target_arn": alice})]
    )
    assert result.ok, result.problems
    assert history.changed_after_latest(db) is not None
    summary, imp = history.current_summary(db)
    assert imp is None and alice in summary["admins"]
    assert alice not in history.stored_summary(db, 1)["admins"]
    load_files(db, [files[0]])  # a new import describes the database again
    assert history.changed_after_latest(db) is None


def test_dry_runs_do_not_mark_the_database(db, files):
    load_files(db, [files[0]])
    change = Change(op="attachPolicy", args={"policy_arn": ADMIN_ARN, "target_arn": arn("user", "alice")})
    assert apply_changes(db, [change], dry_run=True).ok
    assert history.changed_after_latest(db) is None


def test_a_summary_reuses_an_earlier_one_and_says_the_same(db, files):
    load_files(db, [files[1]])
    fresh = S.summarise(db)
    assert S.summarise(db, previous=fresh) == fresh
    # findings are reused per document text: a forged earlier summary shows that the reuse happened, and
    # that it is keyed on the rules
    forged = {**fresh, "findings": {k: {"Forged": {}} for k in fresh["findings"]}}
    reused = S.summarise(db, previous=forged)
    assert all(v == {"Forged": {}} for v in reused["findings"].values())
    other_rules = {**forged, "rules": "something else"}
    assert S.summarise(db, previous=other_rules)["findings"] == fresh["findings"]


def test_encode_round_trip_and_bad_text():
    summary = {"format": S.FORMAT, "accounts": [], "x": list(range(5))}
    assert S.decode(S.encode(summary)) == summary
    with pytest.raises(InputError, match="cannot be read"):
        S.decode("not base64 gzip")
    with pytest.raises(InputError, match="format 99"):
        S.decode(S.encode({"format": 99}))


def test_sensitive_actions_files(tmp_path):
    y = tmp_path / "s.yml"
    y.write_text(
        "sensitive-actions:\n  - kms:Decrypt\n"
        "  - action: iam:*\n    access-levels: [Permissions management]\n"
    )
    specs = S.read_sensitive(y)
    assert specs == (
        S.SensitiveSpec(action="kms:Decrypt"),
        S.SensitiveSpec(action="iam:*", access_levels=("Permissions management",)),
    )
    acts = S.sensitive_actions(specs)
    assert "kms:Decrypt" in acts and "iam:AttachUserPolicy" in acts
    assert "iam:UpdateAccountName" not in acts  # Write, not Permissions management
    j = tmp_path / "s.json"
    j.write_text('["sts:AssumeRole"]')
    assert S.sensitive_actions(S.read_sensitive(j)) == ["sts:AssumeRole"]
    for text, message in (
        ('{"sensitive-actions": []}', "non-empty list"),
        ('[{"action": "kms:Decrypt", "resource": "*"}]', "unknown key `resource`"),
        ('["kms:NoSuchThing"]', "names no known action"),
        ("[1]", "item 0"),
    ):
        j.write_text(text)
        with pytest.raises(InputError, match=message):
            S.sensitive_actions(S.read_sensitive(j))
    y.write_text("a: [b")
    with pytest.raises(InputError, match="not valid YAML"):
        S.read_sensitive(y)
