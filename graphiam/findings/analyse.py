"""One policy document → the actions it allows without resource constraints, by risk category. Pure.

"Without resource constraints" (IAM JSON policy reference, "Resource" and "NotResource"):

- an Allow statement whose `Resource` entries match every resource the action can be requested on: `*` for an
  action without resource-level permissions (its request resource is `*`); for the others, every resource of each
  required resource type (or of one of its types when none is required), tested on two probe ARNs per type that
  share only the type's fixed text. So `*`, `arn:aws:s3:::*` and `arn:aws:s3:::*/*` leave s3:GetObject
  unconstrained; `arn:aws:iam::*:policy/fn2-*`, an account, a region or a policy variable constrain; `iam:*` on
  `arn:aws:s3:::*` grants nothing. With `NotResource`, every resource but those listed: unconstrained unless the
  listed entries cover every resource of the action;
- `Action` patterns and `NotAction` (the complement: every catalogue action the list does not name) are both
  expanded against the catalogue, so `iam:*`, `iam:Create*` and a NotAction sparing iam all count;
- a statement with a Condition still counts: its conditions are reported beside the action (`conditional`);
- a Deny statement of the same policy without a Condition removes the actions whose every resource it covers (same
  rules); with `NotResource` it removes them unless the listed entries cover them all (what it leaves allowed lies
  inside the listed resources: constrained). A Deny on named resources, or with a Condition, removes nothing.

ResourceExposure and InfrastructureModification consider only actions that support resource-level permissions
(the catalogue lists a resource type), as Cloudsplaining does: `*` is the only way to grant the others. The other
categories also count actions that only work on `*` (ecr:GetAuthorizationToken, sts:GetSessionToken).
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from graphiam.catalog import ActionInfo, Catalog
from graphiam.findings.rules import MODIFY_LEVELS, PERMISSIONS_MANAGEMENT, RiskCategory, Rules
from graphiam.policy import PolicyDocument, Statement
from graphiam.policy.wildcard import Pattern



@dataclass(frozen=True, kw_only=True)
class Grant:
    """One action the policy allows without resource constraints."""

    action: str  # `service:Action` as the catalogue spells it
    access_level: str
    statements: tuple[int, ...]  # the Allow statements that grant it unconstrained
    conditions: tuple[str, ...]  # when every one of them has a Condition: `#i: Operator key [values]`; else ()
    not_action: bool  # only NotAction statements grant it
    not_resource: bool  # only NotResource statements grant it
    resource_level: bool  # the action supports resource-level permissions (the catalogue lists a resource type)

    @property
    def conditional(self) -> bool:
        return bool(self.conditions)


@dataclass(frozen=True, kw_only=True)
class RiskFinding:
    """The actions of one category, with what grants them."""

    category: RiskCategory
    actions: tuple[str, ...]  # sorted; ServiceWildcard: `svc:*` items, or `*`
    techniques: tuple[str, ...] = ()  # PrivilegeEscalation: the technique ids whose actions are all allowed
    statements: tuple[int, ...] = ()
    conditions: tuple[str, ...] = ()  # the conditions of conditional grants among `actions`
    conditional: bool = False  # every action is granted only under conditions


@dataclass(frozen=True, kw_only=True)
class _Signature:
    """What a set of granting statements says about every action it grants."""

    statements: tuple[int, ...]
    conditions: tuple[str, ...]  # () when one of the statements has no Condition
    not_action: bool
    not_resource: bool


@dataclass(frozen=True, kw_only=True)
class DocumentFindings:
    actions: Mapping[str, tuple[ActionInfo, _Signature]]  # lowercase action -> (action, how it is granted)
    by_category: Mapping[RiskCategory, tuple[str, ...]]  # lowercase actions, sorted by name; not PrivEsc/Wildcard
    wildcards: Mapping[str, tuple[int, ...]]  # `svc:*` (or `*`) -> the Allow statements covering it
    sids: Mapping[int, str | None]

    def grant(self, key: str) -> Grant:
        info, sig = self.actions[key]
        return Grant(action=info.full_name, access_level=info.access_level, statements=sig.statements,
                     conditions=sig.conditions, not_action=sig.not_action, not_resource=sig.not_resource,
                     resource_level=bool(info.resource_types))


_PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")
_MULTI_SEGMENT = re.compile(r"(Path|ObjectName)$")


def probes(arn_format: str) -> tuple[str, str]:
    """Two ARNs of a resource type (catalogue ARN format) that share nothing but its fixed text: a Resource entry
    matching both matches every resource of the type (in partition `aws`)."""
    def one(i: int) -> str:
        fixed = {"Partition": "aws", "Region": ("zz-probe-1", "yy-probe-2")[i],
                 "Account": ("000000000000", "999999999999")[i]}

        def sub(m: re.Match[str]) -> str:
            name = m.group(1)
            if name in fixed:
                return fixed[name]
            return f"zq{i}/probe{i}" if _MULTI_SEGMENT.search(name) else f"zqprobe{i}"
        return _PLACEHOLDER.sub(sub, arn_format).replace("*", f"zqstar{i}")
    return one(0), one(1)


def render_conditions(st: Statement) -> tuple[str, ...]:
    return tuple(f"#{st.index}: {op} {key} {list(values)}"
                 for op, block in (st.conditions or {}).items() for key, values in block.items())


class Analyser:
    """Analyses documents against one catalogue and rule set; memoises per document object and per statement shape."""

    def __init__(self, catalog: Catalog, rules: Rules) -> None:
        self.catalog = catalog
        self.rules = rules
        self._covered: dict[tuple[bool, tuple[str, ...]], tuple[ActionInfo, ...]] = {}
        self._by_doc: dict[int, tuple[PolicyDocument, DocumentFindings]] = {}
        self._service_sizes: dict[str, int] = {}
        self._n_services = len(catalog.services())
        self._everything: tuple[ActionInfo, ...] | None = None
        self._type_covered: dict[tuple[tuple[str, ...], str], bool] = {}

    def _all(self) -> tuple[ActionInfo, ...]:
        if self._everything is None:
            self._everything = tuple(self.catalog.actions())
        return self._everything

    def covered(self, st: Statement) -> tuple[ActionInfo, ...]:
        key = (st.actions is not None, tuple(sorted(a.lower() for a in (st.actions or st.not_actions or ()))))
        hit = self._covered.get(key)
        if hit is None:
            named: dict[int, ActionInfo] = {}
            for pattern in key[1]:
                for a in self.catalog.expand(pattern):
                    named[id(a)] = a
            if st.actions is not None:
                hit = tuple(named.values())
            else:
                hit = tuple(a for a in self.catalog.actions() if id(a) not in named) if named else self._all()
            if len(self._covered) >= 4096:
                self._covered.clear()
            self._covered[key] = hit
        return hit

    def covers(self, st: Statement, a: ActionInfo) -> bool:
        """Whether the entries of the statement's Resource (or NotResource) element match every resource `a` can be
        requested on: `*` for an action without resource types (its request resource is `*`); else every resource of
        each required resource type, or of one of its resource types when none is required."""
        pats = st.resource_patterns or ()
        if any(p.source == "*" for p in pats):
            return True
        if not a.resource_types:
            return any(p.matches("*", {}) for p in pats)
        required = [rt for rt in a.resource_types if rt.required]
        key = tuple(p.source for p in pats)
        hits = (self._covered_type(key, pats, rt.arn_pattern) for rt in required or a.resource_types)
        return all(hits) if required else any(hits)

    def _covered_type(self, key: tuple[str, ...], pats: Sequence[Pattern], arn_format: str) -> bool:
        hit = self._type_covered.get((key, arn_format))
        if hit is None:
            first, second = probes(arn_format)
            hit = any(p.matches(first, {}) and p.matches(second, {}) for p in pats)
            if len(self._type_covered) >= 65536:
                self._type_covered.clear()
            self._type_covered[(key, arn_format)] = hit
        return hit

    def unconstrained(self, st: Statement, a: ActionInfo) -> bool:
        """An Allow `st` grants `a` without resource constraints: its Resource covers every resource of `a`, or its
        NotResource does not exclude them all."""
        return self.covers(st, a) if st.not_resources is None else not self.covers(st, a)

    def document(self, doc: PolicyDocument) -> DocumentFindings:
        hit = self._by_doc.get(id(doc))
        if hit is None or hit[0] is not doc:
            hit = (doc, self._analyse(doc))
            self._by_doc[id(doc)] = hit
        return hit[1]

    def _analyse(self, doc: PolicyDocument) -> DocumentFindings:
        denied: set[str] = set()
        for st in doc.statements:
            if st.effect == "Deny" and not st.compiled_conditions:
                # what a Deny on NotResource leaves allowed lies inside the listed resources: constrained
                denied.update(a.full_name.lower() for a in self.covered(st) if self.unconstrained(st, a))
        granting: dict[str, tuple[ActionInfo, list[int]]] = {}
        anywhere: dict[str, list[int]] = {}  # allowed on some resource: for ServiceWildcard
        by_index = {st.index: st for st in doc.statements}
        for st in doc.statements:
            if st.effect != "Allow":
                continue
            star = st.resources is not None and any(r == "*" for r in st.resources)
            for a in self.covered(st):
                key = a.full_name.lower()
                if key in denied:
                    continue
                anywhere.setdefault(key, []).append(st.index)
                if star or self.unconstrained(st, a):
                    hit = granting.get(key)
                    if hit is None:
                        granting[key] = (a, [st.index])
                    else:
                        hit[1].append(st.index)
        sigs: dict[tuple[int, ...], _Signature] = {}
        actions: dict[str, tuple[ActionInfo, _Signature]] = {}
        for key, (a, idx) in granting.items():
            t = tuple(idx)
            sig = sigs.get(t)
            if sig is None:
                sig = sigs[t] = _signature([by_index[i] for i in t])
            actions[key] = (a, sig)
        ordered = sorted(actions, key=lambda k: actions[k][0].full_name)
        by_category = {cat: tuple(k for k in ordered if _in(cat, k, actions[k][0], self.rules))
                       for cat in RiskCategory
                       if cat not in (RiskCategory.PRIVILEGE_ESCALATION, RiskCategory.SERVICE_WILDCARD)}
        return DocumentFindings(actions=actions, by_category=by_category, wildcards=self._wildcards(anywhere),
                                sids={st.index: st.sid for st in doc.statements})

    def _wildcards(self, anywhere: Mapping[str, list[int]]) -> dict[str, tuple[int, ...]]:
        counts = Counter(k.split(":", 1)[0] for k in anywhere)
        full = [s for s, n in counts.items() if n == self._size(s)]
        if not full:
            return {}
        stmts: dict[str, set[int]] = {s: set() for s in full}
        for k, idx in anywhere.items():
            svc = k.split(":", 1)[0]
            if svc in stmts:
                stmts[svc].update(idx)
        if len(full) == self._n_services:
            return {"*": tuple(sorted(set().union(*stmts.values())))}
        return {f"{s}:*": tuple(sorted(stmts[s])) for s in sorted(full)}

    def _size(self, service: str) -> int:
        n = self._service_sizes.get(service)
        if n is None:
            n = self._service_sizes[service] = len(self.catalog.actions(service))
        return n

    def findings(self, doc: PolicyDocument, *, exclude_actions: Iterable[re.Pattern[str]] = (),
                 categories: Iterable[RiskCategory] | None = None) -> list[RiskFinding]:
        """The document's findings, categories in CATEGORIES order, without excluded actions (anchored,
        case-insensitive patterns)."""
        found = self.document(doc)
        excl = tuple(exclude_actions)
        wanted = set(categories) if categories is not None else set(RiskCategory)
        memo: dict[str, bool] = {}

        def kept(key: str) -> bool:
            if not excl:
                return True
            hit = memo.get(key)
            if hit is None:
                hit = memo[key] = not any(p.fullmatch(key) for p in excl)
            return hit

        out: list[RiskFinding] = []
        for cat in RiskCategory:
            if cat not in wanted:
                continue
            techniques: tuple[str, ...] = ()
            if cat is RiskCategory.PRIVILEGE_ESCALATION:
                hits = [(tid, acts) for tid, acts in self.rules.techniques
                        if acts <= found.actions.keys() and all(kept(a) for a in acts)]
                techniques = tuple(tid for tid, _ in hits)
                keys: list[str] | tuple[str, ...] = sorted(set().union(*(acts for _, acts in hits)),
                                                           key=lambda k: found.actions[k][0].full_name)
            elif cat is RiskCategory.SERVICE_WILDCARD:
                items = {w: s for w, s in found.wildcards.items() if kept(w)}
                if items:
                    out.append(RiskFinding(category=cat, actions=tuple(items),
                                           statements=tuple(sorted(set().union(*map(set, items.values()))))))
                continue
            else:
                keys = found.by_category[cat]
                if excl:
                    keys = [k for k in keys if kept(k)]
            if not keys:
                continue
            sigs = list(dict.fromkeys(found.actions[k][1] for k in keys))
            out.append(RiskFinding(category=cat, actions=tuple(found.actions[k][0].full_name for k in keys),
                                   techniques=techniques,
                                   statements=tuple(sorted({i for s in sigs for i in s.statements})),
                                   conditions=tuple(dict.fromkeys(c for s in sigs for c in s.conditions)),
                                   conditional=all(s.conditions for s in sigs)))
        return out


def _in(cat: RiskCategory, key: str, a: ActionInfo, rules: Rules) -> bool:
    if cat is RiskCategory.DATA_EXFILTRATION:
        return key in rules.data_exfiltration
    if cat is RiskCategory.CREDENTIALS_EXPOSURE:
        return key in rules.credentials_exposure
    scoped = a.access_level in MODIFY_LEVELS and bool(a.resource_types)
    if cat is RiskCategory.RESOURCE_EXPOSURE:
        return scoped and a.access_level == PERMISSIONS_MANAGEMENT
    return scoped  # INFRASTRUCTURE_MODIFICATION


def _signature(sts: list[Statement]) -> _Signature:
    unconditional = any(not st.compiled_conditions for st in sts)
    return _Signature(statements=tuple(st.index for st in sts),
                      conditions=() if unconditional else tuple(c for st in sts for c in render_conditions(st)),
                      not_action=all(st.not_actions is not None for st in sts),
                      not_resource=all(st.not_resources is not None for st in sts))
