"""The AWS action catalogue (Service Authorization Reference): actions, access levels, resource types.

Pure: no database, no GraphQL. `Catalog.default()` is the vendored catalogue, loaded once.

    >>> from graphiam.catalog import Catalog
    >>> Catalog.default().lookup("S3:getobject").access_level
    'Read'
"""

from __future__ import annotations

from graphiam.catalog.catalog import Catalog
from graphiam.catalog.model import (
    ACCESS_LEVELS,
    AccessLevel,
    ActionInfo,
    ResourceTypeRef,
    ServiceInfo,
    UnknownName,
)
from graphiam.catalog.patterns import arn_pattern_matches

__all__ = [
    "ACCESS_LEVELS",
    "AccessLevel",
    "ActionInfo",
    "Catalog",
    "ResourceTypeRef",
    "ServiceInfo",
    "UnknownName",
    "arn_pattern_matches",
]
