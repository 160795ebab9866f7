"""`graphiam report [--account ID] [--format text|json|html|sarif|csv]`: the policy findings report, one line
per finding, then the summary. A finding's line (shown here on two):

    high   PrivilegeEscalation  arn:aws:iam::111:policy/p (customer-managed)  1 action: \
iam:CreatePolicyVersion  [techniques: iam-001]  reaches 2 (user/alice [can become admin], role/r [admin])

Each user or role reached is tagged with `queries.admin`'s facts: `[admin]` (administrator now), `[can become
admin]` (an escalation path leads there), `[admin unknown]` (a policy without a document decides). Policies in
scope without a document are listed last as warnings (not analysed); `--json` has `isAdmin`, `canBecomeAdmin`
per principal and `warnings`.

`--since PREVIOUS|ID` adds what changed since that import (`graphiam diff --since`); `--exclusions FILE` reads
Cloudsplaining's exclusions file (YAML or JSON); `--fail-on-severity LEVEL` exits 1 when a finding (or change)
of that severity or more is reported. Exit status: 0, 1 (the gate), 2 a usage or input error.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from graphiam import service
from graphiam.cli.common import db_arg, db_path, open_database
from graphiam.cli.served import Server, server_for, url_arg
from graphiam.derive.findings.rules import SEVERITY, RiskCategory
from graphiam.errors import GraphiamError, InputError
from graphiam.queries import history
from graphiam.queries.drift import Drift, check_severity
from graphiam.queries.drift import as_json as drift_json
from graphiam.queries.drift_formats import text_lines
from graphiam.queries.findings import (
    Exclusions,
    Report,
    build_findings_index,
    exclusions_from,
    merge,
    policy_findings,
)
from graphiam.queries.report_formats import csv_text, failing_count, html_pages
from graphiam.queries.report_formats import sarif as report_sarif
from graphiam.queries.summary import read_config

SHOWN_ACTIONS = 5
SHOWN_PRINCIPALS = 5


def _short(arn: str) -> str:
    return arn.split(":", 5)[-1]


def _mark(r: Any) -> str:
    """A reached principal's administrator facts (`queries.admin`) as a tag: admin, can become, unknown."""
    if r.kind == "group":
        return ""
    if r.is_admin:
        return " [admin]"
    if r.can_become_admin:
        return " [can become admin]"
    if r.is_admin is None or r.can_become_admin is None:
        return " [admin unknown]"
    return ""


def _cut(items: Sequence[str], shown: int | None) -> str:
    """`items` joined, the first `shown` of them (all when None) and how many of how many that is."""
    if shown is None or len(items) <= shown:
        return ", ".join(items)
    return f"{', '.join(items[:shown])}; {shown} of {len(items)} shown, --full shows all"


def render(report: Any, *, full: bool = False) -> list[str]:
    """One line per finding; lists of actions and principals cut at a few unless `full`."""
    lines = []
    for p in report.policies:
        principals = sorted({_short(r.arn) + _mark(r) for r in p.principals})
        reach = f"reaches {len(principals)}"
        if principals:
            reach += f" ({_cut(principals, None if full else SHOWN_PRINCIPALS)})"
        for f in p.findings:
            n = len(f.actions)
            shown = _cut(list(f.actions), None if full else SHOWN_ACTIONS)
            line = (
                f"{SEVERITY[f.category]:<6} {f.category.value:<26} {p.arn} ({p.kind})  "
                f"{n} action{'s' if n != 1 else ''}: {shown}"
            )
            if f.techniques:
                line += f"  [techniques: {', '.join(f.techniques)}]"
            if f.conditional:
                line += f"  [only under conditions: {'; '.join(f.conditions)}]"
            lines.append(f"{line}  {reach}")
    lines.append(f"{len(report.policies)} of {report.analysed} policies have findings")
    for s in report.summary:
        lines.append(
            f"  {s.category.value:<26} {s.severity:<6} {s.policies} policies, {s.actions} actions, "
            f"{s.principals} principals"
        )
    lines += [f"warning: {w}" for w in report.warnings]
    return lines


