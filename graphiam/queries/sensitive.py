"""The sensitive actions of the import summary: which ones (`SensitiveSpec`, a file of them), and who may do
each on `*` (`sensitive_section`), decided as the escalation deriver decides (`Decider.allowed`: conditions
the principal can meet count).

Principals are decided per class, not one by one. Two principals get the same answer for an action when their
requests differ only in what no statement for the action reads: the same principal type, the same documents
with statements for the action (identity, boundary, SCP levels), and the same values of every context key
those statements test or interpolate (`aws:username`, `aws:PrincipalTag/team` …, as the request context of
`graph.context` gives them). A statement naming a Principal (never in an identity policy) is decided per
principal.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graphiam.arn import is_service_linked_role
from graphiam.catalog import Catalog
from graphiam.derive.assume.candidates import statement_refs
from graphiam.derive.escalation.decide import Decider
from graphiam.errors import InputError
from graphiam.graph.context import build_context
from graphiam.graph.snapshot import PrincipalInfo, Snapshot
from graphiam.policy import PolicyDocument, PolicySource, Statement
from graphiam.policy.request import normalise_context


@dataclass(frozen=True, kw_only=True)
class SensitiveSpec:
    """Actions matching `action` (wildcards expanded against the catalogue), of these access levels (None:
    any); each is decided on resource `*` ("on everything")."""

    action: str
    access_levels: tuple[str, ...] | None = None


DEFAULT_SENSITIVE: tuple[SensitiveSpec, ...] = (
    SensitiveSpec(action="iam:*", access_levels=("Write", "Permissions management")),
    SensitiveSpec(action="sts:AssumeRole"),
    SensitiveSpec(action="kms:Decrypt"),
    SensitiveSpec(action="s3:*", access_levels=("Write", "Permissions management")),
)


def sensitive_actions(specs: Sequence[SensitiveSpec], catalog: Catalog | None = None) -> list[str]:
    """The actions the specs name, in catalogue spelling, sorted (resource `*` for every one)."""
    cat = catalog or Catalog.default()
    found: set[str] = set()
    for spec in specs:
        matches = cat.expand(spec.action)
        if not matches:
            raise InputError(f"sensitive actions: `{spec.action}` names no known action")
        found.update(
            a.full_name for a in matches if spec.access_levels is None or a.access_level in spec.access_levels
        )
    return sorted(found)


def parse_sensitive(data: Any, *, source: str) -> tuple[SensitiveSpec, ...]:
    """The sensitive-actions list of a file: a list whose items are action patterns (`kms:Decrypt`) or objects
    `{action, access-levels?}` (or the list under a `sensitive-actions` key)."""
    if isinstance(data, Mapping) and "sensitive-actions" in data:
        data = data["sensitive-actions"]
    if not isinstance(data, list) or not data:
        raise InputError(f"{source}: expected a non-empty list of actions (or `sensitive-actions: [...]`)")
    out = []
    for i, item in enumerate(data):
        where = f"{source}: item {i}"
        if isinstance(item, str):
            out.append(SensitiveSpec(action=item))
            continue
        if not isinstance(item, Mapping) or not isinstance(item.get("action"), str):
            raise InputError(f"{where}: expected an action pattern or an object with `action`")
        unknown = set(item) - {"action", "access-levels"}
        if unknown:
            raise InputError(f"{where}: unknown key `{sorted(unknown)[0]}` (action, access-levels)")
        levels = item.get("access-levels")
        if levels is not None and (
            not isinstance(levels, list) or not all(isinstance(x, str) for x in levels)
        ):
            raise InputError(f"{where}: `access-levels` must be a list of access levels")
        out.append(
            SensitiveSpec(action=item["action"], access_levels=None if levels is None else tuple(levels))
        )
    return tuple(out)


def read_sensitive(path: str | Path) -> tuple[SensitiveSpec, ...]:
    """A sensitive-actions file: JSON, or YAML (`.yml`/`.yaml`)."""
    return parse_sensitive(read_config(path), source=str(path))


def read_config(path: str | Path) -> Any:
    """A small configuration file as data: YAML for `.yml`/`.yaml`, else JSON. Errors name the file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{p}: cannot read: {exc}") from None
    if p.suffix.lower() in (".yml", ".yaml"):
        import yaml  # only here: a command that reads no YAML file never loads it

        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise InputError(f"{p}: not valid YAML: {str(exc).splitlines()[0]}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{p}: not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None


def _digest(items: Sequence[str]) -> str:
    return hashlib.sha256("\n".join(items).encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class _Says:
    """What some statements (in order) say about one action on `*`: `canon` (`_canonical`), the context keys
    they read, whether one names a Principal."""

    canon: tuple[Any, ...]
    refs: frozenset[str]
    named: bool


_PLAIN_ALLOW, _PLAIN_DENY = -1, -2
_DENIED = ("denied",)
_SILENT = _Says(canon=(False, ()), refs=frozenset(), named=False)


def _canonical(contents: Iterable[int]) -> tuple[Any, ...]:
    """What statements (their interned contents, in order) decide with: an explicit Deny that applies to every
    request on `*` (`_PLAIN_DENY`) denies whatever else they say (`_DENIED`); else whether an Allow applies
    to every such request (`_PLAIN_ALLOW`), and the other statements in order, each once (their order is the
    order the engine reads their conditions for witnesses; a statement without conditions names none, and a
    repeated one adds nothing)."""
    plain_allow = False
    seen: dict[int, None] = {}
    for c in contents:
        if c == _PLAIN_DENY:
            return _DENIED
        if c == _PLAIN_ALLOW:
            plain_allow = True
        else:
            seen.setdefault(c, None)
    return (plain_allow, tuple(seen))


class SensitiveDecider:
    """Who may do each sensitive action on `*`, decided by `Decider.allowed` (as escalation steps are:
    conditions the principal can meet count), once per class of principals.

    A decision is shared by the principals (and actions) with the same class: the principal's type, whether
    it is a service-linked role, and for the action the statements of its identity policies, of its boundary
    and of each SCP level that may apply to `*` (by content and in order: the engine's witness search reads
    their conditions in that order; a statement whose Resource cannot match `*` is skipped by the engine, so
    left out; one that applies to every request on `*` counts by its effect alone, and one such Deny decides
    alone), and the values of the context keys those statements read. A statement naming a Principal puts
    the principal in a class of its own. Two actions the same statements apply to are decided alike: the
    engine reads the action only to pick the statements.

    An action is asked only when an identity Allow statement can name it (each document scanned once,
    statements naming another service skipped). A principal whose policies, boundary, SCPs and tags are those
    an earlier summary saw (`fingerprint`) keeps that summary's answer. `share=False` decides every principal
    alone (the reference the tests compare against)."""

    def __init__(self, snap: Snapshot, actions: Sequence[str], *, share: bool = True) -> None:
        self.snap = snap
        self.decider = Decider(snap)
        self.share = share
        self.actions = list(actions)
        self.lows = [a.lower() for a in actions]
        self.by_service: dict[str, list[int]] = {}
        for i, low in enumerate(self.lows):
            self.by_service.setdefault(low.split(":", 1)[0], []).append(i)
        self.allows: dict[int, frozenset[int]] = {}  # document id -> the actions it has an Allow for
        self.texts: dict[int, str] = {}  # document id -> digest of its text
        # memos over objects the snapshot keeps alive (their ids stay theirs)
        self._named: dict[int, frozenset[int]] = {}  # statement id -> the actions it names
        self._facts: dict[int, tuple[int, frozenset[str], bool] | None] = {}  # statement id -> `_statement`
        self._fact_ids: dict[tuple[int, frozenset[str], bool], int] = {}  # fact -> its number
        self._fact_list: list[tuple[int, frozenset[str], bool]] = []  # number -> fact
        self._parts: dict[int, dict[int, tuple[int, ...]]] = {}  # document id -> `_doc_parts`
        self._said: dict[tuple[int, ...], _Says] = {}  # fact numbers -> `_says`
        self._scps: dict[tuple[int, int], _Says] = {}  # (levels id, action) -> `_scp_says`
        self._contents: dict[str, int] = {}  # statement content -> its number
        self._memo: dict[tuple[Any, ...], bool] = {}

    def _names(self, st: Statement) -> frozenset[int]:
        """The sensitive actions (indices) the statement's Action/NotAction admits (as `statements_for`)."""
        hit = self._named.get(id(st))
        if hit is not None:
            return hit
        everything = range(len(self.lows))
        if st.actions is None:  # NotAction: whatever it spares
            found = {i for i in everything if st.may_match_action(self.lows[i])}
        else:
            found = set()
            for raw, pattern in zip(st.actions, st.action_patterns, strict=True):
                service = raw.lower().split(":", 1)[0]
                maybe = everything if "*" in service or "?" in service else self.by_service.get(service, ())
                found.update(i for i in maybe if pattern.matches(self.lows[i], {}))
        hit = self._named[id(st)] = frozenset(found)
        return hit

    def candidates(self, p: PrincipalInfo) -> list[int]:
        """The actions an identity policy of `p` has an Allow statement for."""
        found: set[int] = set()
        for src in p.identity:
            doc = src.document
            acts = self.allows.get(id(doc))
            if acts is None:
                acts = self.allows[id(doc)] = frozenset(
                    i for st in doc.statements if st.effect == "Allow" for i in self._names(st)
                )
            found |= acts
        return sorted(found)

    def _text(self, src: PolicySource) -> str:
        doc = src.document
        hit = self.texts.get(id(doc))
        if hit is None:
            raw = json.dumps(doc.raw, sort_keys=True, separators=(",", ":"))
            hit = self.texts[id(doc)] = hashlib.sha256(raw.encode()).hexdigest()[:16]
        return f"{src.policy_id}|{src.via}|{src.via_name}|{hit}"

    def fingerprint(self, p: PrincipalInfo) -> str:
        """Everything the answers for `p` depend on besides the rules: its policies and boundary (texts),
        its SCP levels, its tags."""
        parts = [p.kind, *sorted(f"{k}={v}" for k, v in p.tags.items()), "identity"]
        parts += sorted(self._text(s) for s in p.identity)
        parts.append("boundary" if p.boundary is not None else "no boundary")
        parts += sorted(self._text(s) for s in p.boundary or ())
        for level in p.scps or ():
            parts.append("scp level")
            parts += sorted(self._text(s) for s in level)
        return _digest(parts)

    def _statement(self, doc: PolicyDocument, st: Statement) -> tuple[int, frozenset[str], bool] | None:
        """A statement as a decision on `*` sees it: None when it applies to no such request; else its content
        (interned: `_PLAIN_ALLOW`/`_PLAIN_DENY` when it applies to every such request and reads nothing),
        the context keys it reads, whether it names a Principal."""
        if id(st) in self._facts:
            return self._facts[id(st)]
        fact: tuple[int, frozenset[str], bool] | None = None
        if _may_apply_to_everything(st):
            named = st.principals is not None or st.not_principals is not None
            if not st.compiled_conditions and all(pat.is_static for pat in st.resource_patterns or ()):
                fact = (_PLAIN_ALLOW if st.effect == "Allow" else _PLAIN_DENY, frozenset(), named)
            else:
                text = json.dumps(
                    [
                        doc.version,
                        st.effect,
                        st.actions,
                        st.not_actions,
                        st.resources,
                        st.not_resources,
                        st.principals,
                        st.not_principals,
                        st.conditions,
                    ],
                    sort_keys=True,
                )
                content = self._contents.setdefault(text, len(self._contents))
                fact = (content, frozenset(statement_refs(st)), named)
        self._facts[id(st)] = fact
        return fact

    def _doc_parts(self, doc: PolicyDocument) -> dict[int, tuple[int, ...]]:
        """Per sensitive action some statement of `doc` names: those statements, by `_statement` fact number
        (actions named by the same statements share one tuple)."""
        hit = self._parts.get(id(doc))
        if hit is not None:
            return hit
        by_action: dict[int, list[int]] = {}
        for st in doc.statements:
            fact = self._statement(doc, st)
            if fact is None:
                continue  # the engine skips it for `*` (scan and witnesses alike)
            number = self._fact_ids.get(fact)
            if number is None:
                number = self._fact_ids[fact] = len(self._fact_list)
                self._fact_list.append(fact)
            for i in self._names(st):
                by_action.setdefault(i, []).append(number)
        shared: dict[tuple[int, ...], tuple[int, ...]] = {}
        hit = self._parts[id(doc)] = {}
        for i, numbers in by_action.items():
            key = tuple(numbers)
            hit[i] = shared.setdefault(key, key)
        return hit

    def _says(self, numbers: tuple[int, ...]) -> _Says:
        """What statements (by fact number, in order) say; memoised."""
        hit = self._said.get(numbers)
        if hit is None:
            facts = [self._fact_list[n] for n in numbers]
            hit = self._said[numbers] = _Says(
                canon=_canonical(f[0] for f in facts),
                refs=frozenset(r for f in facts for r in f[1]),
                named=any(f[2] for f in facts),
            )
        return hit

    def _scp_says(self, levels: tuple[tuple[PolicySource, ...], ...], i: int) -> _Says:
        """What the SCP levels say of action `i` on `*`: each level's `_canonical`."""
        key = (id(levels), i)
        hit = self._scps.get(key)
        if hit is None:
            said = [
                self._says(tuple(n for s in level for n in self._doc_parts(s.document).get(i, ())))
                for level in levels
            ]
            hit = self._scps[key] = _Says(
                canon=tuple(x.canon for x in said),
                refs=frozenset(r for x in said for r in x.refs),
                named=any(x.named for x in said),
            )
        return hit

    def hits(self, p: PrincipalInfo) -> list[int]:
        """The sensitive actions (indices) `p` may do on `*`."""
        wanted = self.candidates(p)
        if not wanted:
            return []
        if not self.share:
            return [i for i in wanted if self._decide(p, i)]
        identity = [self._doc_parts(s.document) for s in p.identity]
        boundary = None if p.boundary is None else [self._doc_parts(s.document) for s in p.boundary]
        head = (p.principal_type, is_service_linked_role(p.arn))
        ctx: dict[str, Any] | None = None
        out = []
        for i in wanted:
            ident = self._says(tuple(n for d in identity for n in d.get(i, ())))
            bound = None if boundary is None else self._says(tuple(n for d in boundary for n in d.get(i, ())))
            scps = None if p.scps is None else self._scp_says(p.scps, i)
            said = [x for x in (ident, bound, scps) if x is not None]
            if any(x.named for x in said):
                ok = self._decide(p, i)
            else:
                key: tuple[Any, ...]
                if any(x.canon == _DENIED or _DENIED in x.canon for x in said):
                    key = _DENIED
                else:
                    refs = sorted(frozenset().union(*(x.refs for x in said)))
                    if refs and ctx is None:
                        built = build_context(p, self.snap, "*", {}, env=self.decider.env)
                        ctx = normalise_context(built.values)
                    values = tuple(ctx.get(k) for k in refs) if ctx is not None and refs else ()
                    key = (
                        head,
                        ident.canon,
                        None if bound is None or p.boundary is None else (len(p.boundary), bound.canon),
                        None if scps is None else scps.canon,
                        tuple(refs),
                        values,
                    )
                hit = self._memo.get(key)
                if hit is None:
                    hit = self._memo[key] = self._decide(p, i)
                ok = hit
            if ok:
                out.append(i)
        return out

    def _decide(self, p: PrincipalInfo, i: int) -> bool:
        action, low = self.actions[i], self.lows[i]
        if not self.decider.may_allow(p, action, "*"):
            return False
        identity = [s for s in p.identity if s.document.statements_for(low)]
        if p.boundary is None and p.scps is None and _plainly_allowed(identity, low):
            return True
        return self.decider.allowed(p, action, "*") is not None


def _may_apply_to_everything(st: Statement) -> bool:
    """False when the statement applies to no request on resource `*`, whatever the principal: its Resource
    (NotResource) has no policy variable and does not match (matches) `*`, or every Resource entry starts
    with a character that is neither a wildcard nor a variable (`arn:aws:s3:::${aws:username}/*` resolves to
    an ARN, never `*`)."""
    if st.resource_patterns is None:
        return True
    if all(pat.is_static for pat in st.resource_patterns):
        return st.matches_resource("*", {})
    if st.not_resources is not None:
        return True
    return any(r[:1] in ("", "*", "?", "$") for r in st.resources or ())


def _plainly_allowed(identity: Sequence[PolicySource], low: str) -> bool:
    """Allowed without asking the engine: an unconditional Allow of the action on every resource and no Deny
    of it (with no boundary and no SCP, the caller's part): no statement can take it away ("Policy
    evaluation logic": an explicit deny or a missing allow is all that denies an identity-only request)."""
    statements = [st for s in identity for st in s.document.statements_for(low)]
    if any(st.effect != "Allow" for st in statements):
        return False
    return any(
        not st.compiled_conditions and st.not_resources is None and st.matches_resource("*", {})
        for st in statements
    )


def sensitive_section(
    snap: Snapshot,
    specs: Sequence[SensitiveSpec],
    rules: str,
    previous: Mapping[str, Any] | None,
    *,
    share: bool = True,
) -> dict[str, Any]:
    """`{"actions": [...], "allowed": {principal: [action index, ...]}, "fingerprints": {principal: ...}}`;
    a principal whose fingerprint `previous` (an earlier summary under the same `rules`) holds keeps its
    answer there."""
    actions = sensitive_actions(specs)
    decide = SensitiveDecider(snap, actions, share=share)
    old: Mapping[str, Any] = {}
    if previous is not None and previous.get("rules") == rules:
        before = previous["sensitive"]
        if before["actions"] == actions:
            old = before
    allowed: dict[str, list[int]] = {}
    prints: dict[str, str] = {}
    for arn in sorted(snap.principals):
        p = snap.principals[arn]
        prints[arn] = mark = decide.fingerprint(p)
        known = old and old["fingerprints"].get(arn) == mark
        hits = old["allowed"].get(arn, []) if known else decide.hits(p)
        if hits:
            allowed[arn] = hits
    return {"actions": actions, "allowed": allowed, "fingerprints": prints}
