"""The findings report (`queries.findings.Report`), with what changed since an import when asked
(`queries.drift.Drift`), as files: CSV, SARIF 2.1.0, and HTML pages.

The HTML is offline (no script, no font, no stylesheet from anywhere: one small style block per page) and
paginated by account: `index.html` holds the summary, what changed, and one line per account linking to
`account-<id>.html` (`account-<id>-2.html` … past `PAGE_POLICIES` policies), so no page grows with the size of
the whole organisation.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from html import escape
from typing import Any

from graphiam.derive.findings.rules import SEVERITY, RiskCategory
from graphiam.queries.drift import CATEGORIES, Drift, at_least
from graphiam.queries.findings import PolicyReport, Report
from graphiam.queries.sarif import Result, Rule, sarif_log

PAGE_POLICIES = 200
INDEX_CHANGES = 500  # changes listed on the index page, most severe first
CSV_COLUMNS = (
    "record",
    "severity",
    "category",
    "account",
    "subject",
    "kind",
    "title",
    "action_count",
    "actions",
    "principals",
)
CSV_ACTIONS = 100  # actions listed in a cell (a wildcard finding holds thousands; spreadsheets cap cells)
_DESCRIPTIONS = {
    RiskCategory.PRIVILEGE_ESCALATION: "allows every action of a privilege-escalation technique without "
    "resource constraints",
    RiskCategory.RESOURCE_EXPOSURE: "allows permissions-management actions without resource constraints",
    RiskCategory.DATA_EXFILTRATION: "allows data-exfiltration actions without resource constraints",
    RiskCategory.CREDENTIALS_EXPOSURE: "allows credentials-exposure actions without resource constraints",
    RiskCategory.INFRASTRUCTURE_MODIFICATION: "allows write, tagging or permissions-management actions "
    "without resource constraints",
    RiskCategory.SERVICE_WILDCARD: "allows every action of a service (`svc:*`, `*`)",
}


def finding_severities(report: Report) -> list[str]:
    return [SEVERITY[f.category] for p in report.policies for f in p.findings]


def failing_count(report: Report, drift: Drift | None, level: str) -> int:
    """Findings (and changes) of severity `level` or more."""
    n = sum(1 for s in finding_severities(report) if at_least(s, level))
    return n + (sum(1 for i in drift.items if at_least(i.severity, level)) if drift is not None else 0)


def _reach(p: PolicyReport) -> list[str]:
    return sorted({r.arn for r in p.principals if r.kind != "group"})


# ---- CSV ----


def _capped(actions: Sequence[str]) -> str:
    more = len(actions) - CSV_ACTIONS
    return ";".join(actions[:CSV_ACTIONS]) + (f";… +{more}" if more > 0 else "")


def csv_text(report: Report, drift: Drift | None = None) -> str:
    """One row per finding (`record` finding) and, with a drift, one per change (`record` change); at most
    `CSV_ACTIONS` actions per cell (`action_count` has them all)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for p in report.policies:
        reach = ";".join(_reach(p))
        for f in p.findings:
            w.writerow(
                (
                    "finding",
                    SEVERITY[f.category],
                    f.category.value,
                    p.account,
                    p.arn,
                    p.kind,
                    f"{len(f.actions)} action(s)" + (" (conditional)" if f.conditional else ""),
                    len(f.actions),
                    _capped(f.actions),
                    reach,
                )
            )
    for i in drift.items if drift is not None else ():
        d = i.details
        w.writerow(
            (
                "change",
                i.severity,
                i.category,
                i.account or "",
                i.subject,
                d.get("kind", ""),
                i.title,
                d.get("actionCount", len(d.get("actions", ()))),
                _capped(d.get("actions", ())),
                ";".join(d.get("principals", ())),
            )
        )
    return buf.getvalue()


# ---- SARIF ----


def sarif(report: Report, drift: Drift | None = None) -> dict[str, Any]:
    """One rule per risk category (and, with a drift, per change category); one result per finding."""
    rules = [Rule(id=c.value, description=_DESCRIPTIONS[c], severity=SEVERITY[c]) for c in RiskCategory]
    results = [
        Result(
            rule=f.category.value,
            severity=SEVERITY[f.category],
            message=f"{p.kind} policy {p.arn} {_DESCRIPTIONS[f.category]}: {len(f.actions)} action(s) "
            f"({', '.join(f.actions[:5])}{', …' if len(f.actions) > 5 else ''}), reaching "
            f"{len(_reach(p))} principal(s)",
            subject=p.arn,
            properties={
                "account": p.account,
                "policyKind": p.kind,
                "actions": list(f.actions),
                "techniques": list(f.techniques),
                "conditional": f.conditional,
                "principals": _reach(p),
                "reachesAdmin": p.reaches_admin,
            },
        )
        for p in report.policies
        for f in p.findings
    ]
    props: dict[str, Any] = {"policiesAnalysed": report.analysed}
    if drift is not None:
        rules += [Rule(id=c.name, description=c.description, severity=c.severity) for c in CATEGORIES]
        results += [
            Result(
                rule=i.category,
                severity=i.severity,
                message=i.title,
                subject=i.subject,
                properties={"account": i.account, "details": i.details},
            )
            for i in drift.items
        ]
        props |= {"old": drift.old.as_json(), "new": drift.new.as_json()}
    return sarif_log(rules, results, run_properties=props)


# ---- HTML ----

_STYLE = (
    "body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}"
    "table{border-collapse:collapse;margin:1em 0}"
    "td,th{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top}th{background:#f3f3f3}"
    ".critical,.high{color:#b00020;font-weight:600}.medium{color:#a15c00}.low,.info{color:#555}"
    "code{font-size:12px;word-break:break-all}nav a{margin-right:1em}"
)


