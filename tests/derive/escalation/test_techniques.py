"""The technique table: data-file integrity, the normalisation of known techniques, and the build script."""

from __future__ import annotations

import copy
import importlib.util
import json
import re
import sys
from importlib import resources
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import graphiam.derive.escalation as escalation
from graphiam.catalog import Catalog
from graphiam.derive.escalation import (
    CATEGORIES,
    Category,
    Precondition,
    Source,
    Target,
    TargetKind,
    Technique,
    YieldKind,
    by_category,
    load_techniques,
    technique,
)
from graphiam.derive.escalation.techniques import parse_table
from graphiam.errors import NotFoundError

REPO = Path(__file__).resolve().parents[3]
PATHFINDING = REPO.parent / "shared" / "data" / "pathfinding"
DATA = resources.files("graphiam").joinpath("data/techniques")
ACTION = re.compile(r"^[a-z0-9-]+:[A-Z][A-Za-z0-9]+$")

ROLE_ARN = "arn:${Partition}:iam::${Account}:role/${RoleNameWithPath}"
USER_ARN = "arn:${Partition}:iam::${Account}:user/${UserNameWithPath}"
TEMPLATE_BY_TARGET = {
    Target.TARGET_USER: USER_ARN,
    Target.TARGET_ROLE: ROLE_ARN,
    Target.PASSED_ROLE: ROLE_ARN,
    Target.TARGET_GROUP: "arn:${Partition}:iam::${Account}:group/${GroupNameWithPath}",
    Target.TARGET_POLICY: "arn:${Partition}:iam::${Account}:policy/${PolicyNameWithPath}",
    Target.TARGET_INSTANCE_PROFILE: (
        "arn:${Partition}:iam::${Account}:instance-profile/${InstanceProfileNameWithPath}"
    ),
}

TECHNIQUES = load_techniques()


def _raw_table(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DATA.joinpath(name).read_text(encoding="utf-8"))
    return loaded


def _pathfinding() -> list[Technique]:
    return [t for t in TECHNIQUES if t.source is Source.PATHFINDING]


# --- the table as a whole -----------------------------------------------------------------------------
def test_at_least_40_techniques_load_with_unique_ids() -> None:
    assert len(TECHNIQUES) >= 40
    assert len({t.id for t in TECHNIQUES}) == len(TECHNIQUES)


def test_every_pathfinding_technique_is_represented_or_skipped_with_a_reason() -> None:
    table = _raw_table("techniques.json")
    represented = {t.id for t in _pathfinding()}
    skipped = table["skipped"]
    assert all(isinstance(reason, str) and reason for reason in skipped.values())
    assert not represented & skipped.keys()
    if PATHFINDING.is_dir():
        # file stems are the ids (iam/iam-001.yaml holds id iam-001)
        assert represented | skipped.keys() == {p.stem for p in PATHFINDING.glob("*/*.yaml")}
    else:
        assert len(represented) + len(skipped) == 65


def test_categories_are_the_four_and_every_one_is_used() -> None:
    assert [str(c) for c in CATEGORIES] == [
        "self-escalation",
        "principal-access",
        "new-passrole",
        "existing-passrole",
    ]
    groups = by_category()
    assert list(groups) == list(CATEGORIES)
    assert all(groups[c] for c in CATEGORIES)
    assert sum(len(v) for v in groups.values()) == len(TECHNIQUES)
    assert all(t.category is c for c, ts in groups.items() for t in ts)


@pytest.mark.parametrize("t", TECHNIQUES, ids=lambda t: t.id)
def test_actions_are_service_action_shaped_and_known_to_the_catalogue(t: Technique) -> None:
    catalog = Catalog.default()
    assert t.required, "a technique needs at least one required permission"
    for p in t.permissions:
        assert ACTION.match(p.action), p.action
        info = catalog.lookup(p.action)
        assert info is not None, f"{p.action} is not in the AWS action catalogue"
        assert info.full_name == p.action, "spell actions as AWS does"


