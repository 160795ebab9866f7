"""An in-memory view of everything the policy engine needs, built once per database generation.

Every principal's identity policies (its own, inline, and its groups'), its permissions boundary, tags and
(roles) trust policy, each document parsed once. Deciding thousands of requests then costs no database
round trip. The snapshot is rebuilt after a write (the database's `generation` changes).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from graphiam.arn import bucket_of, is_service_linked_role
from graphiam.graph.cache import GenerationCache
from graphiam.graph.resources import ResourceInfo
from graphiam.policy import PolicyDocument, PolicySource, parse_policy
from graphiam.policy.document import parse_stored
from graphiam.store import Database
from graphiam.store import reader as R
from graphiam.store.org_store import ScpRow, UnitRow, governing_chain, read_organization, read_rcps
from graphiam.store.records import (
    AttachmentRow,
    GroupRow,
    InstanceProfileRow,
    PolicyRow,
    ResourceRow,
    RoleRow,
    UserRow,
)

Levels = tuple[tuple[PolicySource, ...], ...]


@dataclass(frozen=True, kw_only=True)
class PrincipalInfo:
    """A user or role as the engine sees it."""

    arn: str
    kind: str  # user | role
    name: str
    account: str
    unique_id: str | None
    tags: dict[str, str]
    identity: tuple[PolicySource, ...]
    boundary: tuple[PolicySource, ...] | None  # None: no boundary; () : a boundary whose document is missing
    boundary_arn: str | None
    trust: PolicySource | None = None  # roles: the trust policy
    groups: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    # the SCPs of the principal's account, one tuple per organization level (root first); None when no stored
    # organization governs it (not a member account, the management account, or a service-linked role)
    scps: tuple[tuple[PolicySource, ...], ...] | None = None
    # identity policies (its own or its groups') attached but without a document in the graph (placeholders:
    # an export named them and omitted them); not in `identity`: what they allow or deny is unknown
    missing_identity: tuple[str, ...] = ()

    @property
    def incomplete(self) -> tuple[str, ...]:
        """Every policy of this principal without a document: the missing identity policies, then the
        permissions boundary when its document is missing. Any decision about the principal rests on them."""
        if self.boundary == () and self.boundary_arn is not None:
            return (*self.missing_identity, self.boundary_arn)
        return self.missing_identity

    def assuming_missing_allow(self) -> PrincipalInfo:
        """The principal as it would be if every missing document allowed everything: each missing identity
        policy an Allow of `*` on `*` (`missing_stand_in`), a missing boundary no boundary. What this one is
        denied, the real one is denied too, whatever the missing documents say (they can add Allows and
        Denies, and a boundary only narrows)."""
        if not self.incomplete:
            return self
        return replace(
            self,
            identity=self.identity + tuple(missing_stand_in(a) for a in self.missing_identity),
            boundary=None if self.boundary == () else self.boundary,
        )

    @property
    def principal_type(self) -> str:
        """aws:PrincipalType as AWS reports it: `User`, or `AssumedRole` for a role's session."""
        return "User" if self.kind == "user" else "AssumedRole"

    def derived_context(self) -> dict[str, str]:
        """The request-context keys AWS derives from the principal itself."""
        ctx = {
            "aws:PrincipalArn": self.arn,
            "aws:PrincipalAccount": self.account,
            "aws:PrincipalType": self.principal_type,
        }
        if self.kind == "user":
            ctx["aws:username"] = self.name
            if self.unique_id:
                ctx["aws:userid"] = self.unique_id
        for k, v in self.tags.items():
            ctx[f"aws:PrincipalTag/{k}"] = v
        return ctx


