"""Every GraphQL example in the README's "What you can ask" section runs on the demo org without errors."""

from __future__ import annotations

import pytest

from tests.helpers import ROOT


def _examples() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## What you can ask", 1)[1].split("\n## ", 1)[0]
    block = section.split("```graphql\n", 1)[1].split("```", 1)[0]
    ops: list[str] = []
    current: list[str] = []
    for line in block.splitlines():
        if line.startswith("#") or not line.strip():
            if current:
                ops.append("\n".join(current))
                current = []
            continue
        current.append(line)
    if current:
        ops.append("\n".join(current))
    return ops


@pytest.fixture(scope="module")
def q(seeded_gql):
    return seeded_gql


def test_there_are_examples():
    assert len(_examples()) >= 6


@pytest.mark.parametrize(
    "index", [i for i, op in enumerate(_examples()) if not op.lstrip().startswith("mutation")]
)
def test_readme_example_runs(q, index):
    op = _examples()[index]
    data = q(op)
    assert data and all(v is not None for v in data.values()), op