@pytest.mark.parametrize("t", TECHNIQUES, ids=lambda t: t.id)
def test_resource_templates_match_the_catalogue_and_the_target(t: Technique) -> None:
    catalog = Catalog.default()
    for p in t.required:
        patterns = catalog.resource_arn_patterns(p.action)
        if p.resource_template == "*":
            assert patterns == [], f"{p.action} supports resource-level permissions: name the resource"
        else:
            assert p.resource_template in patterns, p.action
        if p.target in TEMPLATE_BY_TARGET:
            assert p.resource_template == TEMPLATE_BY_TARGET[p.target], p.action
        if p.target is Target.SELF:
            want = USER_ARN if Precondition.ACTOR_IS_USER in t.preconditions else ROLE_ARN
            assert (
                Precondition.ACTOR_IS_USER in t.preconditions or Precondition.ACTOR_IS_ROLE in t.preconditions
            )
            assert p.resource_template == want
    for p in t.permissions:
        if p.optional:
            assert p.target is Target.ANY


@pytest.mark.parametrize("t", TECHNIQUES, ids=lambda t: t.id)
def test_yield_category_and_preconditions_agree(t: Technique) -> None:
    y, targets, pre = t.yields, {p.target for p in t.required}, set(t.preconditions)
    assert (y.kind is YieldKind.PASS_ROLE_TO_SERVICE) == (y.service is not None)
    if y.service is not None:
        assert re.fullmatch(r"[a-z0-9.-]+\.amazonaws\.com", y.service)
    if t.category is Category.SELF_ESCALATION:
        assert y.target_kind in (TargetKind.SELF, TargetKind.GROUP)
    if t.category is Category.PRINCIPAL_ACCESS:
        assert y.target_kind in (TargetKind.USER, TargetKind.ROLE)
        assert {Target.TARGET_USER, Target.TARGET_ROLE} & targets
    if t.category in (Category.NEW_PASSROLE, Category.EXISTING_PASSROLE):
        assert y.kind is YieldKind.PASS_ROLE_TO_SERVICE and y.target_kind is TargetKind.ROLE
    if t.category is Category.EXISTING_PASSROLE:
        assert Precondition.SERVICE_RESOURCE_RUNS_AS_ROLE in pre and "iam:PassRole" not in t.actions
    if "iam:PassRole" in t.actions:
        assert Target.PASSED_ROLE in targets and Precondition.ROLE_TRUSTS_SERVICE in pre
    if "sts:AssumeRole" in t.actions:
        assert Precondition.TARGET_ROLE_TRUSTS_ACTOR in pre
    if y.target_kind is TargetKind.GROUP:
        assert Target.TARGET_GROUP in targets
    if any(p.value.startswith("target_policy_") for p in pre):
        assert Target.TARGET_POLICY in targets
    if t.parent is not None:
        assert technique(t.parent).category in (t.category, Category.SELF_ESCALATION)


