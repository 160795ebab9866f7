"""The policy findings report over the stored graph: every policy's risky unconstrained actions, and whom it
reaches.

Policies reported: every customer-managed policy, every inline policy, and the AWS-managed policies attached
to a user, group or role (as identity policies; a permissions boundary grants nothing). Each finding lists the
principals the policy reaches: the users, groups and roles it is attached to, and the members of those groups,
each marked administrator or not (`queries.escalation_paths.direct_admins`: allowed every probe action on `*`
now, with every Deny and boundary applied).

Exclusions (Cloudsplaining's exclusions file, as arguments): policy names or ARNs, principal names or ARNs
(users, groups, roles; `*` wildcards, case-insensitive) and actions (IAM action patterns). An excluded
principal is left out of the reach lists, and so is every member reached only through an excluded group; a
policy attached only to excluded principals is not reported. An account scope keeps the policies and
principals of that account (AWS-managed policies when they reach a principal of it).
"""

from __future__ import annotations

import re
import threading
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from graphiam.catalog import Catalog
from graphiam.catalog.patterns import wildcard_regex
from graphiam.derive.findings.analyse import Analyser, RiskFinding
from graphiam.derive.findings.rules import SEVERITY, RiskCategory, default_rules
from graphiam.errors import NotFoundError
from graphiam.graph.cache import GenerationCache
from graphiam.graph.snapshot import Snapshot
from graphiam.model import AWS_MANAGED, INLINE
from graphiam.queries.escalation_paths import direct_admins
from graphiam.store import Database
from graphiam.store import reader as R
from graphiam.store.records import AttachmentRow, PolicyRow

_KINDS = {"User": "user", "IAMGroup": "group", "Role": "role"}


@dataclass(frozen=True, kw_only=True)
class Reached:
    arn: str
    kind: str  # user | group | role
    name: str
    account: str
    via: str | None = None  # the group a user is reached through
    is_admin: bool | None = None  # None for a group


@dataclass(frozen=True, kw_only=True)
class PolicyReport:
    arn: str
    name: str
    kind: str  # customer-managed | inline | aws-managed
    account: str
    owner: str | None  # inline policies: the user, group or role holding it
    findings: tuple[RiskFinding, ...]
    principals: tuple[Reached, ...]
    boundary_of: tuple[str, ...]  # principals it is the permissions boundary of (it grants them nothing)
    sids: dict[int, str | None] = field(default_factory=dict)

    @property
    def reaches_admin(self) -> bool:
        return any(p.is_admin for p in self.principals)


@dataclass(frozen=True, kw_only=True)
class SummaryRow:
    category: RiskCategory
    severity: str
    policies: int
    actions: int  # distinct actions (ServiceWildcard: distinct `svc:*` items)
    principals: int  # distinct users and roles reached by those policies


@dataclass(frozen=True, kw_only=True)
class Report:
    policies: list[PolicyReport]
    summary: list[SummaryRow]
    analysed: int  # policies considered (after scope and exclusions)


@dataclass(frozen=True, kw_only=True)
class Exclusions:
    policies: tuple[str, ...] = ()
    principals: tuple[str, ...] = ()
    actions: tuple[str, ...] = ()

    def policy(self, p: PolicyRow) -> bool:
        return _glob(self.policies, p.name, p.arn)

    def principal(self, arn: str, name: str) -> bool:
        return _glob(self.principals, name, arn)

    def action_patterns(self) -> list[re.Pattern[str]]:
        return [wildcard_regex(a) for a in self.actions if a]


def _glob(patterns: Iterable[str], *values: str) -> bool:
    return any(fnmatchcase(v.lower(), p.lower()) for p in patterns if p for v in values)


def _account_of(arn: str) -> str:
    parts = arn.split(":")
    return parts[4] if len(parts) > 4 else ""


class FindingsIndex:
    """What the report needs beyond the snapshot, built once per database generation."""

    def __init__(
        self,
        snap: Snapshot,
        attachments: Sequence[AttachmentRow],
        catalog: Catalog | None = None,
        analyser: Analyser | None = None,
    ) -> None:
        self.snap = snap
        self.generation = snap.generation
        self.analyser = analyser or Analyser(catalog or Catalog.default(), default_rules())
        self.targets: dict[str, list[AttachmentRow]] = defaultdict(
            list
        )  # policy -> identity/inline attachments
        self.boundaries: dict[str, list[str]] = defaultdict(list)
        for a in attachments:
            if a.attached_as == "boundary":
                self.boundaries[a.policy_arn].append(a.target_arn)
            else:
                self.targets[a.policy_arn].append(a)
        self.members: dict[str, list[str]] = defaultdict(list)
        for p in snap.principals.values():
            for g in p.groups:
                self.members[g].append(p.arn)
        self.admins = frozenset(direct_admins(snap))
        self.accounts = {p.account for p in snap.principals.values()} | {
            p.account for p in snap.policies.values() if p.kind != AWS_MANAGED
        }

    def reach(self, policy_arn: str, excl: Exclusions, account: str | None) -> tuple[list[Reached], bool]:
        """The principals the policy reaches, and whether it is attached to any principal at all (in
        scope)."""
        out: dict[tuple[str, str | None], Reached] = {}
        attached = False
        for a in self.targets.get(policy_arn, ()):
            if account is not None and _account_of(a.target_arn) != account:
                continue
            attached = True
            kind = _KINDS.get(a.target_type, a.target_type.lower())
            name = a.target_arn.rsplit("/", 1)[-1]
            if excl.principal(a.target_arn, name):
                continue
            if kind == "group":
                out[(a.target_arn, None)] = Reached(
                    arn=a.target_arn, kind="group", name=name, account=_account_of(a.target_arn)
                )
                for m in self.members.get(a.target_arn, ()):
                    self._add(out, m, a.target_arn, excl)
            else:
                self._add(out, a.target_arn, None, excl)
        return sorted(out.values(), key=lambda r: (r.arn, r.via or "")), attached

    def _add(
        self, out: dict[tuple[str, str | None], Reached], arn: str, via: str | None, excl: Exclusions
    ) -> None:
        p = self.snap.principals.get(arn)
        if p is None or excl.principal(arn, p.name):
            return
        out[(arn, via)] = Reached(
            arn=arn, kind=p.kind, name=p.name, account=p.account, via=via, is_admin=arn in self.admins
        )


