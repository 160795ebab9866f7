"""The policy findings report over the stored graph: every policy's risky unconstrained actions, and whom it
reaches.

Policies reported: every customer-managed policy, every inline policy, and the AWS-managed policies attached
to a user, group or role (as identity policies; a permissions boundary grants nothing). Each finding lists the
principals the policy reaches: the users, groups and roles it is attached to, and the members of those groups,
each with `queries.admin`'s facts (administrator now; can become administrator; None when unknown). A policy
without a document (a placeholder for one an export omitted) cannot be analysed: the report's `warnings` name
each one that applies to a principal in scope.

Exclusions (Cloudsplaining's exclusions file, as arguments or read by `exclusions_from`): policy names,
paths or ARNs, principal names, paths or ARNs (any kind, or users, groups and roles apart; `*` wildcards,
case-insensitive) and actions (IAM action patterns; `include_actions` are never excluded, as
Cloudsplaining's include-actions). An excluded principal is left out of the reach lists, and so is every
member reached only through an excluded group; a policy attached only to excluded principals is not
reported. An account scope keeps the policies and principals of that account (AWS-managed policies when they
reach a principal of it).
"""

from __future__ import annotations

import re
import threading
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from graphiam.cancel import NEVER, Cancel
from graphiam.catalog import Catalog
from graphiam.catalog.patterns import wildcard_regex
from graphiam.derive.findings.analyse import Analyser, RiskFinding
from graphiam.derive.findings.rules import SEVERITY, RiskCategory, default_rules
from graphiam.errors import InputError, NotFoundError
from graphiam.graph.cache import GenerationCache
from graphiam.graph.snapshot import Snapshot
from graphiam.model import AWS_MANAGED, INLINE
from graphiam.queries.admin import AdminFacts, all_admin_facts
from graphiam.queries.escalation_paths import EscalationIndex, build_index
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
    is_admin: bool | None = None  # `queries.admin`: None for a group, or when unknown
    can_become_admin: bool | None = None


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
        """Some user or role it reaches is administrator now."""
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
    warnings: tuple[str, ...] = ()  # policies in scope without a document: not analysed


@dataclass(frozen=True, kw_only=True)
class Exclusions:
    policies: tuple[str, ...] = ()
    principals: tuple[str, ...] = ()  # users, groups and roles alike
    actions: tuple[str, ...] = ()
    users: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    include_actions: tuple[str, ...] = ()  # never excluded by `actions`

    def policy(self, p: PolicyRow) -> bool:
        return _glob(self.policies, p.name, p.arn, *_paths(p.path))

    def principal(self, arn: str, name: str, kind: str | None = None) -> bool:
        own = {"user": self.users, "group": self.groups, "role": self.roles}.get(kind or "", ())
        return _glob((*self.principals, *own), name, arn, *_paths(_arn_path(arn)))

    def action_patterns(self) -> list[re.Pattern[str]]:
        keep = "|".join(wildcard_regex(a).pattern for a in self.include_actions if a)
        out = []
        for a in self.actions:
            if not a:
                continue
            p = wildcard_regex(a)
            out.append(re.compile(f"(?!(?:{keep})$)(?:{p.pattern})", p.flags) if keep else p)
        return out


EXCLUSION_KEYS = ("policies", "roles", "users", "groups", "include-actions", "exclude-actions")


def exclusions_from(data: Any, *, source: str) -> Exclusions:
    """Cloudsplaining's exclusions file (decoded YAML or JSON): `policies`, `roles`, `users`, `groups`,
    `include-actions`, `exclude-actions`, each a list of names or patterns (empty strings are ignored, as
    Cloudsplaining's own template holds them)."""
    if data is None:
        return Exclusions()
    if not isinstance(data, dict):
        raise InputError(f"{source}: expected a mapping with {', '.join(EXCLUSION_KEYS)}")
    for key in data:
        if key not in EXCLUSION_KEYS:
            raise InputError(f"{source}: unknown key `{key}` (expected {', '.join(EXCLUSION_KEYS)})")
    lists: dict[str, tuple[str, ...]] = {}
    for key in EXCLUSION_KEYS:
        value = data.get(key) or []
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise InputError(f"{source}: `{key}` must be a list of strings")
        lists[key] = tuple(v for v in value if v)
    return Exclusions(
        policies=lists["policies"],
        roles=lists["roles"],
        users=lists["users"],
        groups=lists["groups"],
        include_actions=lists["include-actions"],
        actions=lists["exclude-actions"],
    )


def merge(a: Exclusions, b: Exclusions) -> Exclusions:
    """Both sets of exclusions."""
    return Exclusions(
        policies=a.policies + b.policies,
        principals=a.principals + b.principals,
        actions=a.actions + b.actions,
        users=a.users + b.users,
        groups=a.groups + b.groups,
        roles=a.roles + b.roles,
        include_actions=a.include_actions + b.include_actions,
    )


