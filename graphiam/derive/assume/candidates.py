"""Who a trust policy could admit (prefilter), and when two (principal, role) pairs must get the same verdict.

Prefilter: per role, only what its trust's Allow statements name — an ARN gives that principal; an account
gives, when the account is loaded, its principals having an Allow identity statement for `sts:AssumeRole`
whose Resource matches the role (delegation needs one: IAM User Guide "Cross-account policy evaluation
logic"); `*` gives everyone. The engine then decides each candidate.

Sharing verdicts: a principal admitted through its ACCOUNT (or `*`) gets exactly the engine's verdict of any
other principal with the same `Signature` on a role with the same `TrustKey`, because the request then differs
only in values no statement looks at. The signature holds: the principal's account and type; the ids of its
identity policies that have statements for `sts:AssumeRole` (and via which user/group/role they apply); its
boundary; the values of every principal-derived context key (aws:PrincipalArn, aws:username,
aws:PrincipalTag/*, ...) that a relevant statement or the trust tests or interpolates (one that only the trust
reads, as a condition key with literal values, counts through those conditions' outcomes instead: principals
on the same side of an `aws:PrincipalArn` pattern share); and, per role, which of
its relevant statements with a Resource other than `*` match the role's ARN. Principals named by ARN in the
trust are always decided on their own.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from graphiam.arn import (
    account_of,
    account_root,
    is_account_id,
    is_account_root,
    is_assumed_role_arn,
    is_role_arn,
)
from graphiam.graph.snapshot import PrincipalInfo, Snapshot
from graphiam.policy import PolicyDocument, PolicySource, Statement
from graphiam.policy.conditions import Condition
from graphiam.policy.principals import match_principal
from graphiam.policy.request import normalise_context
from graphiam.policy.witness import fixed_key

ASSUME_ROLE = "sts:AssumeRole"
WITH_SAML = "sts:AssumeRoleWithSAML"
WITH_WEB_IDENTITY = "sts:AssumeRoleWithWebIdentity"
ACTIONS = (ASSUME_ROLE, WITH_SAML, WITH_WEB_IDENTITY)
_VARIABLE = re.compile(r"\$\{([^},]+)")
_TAGS = ("aws:resourcetag/", "iam:resourcetag/")


@dataclass(frozen=True, kw_only=True)
class Source:
    """A principal that may assume a role: a stored user/role, a service, or an external principal."""

    id: str  # ARN, service name, provider ARN or `*`
    table: str  # User | Role | ServicePrincipal | ExternalPrincipal
    kind: str  # user | role | service | account | federated | everyone | principal | session
    action: str
    account: str | None = None
    info: PrincipalInfo | None = None


def statement_refs(st: Statement) -> set[str]:
    """Lower-cased context keys a statement tests in a condition or interpolates as a variable."""
    return {c.key_lower for c in st.compiled_conditions} | interpolated_refs(st)


def interpolated_refs(st: Statement) -> set[str]:
    """Lower-cased context keys a statement interpolates as a variable (condition values, Resource)."""
    refs: set[str] = set()
    for values in (st.conditions or {}).values():
        for vs in values.values():
            for v in vs:
                refs.update(m.lower() for m in _VARIABLE.findall(v))
    for r in (st.resources or ()) + (st.not_resources or ()):
        refs.update(m.lower() for m in _VARIABLE.findall(r))
    return refs


class Profile:
    """A principal's identity and boundary statements that matter to `sts:AssumeRole`, read once per run."""

    __slots__ = (
        "info",
        "ctx",
        "star",
        "star_at",
        "star_allow",
        "star_refs",
        "varying",
        "varying_at",
        "head",
        "allows",
        "static",
        "group",
    )

    def __init__(self, p: PrincipalInfo) -> None:
        self.info = p
        self.ctx = normalise_context(p.derived_context())
        relevant = [(src, st) for src in p.identity for st in src.document.statements_for("sts:assumerole")]
        relevant += [
            (src, st) for src in (p.boundary or ()) for st in src.document.statements_for("sts:assumerole")
        ]
        self.allows = any(st.effect == "Allow" and src.via != "boundary" for src, st in relevant)
        star = [(at, src, st) for at, (src, st) in enumerate(relevant) if _any_resource(st)]
        self.star = tuple(_ref(src, st) for _, src, st in star)
        # where each statement of `star` / `varying` stands among the relevant ones: a verdict lists the
        # statements it matched in that order (identity policies as the principal holds them, then boundary)
        self.star_at = tuple(at for at, _, _ in star)
        self.star_allow = any(st.effect == "Allow" and src.via != "boundary" for _, src, st in star)
        self.star_refs = frozenset(r for _, _, st in star for r in statement_refs(st))
        self.varying = tuple(
            (st, _ref(src, st), st.effect == "Allow" and src.via != "boundary", frozenset(statement_refs(st)))
            for src, st in relevant
            if not _any_resource(st) and may_match_a_role(st)
        )
        self.varying_at = tuple(
            at for at, (_, st) in enumerate(relevant) if not _any_resource(st) and may_match_a_role(st)
        )
        # a missing boundary and a boundary with no statement for sts:AssumeRole decide differently
        self.head = (p.account, p.kind, p.boundary is None)
        # what applies to a role none of the `varying` statements match; principals sharing it form a group
        self.static = Match(ids=self.star, refs=self.star_refs, identity_allow=self.star_allow)
        self.group = (
            self.head,
            self.star,
            tuple(
                sorted(
                    (k, str(self.ctx.get(k))) for k in self.star_refs if fixed_key(k, principal_known=True)
                )
            ),
        )

    def match(self, role_arn: str) -> Match:
        """Which relevant statements apply to `role_arn` (Resource matched with the principal's context)."""
        return self.match_at(
            {i for i, (st, *_) in enumerate(self.varying) if st.matches_resource(role_arn, self.ctx)}
        )

    def match_at(self, matched: Container[int]) -> Match:
        """The `Match` of a role the statements of `varying` at positions `matched` apply to: ids in the
        order the statements stand (two principals holding the same statements in another order get other
        verdicts: a verdict lists its statements in order)."""
        found = list(zip(self.star_at, self.star, strict=True))
        refs = self.star_refs
        allow = self.star_allow
        for i, (_, ref, is_allow, st_refs) in enumerate(self.varying):
            if i in matched:
                found.append((self.varying_at[i], ref))
                refs = refs | st_refs
                allow = allow or is_allow
        found.sort(key=lambda x: x[0])
        return Match(ids=tuple(ref for _, ref in found), refs=refs, identity_allow=allow)

    def key(
        self,
        match: Match,
        role: PrincipalInfo,
        trust_refs: frozenset[str],
        tested: Mapping[str, tuple[Condition, ...]] | None = None,
    ) -> tuple[Any, ...]:
        """The verdict-sharing key for this principal on `role` (see the module docstring). A fixed key the
        trust policy only tests (`Index.trust_tests`) and none of the principal's matched statements reads
        counts through the outcome of those tests, not its value: principals whose ARNs differ but fall on the
        same side of every `aws:PrincipalArn` condition get one verdict."""
        refs = match.refs | trust_refs
        fixed = tuple(
            sorted(
                (k, self._fixed(k, match.refs, tested))
                for k in refs
                if fixed_key(k, principal_known=True) and not k.startswith(_TAGS)
            )
        )
        tags = tuple(sorted(role.tags.items())) if any(k.startswith(_TAGS) for k in refs) else None
        return (self.head, match.ids, fixed, tags)

    def _fixed(
        self, k: str, read: frozenset[str], tested: Mapping[str, tuple[Condition, ...]] | None
    ) -> str | tuple[bool, ...]:
        conditions = tested.get(k) if tested is not None and k not in read else None
        if conditions is None:
            return str(self.ctx.get(k))
        return tuple(c.test(self.ctx) for c in conditions)