@dataclass(kw_only=True)
class Snapshot:
    generation: int
    principals: dict[str, PrincipalInfo]
    policies: dict[str, PolicyRow]
    documents: dict[str, PolicyDocument] = field(default_factory=dict)
    profiles: dict[str, list[str]] = field(default_factory=dict)  # role arn -> instance profile arns
    resources: dict[str, ResourceInfo] = field(default_factory=dict)  # stored resources by ARN
    # account id -> its SCPs / RCPs per organization level (root first), None when none govern it
    scp_levels_of: Callable[[str], Levels | None] = field(default=lambda _account: None, repr=False)
    rcp_levels_of: Callable[[str], Levels | None] = field(default=lambda _account: None, repr=False)
    # the stored organization's id (None: no organization loaded) and, per member account, its
    # aws:PrincipalOrgPaths entry (`o-id/r-root/ou-…/`, the path to the account's parent)
    organization: str | None = None
    org_paths: dict[str, str] = field(default_factory=dict)
    # False for a snapshot of part of the graph (`graph.partial`): principals outside it are not in it
    complete: bool = True

    def org_member(self, account: str | None) -> bool:
        """Whether `account` is a member (or the management account) of the stored organization."""
        return account is not None and account in self.org_paths

    def principal(self, arn: str) -> PrincipalInfo | None:
        return self.principals.get(arn)

    def resource_tags(self, arn: str) -> dict[str, str]:
        p = self.principals.get(arn)
        if p is not None:
            return dict(p.tags)
        r = self.resources.get(arn)
        return dict(r.tags) if r else {}

    def resource(self, arn: str) -> ResourceInfo | None:
        """The stored resource `arn`."""
        return self.resources.get(arn)

    def governing_resource(self, arn: str) -> ResourceInfo | None:
        """The stored resource whose policy governs a request on `arn`: the resource itself, or for an S3
        object (`arn:aws:s3:::bucket/key`) its bucket."""
        found = self.resources.get(arn)
        if found is not None:
            return found
        bucket = bucket_of(arn)
        return self.resources.get(bucket) if bucket else None

    def resources_of(self, *, type: str | None = None, account: str | None = None) -> list[ResourceInfo]:
        """Stored resources of a type and/or account, in ARN order."""
        return [
            r
            for arn, r in sorted(self.resources.items())
            if (type is None or r.type == type) and (account is None or r.account == account)
        ]

    def scp_levels(self, account: str) -> Levels | None:
        """The SCPs governing principals of `account`, one tuple per level (root first, the account last);
        None when no stored organization governs it (not a member, or its management account)."""
        return self.scp_levels_of(account)

    def rcp_levels(self, account: str) -> Levels | None:
        """The RCPs governing resources of `account`, one tuple per level (root first, the account last), as
        `scp_levels`; None when no stored organization governs it or the organization has no RCPs."""
        return self.rcp_levels_of(account)


_KIND_VIA = {"User": "user", "IAMGroup": "group", "Role": "role"}
_ALLOW_ALL = parse_policy(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
)


def missing_stand_in(policy_arn: str) -> PolicySource:
    """An Allow of `*` on `*` standing for the policy `policy_arn`, whose document the graph lacks (the most a
    missing identity policy could allow): `PrincipalInfo.assuming_missing_allow`."""
    return PolicySource(
        document=_ALLOW_ALL,
        policy_id=policy_arn,
        name=f"{policy_arn.rsplit('/', 1)[-1]} (no document: assumed to allow everything)",
        kind="missing",
        via="missing",
    )


def missing_identity_warning(policy_arn: str) -> str:
    """The warning every answer about a principal carries for an identity policy without a document."""
    return (
        f"policy `{policy_arn}` has no document in the graph (the export named it but did not include it): "
        "what it allows or denies is unknown, and decisions leave it out"
    )


def missing_boundary_warning(policy_arn: str) -> str:
    """The warning every answer about a principal carries for a permissions boundary without a document."""
    return (
        f"permissions boundary `{policy_arn}` has no document in the graph (the export named it but did not "
        "include it): what it allows is unknown, and decisions treat it as allowing nothing"
    )


def _source(policy: PolicyRow, doc: PolicyDocument, via: str, via_name: str | None = None) -> PolicySource:
    return PolicySource(
        document=doc, policy_id=policy.arn, name=policy.name, kind=policy.kind, via=via, via_name=via_name
    )


@dataclass(kw_only=True)
class SnapshotRows:
    """What a snapshot is assembled from: the rows of the whole graph (`build_snapshot`), or of a part of it
    (`graph.partial.build_partial_snapshot`). Attachments and memberships name policies and groups of these
    rows only."""

    generation: int
    users: list[UserRow]
    roles: list[RoleRow]
    groups: list[GroupRow]
    policies: dict[str, PolicyRow]
    attachments: list[AttachmentRow]
    memberships: list[tuple[str, str]]
    profiles: list[tuple[InstanceProfileRow, str]]
    org_units: list[UnitRow]
    org_scps: list[ScpRow]
    org_rcps: list[ScpRow]
    resources: list[ResourceRow]


