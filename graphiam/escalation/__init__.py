"""Privilege escalation: the technique table (and, later, the escalation edges derived from it)."""
from graphiam.escalation.techniques import (
    CATEGORIES,
    Category,
    Precondition,
    RequiredPermission,
    Source,
    Target,
    TargetKind,
    Technique,
    Yield,
    YieldKind,
    by_category,
    load_techniques,
    technique,
)

__all__ = [
    "CATEGORIES",
    "Category",
    "Precondition",
    "RequiredPermission",
    "Source",
    "Target",
    "TargetKind",
    "Technique",
    "Yield",
    "YieldKind",
    "by_category",
    "load_techniques",
    "technique",
]
