"""`graphiam simulate`: one decision with the statements that decided it, printed for a person."""

from __future__ import annotations

import argparse
import json
from typing import Any

from graphiam import service
from graphiam.cli.common import db_arg, db_path
from graphiam.errors import InputError
from graphiam.queries.simulate import simulate


def parse_context(pairs: list[str]) -> dict[str, Any]:
    """`key=value` pairs; a repeated key, or `key=[a,b]` JSON, makes a multivalued key."""
    out: dict[str, Any] = {}
    for i, pair in enumerate(pairs):
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InputError(f"--context #{i + 1}: `{pair}` is not key=value")
        if value.startswith("["):
            try:
                parsed = json.loads(value)
            except json.JSONDecodeError:
                raise InputError(f"--context `{key}`: `{value}` is not a JSON list") from None
            out[key] = [str(v) for v in parsed]
        elif key in out:
            prev = out[key]
            out[key] = (prev if isinstance(prev, list) else [prev]) + [value]
        else:
            out[key] = value
    return out


def read_scp_levels(paths: list[str]) -> list[list[Any]]:
    """`--scp FILE`, one per level of the organization (root first): a file holds one SCP document or a JSON
    list of the SCPs attached at that level."""
    levels: list[list[Any]] = []
    for path in paths:
        try:
            with open(path, encoding="utf-8") as fh:
                doc = json.load(fh)
        except OSError as exc:
            raise InputError(f"--scp {path}: cannot read: {exc.strerror}") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InputError(f"--scp {path}: not JSON: {exc}") from None
        levels.append(doc if isinstance(doc, list) else [doc])
    return levels


def render(sim: Any) -> list[str]:
    ev = sim.evaluation
    lines = [f"{ev.decision.value}: {sim.principal_arn} {sim.action} {sim.resource}"]
    for m in ev.matched:
        via = m.source.via + (f" {m.source.via_name}" if m.source.via_name else "")
        sid = f" ({m.sid})" if m.sid else ""
        lines.append(
            f"  {m.effect:<5} {m.source.policy_id} statement {m.index}{sid} [{m.source.kind}, via {via}]"
        )
    if not ev.matched:
        lines.append("  no statement applies")
    extra = [f"identity: {ev.identity_decision.value}"]
    if ev.boundary_decision is not None:
        extra.append(f"boundary: {ev.boundary_decision.value}")
    if ev.resource_decision is not None:
        extra.append(f"resource policy ({sim.resource_policy_used}): {ev.resource_decision.value}")
    if ev.scp_decision is not None:
        extra.append(f"SCPs: {ev.scp_decision.value}")
    lines.append("  " + ", ".join(extra))
    if ev.missing_context_keys:
        lines.append("  missing context keys: " + ", ".join(ev.missing_context_keys))
    if sim.conditional:
        lines.append("  ALLOWED IF the request carries:")
        lines += [f"    {describe_condition(c)}" for c in sim.required_conditions]
    lines += [f"  warning: {w}" for w in sim.warnings]
    return lines


def describe_condition(c: Any) -> str:
    """One required condition for a person: what must hold (or, for a Deny, must not) and where it is from."""
    what = "must hold" if c.effect == "Allow" else "must not hold (a Deny)"
    return f"{c.operator} {c.key} {list(c.values)} {what}  [{c.policy_arn} statement {c.statement_index}]"


def cmd_simulate(args: argparse.Namespace) -> int:
    context = parse_context(args.context or [])
    scps = read_scp_levels(args.scp or [])
    db = service.open_database(db_path(args, must_exist=True), engine=args.engine)
    try:
        sim = simulate(
            service.build_snapshot(db),
            principal=args.principal,
            action=args.action,
            resource=args.resource,
            context=context,
            resource_owner=args.resource_owner,
            scps=scps,
        )
    finally:
        db.close()
    if args.json:
        ev = sim.evaluation
        print(
            json.dumps(
                {
                    "decision": ev.decision.value,
                    "matchedStatements": [
                        {"policy": m.source.policy_id, "index": m.index, "sid": m.sid, "effect": m.effect}
                        for m in ev.matched
                    ],
                    "missingContextKeys": list(ev.missing_context_keys),
                    "conditional": sim.conditional,
                    "requiredConditions": [
                        {
                            "key": c.key,
                            "operator": c.operator,
                            "values": list(c.values),
                            "role": "REQUIRED" if c.effect == "Allow" else "AVOIDED",
                            "policyArn": c.policy_arn,
                            "statementIndex": c.statement_index,
                        }
                        for c in sim.required_conditions
                    ],
                    "scpDecision": ev.scp_decision.value if ev.scp_decision is not None else None,
                },
                indent=2,
            )
        )
    else:
        print("\n".join(render(sim)))
    return 0 if sim.evaluation.decision.value == "ALLOWED" else 3


def add(sub: Any) -> None:
    sp = sub.add_parser(
        "simulate",
        help="decide one request for a stored principal, with the deciding statements",
        description="Exit status: 0 allowed, 3 denied (also when it would be allowed only if the request "
        "carried more keys: the output says ALLOWED IF), 1 error.",
    )
    sp.add_argument("--principal", required=True, help="user or role ARN")
    sp.add_argument("--action", required=True, help="service:Action")
    sp.add_argument("--resource", default="*")
    sp.add_argument(
        "--context", action="append", metavar="KEY=VALUE", help="request context entry (repeatable)"
    )
    sp.add_argument("--resource-owner", help="account owning the resource (S3 ARNs carry none)")
    sp.add_argument(
        "--scp",
        action="append",
        metavar="FILE",
        help="the SCPs of one level of the organization, root first (repeatable): a JSON document, "
        "or a JSON list of the documents attached at that level",
    )
    sp.add_argument("--json", action="store_true", help="print JSON")
    db_arg(sp)
    sp.set_defaults(func=cmd_simulate)
