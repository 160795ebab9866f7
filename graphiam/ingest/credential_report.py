"""IAM credential report (CSV) → CredentialFacts; pure, no I/O.

Implements the format AWS documents in "Getting credential reports for your AWS account" (IAM User Guide,
id_credentials_getting-report): one header row, then one row per IAM user plus `<root_account>`.
Values are ISO 8601 timestamps or the markers `true`/`false` (AWS docs spell them `TRUE`/`FALSE`, real
reports use lowercase: both are accepted), `N/A` (not applicable), `no_information` (never used or not
tracked) and `not_supported` (the root user's password columns).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from graphiam.errors import IngestError

ROOT_USER = "<root_account>"

# Columns graphiam needs; AWS has added columns over the years, so extra ones are ignored and the
# access-key usage columns (region/service, added in 2015) are optional.
REQUIRED_COLUMNS = (
    "user",
    "arn",
    "user_creation_time",
    "password_enabled",
    "password_last_used",
    "password_last_changed",
    "password_next_rotation",
    "mfa_active",
    "access_key_1_active",
    "access_key_1_last_rotated",
    "access_key_2_active",
    "access_key_2_last_rotated",
    "cert_1_active",
    "cert_2_active",
)

_TRUE = "true"
_FALSE = "false"
_NOT_SUPPORTED = "not_supported"
# Markers meaning "there is no timestamp": every one of them becomes None.
_NO_VALUE = frozenset({"n/a", "no_information", "not_supported", ""})


@dataclass(frozen=True, kw_only=True)
class CredentialFacts:
    """One row of a credential report: what credentials a user (or the account root) has and uses."""

    user: str
    arn: str
    is_root: bool
    user_creation_time: str | None
    password_enabled: bool | None  # None: `not_supported` (the root user)
    password_last_used: str | None
    password_last_changed: str | None
    password_next_rotation: str | None
    mfa_active: bool
    access_key_1_active: bool
    access_key_1_last_rotated: str | None
    access_key_1_last_used_date: str | None
    access_key_1_last_used_region: str | None
    access_key_1_last_used_service: str | None
    access_key_2_active: bool
    access_key_2_last_rotated: str | None
    access_key_2_last_used_date: str | None
    access_key_2_last_used_region: str | None
    access_key_2_last_used_service: str | None
    cert_1_active: bool
    cert_1_last_rotated: str | None
    cert_2_active: bool
    cert_2_last_rotated: str | None
    # Derived, but a field so that dataclasses.asdict() (and the store) see it.
    access_keys_active: int = field(init=False)

    def __post_init__(self) -> None:
        active = int(self.access_key_1_active) + int(self.access_key_2_active)
        object.__setattr__(self, "access_keys_active", active)

    @property
    def has_console_access(self) -> bool:
        return self.password_enabled is True


class _Row:
    """One CSV record with the location its errors report."""

    def __init__(self, values: dict[str, str], *, line: int, source: str | None) -> None:
        self.values = values
        self.line = line
        self.source = source

    def fail(self, column: str, message: str) -> IngestError:
        return IngestError(message, source=self.source, path=f"line {self.line}: column `{column}`")

    def text(self, column: str) -> str:
        return self.values[column].strip()

    def flag(self, column: str, *, allow_not_supported: bool = False) -> bool | None:
        raw = self.text(column)
        value = raw.lower()
        if value == _TRUE:
            return True
        if value == _FALSE:
            return False
        if allow_not_supported and value == _NOT_SUPPORTED:
            return None
        allowed = "`true`, `false` or `not_supported`" if allow_not_supported else "`true` or `false`"
        raise self.fail(column, f"expected {allowed}, got `{raw}`")

    def required_flag(self, column: str) -> bool:
        value = self.flag(column)
        assert value is not None  # only `allow_not_supported` yields None
        return value

    def stamp(self, column: str) -> str | None:
        """A timestamp-or-marker column; markers and absent optional columns become None."""
        if column not in self.values:
            return None
        raw = self.text(column)
        return None if raw.lower() in _NO_VALUE else raw


def parse_credential_report(text: str, *, source: str | None = None) -> list[CredentialFacts]:
    """Parses an IAM credential report (the CSV text, already base64-decoded), one fact per row.

    Example: `parse_credential_report(Path("report.csv").read_text(), source="report.csv")`.
    Raises IngestError naming the source, the line and the column of the first problem.
    """
    lines = text.lstrip("\ufeff").splitlines()
    if not any(line.strip() for line in lines):
        raise IngestError("empty credential report: expected a header row", source=source, path="line 1")
    reader = csv.reader(io.StringIO("\n".join(lines)))
    header = [column.strip() for column in next(reader)]
    missing = [column for column in REQUIRED_COLUMNS if column not in header]
    if missing:
        names = ", ".join(f"`{column}`" for column in missing)
        raise IngestError(f"missing required column(s) {names}", source=source, path="line 1")
    duplicated = sorted({column for column in header if header.count(column) > 1})
    if duplicated:
        raise IngestError(f"duplicate column `{duplicated[0]}`", source=source, path="line 1")

    facts: list[CredentialFacts] = []
    seen: dict[str, int] = {}
    for line_no, record in enumerate(reader, start=2):
        if not any(value.strip() for value in record):
            continue  # a trailing blank line is not a user
        if len(record) != len(header):
            raise IngestError(
                f"expected {len(header)} fields, got {len(record)}", source=source, path=f"line {line_no}"
            )
        row = _Row(dict(zip(header, record, strict=True)), line=line_no, source=source)
        facts.append(_facts(row))
        arn = facts[-1].arn
        if arn in seen:
            raise row.fail("arn", f"`{arn}` already listed on line {seen[arn]}")
        seen[arn] = line_no
    return facts


def _facts(row: _Row) -> CredentialFacts:
    user = row.text("user")
    arn = row.text("arn")
    if not user:
        raise row.fail("user", "empty user name")
    if not arn.startswith("arn:"):
        raise row.fail("arn", f"expected an ARN, got `{arn}`")
    is_root = user == ROOT_USER
    return CredentialFacts(
        user=user,
        arn=arn,
        is_root=is_root,
        user_creation_time=row.stamp("user_creation_time"),
        # AWS reports `not_supported` only for the root user; a user row with it is malformed.
        password_enabled=row.flag("password_enabled", allow_not_supported=is_root),
        password_last_used=row.stamp("password_last_used"),
        password_last_changed=row.stamp("password_last_changed"),
        password_next_rotation=row.stamp("password_next_rotation"),
        mfa_active=row.required_flag("mfa_active"),
        access_key_1_active=row.required_flag("access_key_1_active"),
        access_key_1_last_rotated=row.stamp("access_key_1_last_rotated"),
        access_key_1_last_used_date=row.stamp("access_key_1_last_used_date"),
        access_key_1_last_used_region=row.stamp("access_key_1_last_used_region"),
        access_key_1_last_used_service=row.stamp("access_key_1_last_used_service"),
        access_key_2_active=row.required_flag("access_key_2_active"),
        access_key_2_last_rotated=row.stamp("access_key_2_last_rotated"),
        access_key_2_last_used_date=row.stamp("access_key_2_last_used_date"),
        access_key_2_last_used_region=row.stamp("access_key_2_last_used_region"),
        access_key_2_last_used_service=row.stamp("access_key_2_last_used_service"),
        cert_1_active=row.required_flag("cert_1_active"),
        cert_1_last_rotated=row.stamp("cert_1_last_rotated"),
        cert_2_active=row.required_flag("cert_2_active"),
        cert_2_last_rotated=row.stamp("cert_2_last_rotated"),
    )
