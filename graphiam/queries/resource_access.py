"""Who can read, write, list, manage permissions on and tag a stored resource, by access level.

Each level is asked with a representative set of the resource type's actions (`REPRESENTATIVE`, an S3
bucket's object actions on `bucket/*`; for a type not listed, the first few actions of each level the
catalogue scopes to the resource's ARN). The level each action belongs to is the catalogue's (AWS's Service
Authorization Reference: `kms:Decrypt` is Write, `sqs:ReceiveMessage` Read). Every action is a whoCan
question (the resource's own policy, its account's RCPs, a KMS key policy, the callers' SCPs and identity
policies: `queries.who_can`), asked in order, and a principal holds a level when it is allowed at least one of
the level's actions: one decision per principal and level, so a principal allowed an action unconditionally
is not asked the level's next ones. The entry names the actions that decided it (those allowed only under
conditions, then the first allowed outright), conditional only when every one of them is, `via` the side that
allows (`both` when different actions are allowed by different sides). What the resource's policy grants
beyond the stored users and roles (accounts not loaded, services, everyone) is merged the same way.
Principals are sorted by ARN, at most `first` per level (`total` says how many there are).
"""

from __future__ import annotations

from dataclasses import dataclass

from graphiam.arn import resource_type
from graphiam.cancel import NEVER, Cancel
from graphiam.catalog import Catalog
from graphiam.errors import ArnError, InputError, NotFoundError
from graphiam.graph.snapshot import Snapshot
from graphiam.queries.chains import HopCondition
from graphiam.queries.resource_grants import VIA_BOTH, OutsideGrant
from graphiam.queries.who_can import Access, who_can
from graphiam.store import Database

LEVELS = ("Read", "Write", "List", "Permissions management", "Tagging")
DEFAULT_FIRST = 100
FALLBACK_ACTIONS = 3  # per level, for a resource type without a representative set

_OBJECT = "/*"  # asked on the bucket's objects (`arn:aws:s3:::bucket/*`)
REPRESENTATIVE: dict[str, tuple[str, ...]] = {
    "s3:bucket": (
        "s3:GetObject" + _OBJECT,
        "s3:GetObjectVersion" + _OBJECT,
        "s3:GetBucketPolicy",
        "s3:PutObject" + _OBJECT,
        "s3:DeleteObject" + _OBJECT,
        "s3:DeleteBucket",
        "s3:ListBucket",
        "s3:ListBucketVersions",
        "s3:PutBucketPolicy",
        "s3:DeleteBucketPolicy",
        "s3:PutBucketAcl",
        "s3:PutObjectAcl" + _OBJECT,
        "s3:PutBucketTagging",
        "s3:PutObjectTagging" + _OBJECT,
    ),
    "kms:key": (
        "kms:DescribeKey",
        "kms:GetKeyPolicy",
        "kms:Decrypt",
        "kms:Encrypt",
        "kms:GenerateDataKey",
        "kms:ScheduleKeyDeletion",
        "kms:ListGrants",
        "kms:PutKeyPolicy",
        "kms:CreateGrant",
        "kms:TagResource",
    ),
    "sqs:queue": (
        "sqs:ReceiveMessage",
        "sqs:GetQueueAttributes",
        "sqs:SendMessage",
        "sqs:DeleteMessage",
        "sqs:PurgeQueue",
        "sqs:SetQueueAttributes",
        "sqs:AddPermission",
        "sqs:TagQueue",
    ),
    "sns:topic": (
        "sns:GetTopicAttributes",
        "sns:Publish",
        "sns:Subscribe",
        "sns:DeleteTopic",
        "sns:ListSubscriptionsByTopic",
        "sns:SetTopicAttributes",
        "sns:AddPermission",
        "sns:TagResource",
    ),
    "lambda:function": (
        "lambda:GetFunction",
        "lambda:GetPolicy",
        "lambda:InvokeFunction",
        "lambda:UpdateFunctionCode",
        "lambda:DeleteFunction",
        "lambda:ListVersionsByFunction",
        "lambda:AddPermission",
        "lambda:RemovePermission",
        "lambda:TagResource",
    ),
    "secretsmanager:secret": (
        "secretsmanager:GetSecretValue",
        "secretsmanager:DescribeSecret",
        "secretsmanager:PutSecretValue",
        "secretsmanager:DeleteSecret",
        "secretsmanager:PutResourcePolicy",
        "secretsmanager:DeleteResourcePolicy",
        "secretsmanager:TagResource",
    ),
    "ecr:repository": (
        "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer",
        "ecr:PutImage",
        "ecr:BatchDeleteImage",
        "ecr:ListImages",
        "ecr:SetRepositoryPolicy",
        "ecr:DeleteRepositoryPolicy",
        "ecr:TagResource",
    ),
}


