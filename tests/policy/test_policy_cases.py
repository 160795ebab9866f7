"""The 48 hand-made conformance cases (tests/conformance/policy-cases.jsonl) run through `evaluate`.

Each case names the AWS rule it tests in `why`; the case id is the test id.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from graphiam.arn import principal_type_of
from graphiam.policy import PolicySource, Request, evaluate, parse_policy

CASES_FILE = Path(__file__).parent.parent / "conformance" / "policy-cases.jsonl"
CASES = [json.loads(line) for line in CASES_FILE.read_text().splitlines() if line.strip()]


def _source(doc: Any, name: str, *, kind: str = "custom", via: str = "user") -> PolicySource:
    return PolicySource(document=parse_policy(doc, where=name), policy_id=name, name=name, kind=kind, via=via)


def test_all_cases_present() -> None:
    assert len(CASES) == 48
    assert len({c["id"] for c in CASES}) == 48


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_case(case: dict[str, Any]) -> None:
    identity = [_source(d, f"identity-{i}") for i, d in enumerate(case["identityPolicies"])]
    boundaries = None
    if case["permissionBoundaries"] is not None:
        boundaries = [
            _source(d, f"boundary-{i}", via="boundary") for i, d in enumerate(case["permissionBoundaries"])
        ]
    resource = None
    if case["resourcePolicy"] is not None:
        resource = _source(case["resourcePolicy"], "resource", kind="resource", via="resource")
    request = Request(
        action=case["action"],
        resource=case["resourceArn"],
        principal_arn=case["principalArn"],
        principal_type=principal_type_of(case["principalArn"]),
        context=case["context"],
    )
    result = evaluate(
        request,
        identity=identity,
        boundaries=boundaries,
        resource_policy=resource,
        resource_policy_required=case["action"].lower().startswith("sts:assumerole"),
    )
    assert result.decision.aws_name == case["expect"], case["why"]
