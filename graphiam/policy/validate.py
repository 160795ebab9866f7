"""Lint a policy document: every problem as (JSON path, message, severity); never raises.

Implements the grammar of IAM User Guide "IAM JSON policy element reference" and "Grammar of the
IAM JSON policy language": top-level Version/Id/Statement; statement Sid, Effect, Action|NotAction,
Resource|NotResource, Principal|NotPrincipal, Condition; operator names from "Condition operators".
`parse_policy` raises on the `error`s of this check; `warning`s never stop parsing.

Messages follow the project style: lowercase, no final period, user input in backticks.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from graphiam.errors import PolicyParseError
from graphiam.policy.conditions import parse_operator
from graphiam.policy.principals import PRINCIPAL_TYPES
from graphiam.policy.raw import as_list, decode_document

VERSIONS = ("2012-10-17", "2008-10-17")
TOP_ELEMENTS = ("Version", "Id", "Statement")
STATEMENT_ELEMENTS = (
    "Sid",
    "Effect",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Principal",
    "NotPrincipal",
    "Condition",
)
RESOURCE_KINDS = frozenset({"resource", "trust"})  # policies attached to a resource: Principal required
_ACTION = re.compile(r"\*|[A-Za-z0-9*?-]+:[A-Za-z0-9*?]*")
_VARIABLE = re.compile(r"\$\{[^}]*\}")


@dataclass(frozen=True, kw_only=True)
class Problem:
    """One finding: where in the document (JSON path), what, and whether AWS would reject it."""

    path: str
    message: str
    severity: Literal["error", "warning"] = "error"


def validate_policy(doc: Mapping[str, Any] | str, *, kind: str | None = None) -> list[Problem]:
    """Every problem in `doc`; `kind` ("identity", "resource", "trust", or a PolicySource kind)
    turns the Resource/Principal presence rules of that policy type into errors."""
    try:
        raw = decode_document(doc)
    except PolicyParseError as exc:
        return [Problem(path=p, message=m) for p, m in exc.problems]
    return check_document(raw, kind=kind)


def check_document(raw: Mapping[str, Any], *, kind: str | None = None) -> list[Problem]:
    """The checks of `validate_policy` on an already decoded JSON object."""
    problems: list[Problem] = []
    for key in raw:
        if key not in TOP_ELEMENTS:
            problems.append(
                Problem(
                    path=f"$.{key}",
                    message=f"unknown element `{key}`: expected one of " + ", ".join(TOP_ELEMENTS),
                )
            )
    version = raw.get("Version")
    if version is None:
        problems.append(
            Problem(
                path="$",
                severity="warning",
                message="no `Version`: defaults to 2008-10-17, policy variables are literal text",
            )
        )
    elif version not in VERSIONS:
        problems.append(
            Problem(path="$.Version", message=f"must be 2012-10-17 or 2008-10-17, got `{version}`")
        )
    if "Statement" not in raw:
        problems.append(Problem(path="$", message="missing `Statement`"))
        return problems
    statements = raw["Statement"]
    if isinstance(statements, list):
        paths = [(f"$.Statement[{i}]", s) for i, s in enumerate(statements)]
    else:
        paths = [("$.Statement", statements)]
    sids: set[str] = set()
    for path, statement in paths:
        _check_statement(path, statement, problems, kind=kind, variables=version == "2012-10-17")
        sid = statement.get("Sid") if isinstance(statement, dict) else None
        if isinstance(sid, str):
            if sid in sids:
                problems.append(
                    Problem(path=f"{path}.Sid", severity="warning", message=f"duplicate Sid `{sid}`")
                )
            sids.add(sid)
    return problems


def _strings(path: str, value: Any, problems: list[Problem]) -> list[str]:
    out = []
    for i, item in enumerate(as_list(value)):
        item_path = f"{path}[{i}]" if isinstance(value, list) else path
        if isinstance(item, str):
            out.append(item)
        else:
            problems.append(Problem(path=item_path, message=f"must be a string, got {type(item).__name__}"))
    if isinstance(value, list) and not value:
        problems.append(Problem(path=path, message="must not be an empty list"))
    return out


def _check_statement(
    path: str, st: Any, problems: list[Problem], *, kind: str | None, variables: bool
) -> None:
    if not isinstance(st, dict):
        problems.append(
            Problem(path=path, message=f"a statement must be a JSON object, got {type(st).__name__}")
        )
        return
    for key in st:
        if key not in STATEMENT_ELEMENTS:
            problems.append(Problem(path=f"{path}.{key}", message=f"unknown element `{key}`"))
    if "Sid" in st and not isinstance(st["Sid"], str):
        problems.append(Problem(path=f"{path}.Sid", message="must be a string"))
    effect = st.get("Effect")
    if effect is None:
        problems.append(Problem(path=path, message="missing `Effect`"))
    elif effect not in ("Allow", "Deny"):
        problems.append(Problem(path=f"{path}.Effect", message=f"must be Allow or Deny, got `{effect}`"))
    _pair(path, st, "Action", "NotAction", problems, required="error")
    for name in ("Action", "NotAction"):
        if name in st:
            for action in _strings(f"{path}.{name}", st[name], problems):
                if not _ACTION.fullmatch(action):
                    problems.append(
                        Problem(
                            path=f"{path}.{name}", message=f"must be `*` or `service:action`, got `{action}`"
                        )
                    )
    resource_kind = kind in RESOURCE_KINDS
    _pair(
        path,
        st,
        "Resource",
        "NotResource",
        problems,
        required=None if kind in ("trust",) else ("warning" if kind is None else "error"),
    )
    for name in ("Resource", "NotResource"):
        if name in st:
            for value in _strings(f"{path}.{name}", st[name], problems):
                if not variables and _VARIABLE.search(value):
                    problems.append(
                        Problem(
                            path=f"{path}.{name}",
                            severity="warning",
                            message=f"`{value}`: policy variables need Version 2012-10-17, matched literally",
                        )
                    )
    _pair(path, st, "Principal", "NotPrincipal", problems, required="error" if resource_kind else None)
    for name in ("Principal", "NotPrincipal"):
        if name in st:
            if kind is not None and not resource_kind:
                problems.append(
                    Problem(
                        path=f"{path}.{name}", message=f"`{name}` is not allowed in an identity-based policy"
                    )
                )
            _check_principal(f"{path}.{name}", st[name], problems)
    if "Condition" in st:
        _check_condition(f"{path}.Condition", st["Condition"], problems)


def _pair(
    path: str,
    st: dict[str, Any],
    name: str,
    negated: str,
    problems: list[Problem],
    *,
    required: Literal["error", "warning"] | None,
) -> None:
    if name in st and negated in st:
        problems.append(Problem(path=path, message=f"`{name}` and `{negated}` cannot both be present"))
    elif required is not None and name not in st and negated not in st:
        problems.append(Problem(path=path, severity=required, message=f"missing `{name}` or `{negated}`"))


def _check_principal(path: str, value: Any, problems: list[Problem]) -> None:
    if value == "*":
        return
    if not isinstance(value, dict):
        problems.append(
            Problem(
                path=path, message="must be `*` or an object keyed by AWS, Service, Federated, CanonicalUser"
            )
        )
        return
    for key, entries in value.items():
        if key not in PRINCIPAL_TYPES:
            problems.append(
                Problem(
                    path=f"{path}.{key}",
                    message=f"unknown principal type `{key}`: expected one of " + ", ".join(PRINCIPAL_TYPES),
                )
            )
            continue
        for entry in _strings(f"{path}.{key}", entries, problems):
            if key == "AWS" and entry != "*" and "*" in entry:
                problems.append(
                    Problem(
                        path=f"{path}.{key}",
                        severity="warning",
                        message=(
                            f"`{entry}`: wildcards inside a principal ARN are not supported, "
                            "matched literally"
                        ),
                    )
                )


def _check_condition(path: str, value: Any, problems: list[Problem]) -> None:
    if not isinstance(value, dict):
        problems.append(Problem(path=path, message="must be an object of operator → {key: values}"))
        return
    for operator, block in value.items():
        if parse_operator(operator) is None:
            problems.append(
                Problem(path=f"{path}.{operator}", message=f"unknown condition operator `{operator}`")
            )
        if not isinstance(block, dict) or not block:
            problems.append(
                Problem(
                    path=f"{path}.{operator}", message="must be a non-empty object of condition key → values"
                )
            )
            continue
        for key, values in block.items():
            for item in as_list(values):
                if not isinstance(item, (str, bool, int, float)) or item is None:
                    problems.append(
                        Problem(
                            path=f"{path}.{operator}.{key}",
                            message=(
                                "condition values must be strings, numbers or booleans, "
                                f"got {type(item).__name__}"
                            ),
                        )
                    )
            if isinstance(values, list) and not values:
                problems.append(Problem(path=f"{path}.{operator}.{key}", message="must not be an empty list"))