@dataclass(frozen=True, kw_only=True)
class LevelEntry:
    """One principal (or outside grant) holding a level."""

    principal: str
    kind: str
    account: str | None
    via: str
    conditional: bool
    actions: tuple[str, ...]  # the level's actions it is allowed (or conditionally allowed)
    required_conditions: tuple[HopCondition, ...] = ()  # of its first conditional action, when conditional
    public: bool = False
    outside_organization: bool | None = None


@dataclass(frozen=True, kw_only=True)
class LevelAccess:
    level: str
    actions: tuple[str, ...]  # the actions asked (an object action as `action` on `bucket/*`)
    entries: tuple[LevelEntry, ...]  # at most `first`, by principal
    total: int


@dataclass(frozen=True, kw_only=True)
class ResourceAccess:
    arn: str
    type: str
    account: str
    has_policy: bool
    levels: tuple[LevelAccess, ...]


def level_actions(rtype: str, arn: str, catalog: Catalog | None = None) -> dict[str, list[tuple[str, str]]]:
    """The (action, resource ARN asked) pairs of each access level for a resource of type `rtype`."""
    catalog = catalog or Catalog.default()
    out: dict[str, list[tuple[str, str]]] = {level: [] for level in LEVELS}
    listed = REPRESENTATIVE.get(rtype)
    if listed is not None:
        for item in listed:
            action, on = (item[: -len(_OBJECT)], arn + _OBJECT) if item.endswith(_OBJECT) else (item, arn)
            info = catalog.lookup(action)
            if info is not None and info.access_level in out:
                out[info.access_level].append((action, on))
        return out
    for info in catalog.actions(arn.split(":")[2]):
        level = info.access_level
        if level in out and len(out[level]) < FALLBACK_ACTIONS and catalog.resource_types_for(info, arn):
            out[level].append((info.full_name, arn))
    return out


def resource_access(
    db: Database,
    snap: Snapshot,
    *,
    arn: str,
    first: int = DEFAULT_FIRST,
    cancel: Cancel = NEVER,
) -> ResourceAccess:
    """Who holds each access level on the stored resource `arn` (module docstring)."""
    if first < 0:
        raise InputError(f"`first` must not be negative, got {first}")
    res = snap.resource(arn)
    if res is None:
        raise NotFoundError(f"resource `{arn}` is not in the graph (resources(type:, account:) lists them)")
    try:
        rtype = res.type or resource_type(arn)
    except ArnError:
        rtype = res.type
    levels = []
    for level, pairs in level_actions(rtype, arn).items():
        merged: dict[str, _Merge] = {}
        for action, on in pairs:
            held = frozenset(k for k, m in merged.items() if m.unconditional)
            w = who_can(db, snap, action=action, resource=on, cancel=cancel, exclude=held)
            for a in w.allowed:
                merged.setdefault(a.principal_arn, _Merge.of_access(a)).add(a, action)
            for o in w.outside:
                if o.principal not in held:
                    merged.setdefault(o.principal, _Merge.of_outside(o)).add(o, action)
        entries = [merged[k].entry() for k in sorted(merged)]
        levels.append(
            LevelAccess(
                level=level,
                actions=tuple(a if on == arn else f"{a} on {on}" for a, on in pairs),
                entries=tuple(entries[:first]),
                total=len(entries),
            )
        )
    return ResourceAccess(
        arn=arn, type=rtype, account=res.account, has_policy=res.policy is not None, levels=tuple(levels)
    )


class _Merge:
    """One principal's answers over the actions of a level."""

    def __init__(self, principal: str, kind: str, account: str | None) -> None:
        self.principal, self.kind, self.account = principal, kind, account
        self.vias: set[str] = set()
        self.actions: list[str] = []
        self.unconditional = False
        self.conditions: tuple[HopCondition, ...] = ()
        self.public = False
        self.outside_organization: bool | None = None

    @classmethod
    def of_access(cls, a: Access) -> _Merge:
        return cls(a.principal_arn, a.kind, a.account)

    @classmethod
    def of_outside(cls, o: OutsideGrant) -> _Merge:
        m = cls(o.principal, o.kind, o.account)
        m.outside_organization = o.outside_organization
        return m

    def add(self, a: Access | OutsideGrant, action: str) -> None:
        if action not in self.actions:
            self.actions.append(action)
        if isinstance(a, OutsideGrant):
            self.vias.add("resource")
            self.public = self.public or a.public
        else:
            self.vias.add(a.via)
        if not a.conditional:
            self.unconditional = True
        elif not self.conditions:
            self.conditions = a.required_conditions

    def entry(self) -> LevelEntry:
        return LevelEntry(
            principal=self.principal,
            kind=self.kind,
            account=self.account,
            via=next(iter(self.vias)) if len(self.vias) == 1 else VIA_BOTH,
            conditional=not self.unconditional,
            actions=tuple(self.actions),
            required_conditions=() if self.unconditional else self.conditions,
            public=self.public,
            outside_organization=self.outside_organization,
        )