# --- specific techniques ------------------------------------------------------------------------------
KNOWN = [
    # id, required (action, target), yield kind, yield target_kind, a precondition it must carry
    (
        "iam-001",
        {("iam:CreatePolicyVersion", Target.TARGET_POLICY)},
        YieldKind.MODIFY_POLICY_VERSION,
        TargetKind.SELF,
        Precondition.TARGET_POLICY_ATTACHED_TO_ACTOR,
    ),
    (
        "iam-016",
        {("iam:CreatePolicyVersion", Target.TARGET_POLICY), ("sts:AssumeRole", Target.TARGET_ROLE)},
        YieldKind.MODIFY_POLICY_VERSION,
        TargetKind.ROLE,
        Precondition.TARGET_POLICY_ATTACHED_TO_TARGET_ROLE,
    ),
    (
        "ec2-001",
        {("iam:PassRole", Target.PASSED_ROLE), ("ec2:RunInstances", Target.ANY)},
        YieldKind.PASS_ROLE_TO_SERVICE,
        TargetKind.ROLE,
        Precondition.ROLE_HAS_INSTANCE_PROFILE,
    ),
    (
        "sts-001",
        {("sts:AssumeRole", Target.TARGET_ROLE)},
        YieldKind.BECOME_PRINCIPAL,
        TargetKind.ROLE,
        Precondition.TARGET_ROLE_TRUSTS_ACTOR,
    ),
    (
        "iam-002",
        {("iam:CreateAccessKey", Target.TARGET_USER)},
        YieldKind.BECOME_PRINCIPAL,
        TargetKind.USER,
        Precondition.TARGET_USER_HAS_FEWER_THAN_TWO_ACCESS_KEYS,
    ),
    (
        "iam-003",
        {("iam:CreateAccessKey", Target.TARGET_USER), ("iam:DeleteAccessKey", Target.TARGET_USER)},
        YieldKind.BECOME_PRINCIPAL,
        TargetKind.USER,
        None,
    ),
    (
        "iam-008",
        {("iam:AttachUserPolicy", Target.SELF)},
        YieldKind.GAIN_POLICY,
        TargetKind.SELF,
        Precondition.ACTOR_IS_USER,
    ),
    (
        "iam-005",
        {("iam:PutRolePolicy", Target.SELF)},
        YieldKind.GAIN_POLICY,
        TargetKind.SELF,
        Precondition.ACTOR_IS_ROLE,
    ),
    (
        "iam-010",
        {("iam:AttachGroupPolicy", Target.TARGET_GROUP)},
        YieldKind.GAIN_POLICY,
        TargetKind.GROUP,
        Precondition.ACTOR_IN_TARGET_GROUP,
    ),
    (
        "iam-012",
        {("iam:UpdateAssumeRolePolicy", Target.TARGET_ROLE)},
        YieldKind.BECOME_PRINCIPAL,
        TargetKind.ROLE,
        None,
    ),
    (
        "iam-015",
        {("iam:AttachUserPolicy", Target.TARGET_USER), ("iam:CreateAccessKey", Target.TARGET_USER)},
        YieldKind.GAIN_POLICY,
        TargetKind.USER,
        None,
    ),
    (
        "lambda-003",
        {("lambda:UpdateFunctionCode", Target.SERVICE_RESOURCE)},
        YieldKind.PASS_ROLE_TO_SERVICE,
        TargetKind.ROLE,
        Precondition.SERVICE_RESOURCE_RUNS_AS_ROLE,
    ),
    (
        "graphiam-001",
        {("iam:SetDefaultPolicyVersion", Target.TARGET_POLICY)},
        YieldKind.MODIFY_POLICY_VERSION,
        TargetKind.SELF,
        Precondition.TARGET_POLICY_HAS_NON_DEFAULT_VERSION,
    ),
    (
        "graphiam-003",
        {("iam:DeleteUserPermissionsBoundary", Target.SELF)},
        YieldKind.MODIFY_BOUNDARY,
        TargetKind.SELF,
        Precondition.ACTOR_HAS_BOUNDARY,
    ),
    (
        "graphiam-004",
        {("iam:DeleteRolePermissionsBoundary", Target.SELF)},
        YieldKind.MODIFY_BOUNDARY,
        TargetKind.SELF,
        Precondition.ACTOR_IS_ROLE,
    ),
    (
        "graphiam-005",
        {("iam:PutUserPermissionsBoundary", Target.SELF)},
        YieldKind.MODIFY_BOUNDARY,
        TargetKind.SELF,
        Precondition.ACTOR_IS_USER,
    ),
    (
        "graphiam-006",
        {("iam:PutRolePermissionsBoundary", Target.SELF)},
        YieldKind.MODIFY_BOUNDARY,
        TargetKind.SELF,
        Precondition.ACTOR_HAS_BOUNDARY,
    ),
]


@pytest.mark.parametrize(
    ("tid", "required", "kind", "target_kind", "precondition"), KNOWN, ids=[k[0] for k in KNOWN]
)
def test_known_technique(
    tid: str,
    required: set[tuple[str, Target]],
    kind: YieldKind,
    target_kind: TargetKind,
    precondition: Precondition | None,
) -> None:
    t = technique(tid)
    assert {(p.action, p.target) for p in t.required} == required
    assert (t.yields.kind, t.yields.target_kind) == (kind, target_kind)
    if precondition is not None:
        assert precondition in t.preconditions


def test_passrole_techniques_name_the_service_the_role_must_trust() -> None:
    assert technique("ec2-001").yields.service == "ec2.amazonaws.com"
    assert technique("lambda-001").yields.service == "lambda.amazonaws.com"
    assert technique("ecs-004").yields.service == "ecs-tasks.amazonaws.com"
    assert technique("apprunner-001").yields.service == "tasks.apprunner.amazonaws.com"


