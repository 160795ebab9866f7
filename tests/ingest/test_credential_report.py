from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import pytest

from graphiam.errors import IngestError
from graphiam.ingest.credential_report import REQUIRED_COLUMNS, CredentialFacts, parse_credential_report

HEADER = (
    "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,"
    "password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,"
    "access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,"
    "access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,"
    "access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated"
)
ROOT = (
    "<root_account>,arn:aws:iam::123456789012:root,2019-01-15T08:00:00+00:00,not_supported,"
    "2024-02-11T10:01:44+00:00,not_supported,not_supported,true,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,"
    "false,N/A,false,N/A"
)
HUMAN = (
    "alice,arn:aws:iam::123456789012:user/eng/alice,2019-02-01T09:00:00+00:00,true,no_information,"
    "2024-03-01T09:00:00+00:00,N/A,true,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A"
)
BOT = (
    "ci,arn:aws:iam::123456789012:user/ci,2021-04-12T07:00:00+00:00,false,N/A,N/A,N/A,false,"
    "true,2024-01-15T07:00:00+00:00,2024-05-03T02:00:05+00:00,us-east-1,sts,"
    "true,2024-04-20T07:00:00+00:00,N/A,N/A,N/A,true,2018-07-30T15:05:00+00:00,false,N/A"
)
SEED = Path(__file__).resolve().parents[2] / "seeds" / "credential-report.csv"


def report(*rows: str, header: str = HEADER) -> str:
    return "\n".join((header, *rows)) + "\n"


def only(text: str) -> CredentialFacts:
    facts = parse_credential_report(text, source="r.csv")
    assert len(facts) == 1
    return facts[0]


@pytest.mark.parametrize(
    ("row", "field", "expected"),
    [
        (ROOT, "is_root", True),
        (ROOT, "user", "<root_account>"),
        (ROOT, "password_enabled", None),  # not_supported
        (ROOT, "password_last_used", "2024-02-11T10:01:44+00:00"),
        (ROOT, "password_last_changed", None),  # not_supported
        (ROOT, "mfa_active", True),
        (ROOT, "access_keys_active", 0),
        (HUMAN, "is_root", False),
        (HUMAN, "arn", "arn:aws:iam::123456789012:user/eng/alice"),
        (HUMAN, "password_enabled", True),
        (HUMAN, "password_last_used", None),  # no_information
        (HUMAN, "password_last_changed", "2024-03-01T09:00:00+00:00"),
        (HUMAN, "password_next_rotation", None),  # N/A
        (HUMAN, "access_key_1_last_rotated", None),
        (BOT, "password_enabled", False),
        (BOT, "password_last_used", None),  # N/A
        (BOT, "mfa_active", False),
        (BOT, "access_key_1_active", True),
        (BOT, "access_key_1_last_rotated", "2024-01-15T07:00:00+00:00"),
        (BOT, "access_key_1_last_used_region", "us-east-1"),
        (BOT, "access_key_1_last_used_service", "sts"),
        (BOT, "access_key_2_active", True),
        (BOT, "access_key_2_last_used_date", None),
        (BOT, "access_keys_active", 2),
        (BOT, "cert_1_active", True),
        (BOT, "cert_1_last_rotated", "2018-07-30T15:05:00+00:00"),
        (BOT, "cert_2_active", False),
    ],
    ids=lambda v: v.split(",")[0] if isinstance(v, str) and "," in v else str(v),
)
def test_field_values(row: str, field: str, expected: object) -> None:
    assert getattr(only(report(row)), field) == expected


@pytest.mark.parametrize(
    ("spelling", "expected"),
    [("true", True), ("TRUE", True), ("True", True), ("false", False), ("FALSE", False)],
)
def test_booleans_accept_aws_spellings(spelling: str, expected: bool) -> None:
    row = HUMAN.replace(
        "alice,arn:aws:iam::123456789012:user/eng/alice,2019-02-01T09:00:00+00:00,true,",
        f"alice,arn:aws:iam::123456789012:user/eng/alice,2019-02-01T09:00:00+00:00,{spelling},",
    )
    assert only(report(row)).password_enabled is expected


def test_rows_keep_report_order_and_skip_blank_lines() -> None:
    facts = parse_credential_report(report(ROOT, HUMAN, "", BOT) + "\n\n", source="r.csv")
    assert [f.user for f in facts] == ["<root_account>", "alice", "ci"]


def test_extra_and_reordered_columns_are_accepted() -> None:
    columns = HEADER.split(",")
    values = BOT.split(",")
    order = list(reversed(range(len(columns))))
    header = ",".join([columns[i] for i in order] + ["some_future_column"])
    row = ",".join([values[i] for i in order] + ["whatever"])
    assert only(report(row, header=header)).access_keys_active == 2