@dataclass(frozen=True, slots=True)
class Match:
    ids: tuple[tuple[str, int, str], ...]
    refs: frozenset[str]
    identity_allow: bool


_ROLE_ARN_HEAD = "arn:aws:iam::"


def tag_keys(refs: Iterable[str]) -> frozenset[str]:
    """The context keys (lower case) among `refs` that name a tag of the target (`aws:ResourceTag/…`,
    `iam:ResourceTag/…`): a verdict depends on the role's tags through these alone."""
    return frozenset(k for k in refs if k.startswith(_TAGS))


def tag_values(tags: Mapping[str, str], keys: Iterable[str]) -> tuple[tuple[str, str | None], ...]:
    """The values of the target tag keys `keys` (`tag_keys`) for a role with `tags`, as the request context
    holds them (keys case-insensitive)."""
    by_key: dict[str, str] = {}
    for tag, value in tags.items():
        by_key[f"aws:resourcetag/{tag}".lower()] = value
        by_key[f"iam:resourcetag/{tag}".lower()] = value
    return tuple((k, by_key.get(k)) for k in sorted(keys))


def may_match_a_role(st: Statement) -> bool:
    """False when no Resource entry can match any IAM role ARN (`arn:aws:iam::<account>:role/...`), judged on
    each entry's literal text before its first wildcard or variable; NotResource statements always may."""
    if st.resources is None:
        return True
    for r in st.resources:
        literal = re.split(r"[*?$]", r, maxsplit=1)[0]
        if not (_ROLE_ARN_HEAD.startswith(literal) or literal.startswith(_ROLE_ARN_HEAD)):
            continue
        rest = literal[len(_ROLE_ARN_HEAD) :]
        if ":" in rest:
            after = rest.split(":", 1)[1]
            if not ("role/".startswith(after) or after.startswith("role/")):
                continue
        return True
    return False