def _page(title: str, body: list[str]) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )


def _sev(s: str) -> str:
    return f'<span class="{escape(s)}">{escape(s)}</span>'


def _account_pages(account: str, policies: Sequence[PolicyReport]) -> list[str]:
    n = max(1, -(-len(policies) // PAGE_POLICIES))
    return [f"account-{account}.html" if i == 0 else f"account-{account}-{i + 1}.html" for i in range(n)]


def html_pages(
    report: Report, drift: Drift | None = None, *, title: str = "graphiam report"
) -> dict[str, str]:
    """File name -> page: `index.html` and the pages of each account."""
    by_account: dict[str, list[PolicyReport]] = {}
    for p in report.policies:
        by_account.setdefault(p.account, []).append(p)
    files: dict[str, str] = {}
    body = [
        f"<h1>{escape(title)}</h1>",
        f"<p>{report.analysed} policies analysed, {len(report.policies)} with findings.</p>",
        "<h2>Findings by category</h2>",
        "<table><tr><th>category</th><th>severity</th><th>policies</th><th>actions</th>"
        "<th>principals</th></tr>",
    ]
    for s in report.summary:
        body.append(
            f"<tr><td>{escape(s.category.value)}</td><td>{_sev(s.severity)}</td><td>{s.policies}</td>"
            f"<td>{s.actions}</td><td>{s.principals}</td></tr>"
        )
    body.append("</table>")
    if drift is not None:
        body += _drift_html(drift)
    body += [
        "<h2>Accounts</h2>",
        "<table><tr><th>account</th><th>policies with findings</th>"
        + "".join(f"<th>{escape(s)}</th>" for s in ("high", "medium", "low"))
        + "<th>pages</th></tr>",
    ]
    for account in sorted(by_account):
        policies = by_account[account]
        counts = {s: 0 for s in ("high", "medium", "low")}
        for p in policies:
            for f in p.findings:
                counts[SEVERITY[f.category]] += 1
        pages = _account_pages(account, policies)
        links = " ".join(f'<a href="{escape(name)}">{i + 1}</a>' for i, name in enumerate(pages))
        body.append(
            f"<tr><td>{escape(account)}</td><td>{len(policies)}</td>"
            + "".join(f"<td>{counts[s]}</td>" for s in ("high", "medium", "low"))
            + f"<td>{links}</td></tr>"
        )
        for i, name in enumerate(pages):
            chunk = policies[i * PAGE_POLICIES : (i + 1) * PAGE_POLICIES]
            files[name] = _account_html(account, chunk, pages, i, title)
    body.append("</table>")
    files["index.html"] = _page(title, body)
    return dict(sorted(files.items()))


def _account_html(
    account: str, policies: Sequence[PolicyReport], pages: list[str], at: int, title: str
) -> str:
    nav = (
        ['<nav><a href="index.html">index</a>']
        + [
            f'<a href="{escape(p)}">page {i + 1}</a>' if i != at else f"<b>page {i + 1}</b>"
            for i, p in enumerate(pages)
        ]
        + ["</nav>"]
    )
    body = [
        *nav,
        f"<h1>{escape(title)}: account {escape(account)}</h1>",
        "<table><tr><th>policy</th><th>kind</th><th>severity</th><th>category</th><th>actions</th>"
        "<th>reaches</th></tr>",
    ]
    for p in policies:
        reach = _reach(p)
        shown = ", ".join(f"<code>{escape(a)}</code>" for a in reach[:20])
        more = f" +{len(reach) - 20}" if len(reach) > 20 else ""
        admin = " (reaches an administrator)" if p.reaches_admin else ""
        for f in p.findings:
            acts = ", ".join(escape(a) for a in f.actions[:25]) + (
                f", +{len(f.actions) - 25}" if len(f.actions) > 25 else ""
            )
            cond = f"<br>only under conditions: {escape('; '.join(f.conditions))}" if f.conditional else ""
            body.append(
                f"<tr><td><code>{escape(p.arn)}</code></td><td>{escape(p.kind)}</td>"
                f"<td>{_sev(SEVERITY[f.category])}</td><td>{escape(f.category.value)}</td>"
                f"<td>{acts}{cond}</td><td>{len(reach)}{escape(admin)}: {shown}{more}</td></tr>"
            )
    body.append("</table>")
    return _page(f"{title}: {account}", [*body, *nav])


def _drift_html(drift: Drift) -> list[str]:
    out = [
        "<h2>What changed</h2>",
        f"<p>From {escape(drift.old.name)} (import {drift.old.import_id}, {escape(drift.old.at or '')}) to "
        + (
            f"import {drift.new.import_id} ({escape(drift.new.at or '')})"
            if drift.new.import_id is not None
            else "the database now"
        )
        + f": {len(drift.items)} change(s).</p>",
    ]
    if drift.clean:
        return out
    out.append("<table><tr><th>severity</th><th>category</th><th>change</th></tr>")
    for i in drift.items[:INDEX_CHANGES]:  # most severe first
        out.append(
            f"<tr><td>{_sev(i.severity)}</td><td>{escape(i.category)}</td><td>{escape(i.title)}</td></tr>"
        )
    out.append("</table>")
    if len(drift.items) > INDEX_CHANGES:
        out.append(
            f"<p>… and {len(drift.items) - INDEX_CHANGES} more: `graphiam diff --since "
            f"{drift.old.import_id}` lists them all.</p>"
        )
    return out
