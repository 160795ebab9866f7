"""A `Drift` for people (text, grouped by severity then category) and for code scanning (SARIF 2.1.0)."""

from __future__ import annotations

import json
from typing import Any

from graphiam.queries.drift import CATEGORIES, SEVERITIES, Drift, Item, Side
from graphiam.queries.sarif import Result, Rule, sarif_log

DETAIL_LINES = 10  # statements or names shown under one item
PER_CATEGORY = 100  # changes of one category printed (0: all); the JSON has every one


def _side(s: Side) -> str:
    where = {"import": "import", "files": "files", "database": "database"}[s.kind]
    extra = f" {s.import_id}" if s.import_id is not None else ""
    when = f", {s.at}" if s.at else ""
    return f"{s.name} ({where}{extra}{when})"


def _compact(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _detail_lines(item: Item) -> list[str]:
    """The few lines under an item that say what to look at (statements, principals, path)."""
    d = item.details
    out: list[str] = []
    if item.category == "entity-changed":
        for c in d["changes"]:
            if c["facet"] == "attributes":
                continue
            for sign, key in (("+", "added"), ("-", "removed")):
                values = c[key]
                for v in values[:DETAIL_LINES]:
                    out.append(f"{sign} {c['facet']}: {v if isinstance(v, str) else _compact(v)}")
                if len(values) > DETAIL_LINES:
                    out.append(f"{sign} {c['facet']}: … {len(values) - DETAIL_LINES} more")
    elif item.category in ("new-escalation", "escalation-removed"):
        for s in d["path"]:
            out.append(f"{s['from']} -> {s['to']}: {s['technique']} ({s['techniqueName']})")
    elif "statements" in d and item.category not in ("new-admin", "admin-removed"):
        out += [f"statement {s}" for s in d["statements"][:DETAIL_LINES]]
        out += [f"condition {c}" for c in d.get("conditions", ())[:DETAIL_LINES]]
    elif item.category in ("new-admin", "admin-removed"):
        out += [f"statement {s}" for s in d["statements"][:DETAIL_LINES]]
    if d.get("needs"):
        out.append(f"needs {', '.join(d['needs'])}")
    return out


def text_lines(drift: Drift, *, details: bool = True, per_category: int = PER_CATEGORY) -> list[str]:
    """The drift for a terminal: a header, the items grouped by severity then category (most severe first),
    each with a few lines of what to look at (at most `per_category` of a category; 0: all), then a one-line
    total."""
    lines = [f"old: {_side(drift.old)}", f"new: {_side(drift.new)}"]
    oc, nc = drift.old.counts, drift.new.counts
    lines.append(
        "  " + ", ".join(f"{k} {oc.get(k, 0)} -> {nc.get(k, 0)}" for k in nc if oc.get(k, 0) != nc.get(k, 0))
        if any(oc.get(k, 0) != nc.get(k, 0) for k in nc)
        else "  same counts"
    )
    for w in drift.warnings:
        lines.append(f"warning: {w}")
    if drift.clean:
        lines.append("no changes")
        return lines
    for severity in SEVERITIES:
        mine = [i for i in drift.items if i.severity == severity]
        if not mine:
            continue
        lines.append("")
        lines.append(f"{severity.upper()} ({len(mine)})")
        for c in CATEGORIES:
            these = [i for i in mine if i.category == c.name]
            if not these:
                continue
            lines.append(f"  {c.name} ({len(these)}): {c.description}")
            shown = these[:per_category] if per_category else these
            for i in shown:
                lines.append(f"    {i.title}")
                if details:
                    lines += [f"        {x}" for x in _detail_lines(i)]
            if len(shown) < len(these):
                lines.append(
                    f"    … and {len(these) - len(shown)} more (--limit 0 or --json shows every one)"
                )
    by = {s: sum(1 for i in drift.items if i.severity == s) for s in SEVERITIES}
    lines.append("")
    lines.append(f"{len(drift.items)} change(s): " + ", ".join(f"{n} {s}" for s, n in by.items() if n))
    return lines


def sarif(drift: Drift) -> dict[str, Any]:
    """The drift as a SARIF 2.1.0 log: one rule per category, one result per item."""
    rules = [Rule(id=c.name, description=c.description, severity=c.severity) for c in CATEGORIES]
    results = [
        Result(
            rule=i.category,
            severity=i.severity,
            message=i.title,
            subject=i.subject,
            properties={"account": i.account, "details": i.details},
        )
        for i in drift.items
    ]
    return sarif_log(rules, results, run_properties={"old": drift.old.as_json(), "new": drift.new.as_json()})
