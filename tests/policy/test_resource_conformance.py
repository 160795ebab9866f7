"""The 2,000 resource-policy / RCP / SCP / session-policy cases (tests/conformance/resource/) run through the
pure `evaluate`, with each case's documents given inline.

`expected.jsonl` holds an independent simulator's answers; its README names the cases (`meta.doubt`) where
that simulator departs from AWS's documentation. Those are held to `documented.jsonl`: the answer AWS's
documentation gives, each checked by hand against the rule its `doubt` names —
- `session-arn-grant`: a resource policy naming the session ARN itself is not limited by the session policy
  (IAM User Guide, "Session policies");
- `notprincipal-partial`: a Deny with NotPrincipal naming the caller only through its account or its role
  denies it (IAM User Guide, "AWS JSON policy elements: NotPrincipal");
- `star-boundary`: undocumented, either `allowed` or `implicitDeny` is accepted.
Every other case must agree with the simulator.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from graphiam.arn import caller_type
from graphiam.policy import Evaluation, PolicySource, Request, evaluate, parse_policy

DATA = Path(__file__).parent.parent / "conformance" / "resource"


def _lines(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (DATA / name).read_text().splitlines() if line.strip()]


CASES = _lines("cases.jsonl")
EXPECTED = {e["id"]: e["decision"] for e in _lines("expected.jsonl")}
DOCUMENTED = {d["id"]: d for d in _lines("documented.jsonl")}


def _source(doc: Any, name: str, kind: str, via: str) -> PolicySource:
    return PolicySource(document=parse_policy(doc, where=name), policy_id=name, name=name, kind=kind, via=via)


def _levels(levels: list[list[Any]] | None, kind: str) -> list[list[PolicySource]] | None:
    if levels is None:
        return None
    return [
        [_source(d, f"{kind}[{i}][{j}]", kind, kind) for j, d in enumerate(level)]
        for i, level in enumerate(levels)
    ]


def run_case(case: dict[str, Any]) -> Evaluation:
    """The engine's evaluation of one case, its documents given inline."""
    boundaries = case["permissionBoundaries"]
    resource_policy = case["resourcePolicy"]
    session = case["sessionPolicy"]
    request = Request(
        action=case["action"],
        resource=case["resourceArn"],
        principal_arn=case["principalArn"],
        principal_type=caller_type(case["principalArn"]),
        resource_account=case["resourceAccount"],
        context=case["context"],
    )
    return evaluate(
        request,
        identity=[
            _source(d, f"identity[{i}]", "custom", "user") for i, d in enumerate(case["identityPolicies"])
        ],
        boundaries=None
        if boundaries is None
        else [_source(d, f"boundary[{i}]", "custom", "boundary") for i, d in enumerate(boundaries)],
        resource_policy=None
        if resource_policy is None
        else _source(resource_policy, "resource", "resource", "resource"),
        # KMS key policies are required: IAM policies alone grant nothing on a key
        resource_policy_required=case["action"].lower().startswith("kms:"),
        scps=_levels(case["serviceControlPolicies"], "scp"),
        rcps=_levels(case["resourceControlPolicies"], "rcp"),
        session_policies=None if session is None else [_source(session, "session", "session", "session")],
    )


@pytest.fixture(scope="module")
def answers() -> dict[str, str]:
    return {case["id"]: run_case(case).decision.aws_name for case in CASES}


def test_data_is_complete() -> None:
    assert len(CASES) == len(EXPECTED) == 2000
    assert {c["id"] for c in CASES} == set(EXPECTED)
    doubtful = {c["id"] for c in CASES if c["meta"]["doubt"]}
    assert set(DOCUMENTED) == doubtful
    assert len(doubtful) == 120  # 125 doubts, some cases carry two


def _table(rows: Counter[str], wrong: Counter[str]) -> str:
    return "\n".join(f"  {k}: {rows[k] - wrong[k]}/{rows[k]}" for k in sorted(rows))


def test_every_undoubted_case_agrees_with_the_simulator(answers: dict[str, str]) -> None:
    rows: Counter[str] = Counter()
    wrong: Counter[str] = Counter()
    mismatches = []
    for case in CASES:
        meta = case["meta"]
        if meta["doubt"]:
            continue
        groups = [f"principal={meta['pkind']}", f"relation={meta['rel']}", f"resource={meta['res']}"]
        groups += [layer for layer in ("rcp", "scp", "session", "boundary") if meta[layer]]
        bad = answers[case["id"]] != EXPECTED[case["id"]]
        for g in groups:
            rows[g] += 1
            wrong[g] += bad
        if bad:
            mismatches.append(f"{case['id']}: engine {answers[case['id']]}, simulator {EXPECTED[case['id']]}")
    assert sum(rows.values()) > 0
    assert not mismatches, (
        f"{len(mismatches)} cases disagree:\n" + "\n".join(mismatches[:30]) + "\n" + _table(rows, wrong)
    )


@pytest.mark.parametrize("doubt", ["session-arn-grant", "notprincipal-partial", "star-boundary"])
def test_doubtful_cases_are_decided_as_documented(answers: dict[str, str], doubt: str) -> None:
    cases = [c for c in CASES if doubt in c["meta"]["doubt"]]
    assert cases
    wrong = [
        f"{c['id']}: engine {answers[c['id']]}, documented {DOCUMENTED[c['id']]['decisions']}"
        for c in cases
        if answers[c["id"]] not in DOCUMENTED[c["id"]]["decisions"]
    ]
    assert not wrong, f"{len(wrong)} of {len(cases)} `{doubt}` cases:\n" + "\n".join(wrong)


def test_documented_answers_differ_from_the_simulator_only_where_the_documentation_says() -> None:
    """The hand-checked answers depart from the simulator in the direction the rule predicts: a session-ARN
    grant the simulator capped is allowed; a partial NotPrincipal the simulator exempted denies."""
    for case in CASES:
        documented = DOCUMENTED.get(case["id"])
        if documented is None or EXPECTED[case["id"]] in documented["decisions"]:
            continue
        (answer,) = documented["decisions"]
        if "notprincipal-partial" in case["meta"]["doubt"] and answer == "explicitDeny":
            continue
        assert "session-arn-grant" in case["meta"]["doubt"], case["id"]
        assert (EXPECTED[case["id"]], answer) == ("implicitDeny", "allowed"), case["id"]