def _paths(path: str | None) -> tuple[str, ...]:
    """A path as written (`/service-role/`) and without its leading slash (`service-role/`): Cloudsplaining's
    own exclusions name paths both ways."""
    if not path or path == "/":
        return ()
    return (path, path.lstrip("/"))


def _arn_path(arn: str) -> str | None:
    """The path of an IAM user, group or role ARN (`…:role/service-role/x` -> `/service-role/`)."""
    parts = arn.split(":", 5)
    if len(parts) < 6 or "/" not in parts[5]:
        return None
    inner = parts[5].split("/")[1:-1]
    return "/" + "/".join(inner) + "/" if inner else "/"


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
        admin: dict[str, AdminFacts] | None = None,
    ) -> None:
        """`admin`: `queries.admin.all_admin_facts` of the snapshot (None: no principal is marked)."""
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
        self.admin = admin or {}
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
            if excl.principal(a.target_arn, name, kind):
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
        if p is None or excl.principal(arn, p.name, p.kind):
            return
        facts = self.admin.get(arn)
        out[(arn, via)] = Reached(
            arn=arn,
            kind=p.kind,
            name=p.name,
            account=p.account,
            via=via,
            is_admin=facts.is_admin if facts else None,
            can_become_admin=facts.can_become_admin if facts else None,
        )


def build_findings_index(
    db: Database,
    snap: Snapshot,
    analyser: Analyser | None = None,
    escalation: EscalationIndex | None = None,
) -> FindingsIndex:
    """The index of `snap`; `escalation` is its escalation index (built here when not given)."""
    esc = escalation if escalation is not None else build_index(db, snap)
    return FindingsIndex(snap, R.all_attachments(db), analyser=analyser, admin=all_admin_facts(esc))


def policy_findings(
    index: FindingsIndex,
    *,
    account: str | None = None,
    categories: Iterable[RiskCategory] | None = None,
    exclusions: Exclusions = Exclusions(),
    policies: Iterable[str] | None = None,
    cancel: Cancel = NEVER,
) -> Report:
    """The whole report (see the module docstring), policies sorted by ARN; only the policies of the ARNs
    `policies` when given; `cancel` is checked per policy."""
    if account is not None and account not in index.accounts:
        raise NotFoundError(f"account `{account}` is not in the graph")
    cats = list(categories) if categories is not None else None
    patterns = exclusions.action_patterns()
    snap = index.snap
    reports: list[PolicyReport] = []
    warnings: list[str] = []
    analysed = 0
    for arn in sorted(snap.policies) if policies is None else sorted(set(policies) & snap.policies.keys()):
        cancel.check()
        p = snap.policies[arn]
        doc = snap.documents.get(arn)
        if exclusions.policy(p):
            continue
        if doc is None:
            warnings += _unanalysed(index, arn, exclusions, account)
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
    return Report(
        policies=reports, summary=summarise(reports, cats), analysed=analysed, warnings=tuple(warnings)
    )


def _unanalysed(index: FindingsIndex, arn: str, exclusions: Exclusions, account: str | None) -> list[str]:
    """The warning for a policy without a document that applies to a principal in scope (else none)."""
    reached, _ = index.reach(arn, exclusions, account)
    bounded = [b for b in index.boundaries.get(arn, ()) if account is None or _account_of(b) == account]
    if not reached and not bounded:
        return []
    whom = [f"{len(reached)} principal(s)"] if reached else []
    whom += [f"the permissions boundary of {len(bounded)} principal(s)"] if bounded else []
    return [
        f"policy `{arn}` has no document in the graph (the export named it but did not include it): not "
        f"analysed; it applies to {' and '.join(whom)}, whose administrator facts may be unknown"
    ]


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

    def peek(self, generation: int) -> FindingsIndex | None:
        """The index of `generation` when it is built already (never builds: safe on an event loop)."""
        return self._cache.peek(generation)

    def get(self, db: Database, snap: Snapshot, escalation: EscalationIndex | None = None) -> FindingsIndex:
        def build() -> FindingsIndex:
            analyser = self.shared_analyser()
            analyser.forget_documents()  # the per-object memo would keep older snapshots' documents alive
            return build_findings_index(db, snap, analyser, escalation)

        return self._cache.get(
            snap.generation, None, build, still_current=lambda: db.generation == snap.generation
        )


def analyse_ahead(cache: FindingsIndexCache, snap: Snapshot, start: int, count: int) -> int:
    """Analyse `count` of the snapshot's documents (in ARN order, from `start`) ahead of the first report,
    with the analyser of `cache` (it keeps each document's analysis by its text); the number analysed."""
    analyser = cache.shared_analyser()
    arns = sorted(snap.documents)[start : start + count]
    for arn in arns:
        analyser.findings(snap.documents[arn])
    return len(arns)


def findings_index_cache(caches: dict[str, Any]) -> FindingsIndexCache:
    """The findings-index cache kept in a server's `caches`."""
    cache = caches.get("findings-index")
    if cache is None:
        cache = caches.setdefault("findings-index", FindingsIndexCache())
    return cache  # type: ignore[no-any-return]
