"""SARIF 2.1.0 (OASIS Static Analysis Results Interchange Format) logs, for code-scanning tools.

One run, the tool `graphiam` with one reporting rule per kind of result. IAM entities are not lines of a
file, so every result names its entity as a logical location (`fullyQualifiedName`: the ARN, `kind`
"resource"). Levels follow the severity: critical and high are `error`, medium `warning`, low and info `note`;
each rule and result also carries `security-severity` (a number from 0 to 10, as code-scanning services read
it) and the severity word in `properties`. `partialFingerprints` identify a result across runs (rule, subject,
message).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import graphiam

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "0.0"}


@dataclass(frozen=True, kw_only=True)
class Rule:
    id: str
    description: str
    severity: str


@dataclass(frozen=True, kw_only=True)
class Result:
    rule: str
    severity: str
    message: str
    subject: str
    properties: Mapping[str, Any] = field(default_factory=dict)


def _pascal(rule_id: str) -> str:
    return "".join(p[:1].upper() + p[1:] for p in rule_id.replace("_", "-").split("-"))


def sarif_log(
    rules: Sequence[Rule], results: Sequence[Result], *, run_properties: Mapping[str, Any]
) -> dict[str, Any]:
    """A SARIF 2.1.0 log of one run: `rules` (those results name, in the order given) and `results`."""
    used = {r.rule for r in results}
    kept = [r for r in rules if r.id in used]
    index = {r.id: i for i, r in enumerate(kept)}
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "graphiam",
                        "version": graphiam.__version__,
                        "rules": [
                            {
                                "id": r.id,
                                "name": _pascal(r.id),
                                "shortDescription": {"text": r.description},
                                "defaultConfiguration": {"level": LEVEL[r.severity]},
                                "properties": {
                                    "security-severity": SECURITY_SEVERITY[r.severity],
                                    "tags": ["security", "iam"],
                                },
                            }
                            for r in kept
                        ],
                    }
                },
                "columnKind": "unicodeCodePoints",
                "results": [
                    {
                        "ruleId": x.rule,
                        "ruleIndex": index[x.rule],
                        "level": LEVEL[x.severity],
                        "message": {"text": x.message},
                        "locations": [
                            {"logicalLocations": [{"fullyQualifiedName": x.subject, "kind": "resource"}]}
                        ],
                        "partialFingerprints": {
                            "graphiamResult/v1": hashlib.sha256(
                                f"{x.rule}\n{x.subject}\n{x.message}".encode()
                            ).hexdigest()
                        },
                        "properties": {
                            "severity": x.severity,
                            "security-severity": SECURITY_SEVERITY[x.severity],
                            **x.properties,
                        },
                    }
                    for x in results
                ],
                "properties": dict(run_properties),
            }
        ],
    }
