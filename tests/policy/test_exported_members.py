"""The public surface of graphiam.policy is exactly what other packages code against."""

from __future__ import annotations

import graphiam.policy


def test_all_is_the_contract() -> None:
    assert sorted(graphiam.policy.__all__) == sorted(
        [
            "parse_policy",
            "validate_policy",
            "Problem",
            "PolicyDocument",
            "Statement",
            "Decision",
            "Request",
            "PolicySource",
            "Evaluation",
            "StatementMatch",
            "evaluate",
        ]
    )
    for name in graphiam.policy.__all__:
        assert getattr(graphiam.policy, name).__module__.startswith("graphiam.policy.")
