"""The request context every question starts from: ONE builder, one set of defaults (README "Request
context").

`simulate`, `whoCan`, effective permissions, CAN_ASSUME chains, escalation and findings all build the context
of a request here, so a condition is judged the same way by every question. Keys fall in three groups (IAM
User Guide "AWS global condition context keys", each key's "Availability"):

- SET here, because AWS sets them from the principal, the resource or the clock: `aws:CurrentTime` and
  `aws:EpochTime` ("always included": now, unless the caller gives one; a given `aws:CurrentTime` moves the
  other time keys with it), `aws:PrincipalArn`, `aws:PrincipalAccount`, `aws:PrincipalType`,
  `aws:PrincipalTag/*`, `aws:username` and `aws:userid` (users), `aws:PrincipalIsAWSService` (`false`: a user
  or a role is not a service), `aws:TokenIssueTime` for a role (a role session's credentials are temporary:
  issued now), `aws:ViaAWSService` (`false`: the principal calls directly), `aws:PrincipalOrgID` and
  `aws:PrincipalOrgPaths` when an organization is stored and the principal's account belongs to it (with an
  organization stored, absent and fixed for any other account; with none, the caller's), and, when the
  resource is a user or role of the graph, its tags as `aws:ResourceTag/*` and `iam:ResourceTag/*`.
- FIXED but absent: keys AWS would set from the principal that the principal does not have (a tag it lacks,
  `aws:username` of a role), and keys only a service calling on a resource's behalf carries
  (`aws:SourceAccount`, `aws:SourceArn` …). A condition on one is decided now; no request can change it.
- The CALLER's: everything else (`aws:MultiFactorAuthPresent`, `aws:SecureTransport`, `aws:SourceIp`,
  `aws:RequestedRegion`, `aws:RequestTag/*`, `iam:PassedToService`, `s3:prefix`, the tags of a resource that
  is not in the graph …). Absent unless given, as in IAM's policy simulator; a statement that needs one makes
  the answer "allowed if" (`conditional`), not "denied". `choices` lists the keys whose possible values the
  way of signing in limits: an IAM user's `aws:TokenIssueTime` is absent with a long-term access key and "now"
  with temporary credentials (`sts:GetSessionToken`, a console sign-in), so a date already past can never
  be satisfied; `aws:MultiFactorAuthPresent` is `true`/`false` (a role session) or also absent (a user's
  access key); `aws:SecureTransport` and `aws:ViaAWSService` are always present, `true` or `false`.

What the caller passes always wins (keys are case-insensitive) and is never varied. The README's "Request
context" table says the same per way of calling (long-term access key, temporary credentials, role session).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from graphiam.arn import is_service_linked_role
from graphiam.graph.snapshot import PrincipalInfo, Snapshot
from graphiam.policy.conditions import Condition
from graphiam.policy.witness import ABSENT, Choices

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
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"

# The keys AWS sets from the principal (or that only a service's request carries): never the caller's choice
# once the principal is known, present or not.
_PRINCIPAL_KEYS = frozenset(
    {
        "aws:principalarn",
        "aws:principalaccount",
        "aws:principaltype",
        "aws:username",
        "aws:userid",
        "aws:principalisawsservice",
        "aws:principalservicename",
        "aws:principalservicenameslist",
        "aws:sourceaccount",
        "aws:sourcearn",
        "aws:sourceorgid",
        "aws:sourceorgpaths",
    }
)
_ORG_KEYS = frozenset({"aws:principalorgid", "aws:principalorgpaths"})
_CLOCK_KEYS = frozenset({"aws:currenttime", "aws:epochtime"})
_RESOURCE_TAG_PREFIXES = ("aws:resourcetag/", "iam:resourcetag/")


def scp_exempt(principal_arn: str) -> str | None:
    """Why SCPs do not apply to this principal (service-linked roles are never restricted by SCPs)."""
    if is_service_linked_role(principal_arn):
        return f"`{principal_arn}` is a service-linked role: SCPs do not restrict it"
    return None


def environment(now: datetime | None = None) -> dict[str, str]:
    """The clock keys AWS puts in every request: `aws:CurrentTime` and `aws:EpochTime` (now by default)."""
    second = int((now if now is not None else datetime.now(UTC)).timestamp())
    return dict(_clock(second))


@functools.lru_cache(maxsize=2)
def _clock(second: int) -> tuple[tuple[str, str], ...]:
    """The clock keys at `second` (epoch): a pure function, memoised because simulate asks every time."""
    moment = datetime.fromtimestamp(second, UTC)
    return (("aws:CurrentTime", moment.strftime(TIME_FORMAT)), ("aws:EpochTime", str(second)))


def _moment(value: Any, *, epoch: bool) -> datetime | None:
    if not isinstance(value, str):
        return None
    text = value.strip()
    try:
        if epoch or text.isdigit():
            return datetime.fromtimestamp(float(text), UTC)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError):
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@dataclass(frozen=True, kw_only=True)
class RequestContext:
    """The request's context (`values`), what the caller could still choose (`choices`, lower-cased keys), and
    which absent keys AWS fixes (`fixed`)."""

    values: dict[str, Any]
    choices: Choices
    principal_known: bool
    resource_known: bool
    # a stored organization says which accounts belong to it: the principal's aws:PrincipalOrgID and
    # aws:PrincipalOrgPaths are then AWS's (present for a member, absent otherwise), never the caller's
    org_known: bool = False
    _fixed: dict[str, bool] = field(default_factory=dict, repr=False, compare=False)  # memo of `fixed`

    @functools.cached_property
    def keys(self) -> frozenset[str]:
        """The keys of `values`, lower-cased."""
        return frozenset(k.lower() for k in self.values)

    def fixed(self, key: str) -> bool:
        """Whether AWS determines `key` for this request: a condition on it is decided, never "allowed if"."""
        k = key.lower()
        hit = self._fixed.get(k)
        if hit is None:
            hit = self._fixed[k] = self._is_fixed(k)
        return hit

    def _is_fixed(self, k: str) -> bool:
        if k in self.choices:
            return False
        if k in _CLOCK_KEYS or k in self.keys:
            return True
        if self.resource_known and k.startswith(_RESOURCE_TAG_PREFIXES):
            return True
        if self.org_known and k in _ORG_KEYS:
            return True
        return self.principal_known and (k in _PRINCIPAL_KEYS or k.startswith("aws:principaltag/"))

    def free(self, cond: Condition) -> bool:
        """A condition the caller's request could still satisfy (or not): its key is not fixed."""
        k = cond.key_lower
        hit = self._fixed.get(k)
        if hit is None:
            hit = self._fixed[k] = self._is_fixed(k)
        return not hit