def build_snapshot(db: Database) -> Snapshot:
    """Read the whole graph's authorisation facts and parse every document once."""
    with db.read_transaction():  # one consistent view, even while a writer commits
        generation = db.generation
        users, roles, groups = R.all_principal_rows(db)
        org_units, org_scps = read_organization(db)
        rows = SnapshotRows(
            generation=generation,
            users=users,
            roles=roles,
            groups=groups,
            policies={p.arn: p for p in R.all_policies(db)},
            attachments=R.all_attachments(db),
            memberships=R.all_memberships(db),
            profiles=R.all_profiles(db),
            org_units=org_units,
            org_scps=org_scps,
            org_rcps=read_rcps(db),
            resources=R.all_resources(db),
        )
    return assemble(rows)


def assemble(rows: SnapshotRows) -> Snapshot:
    """The snapshot of `rows`: every document parsed once (the same text once), each principal's policies,
    boundary, groups and SCP levels."""
    generation, users, roles, groups = rows.generation, rows.users, rows.roles, rows.groups
    policies, attachments, memberships = rows.policies, rows.attachments, rows.memberships
    profile_rows, resource_rows = rows.profiles, rows.resources
    org_units, org_scps, org_rcps = rows.org_units, rows.org_scps, rows.org_rcps
    docs: dict[str, PolicyDocument] = {}
    by_text: dict[str, PolicyDocument] = {}
    for p in policies.values():
        if p.document is not None:
            doc = by_text.get(p.document)
            if doc is None:
                doc = by_text[p.document] = parse_stored(p.document, where=p.arn)
            docs[p.arn] = doc
    attached: dict[str, list[tuple[str, str]]] = defaultdict(list)  # target -> [(policy, how)]

    # a principal's policies in a canonical order, inline ones first (as an export lists them), each by ARN:
    # the engine's row order depends on how the graph was written (LadybugDB lists a reloaded account's
    # attachments in another order than a fresh load), and the matched statements of an answer, and the
    # statement a derived edge names, follow this order
    def canonical(a: AttachmentRow) -> tuple[str, bool, str]:
        policy = policies.get(a.policy_arn)
        return a.target_arn, policy is None or policy.kind != "inline", a.policy_arn

    for a in sorted(attachments, key=canonical):
        attached[a.target_arn].append((a.policy_arn, a.attached_as))
    member_of: dict[str, list[str]] = defaultdict(list)
    for user_arn, group_arn in memberships:
        member_of[user_arn].append(group_arn)
    group_name = {g.arn: g.name for g in groups}

    def identity_of(
        arn: str, via: str, via_name: str | None = None, missing: list[str] | None = None
    ) -> list[PolicySource]:
        out = []
        for parn, how in attached.get(arn, ()):
            if how == "boundary":
                continue
            if parn in docs:
                out.append(_source(policies[parn], docs[parn], via, via_name))
            elif missing is not None and parn not in missing:
                missing.append(parn)
        return out

    def boundary_of(arn: str) -> tuple[tuple[PolicySource, ...] | None, str | None, list[str]]:
        for parn, how in attached.get(arn, ()):
            if how == "boundary":
                if parn in docs:
                    return (_source(policies[parn], docs[parn], "boundary"),), parn, []
                return (), parn, [missing_boundary_warning(parn)]
        return None, None, []

    levels_of = _scp_levels(org_units, org_scps)
    rcp_levels_of = _scp_levels(org_units, org_rcps, kind="rcp") if org_rcps else (lambda _account: None)

    def scps_of(account: str, arn: str) -> tuple[tuple[PolicySource, ...], ...] | None:
        return None if is_service_linked_role(arn) else levels_of(account)

    principals: dict[str, PrincipalInfo] = {}
    for u in users:
        lacking: list[str] = []
        ident = identity_of(u.arn, "user", missing=lacking)
        gs = sorted(member_of.get(u.arn, ()))
        for g in gs:
            ident += identity_of(g, "group", group_name.get(g), missing=lacking)
        boundary, barn, warn = boundary_of(u.arn)
        warn = [*map(missing_identity_warning, lacking), *warn]
        principals[u.arn] = PrincipalInfo(
            arn=u.arn,
            kind="user",
            name=u.name,
            account=u.account,
            unique_id=u.user_id,
            tags=u.tags,
            identity=tuple(ident),
            boundary=boundary,
            boundary_arn=barn,
            groups=tuple(gs),
            warnings=tuple(warn),
            scps=scps_of(u.account, u.arn),
            missing_identity=tuple(lacking),
        )
    for r in roles:
        lacking = []
        ident = identity_of(r.arn, "role", missing=lacking)
        boundary, barn, warn = boundary_of(r.arn)
        warn = [*map(missing_identity_warning, lacking), *warn]
        trust = None
        if r.trust_policy:
            doc = by_text.get(r.trust_policy) or parse_stored(r.trust_policy, where=f"{r.arn} trust policy")
            trust = PolicySource(
                document=doc,
                policy_id=f"{r.arn}#trust",
                name="trust policy",
                kind="trust",
                via="resource",
                via_name=r.name,
            )
        principals[r.arn] = PrincipalInfo(
            arn=r.arn,
            kind="role",
            name=r.name,
            account=r.account,
            unique_id=r.role_id,
            tags=r.tags,
            identity=tuple(ident),
            boundary=boundary,
            boundary_arn=barn,
            trust=trust,
            warnings=tuple(warn),
            scps=scps_of(r.account, r.arn),
            missing_identity=tuple(lacking),
        )
    profiles: dict[str, list[str]] = defaultdict(list)
    for ip, role_arn in sorted(profile_rows, key=lambda r: (r[1], r[0].arn)):
        profiles[role_arn].append(ip.arn)
    return Snapshot(
        generation=generation,
        principals=principals,
        policies=policies,
        documents=docs,
        profiles=dict(profiles),
        resources={r.arn: _resource(r, by_text) for r in resource_rows},
        scp_levels_of=levels_of,
        rcp_levels_of=rcp_levels_of,
        organization=org_units[0].org if org_units else None,
        org_paths=_org_paths(org_units),
    )


