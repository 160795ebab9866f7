"""The audit log file: entries folded from begin and end lines, torn lines survived, arguments summarized."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from graphiam.audit import JSON_LIMIT, AuditLog, Outcome, audit_file_for, summarize

WHO = {"who": "root", "token_id": "ab12cd34", "role": "admin"}


@pytest.fixture
def log(tmp_path: Path) -> AuditLog:
    return AuditLog(audit_file_for(tmp_path / "db"))


def test_the_log_sits_beside_the_database_owner_only(tmp_path, log):
    assert log.path == tmp_path / "db.audit.jsonl"
    log.begin(operation="createUser", arguments={"name": "x"}, dry_run=False, **WHO)
    assert stat.S_IMODE(log.path.stat().st_mode) == 0o600


def test_a_mutation_is_a_begin_line_completed_by_its_end_line(log):
    first = log.begin(operation="createUser", arguments={"name": "ann"}, dry_run=False, **WHO)
    second = log.begin(operation="attachPolicy", arguments={}, dry_run=True, **WHO)
    (one, two) = log.entries()
    assert (one.operation, one.outcome, one.dry_run, one.finished) == (
        "createUser",
        Outcome.UNFINISHED,
        False,
        None,
    )
    assert two.dry_run is True and two.seq == 1
    log.end(second, Outcome.REFUSED, "NOT_FOUND: no such policy")
    log.end(first, Outcome.OK, "applied: createUser arn:aws:iam::1:user/ann")
    (one, two) = log.entries()  # read incrementally: only the two end lines are new
    assert (one.outcome, one.detail) == (Outcome.OK, "applied: createUser arn:aws:iam::1:user/ann")
    assert (two.outcome, two.detail) == (Outcome.REFUSED, "NOT_FOUND: no such policy")
    assert one.finished is not None and one.finished >= one.at
    assert (one.who, one.token_id, one.role, one.arguments) == ("root", "ab12cd34", "admin", {"name": "ann"})
    # another reader (the CLI while the server runs) folds the same file to the same entries
    assert AuditLog(log.path).entries() == [one, two]
    lines = [json.loads(line) for line in log.path.read_text().splitlines()]
    assert [line["outcome"] for line in lines] == ["started", "started", "refused", "ok"]


def test_a_line_cut_short_by_a_crash_is_skipped_and_the_next_append_starts_a_new_line(log):
    done = log.begin(operation="createUser", arguments={}, dry_run=False, **WHO)
    log.end(done, Outcome.OK)
    cut = log.begin(operation="deleteUser", arguments={}, dry_run=False, **WHO)
    with log.path.open("ab") as f:  # the end line of `cut`, killed halfway through its write
        f.write(json.dumps({"id": cut, "finished": "x", "outcome": "ok"}).encode()[:20])
    reader = AuditLog(log.path)
    assert [e.outcome for e in reader.entries()] == [Outcome.OK, Outcome.UNFINISHED]
    log.refused(operation="createGroup", arguments={}, dry_run=False, detail="admin role needed", **WHO)
    entries = reader.entries()
    assert [(e.operation, e.outcome) for e in entries] == [
        ("createUser", Outcome.OK),
        ("deleteUser", Outcome.UNFINISHED),  # its end never reached the disk whole
        ("createGroup", Outcome.REFUSED),
    ]
    assert entries[2].detail == "admin role needed" and entries[2].finished == entries[2].at


def test_a_replaced_or_emptied_file_is_read_again(log):
    log.begin(operation="createUser", arguments={}, dry_run=False, **WHO)
    assert len(log.entries()) == 1
    log.path.unlink()
    assert log.entries() == []
    log.begin(operation="deleteUser", arguments={}, dry_run=False, **WHO)
    assert [e.operation for e in log.entries()] == ["deleteUser"]


def test_page_is_newest_first_with_a_total_and_a_filter(log):
    for i in range(5):
        log.begin(operation="createUser" if i % 2 else "deleteUser", arguments={"i": i}, dry_run=False, **WHO)
    rows, total = log.page(first=2)
    assert [r.arguments["i"] for r in rows] == [4, 3] and total == 5
    rows, total = log.page(first=2, before=rows[-1].seq)
    assert [r.arguments["i"] for r in rows] == [2, 1]
    rows, total = log.page(first=10, keep=lambda e: e.operation == "deleteUser")
    assert [r.arguments["i"] for r in rows] == [4, 2, 0] and total == 3


def test_summarize_keeps_small_arguments_and_shrinks_big_ones():
    small = {"name": "ann", "document": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow"}]}}
    assert summarize(small) == small
    long = "a" * 10_000
    assert summarize({"name": long})["name"] == "a" * 300 + "… (10000 characters)"
    export = {
        "account": "111111111111",
        "document": {"UserDetailList": [{"UserName": f"u{i}"} for i in range(500)]},
    }
    out = summarize(export)
    assert out["account"] == "111111111111"
    users = out["document"]["UserDetailList"]
    assert users["summarized"].startswith("list of 500 entries") and len(users["sha256"]) == 64
    assert len(json.dumps(out)) < JSON_LIMIT
