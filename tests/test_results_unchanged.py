"""Results unchanged: generated orgs loaded now give the derived facts and answers recorded as goldens.

Each golden (`tests/data/golden/*.json`, made by `benchmarks/results_digest.py record`, which says how in its
`made`) holds the digest of a generated org after a load at a pinned clock: CAN_ASSUME edges, escalation edges
(fan-out edges expanded), NAMES edges, the import summary (administrators, escalations, findings, sensitive
actions, external principals, entities) and answers (whoCan, escalationPaths, assumptionChains, the findings
report). A failure names each part that differs and the keys (questions, principals, policies) where it does.

A change that means to change results re-records the goldens (the command is in each file's `made`) and says
why in its commit.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.helpers import ROOT

GOLDEN = ROOT / "tests" / "data" / "golden"


def digest_module() -> ModuleType:
    """benchmarks/results_digest.py as a module, loaded once."""
    if "results_digest" in sys.modules:
        return sys.modules["results_digest"]
    spec = importlib.util.spec_from_file_location("results_digest", ROOT / "benchmarks" / "results_digest.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["results_digest"] = module
    spec.loader.exec_module(module)
    return module


def goldens() -> list[Path]:
    return sorted(GOLDEN.glob("*.json"))


def test_there_are_goldens_of_several_shapes() -> None:
    made = [json.loads(p.read_text())["made"] for p in goldens()]
    assert len(made) >= 3
    assert {m["org"].get("shape", "default") for m in made} >= {"default", "wide"}
    assert any(m["org"]["accounts"] > 1 for m in made)
    assert all(m["clock"] == digest_module().CLOCK.isoformat() for m in made)


@pytest.mark.parametrize("path", goldens(), ids=lambda p: p.stem)
def test_results_equal_the_golden(path: Path) -> None:
    rd = digest_module()
    golden: dict[str, Any] = json.loads(path.read_text())
    spec = rd.OrgSpec(**golden["made"]["org"])
    got, _seconds = rd.load_and_digest(spec, golden["questions"], keep=True)
    problems = rd.compare(golden, got)
    assert not problems, (
        f"{path.name} ({spec.principals} principals; made by `{golden['made']['command']}`): "
        + f"{len(problems)} part(s) differ:\n"
        + "\n".join(problems)
    )


def test_the_pinned_clock_decides_time_conditions() -> None:
    """The generator's grants hold from 2023 to 2026-12-31 (`DateLessThan`): at the pinned clock they hold, a
    year later they do not, so a golden would change with the calendar unless the clock were pinned."""
    rd = digest_module()
    spec = rd.OrgSpec(users=50, roles=30, policies=40, accounts=1, seed=7)
    now, _ = rd.load_and_digest(spec)
    later, _ = rd.load_and_digest(spec, now.questions, clock=datetime(2027, 6, 1, tzinfo=UTC))
    again, _ = rd.load_and_digest(spec, now.questions)
    assert again.parts == now.parts
    changed = {k for k in now.parts if now.parts[k] != later.parts[k]}
    assert {"escalation", "summary.sensitive", "summary.findings", "answers.whoCan"} <= changed, changed


def test_a_difference_names_the_part_and_the_keys() -> None:
    rd = digest_module()
    part = rd.Part("escalation", keep=True)
    for i in range(100):
        part.group(f"arn:aws:iam::111122223333:user/u{i:03d}", [f"edge {i}"])
    golden = {"digest": {"escalation": part.value()}, "groups": {"escalation": part.detail()}}
    changed = rd.Part("escalation", keep=True)
    for i in range(100):
        changed.group(f"arn:aws:iam::111122223333:user/u{i:03d}", [f"edge {i}" + ("!" if i == 42 else "")])
    got = rd.Digest(
        parts={"escalation": changed.value()},
        groups={"escalation": changed.detail()},
        questions={},
        keys={"escalation": {k: n for k, (n, _) in changed.groups.items()}},
        lines={"escalation": changed.lines},
    )
    [message] = rd.compare(golden, got)
    assert message.startswith("escalation: golden 100:") and "user/u042 (1 lines)" in message
    assert "the lines of" in message