def test_arbitrary_policy_separates_writing_a_document_from_inheriting_one() -> None:
    assert technique("iam-007").yields.arbitrary_policy  # PutUserPolicy: the actor writes the document
    assert technique("iam-001").yields.arbitrary_policy  # CreatePolicyVersion: likewise
    assert not technique("iam-013").yields.arbitrary_policy  # AddUserToGroup: the group's policies only
    assert not technique(
        "graphiam-001"
    ).yields.arbitrary_policy  # SetDefaultPolicyVersion: stored versions only
    assert not technique("sts-001").yields.arbitrary_policy


def test_additional_permissions_are_kept_as_optional() -> None:
    t = technique("sts-001")
    assert {p.action for p in t.permissions if p.optional} == {"iam:ListRoles", "iam:GetRole"}
    assert "iam:ListRoles" not in t.actions
    # moved by the curation, see NOTICE.md
    assert "sagemaker:CreatePresignedNotebookInstanceUrl" in technique("sagemaker-001").actions
    assert "ec2:DescribeInstances" not in technique("ec2instanceconnect-003").actions


def test_graphiam_techniques_are_marked_and_kept_apart() -> None:
    ours = {t.id for t in TECHNIQUES if t.source is Source.GRAPHIAM}
    in_file = {raw["id"] for raw in _raw_table("graphiam-techniques.json")["techniques"]}
    assert ours == in_file
    assert all(tid.startswith("graphiam-") for tid in ours)
    assert {t.id for t in _pathfinding()}.isdisjoint(in_file)
    # the ones no anchor models
    actions = set().union(*(technique(tid).actions for tid in ours))
    assert {
        "iam:SetDefaultPolicyVersion",
        "iam:DeleteUserPermissionsBoundary",
        "iam:DeleteRolePermissionsBoundary",
        "iam:PutUserPermissionsBoundary",
        "iam:PutRolePermissionsBoundary",
    } <= actions


# --- API --------------------------------------------------------------------------------------------------
def test_lookup_and_caching() -> None:
    assert technique("iam-001").name == "iam:CreatePolicyVersion"
    assert load_techniques() is TECHNIQUES
    with pytest.raises(NotFoundError, match="`iam-999`"):
        technique("iam-999")


def test_public_names() -> None:
    assert sorted(escalation.__all__) == sorted(
        name for name in vars(escalation) if not name.startswith("_") and name != "techniques"
    )


# --- the loader rejects malformed data --------------------------------------------------------------------
def _one(**changes: Any) -> dict[str, Any]:
    raw = copy.deepcopy(_raw_table("graphiam-techniques.json")["techniques"][0])
    for key, value in changes.items():
        if key == "action":
            raw["permissions"][0]["action"] = value
        else:
            raw[key] = value
    return {"techniques": [raw]}


def test_loader_accepts_the_unchanged_record() -> None:
    assert parse_table(_one(), where="t")[0].id == "graphiam-001"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"category": "lateral"}, "`lateral` is not a Category"),
        ({"action": "iam:*"}, "not a `service:Action` name"),
        ({"action": "SetDefaultPolicyVersion"}, "not a `service:Action` name"),
        ({"preconditions": ["policy_is_nice"]}, "not a Precondition"),
        ({"surprise": 1}, r"unknown keys \['surprise'\]"),
        ({"permissions": []}, "no required permission"),
    ],
)
def test_loader_rejects(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_table(_one(**changes), where="t")


# --- the build script ---------------------------------------------------------------------------------
def _build_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "build_techniques", REPO / "scripts" / "build_techniques.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return module


def test_data_files_are_what_the_build_script_makes() -> None:
    pytest.importorskip("yaml", reason="pyyaml is a build-time tool: not installed here")
    if not PATHFINDING.is_dir():
        pytest.skip(f"pathfinding.cloud YAML not found at {PATHFINDING}")
    outputs = _build_script().build(PATHFINDING)
    assert set(outputs) == {"techniques.json", "LICENSE", "NOTICE.md"}
    for name, text in outputs.items():
        assert DATA.joinpath(name).read_text(encoding="utf-8") == text, (
            f"{name} is stale: run scripts/build_techniques.py"
        )


def test_licence_and_credit_ship_beside_the_data() -> None:
    licence = DATA.joinpath("LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in licence and "Copyright 2025 Datadog, Inc." in licence
    notice = DATA.joinpath("NOTICE.md").read_text(encoding="utf-8")
    assert "pathfinding.cloud" in notice and "Datadog" in notice and "What graphiam changed" in notice
