"""What changed between two security summaries (`graphiam.queries.summary`), in meaning as well as in text.

`compare(old, new)` gives a `Drift`: a list of `Item`s, each of one category (`CATEGORIES`, the names
`--fail-on` takes) with a severity, the entity it is about (`subject`), a one-line `title` and
category-specific `details` (schema/diff.schema.json documents every shape). Items come most severe first,
then in category order, then by subject: the order is stable, so two runs over the same inputs print the same
bytes.

Categories:
- `new-admin` / `admin-removed`: administrator now (allowed every action on `*`, or can make itself so in one
  step) on one side only;
- `new-escalation` / `escalation-removed`: not administrator, can become one (`canBecomeAdmin`), with the
  shortest path on the side that has it;
- `new-public-access` / `public-access-removed`: a role anyone (`*`) can assume;
- `new-external-access` / `external-access-removed`: a role a principal outside the loaded accounts can
  assume (account, role, federated provider), with the statements and conditions behind it;
- `new-sensitive-access` / `sensitive-access-removed`: principals newly able (no longer able) to do actions of
  the sensitive list on `*` (administrators gained or lost are reported once, as `new-admin`/`admin-removed`);
- `new-finding` / `finding-resolved`: a policy's risk category (the findings report) on one side only; a new
  finding has the category's severity;
- `new-assume` / `assume-removed`: CAN_ASSUME edges from users, roles and services, per role and deciding
  statements, with the principals;
- `entity-added` / `entity-removed` / `entity-changed`: users, groups, roles, policies, instance profiles,
  accounts, organization units and SCPs; a change lists the facets that differ (for statements: the ones added
  and removed, compared in normal form: key order or a string against a list of one is no change).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import graphiam
from graphiam.derive.escalation.techniques import load_techniques
from graphiam.errors import InputError
from graphiam.queries.chains import hop
from graphiam.queries.summary import Summary, counts

SCHEMA_VERSION = 1
SEVERITIES = ("critical", "high", "medium", "low", "info")
_RANK = {s: i for i, s in enumerate(SEVERITIES)}


@dataclass(frozen=True, kw_only=True)
class Category:
    name: str
    severity: str  # `new-finding`: the finding's own; this is the highest it takes
    description: str


CATEGORIES: tuple[Category, ...] = (
    Category(name="new-admin", severity="critical", description="a principal became administrator"),
    Category(name="new-public-access", severity="critical", description="a role anyone (`*`) can assume"),
    Category(name="new-escalation", severity="high", description="a principal can now become administrator"),
    Category(
        name="new-external-access",
        severity="high",
        description="a role a principal outside the loaded accounts can now assume",
    ),
    Category(
        name="new-sensitive-access",
        severity="high",
        description="a principal can now do sensitive actions on `*`",
    ),
    Category(name="new-finding", severity="high", description="a policy has a new risk finding"),
    Category(name="new-assume", severity="medium", description="principals can now assume a role"),
    Category(name="entity-changed", severity="low", description="an entity changed"),
    Category(name="entity-added", severity="low", description="an entity was added"),
    Category(name="entity-removed", severity="info", description="an entity was removed"),
    Category(name="admin-removed", severity="info", description="a principal is no longer administrator"),
    Category(
        name="escalation-removed",
        severity="info",
        description="a principal can no longer become administrator",
    ),
    Category(
        name="public-access-removed", severity="info", description="a role anyone could assume no longer is"
    ),
    Category(
        name="external-access-removed",
        severity="info",
        description="a principal outside the loaded accounts can no longer assume a role",
    ),
    Category(
        name="sensitive-access-removed",
        severity="info",
        description="a principal can no longer do sensitive actions on `*`",
    ),
    Category(name="finding-resolved", severity="info", description="a policy's risk finding is gone"),
    Category(name="assume-removed", severity="info", description="principals can no longer assume a role"),
)
BY_NAME = {c.name: c for c in CATEGORIES}
_ORDER = {c.name: i for i, c in enumerate(CATEGORIES)}
SHOWN = 5  # names listed in a title before "+N"


@dataclass(frozen=True, kw_only=True)
class Item:
    category: str
    severity: str
    subject: str
    account: str | None
    title: str
    details: dict[str, Any]

    def sort_key(self) -> tuple[Any, ...]:
        return (_RANK[self.severity], _ORDER[self.category], self.subject, self.title)

    def as_json(self) -> dict[str, Any]:
        return {
            "category": self.category,
            "severity": self.severity,
            "subject": self.subject,
            "account": self.account,
            "title": self.title,
            "details": self.details,
        }


@dataclass(frozen=True, kw_only=True)
class Side:
    """One side of a comparison: a database, a set of input files, or a recorded import."""

    kind: str  # database | files | import
    name: str
    import_id: int | None = None
    at: str | None = None
    accounts: tuple[str, ...] = ()
    counts: Mapping[str, int] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "importId": self.import_id,
            "at": self.at,
            "accounts": list(self.accounts),
            "counts": dict(self.counts),
        }


@dataclass(kw_only=True)
class Drift:
    old: Side
    new: Side
    items: list[Item]
    warnings: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.items


def short(arn: str) -> str:
    """`user/alice` for an IAM ARN, `policy/...`; anything else as it is."""
    parts = arn.split(":", 5)
    return parts[5] if len(parts) == 6 and parts[0] == "arn" else arn


def _account(arn: str, entities: Mapping[str, Any]) -> str | None:
    e = entities.get(arn)
    if e is not None:
        return e.get("account")  # type: ignore[no-any-return]
    parts = arn.split(":")
    return parts[4] if len(parts) > 4 and parts[0] == "arn" and parts[4] else None


def _listed(names: Sequence[str], total: int) -> str:
    return ", ".join(names[:SHOWN]) + (", …" if total > SHOWN else "")


def _names(arns: Sequence[str]) -> str:
    shown = ", ".join(short(a) for a in arns[:SHOWN])
    return shown + (f", +{len(arns) - SHOWN}" if len(arns) > SHOWN else "")


class _Compare:
    def __init__(self, old: Summary, new: Summary) -> None:
        self.old = old
        self.new = new
        self.items: list[Item] = []
        self.warnings: list[str] = []
        self.entities = {**old["entities"], **new["entities"]}
        self.technique_names = {t.id: t.name for t in load_techniques()}

    def add(
        self, category: str, subject: str, title: str, details: dict[str, Any], severity: str = ""
    ) -> None:
        self.items.append(
            Item(
                category=category,
                severity=severity or BY_NAME[category].severity,
                subject=subject,
                account=_account(subject, self.entities),
                title=title,
                details=details,
            )
        )

    # ---- entities ----

    def entities_(self) -> None:
        old, new = self.old["entities"], self.new["entities"]
        for key in sorted(set(old) | set(new)):
            a, b = old.get(key), new.get(key)
            if a is None:
                self.add(
                    "entity-added",
                    key,
                    f"{b['kind']} added: {short(key)}",
                    {"kind": b["kind"], "entity": self._entity(b, self.new)},
                )
            elif b is None:
                self.add(
                    "entity-removed",
                    key,
                    f"{a['kind']} removed: {short(key)}",
                    {"kind": a["kind"], "entity": self._entity(a, self.old)},
                )
            elif a != b:
                changes = self._changes(a, b)
                if changes:
                    self.add(
                        "entity-changed",
                        key,
                        f"{b['kind']} changed: {short(key)} "
                        f"({'; '.join(self._change_line(c) for c in changes)})",
                        {"kind": b["kind"], "changes": changes},
                    )

    @staticmethod
    def _statement_facet(name: str) -> bool:
        return name in ("statements", "trust")

    def _entity(self, e: Mapping[str, Any], side: Summary) -> dict[str, Any]:
        """An entity as the JSON shows it: attributes, lists, statements as objects."""
        out: dict[str, Any] = {"attributes": e["attributes"]}
        for name, value in e.items():
            if name in ("kind", "account", "attributes"):
                continue
            out[name] = [side["statements"][d] for d in value] if self._statement_facet(name) else value
        return out

    def _changes(self, a: Mapping[str, Any], b: Mapping[str, Any]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        before, after = a["attributes"], b["attributes"]
        changed = [
            {"name": k, "before": before.get(k), "after": after.get(k)}
            for k in sorted(set(before) | set(after))
            if before.get(k) != after.get(k)
        ]
        if changed:
            out.append({"facet": "attributes", "changed": changed, "added": [], "removed": []})
        for name in sorted((set(a) | set(b)) - {"kind", "account", "attributes"}):
            x, y = set(a.get(name, ())), set(b.get(name, ()))
            if x == y:
                continue
            added, removed = sorted(y - x), sorted(x - y)
            if self._statement_facet(name):
                out.append(
                    {
                        "facet": name,
                        "changed": [],
                        "added": [self.new["statements"][d] for d in added],
                        "removed": [self.old["statements"][d] for d in removed],
                    }
                )
            else:
                out.append({"facet": name, "changed": [], "added": added, "removed": removed})
        return out

    @staticmethod
    def _change_line(c: Mapping[str, Any]) -> str:
        if c["facet"] == "attributes":
            return ", ".join(f"{x['name']} {x['before']} -> {x['after']}" for x in c["changed"])
        parts = []
        if c["added"]:
            parts.append(f"+{len(c['added'])}")
        if c["removed"]:
            parts.append(f"-{len(c['removed'])}")
        return f"{c['facet']} {' '.join(parts)}"

    # ---- administrators ----

    def _steps(self, steps: Sequence[Sequence[str]]) -> list[dict[str, Any]]:
        return [
            {"from": s, "to": t, "technique": k, "techniqueName": self.technique_names.get(k, k)}
            for s, t, k in steps
        ]

    def admins(self) -> None:
        old, new = self.old["admins"], self.new["admins"]
        for arn in sorted(set(new) - set(old)):
            fresh = arn not in self.old["entities"]
            v = new[arn]
            self.add(
                "new-admin",
                arn,
                f"{'new ' if fresh else ''}{short(arn)} {'is' if fresh else 'became'} administrator: "
                f"{v['reason']}",
                {**v, "principalAdded": fresh},
            )
        for arn in sorted(set(old) - set(new)):
            gone = arn not in self.new["entities"]
            v = old[arn]
            self.add(
                "admin-removed",
                arn,
                f"{short(arn)} is no longer administrator" + (" (removed)" if gone else ""),
                {**v, "principalRemoved": gone},
            )
        oesc, nesc = self.old["escalations"], self.new["escalations"]
        for arn in sorted(set(nesc) - set(oesc)):
            path = nesc[arn]
            steps = self._steps(path["steps"])
            chain = " -> ".join([short(arn), *(f"{short(s['to'])} ({s['technique']})" for s in steps)])
            self.add(
                "new-escalation",
                arn,
                f"{short(arn)} can become administrator in {len(steps)} step(s): {chain}",
                {"path": steps, "needs": path["needs"], "principalAdded": arn not in self.old["entities"]},
            )
        for arn in sorted(set(oesc) - set(nesc)):
            if arn in new:
                continue  # now administrator: reported as new-admin
            gone = arn not in self.new["entities"]
            self.add(
                "escalation-removed",
                arn,
                f"{short(arn)} can no longer become administrator" + (" (removed)" if gone else ""),
                {
                    "path": self._steps(oesc[arn]["steps"]),
                    "needs": oesc[arn]["needs"],
                    "principalRemoved": gone,
                },
            )

    # ---- CAN_ASSUME, external and public access ----

    @staticmethod
    def _edges(side: Summary, role: str) -> dict[tuple[str, str], str]:
        """(source, action) -> reason id, for the edges into `role`."""
        entry = side["assume"]["roles"].get(role)
        if entry is None:
            return {}
        nodes = side["assume"]["nodes"]
        out: dict[tuple[str, str], str] = {}
        for reason, action, deltas in entry["groups"]:
            at = 0
            for i, d in enumerate(deltas):
                at = d if i == 0 else at + d
                out[(nodes[at], action)] = reason
        return out

    @staticmethod
    def _reason(side: Summary, reason: str, source: str, role: str, action: str) -> dict[str, Any]:
        statements, conditions = side["reasons"].get(reason, ("[]", "[]"))
        h = hop(source, role, action, statements, conditions, False)
        return {
            "statements": [
                f"{s.policy_arn}#{s.statement_index}" + (f" ({s.sid})" if s.sid else "") for s in h.statements
            ],
            "conditions": [
                f"{c.key} {c.operator}" + (f" {list(c.values)}" if c.values else "") for c in h.conditions
            ],
        }

    def assume(self) -> None:
        old_roles, new_roles = self.old["assume"]["roles"], self.new["assume"]["roles"]
        for role in sorted(set(old_roles) | set(new_roles)):
            a, b = old_roles.get(role), new_roles.get(role)
            if a is not None and b is not None and a["digest"] == b["digest"]:
                continue
            before, after = self._edges(self.old, role), self._edges(self.new, role)
            self._edge_items(role, after, before, self.new, added=True)
            self._edge_items(role, before, after, self.old, added=False)

    def _edge_items(
        self,
        role: str,
        these: Mapping[tuple[str, str], str],
        others: Mapping[tuple[str, str], str],
        side: Summary,
        *,
        added: bool,
    ) -> None:
        externals = side["externals"]
        grouped: dict[tuple[str, str, str | None], list[str]] = {}
        for (source, action), reason in sorted(these.items()):
            if (source, action) in others:
                continue
            ext = externals.get(source)
            if ext is not None:
                self._external(role, source, action, reason, ext, side, added=added)
                continue
            grouped.setdefault((reason, action, _account(source, self.entities)), []).append(source)
        for (reason, action, _acct), sources in sorted(grouped.items()):
            why = self._reason(side, reason, sources[0], role, action)
            n = len(sources)
            verb = "can now" if added else "can no longer"
            self.add(
                "new-assume" if added else "assume-removed",
                role,
                f"{n} principal(s) {verb} {action} {short(role)}: {_names(sources)}",
                {"role": role, "action": action, "principals": sources, **why},
            )

    def _external(
        self,
        role: str,
        source: str,
        action: str,
        reason: str,
        ext: Mapping[str, Any],
        side: Summary,
        *,
        added: bool,
    ) -> None:
        public = ext["kind"] == "everyone"
        if public:
            category = "new-public-access" if added else "public-access-removed"
            title = f"{short(role)} {'can now' if added else 'can no longer'} be assumed by anyone (`*`)"
        else:
            category = "new-external-access" if added else "external-access-removed"
            where = "outside the organization" if ext["outsideOrganization"] else "inside the organization"
            title = (
                f"{short(role)} {'can now' if added else 'can no longer'} be assumed by {source} "
                f"({ext['kind']}, {where})"
            )
        self.add(
            category,
            role,
            title,
            {
                "role": role,
                "principal": source,
                "principalKind": ext["kind"],
                "principalAccount": ext["account"],
                "outsideOrganization": ext["outsideOrganization"],
                "action": action,
                **self._reason(side, reason, source, role, action),
            },
        )

    # ---- findings and sensitive actions ----

    def findings(self) -> None:
        old, new = self.old["findings"], self.new["findings"]
        for policy in sorted(set(old) | set(new)):
            a, b = old.get(policy, {}), new.get(policy, {})
            for cat in sorted(set(b) - set(a)):
                f = b[cat]
                self.add(
                    "new-finding",
                    policy,
                    f"{short(policy)}: new {cat} finding ({f['count']} action(s): "
                    f"{_listed(f['actions'], f['count'])})",
                    {
                        "policy": policy,
                        "riskCategory": cat,
                        "actionCount": f["count"],
                        "actions": f["actions"],
                    },
                    severity=f["severity"],
                )
            for cat in sorted(set(a) - set(b)):
                f = a[cat]
                self.add(
                    "finding-resolved",
                    policy,
                    f"{short(policy)}: {cat} finding resolved" + ("" if policy in new else " (policy gone)"),
                    {
                        "policy": policy,
                        "riskCategory": cat,
                        "actionCount": f["count"],
                        "actions": f["actions"],
                    },
                )

    def sensitive(self) -> None:
        old, new = self.old["sensitive"], self.new["sensitive"]
        common = sorted(set(old["actions"]) & set(new["actions"]))
        if old["actions"] != new["actions"]:
            self.warnings.append(
                f"the two sides decided different sensitive-action lists: only the {len(common)} action(s) "
                "both decided are compared"
            )
        keep = set(common)

        def allowed(side: Mapping[str, Any], arn: str) -> set[str]:
            acts = side["actions"]
            return {acts[i] for i in side["allowed"].get(arn, ()) if acts[i] in keep}

        for arn in sorted(set(old["allowed"]) | set(new["allowed"])):
            a, b = allowed(old, arn), allowed(new, arn)
            gained, lost = sorted(b - a), sorted(a - b)
            if gained and not (arn in self.new["admins"] and arn not in self.old["admins"]):
                self.add(
                    "new-sensitive-access",
                    arn,
                    f"{short(arn)} can now do {len(gained)} sensitive action(s) on `*`: "
                    f"{_listed(gained, len(gained))}",
                    {"actions": gained, "principalAdded": arn not in self.old["entities"]},
                )
            if lost and not (arn in self.old["admins"] and arn not in self.new["admins"]):
                self.add(
                    "sensitive-access-removed",
                    arn,
                    f"{short(arn)} can no longer do {len(lost)} sensitive action(s) on `*`: "
                    f"{_listed(lost, len(lost))}",
                    {"actions": lost, "principalRemoved": arn not in self.new["entities"]},
                )


def compare(old: Summary, new: Summary, *, old_side: Side, new_side: Side) -> Drift:
    """Every change from `old` to `new` (see the module docstring), most severe first."""
    c = _Compare(old, new)
    c.admins()
    c.assume()
    c.sensitive()
    c.findings()
    c.entities_()
    return Drift(
        old=replace(old_side, accounts=tuple(old["accounts"]), counts=counts(old)),
        new=replace(new_side, accounts=tuple(new["accounts"]), counts=counts(new)),
        items=sorted(c.items, key=Item.sort_key),
        warnings=c.warnings,
    )


# ---- gates ----


def parse_categories(text: str | Iterable[str]) -> list[str]:
    """`new-admin,new-escalation` (or a list of such) as category names; an unknown one is an error naming the
    known ones."""
    names = [t.strip() for part in ([text] if isinstance(text, str) else text) for t in part.split(",")]
    names = [n for n in names if n]
    for n in names:
        if n not in BY_NAME:
            raise InputError(f"unknown category `{n}`: one of {', '.join(c.name for c in CATEGORIES)}")
    return names


def check_severity(level: str) -> str:
    if level not in _RANK:
        raise InputError(f"unknown severity `{level}`: one of {', '.join(SEVERITIES)}")
    return level


def at_least(severity: str, level: str) -> bool:
    """`severity` is `level` or more severe."""
    return _RANK[severity] <= _RANK[level]


def failing(
    items: Iterable[Item], *, categories: Sequence[str] = (), severity: str | None = None
) -> list[Item]:
    """The items a CI gate fails on: of the `categories`, or at least `severity`."""
    wanted = set(categories)
    return [
        i for i in items if i.category in wanted or (severity is not None and at_least(i.severity, severity))
    ]


# ---- JSON ----


def as_json(drift: Drift) -> dict[str, Any]:
    """The document `graphiam diff --json` prints and `changes` answers (schema/diff.schema.json)."""
    rows: dict[tuple[str, str], int] = {}
    for i in drift.items:
        rows[(i.category, i.severity)] = rows.get((i.category, i.severity), 0) + 1
    return {
        "schemaVersion": SCHEMA_VERSION,
        "tool": {"name": "graphiam", "version": graphiam.__version__},
        "old": drift.old.as_json(),
        "new": drift.new.as_json(),
        "clean": drift.clean,
        "summary": [
            {"category": c, "severity": s, "count": n}
            for (c, s), n in sorted(rows.items(), key=lambda kv: (_RANK[kv[0][1]], _ORDER[kv[0][0]]))
        ],
        "items": [i.as_json() for i in drift.items],
        "warnings": list(drift.warnings),
    }
