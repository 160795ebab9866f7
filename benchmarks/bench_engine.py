"""Decisions per second of the pure policy engine, in process, on one core.

    .venv/bin/python benchmarks/bench_engine.py [--runs 7] [--shared tests/conformance]

Workloads: the 48 policy cases of tests/conformance/policy-cases.jsonl, and — when the conformance directory
(`--shared`, default tests/conformance) holds gaad.json — its 2000 requests against gaad.json (policies read
straight from the export, as in the engine's own conformance check; no store). Policies are parsed once before
timing; each run evaluates every request once. Prints the median of the runs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from graphiam.arn import account_of, principal_type_of  # noqa: E402
from graphiam.policy import PolicySource, Request, evaluate, parse_policy  # noqa: E402

Workload = list[tuple[Request, dict[str, Any]]]


def _source(doc: Any, name: str, kind: str = "custom", via: str = "user") -> PolicySource:
    return PolicySource(document=parse_policy(doc, where=name), policy_id=name, name=name, kind=kind, via=via)


def policy_cases(path: Path) -> Workload:
    work: Workload = []
    for line in path.read_text().splitlines():
        case = json.loads(line)
        bounds = case["permissionBoundaries"]
        kwargs = dict(
            identity=[_source(d, f"i{i}") for i, d in enumerate(case["identityPolicies"])],
            boundaries=None
            if bounds is None
            else [_source(d, f"b{i}", via="boundary") for i, d in enumerate(bounds)],
            resource_policy=None
            if case["resourcePolicy"] is None
            else _source(case["resourcePolicy"], "r", "resource", "resource"),
            resource_policy_required=case["action"].lower().startswith("sts:assumerole"),
        )
        request = Request(
            action=case["action"],
            resource=case["resourceArn"],
            principal_arn=case["principalArn"],
            principal_type=principal_type_of(case["principalArn"]),
            context=case["context"],
        )
        work.append((request, kwargs))
    return work


def gaad_requests(directory: Path) -> Workload:
    gaad = json.loads((directory / "gaad.json").read_text())
    managed = {
        p["Arn"]: _source(v["Document"], p["Arn"], "customer-managed")
        for p in gaad["Policies"]
        for v in p["PolicyVersionList"]
        if v["IsDefaultVersion"]
    }
    groups = {g["GroupName"]: g for g in gaad["GroupDetailList"]}

    def policies(entity: Mapping[str, Any], inline_key: str) -> list[PolicySource]:
        out = [_source(p["PolicyDocument"], p["PolicyName"], "inline") for p in entity.get(inline_key, [])]
        return out + [managed[a["PolicyArn"]] for a in entity.get("AttachedManagedPolicies", [])]

    def boundary(entity: Mapping[str, Any]) -> list[PolicySource] | None:
        pb = entity.get("PermissionsBoundary")
        if not pb:
            return None
        found = managed.get(pb["PermissionsBoundaryArn"])
        return [found] if found else []

    def tags(entity: Mapping[str, Any], prefix: str) -> dict[str, str]:
        return {prefix + t["Key"]: t["Value"] for t in entity.get("Tags", [])}

    principals: dict[str, tuple[list[PolicySource], list[PolicySource] | None, dict[str, str]]] = {}
    for u in gaad["UserDetailList"]:
        ident = policies(u, "UserPolicyList")
        for name in u.get("GroupList", []):
            ident += policies(groups[name], "GroupPolicyList")
        ctx = {
            "aws:username": u["UserName"],
            "aws:userid": u["UserId"],
            "aws:PrincipalArn": u["Arn"],
            "aws:PrincipalAccount": account_of(u["Arn"]) or "",
            "aws:PrincipalType": "User",
            **tags(u, "aws:PrincipalTag/"),
        }
        principals[u["Arn"]] = (ident, boundary(u), ctx)
    trusts = {}
    for r in gaad["RoleDetailList"]:
        ctx = {
            "aws:PrincipalArn": r["Arn"],
            "aws:PrincipalAccount": account_of(r["Arn"]) or "",
            "aws:PrincipalType": "AssumedRole",
            **tags(r, "aws:PrincipalTag/"),
        }
        principals[r["Arn"]] = (policies(r, "RolePolicyList"), boundary(r), ctx)
        trusts[r["Arn"]] = _source(r["AssumeRolePolicyDocument"], r["Arn"] + "#trust", "trust", "resource")

    work: Workload = []
    for line in (directory / "requests.jsonl").read_text().splitlines():
        r = json.loads(line)
        ident, bound, ctx = principals[r["principalArn"]]
        trust = trusts.get(r["resourceArn"]) if r["action"].lower().startswith("sts:assumerole") else None
        request = Request(
            action=r["action"],
            resource=r["resourceArn"],
            principal_arn=r["principalArn"],
            principal_type=principal_type_of(r["principalArn"]),
            resource_account=r["resourceAccount"],
            context={**ctx, **r["context"]},
        )
        work.append(
            (
                request,
                dict(
                    identity=ident,
                    boundaries=bound,
                    resource_policy=trust,
                    resource_policy_required=trust is not None,
                ),
            )
        )
    return work


def measure(work: Workload, runs: int, decide: Callable[..., Any] = evaluate) -> float:
    """Median decisions/second over `runs` passes (one warm-up pass first)."""
    for request, kwargs in work:
        decide(request, **kwargs)
    rates = []
    for _ in range(runs):
        start = time.perf_counter()
        for request, kwargs in work:
            decide(request, **kwargs)
        rates.append(len(work) / (time.perf_counter() - start))
    return statistics.median(rates)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--shared", type=Path, default=ROOT / "tests" / "conformance")
    args = parser.parse_args(argv)
    cases = policy_cases(ROOT / "tests" / "conformance" / "policy-cases.jsonl")
    print(
        f"policy cases      {len(cases):5d} requests  {measure(cases, args.runs):12,.0f} decisions/s  "
        f"(median of {args.runs})"
    )
    if (args.shared / "gaad.json").exists():
        gaad = gaad_requests(args.shared)
        print(
            f"GAAD conformance  {len(gaad):5d} requests  {measure(gaad, args.runs):12,.0f} decisions/s  "
            f"(median of {args.runs})"
        )
    else:
        print(f"GAAD conformance  skipped: {args.shared} not found")


if __name__ == "__main__":
    main()
