"""`search`: users, groups, roles, policies and resources whose name or ARN contains a text, best matches
first.

For a search box: the name equal to the text comes first, then names starting with it, names containing it,
and last records whose ARN only contains it (a path, an account id, a whole ARN pasted); ties by kind (users,
groups, roles, policies) and ARN. Case is ignored (IAM names are unique regardless of case).
"""

from __future__ import annotations

from collections.abc import Sequence

from graphiam.errors import InputError
from graphiam.store import Database, reader
from graphiam.store.records import SearchRow

KINDS = {"user": "User", "group": "IAMGroup", "role": "Role", "policy": "Policy", "resource": "Resource"}
MAX_TEXT = 512


def search(
    db: Database,
    text: str,
    *,
    kinds: Sequence[str] | None = None,
    account: str | None = None,
    first: int = 20,
) -> list[SearchRow]:
    """The `first` best matches of `text` among the records of `kinds` (`user`, `group`, `role`, `policy`,
    `resource`; all when None), in `account` when given."""
    needle = text.strip().lower()
    if not needle:
        raise InputError("`text`: give at least one character to search for")
    if len(needle) > MAX_TEXT:
        raise InputError(f"`text`: at most {MAX_TEXT} characters, got {len(needle)}")
    tables = [KINDS[k] for k in dict.fromkeys(kinds)] if kinds else list(KINDS.values())
    order = {t: i for i, t in enumerate(KINDS.values())}
    rows = [r for t in tables for r in reader.search(db, t, needle, account=account, limit=first)]
    rows.sort(key=lambda r: (r.rank, order[r.table], r.arn))
    return rows[:first]