def _any_resource(st: Statement) -> bool:
    """True when the Resource part admits every ARN (no Resource element, or `*` among the Resources)."""
    return st.resource_patterns is None or (st.not_resources is None and "*" in (st.resources or ()))


def _ref(src: PolicySource, st: Statement) -> tuple[str, int, str]:
    return (src.policy_id, st.index, src.via)


class Index:
    """What candidate selection needs, computed once per derivation."""

    def __init__(self, snap: Snapshot, loaded_accounts: Iterable[str]) -> None:
        self.snap = snap
        self.loaded = set(loaded_accounts) | {p.account for p in snap.principals.values()}
        self.profiles = {arn: Profile(p) for arn, p in snap.principals.items()}
        self.by_account: dict[str, list[Profile]] = defaultdict(list)
        for prof in self.profiles.values():
            self.by_account[prof.info.account].append(prof)
        self.assumers: dict[str, list[Profile]] = defaultdict(list)
        # role-dependent statements, by account: exact Resource ARN -> principals; the rest scanned per role
        self.exact: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
        self.wild: dict[str, list[tuple[Statement, Profile]]] = defaultdict(list)
        for prof in self.profiles.values():
            account = prof.info.account
            if prof.allows:
                self.assumers[account].append(prof)
            for st, *_ in prof.varying:
                if (
                    st.not_resources is None
                    and st.resources is not None
                    and all(not re.search(r"[*?$]", r) for r in st.resources)
                ):
                    for r in st.resources:
                        self.exact[account][r].add(prof.info.arn)
                else:
                    self.wild[account].append((st, prof))
        self.classes: dict[str, dict[tuple[Any, ...], list[Profile]]] = defaultdict(lambda: defaultdict(list))
        for account, profs in self.assumers.items():
            for prof in profs:
                if prof.star_allow:
                    self.classes[account][prof.group].append(prof)
        self._tag_keys: dict[str, frozenset[str]] = {}
        self._refs: dict[str, frozenset[str]] = {}
        self._trust_refs: dict[int, frozenset[str]] = {}
        self._tests: dict[int, dict[str, tuple[Condition, ...]]] = {}
        self._sigs: dict[tuple[Any, ...], Any] = {}
        self._free: dict[frozenset[str], frozenset[str]] = {}

    def trust_tests(self, trust: PolicySource) -> dict[str, tuple[Condition, ...]]:
        """The fixed keys (`fixed_key`, not target tags) the trust policy reads only as the key of a condition
        whose values hold no variable, with those conditions: a verdict depends on such a key through their
        outcomes alone (`Profile.key`)."""
        key = id(trust.document)
        hit = self._tests.get(key)
        if hit is None:
            found: dict[str, list[Condition]] = defaultdict(list)
            interpolated: set[str] = set()
            for st in trust.document.statements:
                interpolated |= interpolated_refs(st)
                for c in st.compiled_conditions:
                    k = c.key_lower
                    if fixed_key(k, principal_known=True) and not k.startswith(_TAGS):
                        if any("${" in v for v in c.values):
                            interpolated.add(k)
                        found[k].append(c)
            hit = self._tests[key] = {k: tuple(cs) for k, cs in found.items() if k not in interpolated}
        return hit

    def trust_refs(self, trust: PolicySource) -> frozenset[str]:
        key = id(trust.document)
        refs = self._trust_refs.get(key)
        if refs is None:
            refs = self._trust_refs[key] = frozenset(
                r for st in trust.document.statements for r in statement_refs(st)
            )
        return refs

    def account_refs(self, account: str) -> frozenset[str]:
        """The context keys the statements for sts:AssumeRole of `account`'s principals read."""
        hit = self._refs.get(account)
        if hit is None:
            hit = self._refs[account] = frozenset(
                k
                for prof in self.by_account.get(account, ())
                for k in (*prof.star_refs, *(r for *_, refs in prof.varying for r in refs))
            )
        return hit

    def trust_family(self, trust: PolicySource, account: str) -> tuple[Any, ...] | None:
        """What the trust policy says to any principal of `account` it names through the account: its
        `trust_signature` for users and for roles with every free key a statement of the account reads kept.
        Two trusts alike here give every principal of the account the same signature (`share_key`): a
        signature keeps more values the more free keys it keeps. None when the trust singles principals out
        (a Deny, NotPrincipal)."""
        free = frozenset(k for k in self.account_refs(account) if not fixed_key(k, principal_known=True))
        users = trust_signature(trust.document, account, "User", free)
        roles = trust_signature(trust.document, account, "AssumedRole", free)
        return None if users is None or roles is None else (users, roles)

    def account_tag_keys(self, account: str) -> frozenset[str]:
        """The target tag keys (`tag_keys`) among `account_refs`."""
        hit = self._tag_keys.get(account)
        if hit is None:
            hit = self._tag_keys[account] = tag_keys(self.account_refs(account))
        return hit

    def trust_tests_principal(self, trust: PolicySource) -> bool:
        """Whether the trust tests or interpolates a key derived from the principal (tags, ARN, user name)."""
        return any(
            fixed_key(k, principal_known=True) and not k.startswith(_TAGS) for k in self.trust_refs(trust)
        )

    def share_key(self, role: PrincipalInfo, prof: Profile, match: Match) -> tuple[Any, ...] | None:
        """The verdict-sharing key of a principal admitted through its account or `*`; None: decide alone."""
        trust = role.trust
        if trust is None:
            return None
        p = prof.info
        free = self._free.get(match.refs)
        if free is None:
            free = self._free[match.refs] = frozenset(
                k for k in match.refs if not fixed_key(k, principal_known=True)
            )
        ck = (id(trust.document), p.account, p.kind, free)
        sig = self._sigs.get(ck, _UNSET)
        if sig is _UNSET:
            sig = self._sigs[ck] = trust_signature(trust.document, p.account, p.principal_type, free)
        if sig is None:
            return None
        return (sig, role.account, prof.key(match, role, self.trust_refs(trust), self.trust_tests(trust)))

    def account_candidates(
        self, account: str, role: PrincipalInfo
    ) -> tuple[list[tuple[Profile, Match]], list[list[Profile]], set[str]]:
        """Principals of a loaded `account` that may be allowed to assume `role`: those whose role-dependent
        statements match it (each with its own statements), and groups of principals allowed by statements
        that apply to every role (members in `hits` or the role itself are to be skipped)."""
        hits = self.varying_hits(account, role.arn)
        singles = []
        for arn in hits:
            prof = self.profiles[arn]
            if arn != role.arn:
                m = prof.match(role.arn)
                if m.identity_allow:
                    singles.append((prof, m))
        return singles, list(self.classes[account].values()), hits

    def varying_hits(self, account: str, role_arn: str) -> set[str]:
        """Principals of `account` having a role-dependent statement that matches `role_arn`."""
        hits = set(self.exact[account].get(role_arn, ()))
        for st, prof in self.wild.get(account, ()):
            if prof.info.arn not in hits and st.matches_resource(role_arn, prof.ctx):
                hits.add(prof.info.arn)
        return hits

    def arn_source(self, arn: str) -> Source | None:
        p = self.snap.principal(arn)
        if p is not None:
            return stored(p)
        account = account_of(arn)
        if account is None or account in self.loaded:
            return None  # names a principal that does not exist (any more) in a loaded account
        kind = "role" if is_role_arn(arn) else "session" if is_assumed_role_arn(arn) else "principal"
        return Source(id=arn, table="ExternalPrincipal", kind=kind, action=ASSUME_ROLE, account=account)

    def everyone(
        self, role: PrincipalInfo, only: frozenset[str] | None = None
    ) -> list[tuple[Profile, Match]]:
        """Every principal but the role itself, with its match of the role (for a trust naming `*` or using
        NotPrincipal); with `only`, the principals of those accounts alone."""
        out = []
        for account, profs in self.by_account.items():
            if only is not None and account not in only:
                continue
            hits = self.varying_hits(account, role.arn)
            out += [
                (prof, prof.match(role.arn) if prof.info.arn in hits else prof.static)
                for prof in profs
                if prof.info.arn != role.arn
            ]
        return out