def as_json(report: Any) -> dict[str, Any]:
    return {
        "policiesAnalysed": report.analysed,
        "summary": [
            {
                "category": s.category.value,
                "severity": s.severity,
                "policies": s.policies,
                "actions": s.actions,
                "principals": s.principals,
            }
            for s in report.summary
        ],
        "policies": [
            {
                "policyArn": p.arn,
                "policyName": p.name,
                "policyKind": p.kind,
                "account": p.account,
                "owner": p.owner,
                "reachesAdmin": p.reaches_admin,
                "boundaryOf": list(p.boundary_of),
                "principals": [
                    {
                        "arn": r.arn,
                        "kind": r.kind,
                        "name": r.name,
                        "account": r.account,
                        "via": r.via,
                        "isAdmin": r.is_admin,
                        "canBecomeAdmin": r.can_become_admin,
                    }
                    for r in p.principals
                ],
                "findings": [
                    {
                        "category": f.category.value,
                        "actions": list(f.actions),
                        "techniques": list(f.techniques),
                        "statements": [
                            f"#{i}" + (f" ({p.sids[i]})" if p.sids.get(i) else "") for i in f.statements
                        ],
                        "conditional": f.conditional,
                        "conditions": list(f.conditions),
                    }
                    for f in p.findings
                ],
            }
            for p in report.policies
        ],
        "warnings": list(report.warnings),
    }


REPORT_QUERY = """query ($account: String, $kinds: [RiskCategory!], $exclude: FindingsExclusions,
  $after: String) {
  policyFindings(account: $account, kinds: $kinds, exclude: $exclude, first: 100, after: $after) {
    policiesAnalysed warnings summary { category severity policies actions principals }
    pageInfo { hasNextPage endCursor }
    edges { node { policyArn policyName policyKind account owner boundaryOf
      principals { arn kind name account via isAdmin canBecomeAdmin }
      findings { category actions techniques statements conditional conditions } } } } }"""
_STATEMENT = re.compile(r"#(\d+)(?: \((.*)\))?")


def _local(
    args: argparse.Namespace, path: Path, categories: Any, exclusions: Exclusions
) -> tuple[Report, Drift | None]:
    db = open_database(path, engine=args.engine)
    try:
        snap = service.build_snapshot(db)
        index = build_findings_index(db, snap)
        drift = history.changes_since(db, args.since) if args.since is not None else None
    finally:
        db.close()
    report = policy_findings(index, account=args.account, categories=categories, exclusions=exclusions)
    return report, drift


def _remote_policy(node: dict[str, Any]) -> Any:
    sids: dict[int, str | None] = {}
    findings = []
    for f in node["findings"]:
        indexes = []
        for label in f["statements"]:
            m = _STATEMENT.fullmatch(label)
            if m:
                indexes.append(int(m.group(1)))
                sids[int(m.group(1))] = m.group(2)
        findings.append(
            SimpleNamespace(
                category=RiskCategory[f["category"]],
                actions=tuple(f["actions"]),
                techniques=tuple(f["techniques"]),
                statements=tuple(indexes),
                conditional=f["conditional"],
                conditions=tuple(f["conditions"]),
            )
        )
    return SimpleNamespace(
        arn=node["policyArn"],
        name=node["policyName"],
        kind=node["policyKind"].lower().replace("_", "-"),
        account=node["account"],
        owner=node["owner"],
        findings=findings,
        principals=[
            SimpleNamespace(
                arn=r["arn"],
                kind=r["kind"],
                name=r["name"],
                account=r["account"],
                via=r["via"],
                is_admin=r["isAdmin"],
                can_become_admin=r["canBecomeAdmin"],
            )
            for r in node["principals"]
        ],
        boundary_of=tuple(node["boundaryOf"]),
        reaches_admin=any(r["isAdmin"] for r in node["principals"]),
        sids=sids,
    )