def test_usage_columns_are_optional() -> None:
    keep = [i for i, c in enumerate(HEADER.split(",")) if "last_used_" not in c]
    header = ",".join(HEADER.split(",")[i] for i in keep)
    row = ",".join(BOT.split(",")[i] for i in keep)
    facts = only(report(row, header=header))
    assert facts.access_key_1_last_used_service is None
    assert facts.access_key_1_last_rotated == "2024-01-15T07:00:00+00:00"


def test_byte_order_mark_is_ignored() -> None:
    assert only("\ufeff" + report(HUMAN)).user == "alice"


def test_facts_are_frozen_and_serialisable() -> None:
    facts = only(report(BOT))
    with pytest.raises(AttributeError):
        facts.user = "x"  # type: ignore[misc]
    assert asdict(facts)["access_keys_active"] == 2


def _swap(row: str, index: int, value: str) -> str:
    fields = row.split(",")
    fields[index] = value
    return ",".join(fields)


COLUMN = {name: i for i, name in enumerate(HEADER.split(","))}


@pytest.mark.parametrize(
    ("text", "expected_parts"),
    [
        ("", ["r.csv", "line 1", "empty"]),
        ("\n  \n", ["r.csv", "line 1", "empty"]),
        (report(HUMAN, header=HEADER.replace(",mfa_active", "")), ["r.csv", "line 1", "`mfa_active`"]),
        (report(HUMAN, header=HEADER.replace("user,arn,", "user,")), ["line 1", "`arn`"]),
        (report(HUMAN, header=HEADER + ",mfa_active"), ["line 1", "duplicate column `mfa_active`"]),
        (
            report(ROOT, _swap(HUMAN, COLUMN["mfa_active"], "yes")),
            ["r.csv", "line 3", "`mfa_active`", "`yes`"],
        ),
        (
            report(_swap(HUMAN, COLUMN["password_enabled"], "not_supported")),
            ["line 2", "`password_enabled`", "`not_supported`"],
        ),
        (report(_swap(ROOT, COLUMN["password_enabled"], "N/A")), ["line 2", "`password_enabled`", "`N/A`"]),
        (report(_swap(BOT, COLUMN["access_key_2_active"], "")), ["line 2", "`access_key_2_active`"]),
        (report(_swap(BOT, COLUMN["cert_1_active"], "N/A")), ["line 2", "`cert_1_active`"]),
        (report(_swap(HUMAN, COLUMN["arn"], "alice")), ["line 2", "`arn`", "expected an ARN"]),
        (report(_swap(HUMAN, COLUMN["user"], "")), ["line 2", "`user`"]),
        (report(HUMAN + ",extra"), ["line 2", "expected 22 fields, got 23"]),
        (report(HUMAN, BOT, HUMAN), ["line 4", "`arn`", "already listed on line 2"]),
    ],
    ids=[
        "empty",
        "blank",
        "missing-mfa",
        "missing-arn",
        "duplicate-column",
        "bad-boolean",
        "user-not-supported",
        "root-na-password",
        "empty-boolean",
        "cert-na",
        "bad-arn",
        "empty-user",
        "extra-field",
        "duplicate-user",
    ],
)
def test_bad_input_names_source_line_and_column(text: str, expected_parts: list[str]) -> None:
    with pytest.raises(IngestError) as caught:
        parse_credential_report(text, source="r.csv")
    message = str(caught.value)
    for part in expected_parts:
        assert part in message
    assert caught.value.source == "r.csv"
    assert caught.value.path is not None and caught.value.path.startswith("line ")


def test_error_without_source_still_names_the_line() -> None:
    with pytest.raises(IngestError, match="^line 2: column `mfa_active`"):
        parse_credential_report(report(_swap(HUMAN, COLUMN["mfa_active"], "maybe")))


def test_required_columns_are_in_the_aws_header() -> None:
    assert set(REQUIRED_COLUMNS) <= set(HEADER.split(","))


def test_seed_report_parses() -> None:
    facts = parse_credential_report(SEED.read_text(), source=str(SEED))
    by_user = {f.user: f for f in facts}
    assert [f.is_root for f in facts].count(True) == 1
    assert by_user["<root_account>"].password_enabled is None
    assert by_user["ci-bot"].password_enabled is False and by_user["ci-bot"].access_keys_active == 2
    assert by_user["grace"].password_last_used is None  # no_information
    assert by_user["legacy-reporting"].cert_1_active is True
