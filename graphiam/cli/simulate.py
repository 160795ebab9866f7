"""`graphiam simulate`: one decision with the statements that decided it, printed for a person."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from graphiam import service
from graphiam.cli.common import db_arg, db_path, open_database
from graphiam.cli.served import Server, server_for, url_arg
from graphiam.errors import InputError
from graphiam.policy import Decision
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


def read_json(path: str, option: str) -> Any:
    """The JSON in `path`, or an `InputError` naming the option and the file."""
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except OSError as exc:
        raise InputError(f"{option} {path}: cannot read: {exc.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{option} {path}: not JSON: {exc}") from None


def read_scp_levels(paths: list[str], option: str = "--scp") -> list[list[Any]]:
    """`--scp FILE` (or `--rcp FILE`), one per level of the organization (root first): a file holds one
    document or a JSON list of the documents attached at that level (`[]`: none but the full-access one)."""
    levels: list[list[Any]] = []
    for path in paths:
        doc = read_json(path, option)
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
    if ev.rcp_decision is not None:
        extra.append(f"RCPs: {ev.rcp_decision.value}")
    if ev.session_decision is not None:
        extra.append(f"session policy: {ev.session_decision.value}")
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


SIMULATE_QUERY = """query ($principal: String!, $action: String!, $resource: String!,
  $context: [ContextEntryInput!], $resourceOwner: String, $scps: [[JSON!]!], $rcps: [[JSON!]!],
  $session: JSON) {
  simulate(principal: $principal, action: $action, resource: $resource, context: $context,
           resourceOwner: $resourceOwner, serviceControlPolicies: $scps, resourceControlPolicies: $rcps,
           sessionPolicy: $session) {
    decision identityDecision boundaryDecision resourcePolicyDecision resourcePolicySource scpDecision
    rcpDecision sessionDecision
    missingContextKeys warnings principal action resource conditional
    requiredConditions { key operator values role policyArn statementIndex }
    matchedStatements { policyArn kind appliesVia viaName statementIndex sid effect } } }"""


def _local(args: argparse.Namespace, path: Path, context: dict[str, Any], layers: Layers) -> Any:
    db = open_database(path, engine=args.engine)
    try:
        return simulate(
            service.build_snapshot(db),
            principal=args.principal,
            action=args.action,
            resource=args.resource,
            context=context,
            resource_owner=args.resource_owner,
            scps=layers.scps,
            rcps=layers.rcps,
            session_policy=layers.session_policy,
        )
    finally:
        db.close()


@dataclass(frozen=True, kw_only=True)
class Layers:
    """The organization and session policies given on the command line."""

    scps: list[list[Any]]
    rcps: list[list[Any]]
    session_policy: Any


def _decision(value: str | None) -> Decision | None:
    return None if value is None else Decision(value)


def _remote(server: Server, args: argparse.Namespace, context: dict[str, Any], layers: Layers) -> Any:
    """The server's answer, shaped as `render` and the JSON output read a simulation."""
    entries = [
        {"key": k, "values": v, "type": "STRING_LIST"} if isinstance(v, list) else {"key": k, "values": [v]}
        for k, v in context.items()
    ]
    r = server.query(
        SIMULATE_QUERY,
        {
            "principal": args.principal,
            "action": args.action,
            "resource": args.resource,
            "context": entries,
            "resourceOwner": args.resource_owner,
            "scps": layers.scps or None,
            "rcps": layers.rcps or None,
            "session": layers.session_policy,
        },
    )["simulate"]
    matched = [
        SimpleNamespace(
            effect=m["effect"].capitalize(),
            index=m["statementIndex"],
            sid=m["sid"],
            source=SimpleNamespace(
                policy_id=m["policyArn"],
                kind=m["kind"].lower().replace("_", "-"),
                via=m["appliesVia"].lower(),
                via_name=m["viaName"],
            ),
        )
        for m in r["matchedStatements"]
    ]
    evaluation = SimpleNamespace(
        decision=Decision(r["decision"]),
        matched=matched,
        identity_decision=Decision(r["identityDecision"]),
        boundary_decision=_decision(r["boundaryDecision"]),
        resource_decision=_decision(r["resourcePolicyDecision"]),
        scp_decision=_decision(r["scpDecision"]),
        rcp_decision=_decision(r["rcpDecision"]),
        session_decision=_decision(r["sessionDecision"]),
        missing_context_keys=tuple(r["missingContextKeys"]),
    )
    return SimpleNamespace(
        evaluation=evaluation,
        principal_arn=r["principal"],
        action=r["action"],
        resource=r["resource"],
        resource_policy_used=r["resourcePolicySource"],
        warnings=tuple(r["warnings"]),
        conditional=r["conditional"],
        required_conditions=[
            SimpleNamespace(
                key=c["key"],
                operator=c["operator"],
                values=tuple(c["values"]),
                effect="Allow" if c["role"] == "REQUIRED" else "Deny",
                policy_arn=c["policyArn"],
                statement_index=c["statementIndex"],
            )
            for c in r["requiredConditions"]
        ],
    )


def cmd_simulate(args: argparse.Namespace) -> int:
    context = parse_context(args.context or [])
    layers = Layers(
        scps=read_scp_levels(args.scp or []),
        rcps=read_scp_levels(args.rcp or [], "--rcp"),
        session_policy=read_json(args.session_policy, "--session-policy") if args.session_policy else None,
    )
    path = db_path(args, must_exist=not args.url)
    server = server_for(args, path)
    sim = _remote(server, args, context, layers) if server else _local(args, path, context, layers)
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
                    "rcpDecision": ev.rcp_decision.value if ev.rcp_decision is not None else None,
                    "sessionDecision": ev.session_decision.value if ev.session_decision is not None else None,
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
    sp.add_argument(
        "--rcp",
        action="append",
        metavar="FILE",
        help="the RCPs of one level of the resource's organization, root first (repeatable): a JSON "
        "document, or a JSON list of the documents attached at that level (`[]` for none)",
    )
    sp.add_argument(
        "--session-policy",
        metavar="FILE",
        help="the session policy of the role's session (a JSON document): it caps what the session may do",
    )
    sp.add_argument("--json", action="store_true", help="print JSON")
    db_arg(sp)
    url_arg(sp)
    sp.set_defaults(func=cmd_simulate)
