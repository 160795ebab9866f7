"""The request context every question starts from, and the facts about a principal it derives.

The context starts from what AWS derives from the principal (`aws:username`, `aws:userid`, `aws:PrincipalArn`,
`aws:PrincipalAccount`, `aws:PrincipalType`, `aws:PrincipalTag/*`) and, when the resource is a user or role in
the graph, its tags (`aws:ResourceTag/*`); what the caller passes wins (keys are case-insensitive).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from graphiam.arn import is_service_linked_role
from graphiam.graph.snapshot import PrincipalInfo, Snapshot

ContextValues = Mapping[str, "str | Sequence[str]"]
TRUST_ACTIONS = frozenset(
    {
        "sts:assumerole",
        "sts:assumerolewithsaml",
        "sts:assumerolewithwebidentity",
        "sts:tagsession",
        "sts:setsourceidentity",
        "sts:setcontext",
    }
)


def scp_exempt(principal_arn: str) -> str | None:
    """Why SCPs do not apply to this principal (service-linked roles are never restricted by SCPs)."""
    if is_service_linked_role(principal_arn):
        return f"`{principal_arn}` is a service-linked role: SCPs do not restrict it"
    return None


def request_context(
    principal: PrincipalInfo | None, snap: Snapshot | None, resource: str, given: ContextValues
) -> dict[str, Any]:
    ctx: dict[str, Any] = {}
    if principal is not None:
        ctx.update(principal.derived_context())
    if snap is not None:
        for tag, value in snap.resource_tags(resource).items():
            ctx[f"aws:ResourceTag/{tag}"] = value
    lowered = {k.lower(): k for k in ctx}
    # what the caller passes overrides what was derived (keys are case-insensitive)
    for key, given_value in given.items():
        old = lowered.get(key.lower())
        if old is not None:
            del ctx[old]
        ctx[key] = given_value
    return ctx
