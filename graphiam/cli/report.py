"""`graphiam report [--account ID] [--json]`: the policy findings report, one line per finding, then the
summary. A finding's line (shown here on two):

    high   PrivilegeEscalation  arn:aws:iam::111:policy/p (customer-managed)  1 action: \
iam:CreatePolicyVersion  [techniques: iam-001]  reaches 2 (user/alice [can become admin], role/r [admin])

Each user or role reached is tagged with `queries.admin`'s facts: `[admin]` (administrator now), `[can become
admin]` (an escalation path leads there), `[admin unknown]` (a policy without a document decides). Policies in
scope without a document are listed last as warnings (not analysed); `--json` has `isAdmin`, `canBecomeAdmin`
per principal and `warnings`.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from graphiam import service
from graphiam.cli.common import db_arg, db_path
from graphiam.derive.findings.rules import SEVERITY, RiskCategory
from graphiam.queries.findings import Exclusions, build_findings_index, policy_findings

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


def render(report: Any) -> list[str]:
    lines = []
    for p in report.policies:
        principals = sorted({_short(r.arn) + _mark(r) for r in p.principals})
        reach = f"reaches {len(principals)}"
        if principals:
            more = f", +{len(principals) - SHOWN_PRINCIPALS}" if len(principals) > SHOWN_PRINCIPALS else ""
            reach += f" ({', '.join(principals[:SHOWN_PRINCIPALS])}{more})"
        for f in p.findings:
            n = len(f.actions)
            shown = ", ".join(f.actions[:SHOWN_ACTIONS]) + (
                f", +{n - SHOWN_ACTIONS}" if n > SHOWN_ACTIONS else ""
            )
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


def cmd_report(args: argparse.Namespace) -> int:
    categories = [RiskCategory(k) for k in args.kind] if args.kind else None
    exclusions = Exclusions(
        policies=tuple(args.exclude_policy or ()),
        principals=tuple(args.exclude_principal or ()),
        actions=tuple(args.exclude_action or ()),
    )
    db = service.open_database(db_path(args, must_exist=True), engine=args.engine)
    try:
        snap = service.build_snapshot(db)
        index = build_findings_index(db, snap)
    finally:
        db.close()
    report = policy_findings(index, account=args.account, categories=categories, exclusions=exclusions)
    if args.json:
        json.dump(as_json(report), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        for line in render(report):
            print(line)
    return 0


def add(sub: Any) -> None:
    rp = sub.add_parser(
        "report",
        help="Cloudsplaining-style risk report: per policy, the actions it allows without "
        "resource constraints, by risk category, and whom it reaches",
    )
    rp.add_argument("--account", help="only this account's policies and principals")
    rp.add_argument("--json", action="store_true", help="the whole report as JSON")
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
    db_arg(rp)
    rp.set_defaults(func=cmd_report)