def _org_paths(units: list[UnitRow]) -> dict[str, str]:
    """Each account's aws:PrincipalOrgPaths value: the organization id, then the ids from the root down to
    the account's parent, each followed by `/` (IAM User Guide, "aws:PrincipalOrgPaths")."""
    by_id = {u.id: u for u in units}
    out: dict[str, str] = {}
    for u in units:
        if u.kind != "account":
            continue
        chain: list[str] = []
        parent = by_id.get(u.parent) if u.parent else None
        while parent is not None and len(chain) < len(units):
            chain.append(parent.id)
            parent = by_id.get(parent.parent) if parent.parent else None
        out[u.id] = "/".join([u.org, *reversed(chain)]) + "/"
    return out


def _resource(r: ResourceRow, by_text: dict[str, PolicyDocument]) -> ResourceInfo:
    source = None
    if r.policy:
        doc = by_text.get(r.policy) or parse_stored(r.policy, where=f"{r.arn} resource policy")
        source = PolicySource(
            document=doc,
            policy_id=f"{r.arn}#policy",
            name=f"{r.type} policy",
            kind="resource",
            via="resource",
            via_name=r.name,
        )
    return ResourceInfo(
        arn=r.arn,
        type=r.type,
        account=r.account,
        region=r.region,
        name=r.name,
        tags=r.tags,
        policy=source,
        policy_text=r.policy,
        source=r.source,
        role=r.role,
    )


def _scp_levels(
    units: list[UnitRow], scps: list[ScpRow], *, kind: str = "scp"
) -> Callable[[str], Levels | None]:
    """account id -> its SCPs (or RCPs: `kind`) per level (root first, the account last), or None when they
    do not govern it."""
    by_id = {u.id: u for u in units}
    attached: dict[str, list[PolicySource]] = defaultdict(list)
    for p in scps:
        src = PolicySource(
            document=parse_stored(p.document, where=f"{kind.upper()} {p.id}"),
            policy_id=p.id,
            name=p.name,
            kind=kind,
            via=kind,
        )
        for t in p.targets:
            attached[t].append(src)
    cache: dict[str, Levels | None] = {}

    def levels(account: str) -> Levels | None:
        if account not in cache:
            chain = governing_chain(by_id, account)
            cache[account] = None if chain is None else tuple(tuple(attached[u]) for u in chain)
        return cache[account]

    return levels


class SnapshotCache:
    """Holds the current snapshot; builds it (once, off the lock) when the database has changed."""

    def __init__(self) -> None:
        self._cache: GenerationCache[Snapshot] = GenerationCache()

    def current(self, db: Database) -> Snapshot | None:
        """The snapshot if it is up to date, else None (never builds: safe on the event loop)."""
        return self._cache.peek(db.generation)

    def get(self, db: Database) -> Snapshot:
        generation = db.generation
        return self._cache.get(
            generation, None, lambda: build_snapshot(db), still_current=lambda: db.generation == generation
        )


def snapshot_cache(caches: dict[str, Any]) -> SnapshotCache:
    cache: SnapshotCache | None = caches.get("snapshot")
    if cache is None:
        cache = caches.setdefault("snapshot", SnapshotCache())
    return cache