_UNSET = object()
# operators any value of which some request value satisfies: their values need not be part of a sharing key
_ALWAYS_SATISFIABLE = frozenset(
    {
        "stringequals",
        "stringlike",
        "stringequalsignorecase",
        "bool",
        "stringequalsifexists",
        "stringlikeifexists",
        "stringequalsignorecaseifexists",
        "boolifexists",
    }
)


def trust_signature(
    doc: PolicyDocument, account: str, ptype: str, identity_free_refs: frozenset[str]
) -> tuple[Any, ...] | None:
    """What of a trust policy can matter to a principal of `account` that it names only through the account or
    `*`: the statements that name it that way, with Action/Resource/Condition, sid and index. The values of a
    condition on a free key (e.g. `sts:ExternalId`) that no identity statement of the principal tests are left
    out: some request value satisfies them whatever they are. None when the trust has a Deny or NotPrincipal
    (it could single the principal out): such roles decide every principal alone."""
    out = []
    dummy = f"arn:aws:iam::{account}:graphiam-shared"
    for st in doc.statements:
        if st.effect != "Allow" or st.not_principals is not None:
            return None
        how = match_principal(st.principals or {}, arn=dummy, account=account, ptype=ptype)
        if how is None:
            continue
        conds = []
        conditions = st.conditions or {}
        for op, block in conditions.items():
            for key, values in block.items():
                k = key.lower()
                once = sum(1 for b in conditions.values() for kk in b if kk.lower() == k) == 1
                loose = (
                    op.lower() in _ALWAYS_SATISFIABLE
                    and once
                    and k not in identity_free_refs
                    and not fixed_key(k, principal_known=True)
                    and not any("${" in v for v in values)
                )
                conds.append((op.lower(), k, None if loose else values))
        out.append(
            (
                st.index,
                st.sid,
                how,
                st.actions,
                st.not_actions,
                st.resources,
                st.not_resources,
                tuple(sorted(conds, key=repr)),
            )
        )
    return tuple(out)