def build_findings_index(db: Database, snap: Snapshot, analyser: Analyser | None = None) -> FindingsIndex:
    return FindingsIndex(snap, R.all_attachments(db), analyser=analyser)


def policy_findings(
    index: FindingsIndex,
    *,
    account: str | None = None,
    categories: Iterable[RiskCategory] | None = None,
    exclusions: Exclusions = Exclusions(),
    policies: Iterable[str] | None = None,
) -> Report:
    """The whole report (see the module docstring), policies sorted by ARN; only the policies of the ARNs
    `policies` when given."""
    if account is not None and account not in index.accounts:
        raise NotFoundError(f"account `{account}` is not in the graph")
    cats = list(categories) if categories is not None else None
    patterns = exclusions.action_patterns()
    snap = index.snap
    reports: list[PolicyReport] = []
    analysed = 0
    for arn in sorted(snap.policies) if policies is None else sorted(set(policies) & snap.policies.keys()):
        p = snap.policies[arn]
        doc = snap.documents.get(arn)
        if doc is None or exclusions.policy(p):
            continue
        if account is not None and p.kind != AWS_MANAGED and p.account != account:
            continue
        reached, attached = index.reach(arn, exclusions, account)
        if p.kind == AWS_MANAGED and not attached:
            continue
        if attached and not reached:  # attached only to excluded principals
            continue
        analysed += 1
        found = index.analyser.findings(doc, exclude_actions=patterns, categories=cats)
        if not found:
            continue
        boundary = [b for b in index.boundaries.get(arn, ()) if account is None or _account_of(b) == account]
        reports.append(
            PolicyReport(
                arn=arn,
                name=p.name,
                kind=p.kind,
                account=p.account,
                owner=p.owner_arn if p.kind == INLINE else None,
                findings=tuple(found),
                principals=tuple(reached),
                boundary_of=tuple(sorted(boundary)),
                sids=dict(index.analyser.document(doc).sids),
            )
        )
    return Report(policies=reports, summary=summarise(reports, cats), analysed=analysed)


def summarise(
    reports: Sequence[PolicyReport], categories: Sequence[RiskCategory] | None = None
) -> list[SummaryRow]:
    rows = []
    for cat in categories if categories is not None else RiskCategory:
        hits = [(r, f) for r in reports for f in r.findings if f.category is cat]
        rows.append(
            SummaryRow(
                category=cat,
                severity=SEVERITY[cat],
                policies=len(hits),
                actions=len({a for _, f in hits for a in f.actions}),
                principals=len({p.arn for r, _ in hits for p in r.principals if p.kind != "group"}),
            )
        )
    return rows


class FindingsIndexCache:
    """The index of the snapshot's generation, kept for the newest one (a `GenerationCache`: built once, off
    the lock; an older snapshot's index is built for its reader and not kept), and one analyser for all of
    them, so a change re-analyses only the documents whose text it changed."""

    def __init__(self) -> None:
        self._cache: GenerationCache[FindingsIndex] = GenerationCache()
        self._lock = threading.Lock()  # guards the creation of `analyser`
        self.analyser: Analyser | None = None

    def shared_analyser(self) -> Analyser:
        """The analyser every index of this cache uses, made on first use (the catalogue takes a while)."""
        with self._lock:
            if self.analyser is None:
                self.analyser = Analyser(Catalog.default(), default_rules())
            return self.analyser

    def get(self, db: Database, snap: Snapshot) -> FindingsIndex:
        def build() -> FindingsIndex:
            analyser = self.shared_analyser()
            analyser.forget_documents()  # the per-object memo would keep older snapshots' documents alive
            return build_findings_index(db, snap, analyser)

        return self._cache.get(
            snap.generation, None, build, still_current=lambda: db.generation == snap.generation
        )


def findings_index_cache(caches: dict[str, Any]) -> FindingsIndexCache:
    """The findings-index cache kept in a server's `caches`."""
    cache = caches.get("findings-index")
    if cache is None:
        cache = caches.setdefault("findings-index", FindingsIndexCache())
    return cache  # type: ignore[no-any-return]
