"""Helpers the API's types share to turn stored records into GraphQL values."""

from __future__ import annotations

import json
from typing import Any


def document(text: str | None) -> Any:
    """A stored policy document (JSON text) as the JSON scalar's value; None stays None."""
    return None if text is None else json.loads(text)
