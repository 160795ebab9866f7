"""One policy document → the actions it allows without resource constraints, by risk category. Pure.

"Without resource constraints" (IAM JSON policy reference, "Resource" and "NotResource"):

- an Allow statement whose `Resource` entries match every resource the action can be requested on, or whose
  `NotResource` does not exclude them all (`graphiam.derive.findings.resources`: `*`, `arn:aws:s3:::*/*` leave
  s3:GetObject unconstrained; `arn:aws:iam::*:policy/fn2-*`, one account or a policy variable constrain;
  `iam:*` on `arn:aws:s3:::*` grants nothing);
- `Action` patterns and `NotAction` (the complement: every catalogue action the list does not name) are both
  expanded against the catalogue, so `iam:*`, `iam:Create*` and a NotAction sparing iam all count;
- a statement with a Condition still counts: its conditions are reported beside the action (`conditional`),
  unless no request can satisfy them now: conditions are judged with the request context every question uses
  (`graphiam.graph.context`, for a principal not known: a date already past on `aws:CurrentTime`, or on
  `aws:TokenIssueTime` (credentials are issued now, or absent), a `Null` contradiction), and such an Allow
  statement grants nothing (IAM Vulnerable's fp5). Judged when the document is analysed for a database
  generation (`Analyser.document`);
- a Deny statement of the same policy without a Condition removes the actions whose every resource it covers
  (same rules); with `NotResource` it removes them unless the listed entries cover them all (what it leaves
  allowed lies inside the listed resources: constrained). A Deny on named resources, or with a Condition,
  removes nothing.

ResourceExposure and InfrastructureModification consider only actions that support resource-level permissions
(the catalogue lists a resource type), as Cloudsplaining does: `*` is the only way to grant the others. The
other categories also count actions that only work on `*` (ecr:GetAuthorizationToken, sts:GetSessionToken).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from graphiam.catalog import Catalog
from graphiam.derive.findings.resources import Coverage, StatementView, bits
from graphiam.derive.findings.rules import MODIFY_LEVELS, PERMISSIONS_MANAGEMENT, RiskCategory, Rules
from graphiam.graph.context import build_context
from graphiam.policy import PolicyDocument, Statement
from graphiam.policy.request import normalise_context
from graphiam.policy.witness import satisfiable

_NAMES_LIMIT = 4096
_LISTED = (
    RiskCategory.RESOURCE_EXPOSURE,
    RiskCategory.DATA_EXFILTRATION,
    RiskCategory.CREDENTIALS_EXPOSURE,
    RiskCategory.INFRASTRUCTURE_MODIFICATION,
)


@dataclass(frozen=True, kw_only=True)
class RiskFinding:
    """The actions of one category, with what grants them."""

    category: RiskCategory
    actions: tuple[str, ...]  # catalogue spelling, sorted; ServiceWildcard: `svc:*` items, or `*`
    techniques: tuple[str, ...] = ()  # PrivilegeEscalation: the technique ids whose actions are all allowed
    statements: tuple[int, ...] = ()  # the Allow statements that grant them
    conditions: tuple[str, ...] = ()  # the conditions of conditional grants: `#i: Operator key [values]`
    conditional: bool = False  # every action is granted only by statements with a Condition


@dataclass(frozen=True, kw_only=True)
class Signature:
    """What a set of granting statements says about every action it grants."""

    statements: tuple[int, ...]
    conditions: tuple[str, ...]  # () when one of the statements has no Condition
    not_action: bool  # only NotAction statements grant it
    not_resource: bool  # only NotResource statements grant it


@dataclass(frozen=True, kw_only=True)
class DocumentFindings:
    """One document's analysis. Sets of actions are bit sets over `Coverage.actions` (name order)."""

    grants: tuple[tuple[int, tuple[int, ...]], ...]  # (actions, the Allow statements granting them), disjoint
    granted: int  # every action some Allow statement grants unconstrained (the union of `grants`)
    signatures: Mapping[tuple[int, ...], Signature]  # those statements -> what they say
    by_category: Mapping[RiskCategory, int]  # the listed categories' actions
    wildcards: Mapping[
        str, tuple[int, ...]
    ]  # `svc:*` (or `*`) -> the Allow statements naming the service whole
    sids: Mapping[int, str | None]
    plain: list[RiskFinding] = field(
        default_factory=list
    )  # every category, no exclusion (filled on first use)


def never_satisfiable(doc: PolicyDocument) -> frozenset[int]:
    """Indices of the Allow statements whose conditions no request can satisfy now, whoever the principal:
    keys AWS sets from the clock are judged against now, the principal's own keys are left open (unknown),
    the keys a caller chooses may take any value (`graph.context`, `policy.witness.satisfiable`)."""
    conditional = [st for st in doc.statements if st.effect == "Allow" and st.compiled_conditions]
    if not conditional:
        return frozenset()
    built = build_context(None, None, "*", {})
    ctx = normalise_context(built.values)
    return frozenset(
        st.index
        for st in conditional
        if not satisfiable(st.compiled_conditions, ctx, free=built.free, choices=built.choices)[0]
    )