def _remote(server: Server, args: argparse.Namespace, categories: Any, exclusions: Exclusions) -> Any:
    """The server's report (every page of it), shaped as `render` and `as_json` read a report."""
    variables: dict[str, Any] = {
        "account": args.account,
        "kinds": [c.name for c in categories] if categories else None,
        "exclude": {
            "policies": list(exclusions.policies),
            "principals": list(exclusions.principals),
            "actions": list(exclusions.actions),
        },
        "after": None,
    }
    policies = []
    while True:
        page = server.query(REPORT_QUERY, variables)["policyFindings"]
        policies += [_remote_policy(e["node"]) for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        variables["after"] = page["pageInfo"]["endCursor"]
    summary = [
        SimpleNamespace(
            category=RiskCategory[s["category"]],
            severity=s["severity"],
            policies=s["policies"],
            actions=s["actions"],
            principals=s["principals"],
        )
        for s in page["summary"]
    ]
    return SimpleNamespace(
        policies=policies,
        summary=summary,
        analysed=page["policiesAnalysed"],
        warnings=tuple(page["warnings"]),
    )


def _exclusions(args: argparse.Namespace) -> Exclusions:
    given = Exclusions(
        policies=tuple(args.exclude_policy or ()),
        principals=tuple(args.exclude_principal or ()),
        actions=tuple(args.exclude_action or ()),
    )
    if not args.exclusions:
        return given
    return merge(exclusions_from(read_config(args.exclusions), source=args.exclusions), given)


def _write(text: str, output: str | None) -> None:
    if output is None:
        sys.stdout.write(text)
        return
    try:
        Path(output).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{output}: cannot write: {exc}") from None


def _write_html(pages: dict[str, str], output: str) -> None:
    out = Path(output)
    try:
        out.mkdir(parents=True, exist_ok=True)
        for name, text in pages.items():
            (out / name).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{output}: cannot write the HTML report: {exc}") from None


def _produce(args: argparse.Namespace) -> tuple[Report, Drift | None]:
    fmt = "json" if args.json else args.format
    if fmt == "html" and not args.output:
        raise InputError("--format html writes a directory of pages: name it with -o DIR")
    if args.fail_on_severity:
        check_severity(args.fail_on_severity)
    categories = [RiskCategory(k) for k in args.kind] if args.kind else None
    exclusions = _exclusions(args)
    path = db_path(args, must_exist=not args.url)
    server = server_for(args, path)
    report: Any
    drift: Drift | None = None
    if server:
        if args.since is not None:
            raise InputError(
                f"--since reads the import history inside the database, which the server at {server.url} "
                "holds: ask it with the GraphQL field `changes(since: …)`, or stop it first"
            )
        report = _remote(server, args, categories, exclusions)
    else:
        report, drift = _local(args, path, categories, exclusions)
    if fmt == "json":
        doc = as_json(report)
        if drift is not None:
            doc["changes"] = drift_json(drift)
        _write(json.dumps(doc, indent=2) + "\n", args.output)
    elif fmt == "sarif":
        _write(json.dumps(report_sarif(report, drift), indent=2) + "\n", args.output)
    elif fmt == "csv":
        _write(csv_text(report, drift), args.output)
    elif fmt == "html":
        _write_html(html_pages(report, drift), args.output)
    else:
        lines = render(report, full=args.full)
        if drift is not None:
            lines += ["", "what changed:", *text_lines(drift)]
        _write("\n".join(lines) + "\n", args.output)
    return report, drift


def cmd_report(args: argparse.Namespace) -> int:
    try:
        report, drift = _produce(args)
    except GraphiamError as exc:
        print(f"graphiam: error: {exc}", file=sys.stderr)
        return 2
    if args.fail_on_severity:
        n = failing_count(report, drift, args.fail_on_severity)
        if n:
            print(f"graphiam: {n} finding(s) of severity {args.fail_on_severity} or more", file=sys.stderr)
            return 1
    return 0


def add(sub: Any) -> None:
    rp = sub.add_parser(
        "report",
        help="Cloudsplaining-style risk report: per policy, the actions it allows without "
        "resource constraints, by risk category, and whom it reaches",
    )
    rp.add_argument("--account", help="only this account's policies and principals")
    rp.add_argument("--json", action="store_true", help="the whole report as JSON (= --format json)")
    rp.add_argument(
        "--format",
        choices=("text", "json", "html", "sarif", "csv"),
        default="text",
        help="html: a directory of offline pages, one set per account (-o DIR); sarif: SARIF 2.1.0",
    )
    rp.add_argument("-o", "--output", metavar="PATH", help="write here instead of stdout (html: a directory)")
    rp.add_argument(
        "--since",
        metavar="PREVIOUS|ID",
        help="add what changed since this import (as `graphiam diff --since`)",
    )
    rp.add_argument(
        "--fail-on-severity",
        metavar="LEVEL",
        help="exit 1 when a finding (or change) of this severity or more is reported "
        "(critical, high, medium, low, info)",
    )
    rp.add_argument(
        "--exclusions",
        metavar="FILE",
        help="Cloudsplaining's exclusions file (YAML or JSON): policies, roles, users, groups, "
        "include-actions, exclude-actions",
    )
    rp.add_argument(
        "--kind",
        action="append",
        choices=[c.value for c in RiskCategory],
        help="only this category (repeatable)",
    )
    rp.add_argument(
        "--exclude-policy", action="append", metavar="NAME|ARN", help="leave out policies (`*` wildcards)"
    )
    rp.add_argument(
        "--exclude-principal",
        action="append",
        metavar="NAME|ARN",
        help="leave out users, groups or roles (`*` wildcards)",
    )
    rp.add_argument("--exclude-action", action="append", metavar="PATTERN", help="never report these actions")
    rp.add_argument(
        "--full",
        action="store_true",
        help=f"every action and principal of a finding (by default the first {SHOWN_ACTIONS} actions and "
        f"{SHOWN_PRINCIPALS} principals, saying how many there are)",
    )
    db_arg(rp)
    url_arg(rp)
    rp.set_defaults(func=cmd_report)