def stored(p: PrincipalInfo) -> Source:
    return Source(
        id=p.arn,
        table="User" if p.kind == "user" else "Role",
        kind=p.kind,
        action=ASSUME_ROLE,
        account=p.account,
        info=p,
    )


@dataclass(kw_only=True)
class Candidates:
    """What a trust policy could admit: principals named one by one, loaded accounts named as a whole (decided
    by groups, see `Index.account_candidates`), and whether it names `*` (every principal)."""

    named: dict[str, Source]
    accounts: list[str]
    everyone: bool


def candidates(index: Index, role: PrincipalInfo) -> Candidates:
    """Every principal the trust policy's Allow statements could admit, prefiltered."""
    out = Candidates(named={}, accounts=[], everyone=False)
    if role.trust is None:
        return out
    for st in role.trust.document.statements:
        if st.effect != "Allow" or not any(st.may_match_action(a) for a in ACTIONS):
            continue
        if st.not_principals is not None:
            out.everyone = True
        for kind, entries in (st.principals or {}).items():
            for entry in entries:
                if kind == "AWS":
                    if entry == "*":
                        out.everyone = True
                    elif is_account_id(entry) or is_account_root(entry):
                        account = entry if is_account_id(entry) else entry.split(":")[4]
                        if account in index.loaded:
                            out.accounts.append(account)
                        else:
                            root = account_root(account)
                            out.named[root] = Source(
                                id=root,
                                table="ExternalPrincipal",
                                kind="account",
                                action=ASSUME_ROLE,
                                account=account,
                            )
                    elif (src := index.arn_source(entry)) is not None:
                        out.named[src.id] = src
                elif kind == "Service":
                    out.named[entry] = Source(
                        id=entry, table="ServicePrincipal", kind="service", action=ASSUME_ROLE
                    )
                elif kind == "Federated":
                    action = WITH_SAML if ":saml-provider/" in entry else WITH_WEB_IDENTITY
                    out.named[entry] = Source(
                        id=entry,
                        table="ExternalPrincipal",
                        kind="federated",
                        action=action,
                        account=account_of(entry),
                    )
    if out.everyone:
        out.named["*"] = Source(id="*", table="ExternalPrincipal", kind="everyone", action=ASSUME_ROLE)
        out.accounts = []
    out.accounts = list(dict.fromkeys(out.accounts))
    return out