def render_conditions(st: Statement) -> tuple[str, ...]:
    return tuple(
        f"#{st.index}: {op} {key} {list(values)}"
        for op, block in (st.conditions or {}).items()
        for key, values in block.items()
    )


def _lowest(mask: int) -> int:
    return (mask & -mask).bit_length()


class Analyser:
    """Analyses documents against one catalogue and rule set; memoised per document and statement shape."""

    def __init__(self, catalog: Catalog, rules: Rules, coverage: Coverage | None = None) -> None:
        self.rules = rules
        self.coverage = coverage or Coverage(catalog)
        actions = self.coverage.actions
        self.name_of = tuple(a.full_name for a in actions)
        self.key_of = tuple(a.full_name.lower() for a in actions)
        by_name = {k: i for i, k in enumerate(self.key_of)}
        self.techniques = tuple(
            (tid, self.coverage.mask(by_name[a] for a in acts))
            for tid, acts in rules.techniques
            if all(a in by_name for a in acts)
        )
        self._by_category: dict[RiskCategory, int] = {}
        self._exclusions: dict[tuple[tuple[str, int], ...], int] = {}
        self._by_doc: dict[int, tuple[PolicyDocument, DocumentFindings]] = {}
        self._by_text: dict[tuple[str, frozenset[int]], DocumentFindings] = {}
        self._named: dict[int, tuple[str, ...]] = {}  # action bit set -> names (`_names`)
        self.analysed = 0  # documents analysed (not found in a memo)
        self._n_services = len(catalog.services())

    def document(self, doc: PolicyDocument) -> DocumentFindings:
        hit = self._by_doc.get(id(doc))
        if hit is not None and hit[0] is doc:
            return hit[1]
        # by content too: a database change rebuilds every document object, but most keep the same text; and
        # by the statements no request can satisfy now (judged again for each new document object)
        never = never_satisfiable(doc)
        key = (json.dumps(doc.raw, sort_keys=True, separators=(",", ":")), never)
        found = self._by_text.get(key)
        if found is None:
            found = self._by_text[key] = self._analyse(doc, never)
            self.analysed += 1
        self._by_doc[id(doc)] = (doc, found)
        return found

    def forget_documents(self) -> None:
        """Drop the per-object memo (it keeps document objects alive); the per-content one stays."""
        self._by_doc.clear()

    def _analyse(self, doc: PolicyDocument, never: frozenset[int] = frozenset()) -> DocumentFindings:
        cov = self.coverage
        denied = 0
        for st in doc.statements:
            if st.effect == "Deny" and not st.compiled_conditions:
                # a Deny on NotResource leaves allowed only what lies inside the listed resources: constrained
                denied |= cov.view(st).free
        allows = [
            (st, cov.view(st)) for st in doc.statements if st.effect == "Allow" and st.index not in never
        ]
        by_index = {st.index: st for st in doc.statements}
        sids = {st.index: st.sid for st in doc.statements}
        # refine a partition of the granted actions by which Allow statements grant them (statement order)
        groups: list[tuple[int, tuple[int, ...]]] = []
        granted = 0
        for st, v in allows:
            free = v.free & ~denied
            if not free:
                continue
            refined: list[tuple[int, tuple[int, ...]]] = []
            for mask, idx in groups:
                both = mask & free
                if both:
                    refined.append((both, (*idx, st.index)))
                    if mask & ~free:
                        refined.append((mask & ~free, idx))
                else:
                    refined.append((mask, idx))
            if free & ~granted:
                refined.append((free & ~granted, (st.index,)))
            groups = refined
            granted |= free
        sigs = {idx: _signature([by_index[j] for j in idx]) for _, idx in groups}
        return DocumentFindings(
            grants=tuple(groups),
            granted=granted,
            signatures=sigs,
            by_category={cat: granted & self._category_ids(cat) for cat in _LISTED},
            wildcards=self._wildcards(allows, denied),
            sids=sids,
        )

    def _names(self, ids: int) -> tuple[str, ...]:
        """The catalogue names of a bit set of actions, memoised (documents repeat the same sets)."""
        hit = self._named.get(ids)
        if hit is None:
            if len(self._named) >= _NAMES_LIMIT:
                self._named.clear()
            hit = self._named[ids] = tuple(self.name_of[i] for i in bits(ids))
        return hit

    def forget(self) -> None:
        """Drop every per-document memo (a caller analysing each document once keeps its own results)."""
        self._by_doc.clear()
        self._by_text.clear()

    def _excluded(self, excl: tuple[re.Pattern[str], ...]) -> int:
        """The catalogue actions some pattern of `excl` matches (a report asks once per document)."""
        if not excl:
            return 0
        key = tuple((p.pattern, p.flags) for p in excl)
        hit = self._exclusions.get(key)
        if hit is None:
            if len(self._exclusions) >= 64:
                self._exclusions.clear()
            hit = self._exclusions[key] = self.coverage.mask(
                i for i, name in enumerate(self.key_of) if any(p.fullmatch(name) for p in excl)
            )
        return hit

    def _category_ids(self, cat: RiskCategory) -> int:
        hit = self._by_category.get(cat)
        if hit is None:
            n = _LISTED.index(cat)
            hit = self._by_category[cat] = self.coverage.mask(
                i for i in range(self.coverage.size) if self._categories(i)[n]
            )
        return hit

    def _categories(self, i: int) -> tuple[bool, ...]:
        a = self.coverage.actions[i]
        key = self.key_of[i]
        scoped = a.access_level in MODIFY_LEVELS and bool(a.resource_types)
        return (
            scoped and a.access_level == PERMISSIONS_MANAGEMENT,
            key in self.rules.data_exfiltration,
            key in self.rules.credentials_exposure,
            scoped,
        )

    def _wildcards(
        self, allows: list[tuple[Statement, StatementView]], denied: int
    ) -> dict[str, tuple[int, ...]]:
        services = set().union(*(v.whole for _, v in allows)) if allows else set()
        full = [
            (svc, tuple(st.index for st, v in allows if svc in v.whole))
            for svc in sorted(services)
            if not denied or not self.coverage.service_ids(svc) & denied
        ]
        return self._named_services(full)

    def _named_services(self, full: list[tuple[str, tuple[int, ...]]]) -> dict[str, tuple[int, ...]]:
        if len(full) == self._n_services:
            return {"*": tuple(sorted({i for _, idx in full for i in idx}))}
        return {f"{svc}:*": idx for svc, idx in full}

    def findings(
        self,
        doc: PolicyDocument,
        *,
        exclude_actions: Iterable[re.Pattern[str]] = (),
        categories: Iterable[RiskCategory] | None = None,
    ) -> list[RiskFinding]:
        """The document's findings, categories in RiskCategory order, without excluded actions (anchored,
        case-insensitive patterns)."""
        found = self.document(doc)
        excl = tuple(exclude_actions)
        wanted = set(categories) if categories is not None else set(RiskCategory)
        if not excl:
            if not found.plain:
                found.plain[:] = self._findings(found, ())  # one assignment: threads may race to fill it
            return [f for f in found.plain if f.category in wanted]
        return [f for f in self._findings(found, excl) if f.category in wanted]

    def _findings(self, found: DocumentFindings, excl: tuple[re.Pattern[str], ...]) -> list[RiskFinding]:
        dropped = self._excluded(excl)

        def keep(mask: int) -> int:
            return mask & ~dropped

        out: list[RiskFinding] = []
        for cat in RiskCategory:
            techniques: tuple[str, ...] = ()
            if cat is RiskCategory.PRIVILEGE_ESCALATION:
                hits = [
                    (tid, acts)
                    for tid, acts in self.techniques
                    if not acts & ~found.granted and not acts & dropped
                ]
                techniques = tuple(tid for tid, _ in hits)
                ids = 0
                for _, acts in hits:
                    ids |= acts
            elif cat is RiskCategory.SERVICE_WILDCARD:
                items = {w: s for w, s in found.wildcards.items() if not any(p.fullmatch(w) for p in excl)}
                if items:
                    out.append(
                        RiskFinding(
                            category=cat,
                            actions=tuple(items),
                            statements=tuple(sorted({i for s in items.values() for i in s})),
                        )
                    )
                continue
            else:
                ids = keep(found.by_category[cat])
            if not ids:
                continue
            # the granting statement sets in the order their first action (by name) appears
            touched = sorted((_lowest(mask & ids), idx) for mask, idx in found.grants if mask & ids)
            sigs = [found.signatures[idx] for _, idx in touched]
            out.append(
                RiskFinding(
                    category=cat,
                    actions=self._names(ids),
                    techniques=techniques,
                    statements=tuple(sorted({j for s in sigs for j in s.statements})),
                    conditions=tuple(dict.fromkeys(c for s in sigs for c in s.conditions)),
                    conditional=all(s.conditions for s in sigs),
                )
            )
        return out


def _signature(sts: list[Statement]) -> Signature:
    unconditional = any(not st.compiled_conditions for st in sts)
    return Signature(
        statements=tuple(st.index for st in sts),
        conditions=() if unconditional else tuple(c for st in sts for c in render_conditions(st)),
        not_action=all(st.not_actions is not None for st in sts),
        not_resource=all(st.not_resources is not None for st in sts),
    )
