"""The risk categories of the policy findings report and the data that defines them.

Cloudsplaining's categories (https://cloudsplaining.readthedocs.io, "Glossary"), decided here over graphiam's
own catalogue and technique table:

- PrivilegeEscalation: every required action of an escalation technique of
  `graphiam.derive.escalation.techniques` (pathfinding.cloud's catalogue + graphiam's) is allowed without
  resource constraints by the one policy. `sts-001` (sts:AssumeRole alone) is left out: a hop yields only what
  the role's trust already grants.
- ResourceExposure: `Permissions management` actions (catalogue access level) allowed without resource
  constraints.
- DataExfiltration: Cloudsplaining's list of read actions that leak data (s3:GetObject, ssm:GetParameter* …).
- CredentialsExposure: Cloudsplaining's list of actions that return credentials, plus iam:UpdateLoginProfile.
- InfrastructureModification: `Write`, `Tagging` and `Permissions management` actions allowed without resource
  constraints.
- ServiceWildcard: an Allow statement names a service whole by its form (`s3:*`, `*`, or a NotAction that
  names none of the service's actions), whatever its Resource (as Cloudsplaining: it flags the statement's
  form, `graphiam.catalog.Catalog.services_granted_whole`); patterns that merely cover a small service
  (ReadOnlyAccess's `consolidatedbilling:Get*` and `List*`) are no wildcard. A Deny of one of its actions on
  every resource (above) removes it.

The two lists come from `graphiam/data/findings/risk-actions.json` (Cloudsplaining's, BSD-3-Clause: the
licence is beside the file), read once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import Enum
from functools import cache
from importlib import resources

from graphiam.derive.escalation.techniques import Technique, load_techniques


class RiskCategory(Enum):
    PRIVILEGE_ESCALATION = "PrivilegeEscalation"
    RESOURCE_EXPOSURE = "ResourceExposure"
    DATA_EXFILTRATION = "DataExfiltration"
    CREDENTIALS_EXPOSURE = "CredentialsExposure"
    INFRASTRUCTURE_MODIFICATION = "InfrastructureModification"
    SERVICE_WILDCARD = "ServiceWildcard"


CATEGORIES: tuple[RiskCategory, ...] = tuple(RiskCategory)

#: Cloudsplaining's severities (ISSUE_SEVERITY), per category.
SEVERITY: dict[RiskCategory, str] = {
    RiskCategory.PRIVILEGE_ESCALATION: "high",
    RiskCategory.RESOURCE_EXPOSURE: "high",
    RiskCategory.DATA_EXFILTRATION: "medium",
    RiskCategory.CREDENTIALS_EXPOSURE: "high",
    RiskCategory.INFRASTRUCTURE_MODIFICATION: "low",
    RiskCategory.SERVICE_WILDCARD: "medium",
}

MODIFY_LEVELS = frozenset({"Write", "Tagging", "Permissions management"})
PERMISSIONS_MANAGEMENT = "Permissions management"


@dataclass(frozen=True)
class Rules:
    data_exfiltration: frozenset[str]  # lowercase `service:action`
    credentials_exposure: frozenset[str]
    techniques: tuple[tuple[str, frozenset[str]], ...]  # (technique id, its required actions, lowercase)


@cache
def default_rules() -> Rules:
    text = (
        resources.files("graphiam")
        .joinpath("data", "findings", "risk-actions.json")
        .read_text(encoding="utf-8")
    )
    data = json.loads(text)
    if data.get("format") != 1:
        raise ValueError("graphiam/data/findings/risk-actions.json: unsupported format")
    cs, own = data["cloudsplaining"], data["graphiam"]
    skipped = set(own["escalation_techniques_not_reported"])
    return Rules(
        data_exfiltration=frozenset(a.lower() for a in cs["data_exfiltration"]),
        credentials_exposure=frozenset(
            a.lower() for a in (*cs["credentials_exposure"], *own["credentials_exposure"])
        ),
        techniques=tuple((t.id, _actions(t)) for t in load_techniques() if t.id not in skipped),
    )


def _actions(t: Technique) -> frozenset[str]:
    return frozenset(a.lower() for a in t.actions)