_ROLE_CHOICES: Choices = {
    "aws:viaawsservice": ("false", "true"),
    "aws:securetransport": ("true", "false"),
    "aws:multifactorauthpresent": ("true", "false"),
}
_CHOICE_KEYS = (*_ROLE_CHOICES, "aws:tokenissuetime")


def build_context(
    principal: PrincipalInfo | None,
    snap: Snapshot | None,
    resource: str,
    given: ContextValues,
    *,
    env: Mapping[str, str] | None = None,
) -> RequestContext:
    """The context of `principal` calling on `resource` (see the module docstring); `env` (from `environment`)
    lets a question that builds many contexts read the clock once."""
    ctx: dict[str, Any] = dict(env if env is not None else environment())
    target = snap.principals.get(resource) if snap is not None else None
    role = principal is not None and principal.kind == "role"
    if principal is not None:
        ctx.update(principal.derived_context())
        ctx["aws:PrincipalIsAWSService"] = "false"
        path = snap.org_paths.get(principal.account) if snap is not None else None
        if snap is not None and snap.organization is not None and path is not None:
            ctx["aws:PrincipalOrgID"] = snap.organization
            ctx["aws:PrincipalOrgPaths"] = [path]
    ctx["aws:ViaAWSService"] = "false"
    if target is not None:
        for tag, value in target.tags.items():
            ctx[f"aws:ResourceTag/{tag}"] = value
            ctx[f"iam:ResourceTag/{tag}"] = value
    given_keys: set[str] = set()
    if given:
        lowered = {k.lower(): k for k in ctx}
        # what the caller passes overrides what was derived (keys are case-insensitive)
        for key, given_value in given.items():
            low = key.lower()
            given_keys.add(low)
            old = lowered.get(low)
            if old is not None:
                del ctx[old]
            ctx[key] = given_value
            lowered[low] = key
        # a given time moves the clock: the other time keys follow it
        if "aws:currenttime" in given_keys and "aws:epochtime" not in given_keys:
            moment = _moment(ctx[lowered["aws:currenttime"]], epoch=False)
            if moment is not None:
                ctx["aws:EpochTime"] = str(int(moment.timestamp()))
        elif "aws:epochtime" in given_keys and "aws:currenttime" not in given_keys:
            moment = _moment(ctx[lowered["aws:epochtime"]], epoch=True)
            if moment is not None:
                ctx["aws:CurrentTime"] = moment.strftime(TIME_FORMAT)
        now = ctx[lowered.get("aws:currenttime", "aws:CurrentTime")]
    else:
        now = ctx["aws:CurrentTime"]
    if role:
        if "aws:tokenissuetime" not in given_keys:
            ctx["aws:TokenIssueTime"] = now  # a role session's credentials: issued now
        choices: dict[str, tuple[Any, ...]] = dict(_ROLE_CHOICES)
    else:
        choices = {
            "aws:viaawsservice": ("false", "true"),
            "aws:securetransport": ("true", "false"),
            # a user's long-term key carries no MFA key and no token; temporary credentials carry both
            "aws:multifactorauthpresent": (ABSENT, "true", "false"),
            "aws:tokenissuetime": (ABSENT, now),
        }
    for key in given_keys.intersection(_CHOICE_KEYS):
        choices.pop(key, None)  # what the caller gives is never varied
    return RequestContext(
        values=ctx,
        choices=choices,
        principal_known=principal is not None,
        resource_known=target is not None,
        org_known=principal is not None and snap is not None and snap.organization is not None,
    )


def request_context(
    principal: PrincipalInfo | None,
    snap: Snapshot | None,
    resource: str,
    given: ContextValues,
    *,
    env: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The request's context values (`build_context(...).values`)."""
    return build_context(principal, snap, resource, given, env=env).values
