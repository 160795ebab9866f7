"""The administrator probes and what can be told of policies about them without the engine.

`PROBES` are the requests `Decider.admin_with` asks on resource `*` (see `decide`); `probe_masks` /
`may_be_admin` are necessary conditions read off the statements; `blind_statement` says a statement reads
nothing of the principal (so its evaluation can be shared between principals); `pack_ids` packs memo keys.
"""

from __future__ import annotations

import weakref
from array import array
from collections.abc import Iterable, Sequence

from graphiam.derive.escalation.classes import PRINCIPAL_KEYS
from graphiam.policy import PolicyDocument, PolicySource, Statement, parse_policy

ADMIN_POLICY_ARN = "arn:aws:iam::aws:policy/AdministratorAccess"
ALLOW_ALL = PolicySource(
    document=parse_policy(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    ),
    policy_id="graphiam:chosen-policy",
    name="a policy of the actor's choosing (Allow * on *)",
    kind="custom",
    via="custom",
)
PROBES = (
    "graphiam:AnyOtherAction",
    "iam:AttachUserPolicy",
    "iam:PutRolePolicy",
    "iam:CreateAccessKey",
    "iam:PassRole",
    "sts:AssumeRole",
    "ec2:RunInstances",
    "s3:GetObject",
    "s3:PutBucketPolicy",
    "kms:Decrypt",
    "secretsmanager:GetSecretValue",
    "lambda:CreateFunction",
)
_ANY = PROBES[0].lower()
ALL_PROBES = (1 << len(PROBES)) - 1
_MASKS: weakref.WeakKeyDictionary[PolicyDocument, tuple[int, int]] = weakref.WeakKeyDictionary()


def may_be_admin(identity: Sequence[PolicySource]) -> bool:
    """Necessary for `Decider.admin_with` with these identity policies: for every probe, an Allow statement
    whose Action/NotAction admits it (the first probe is an action only `*`, or a NotAction sparing it, can
    name) and Resource admits `*`, and no unconditional Deny of any probe on `*`. Otherwise the engine denies
    a probe, whatever the context (and more identity policies cannot undo a Deny)."""
    return probe_masks(identity) == (ALL_PROBES, 0)


def probe_masks(identity: Sequence[PolicySource]) -> tuple[int, int]:
    """The probes some Allow statement may grant, and those an unconditional Deny refuses (`may_be_admin`
    needs `(ALL_PROBES, 0)`; masks of several identities combine with `|`)."""
    allow = deny = 0
    for s in identity:
        a, d = _masks(s.document)
        allow |= a
        deny |= d
    return allow, deny


def _masks(doc: PolicyDocument) -> tuple[int, int]:
    """`probe_masks` of one document, memoised on it. A Resource with a policy variable counts as admitting
    `*` for an Allow and as not admitting it for a Deny."""
    hit = _MASKS.get(doc)
    if hit is None:
        allow = deny = 0
        for i, a in enumerate(PROBES):
            for st in doc.statements_for(a.lower()):
                static = all(p.is_static for p in st.resource_patterns or ())
                if st.effect == "Allow" and (not static or st.matches_resource("*", {})):
                    allow |= 1 << i
                elif (
                    st.effect == "Deny"
                    and static
                    and not st.compiled_conditions
                    and st.matches_resource("*", {})
                ):
                    deny |= 1 << i
        hit = _MASKS[doc] = (allow, deny)
    return hit


def pack_ids(sources: Iterable[object]) -> bytes:
    """The objects' ids packed as a memo key: a quarter of a tuple of ints (memo keys run into millions)."""
    return array("q", [id(s) for s in sources]).tobytes()


def blind_statement(st: Statement) -> bool:
    """The statement reads nothing of the principal: no Principal/NotPrincipal, no policy variable (Resource,
    NotResource or a condition value), no condition on a key the principal defines (`PRINCIPAL_KEYS`)."""
    if st.principals is not None or st.not_principals is not None:
        return False
    return blind_otherwise(st)


def blind_otherwise(st: Statement) -> bool:
    """`blind_statement` but for its Principal/NotPrincipal: no policy variable, no condition on a key the
    principal defines."""
    if any(not pat.is_static for pat in st.resource_patterns or ()):
        return False
    if any(c.key_lower.startswith(PRINCIPAL_KEYS) for c in st.compiled_conditions):
        return False
    return not any("${" in v for block in (st.conditions or {}).values() for vs in block.values() for v in vs)
