"""Builds the demo organisation in seeds/ (demo-org.json, partner-account.json).

The JSON files are checked in; this script is how they were made, so a change to the demo org is a change
here followed by `python seeds/build_seeds.py`. tests/test_seeds.py rebuilds them and fails on drift.

AWS-managed policies are copied verbatim from the real GAAD exports that Cloudsplaining publishes
(BSD-3-Clause, see seeds/LICENSE-cloudsplaining); a copy is kept in tests/data/gaad/.
The two that those exports lack (IAMUserChangePassword, AmazonEC2ReadOnlyAccess) are written out below
from the documents AWS publishes for those versions.

Usage: python seeds/build_seeds.py [--shared-gaad PATH] [--check]
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

SEEDS = Path(__file__).resolve().parent
DEFAULT_SHARED_GAAD = SEEDS.parent / "tests" / "data" / "gaad" / "cloudsplaining-example.json"

MAIN = "111111111111"
PARTNER = "222222222222"
EXTERNAL_ID = "ExampleCorp-Audit-5f1c"
OFFICE_CIDRS = ["203.0.113.0/24", "2001:db8:1234::/48"]
CI_RUNNER_CIDR = "198.51.100.0/24"

Doc = dict[str, Any]

# AWS-managed policies copied from the Cloudsplaining export (name → nothing: the export has the document).
FROM_CLOUDSPLAINING = (
    "AdministratorAccess",
    "ReadOnlyAccess",
    "PowerUserAccess",
    "AmazonS3ReadOnlyAccess",
    "SecurityAudit",
)

# Written out from AWS's published documents (versions named below); not in the Cloudsplaining exports.
AWS_PUBLISHED: dict[str, dict[str, Any]] = {
    "IAMUserChangePassword": {
        "PolicyId": "ANPAJ4L4MM2A7QIEB56MS",
        "CreateDate": "2016-11-15T00:25:16+00:00",
        "UpdateDate": "2016-11-15T23:18:55+00:00",
        "VersionId": "v2",
        "Document": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": ["iam:ChangePassword"],
                    "Resource": ["arn:aws:iam::*:user/${aws:username}"],
                },
                {"Effect": "Allow", "Action": ["iam:GetAccountPasswordPolicy"], "Resource": "*"},
            ],
        },
    },
    "AmazonEC2ReadOnlyAccess": {
        "PolicyId": "ANPAIGDT4SV4GSETWTBZK",
        "CreateDate": "2015-02-06T18:40:17+00:00",
        "UpdateDate": "2015-02-06T18:40:17+00:00",
        "VersionId": "v1",
        "Document": {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*"},
                {"Effect": "Allow", "Action": "elasticloadbalancing:Describe*", "Resource": "*"},
                {
                    "Effect": "Allow",
                    "Action": ["cloudwatch:ListMetrics", "cloudwatch:GetMetricStatistics", "cloudwatch:Describe*"],
                    "Resource": "*",
                },
                {"Effect": "Allow", "Action": "autoscaling:Describe*", "Resource": "*"},
            ],
        },
    },
}


def fake_id(prefix: str, *parts: str) -> str:
    """A stable 21-character IAM unique id (AIDA…, AROA…) derived from the entity's name."""
    digest = hashlib.sha256("/".join(parts).encode()).digest()
    return prefix + base64.b32encode(digest).decode()[:17]


def encoded(doc: Doc) -> str:
    """A document as the raw IAM API returns it: the submitted JSON text, URL-encoded."""
    return quote(json.dumps(doc, indent=4), safe="")


def stmt(effect: str, action: str | list[str] | None, resource: str | list[str] | None, **extra: Any) -> Doc:
    out: Doc = {}
    if "Sid" in extra:
        out["Sid"] = extra.pop("Sid")
    out["Effect"] = effect
    if action is not None:
        out["Action"] = action
    if "NotAction" in extra:
        out["NotAction"] = extra.pop("NotAction")
    if resource is not None:
        out["Resource"] = resource
    if "NotResource" in extra:
        out["NotResource"] = extra.pop("NotResource")
    out.update(extra)
    return out


def policy_doc(*statements: Doc) -> Doc:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def trust(*statements: Doc) -> Doc:
    return policy_doc(*statements)


def assume(principal: dict[str, Any], condition: dict[str, Any] | None = None, sid: str | None = None) -> Doc:
    out: Doc = {}
    if sid:
        out["Sid"] = sid
    out["Effect"] = "Allow"
    out["Principal"] = principal
    out["Action"] = "sts:AssumeRole"
    if condition:
        out["Condition"] = condition
    return out


def tags(**kv: str) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in kv.items()]


class Account:
    """Collects one account's GAAD sections and fills in the derived fields (ids, ARNs, counts)."""

    def __init__(self, account_id: str) -> None:
        self.id = account_id
        self.users: list[Doc] = []
        self.groups: list[Doc] = []
        self.roles: list[Doc] = []
        self.policies: list[Doc] = []

    def arn(self, kind: str, name: str, path: str = "/") -> str:
        return f"arn:aws:iam::{self.id}:{kind}{path}{name}"

    def managed(self, name: str, path: str = "/") -> dict[str, str]:
        return {"PolicyName": name, "PolicyArn": self.arn("policy", name, path)}

    @staticmethod
    def aws_managed(name: str, path: str = "/") -> dict[str, str]:
        return {"PolicyName": name, "PolicyArn": f"arn:aws:iam::aws:policy{path}{name}"}

    def boundary(self, name: str, path: str = "/") -> dict[str, str]:
        return {
            "PermissionsBoundaryType": "PermissionsBoundaryPolicy",
            "PermissionsBoundaryArn": self.arn("policy", name, path),
        }

    def add_user(self, name: str, path: str, created: str, *, groups: Sequence[str] = (), attached: Sequence[dict[str, str]] = (),
                 inline: dict[str, Doc | str] | None = None, boundary: dict[str, str] | None = None,
                 user_tags: Sequence[dict[str, str]] = ()) -> str:
        user: Doc = {
            "Path": path,
            "UserName": name,
            "UserId": fake_id("AIDA", self.id, "user", name),
            "Arn": self.arn("user", name, path),
            "CreateDate": created,
        }
        if inline:
            user["UserPolicyList"] = [{"PolicyName": k, "PolicyDocument": v} for k, v in inline.items()]
        user["GroupList"] = list(groups)
        user["AttachedManagedPolicies"] = list(attached)
        if boundary:
            user["PermissionsBoundary"] = boundary
        user["Tags"] = list(user_tags)
        self.users.append(user)
        return str(user["Arn"])

    def add_group(self, name: str, path: str, created: str, *, attached: Sequence[dict[str, str]] = (),
                  inline: dict[str, Doc | str] | None = None) -> str:
        group: Doc = {
            "Path": path,
            "GroupName": name,
            "GroupId": fake_id("AGPA", self.id, "group", name),
            "Arn": self.arn("group", name, path),
            "CreateDate": created,
            "GroupPolicyList": [{"PolicyName": k, "PolicyDocument": v} for k, v in (inline or {}).items()],
            "AttachedManagedPolicies": list(attached),
        }
        self.groups.append(group)
        return str(group["Arn"])

    def add_role(self, name: str, path: str, created: str, trust_doc: Doc | str, *, description: str = "",
                 attached: Sequence[dict[str, str]] = (), inline: dict[str, Doc | str] | None = None,
                 boundary: dict[str, str] | None = None, role_tags: Sequence[dict[str, str]] = (),
                 instance_profile: str | None = None, last_used: dict[str, str] | None = None,
                 max_session: int = 3600) -> str:
        arn = self.arn("role", name, path)
        role_id = fake_id("AROA", self.id, "role", name)
        role: Doc = {
            "Path": path,
            "RoleName": name,
            "RoleId": role_id,
            "Arn": arn,
            "CreateDate": created,
            "AssumeRolePolicyDocument": trust_doc,
        }
        if description:
            role["Description"] = description
        role["MaxSessionDuration"] = max_session
        profiles: list[Doc] = []
        if instance_profile:
            profiles.append({
                "Path": path,
                "InstanceProfileName": instance_profile,
                "InstanceProfileId": fake_id("AIPA", self.id, "instance-profile", instance_profile),
                "Arn": self.arn("instance-profile", instance_profile, path),
                "CreateDate": created,
                "Roles": [{
                    "Path": path, "RoleName": name, "RoleId": role_id, "Arn": arn, "CreateDate": created,
                    "AssumeRolePolicyDocument": trust_doc,
                }],
            })
        role["InstanceProfileList"] = profiles
        role["RolePolicyList"] = [{"PolicyName": k, "PolicyDocument": v} for k, v in (inline or {}).items()]
        role["AttachedManagedPolicies"] = list(attached)
        if boundary:
            role["PermissionsBoundary"] = boundary
        role["Tags"] = list(role_tags)
        role["RoleLastUsed"] = last_used or {}
        self.roles.append(role)
        return arn

    def add_policy(self, name: str, path: str, created: str, versions: list[tuple[str, Doc | str]], default: str,
                   description: str = "") -> str:
        """A customer-managed policy; `versions` is [(created, document)], v1 first."""
        arn = self.arn("policy", name, path)
        version_list = [
            {
                "Document": doc,
                "VersionId": f"v{i}",
                "IsDefaultVersion": f"v{i}" == default,
                "CreateDate": when,
            }
            for i, (when, doc) in enumerate(versions, start=1)
        ]
        version_list.reverse()  # IAM lists the newest version first
        policy: Doc = {
            "PolicyName": name,
            "PolicyId": fake_id("ANPA", self.id, "policy", name),
            "Arn": arn,
            "Path": path,
            "DefaultVersionId": default,
            "AttachmentCount": 0,
            "PermissionsBoundaryUsageCount": 0,
            "IsAttachable": True,
            "CreateDate": created,
            "UpdateDate": max(when for when, _ in versions),
            "PolicyVersionList": version_list,
        }
        if description:
            policy["Description"] = description
        self.policies.append(policy)
        return arn

    def add_aws_policy(self, entry: Doc) -> None:
        self.policies.append(entry)

    def finish(self) -> Doc:
        """Fills AttachmentCount / PermissionsBoundaryUsageCount from the principals, as IAM reports them."""
        attachments: dict[str, int] = {}
        boundaries: dict[str, int] = {}
        for principal in (*self.users, *self.groups, *self.roles):
            for ref in principal["AttachedManagedPolicies"]:
                attachments[ref["PolicyArn"]] = attachments.get(ref["PolicyArn"], 0) + 1
            if "PermissionsBoundary" in principal:
                arn = principal["PermissionsBoundary"]["PermissionsBoundaryArn"]
                boundaries[arn] = boundaries.get(arn, 0) + 1
        for policy in self.policies:
            policy["AttachmentCount"] = attachments.get(policy["Arn"], 0)
            policy["PermissionsBoundaryUsageCount"] = boundaries.get(policy["Arn"], 0)
        return {
            "UserDetailList": self.users,
            "GroupDetailList": self.groups,
            "RoleDetailList": self.roles,
            "Policies": self.policies,
        }


def load_cloudsplaining(path: Path) -> dict[str, Doc]:
    data = json.loads(path.read_text())
    return {p["PolicyName"]: p for p in data["Policies"] if p["Arn"].startswith("arn:aws:iam::aws:policy/")}


def aws_published_entry(name: str) -> Doc:
    spec = AWS_PUBLISHED[name]
    return {
        "PolicyName": name,
        "PolicyId": spec["PolicyId"],
        "Arn": f"arn:aws:iam::aws:policy/{name}",
        "Path": "/",
        "DefaultVersionId": spec["VersionId"],
        "AttachmentCount": 0,
        "PermissionsBoundaryUsageCount": 0,
        "IsAttachable": True,
        "CreateDate": spec["CreateDate"],
        "UpdateDate": spec["UpdateDate"],
        "PolicyVersionList": [{
            "Document": spec["Document"],
            "VersionId": spec["VersionId"],
            "IsDefaultVersion": True,
            "CreateDate": spec["UpdateDate"],
        }],
    }


MFA_TRUE = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}


def build_main(aws_policies: dict[str, Doc]) -> Doc:
    acct = Account(MAIN)
    a = acct.arn
    root = f"arn:aws:iam::{MAIN}:root"

    # ---- customer-managed policies -------------------------------------------------------------
    acct.add_policy("DeveloperAccess", "/engineering/", "2021-02-01T10:00:00+00:00", [
        ("2021-02-01T10:00:00+00:00", policy_doc(
            stmt("Allow", ["lambda:*", "logs:*", "cloudwatch:GetMetricData", "codecommit:*",
                           "dynamodb:*"], "*", Sid="ServerlessDevelopment"),
            stmt("Allow", "s3:*", ["arn:aws:s3:::examplecorp-dev-*", "arn:aws:s3:::examplecorp-dev-*/*",
                                   "arn:aws:s3:::examplecorp-prod-*", "arn:aws:s3:::examplecorp-prod-*/*"],
                 Sid="AppBuckets"),
        )),
    ], "v1", "Day-to-day developer permissions")
    acct.add_policy("TeamSecretsABAC", "/engineering/", "2022-06-13T08:00:00+00:00", [
        ("2022-06-13T08:00:00+00:00", policy_doc(
            stmt("Allow", ["s3:GetObject", "s3:PutObject"],
                 "arn:aws:s3:::examplecorp-team-data/${aws:PrincipalTag/team}/*", Sid="OwnTeamPrefix"),
            stmt("Allow", "secretsmanager:GetSecretValue", "*", Sid="OwnTeamSecrets",
                 Condition={"StringEquals": {"secretsmanager:ResourceTag/team": "${aws:PrincipalTag/team}"}}),
        )),
    ], "v1", "ABAC: a principal reaches the data and secrets tagged with its own team")
    acct.add_policy("NetworkAdminPolicy", "/ops/", "2020-09-01T12:00:00+00:00", [
        ("2020-09-01T12:00:00+00:00", encoded(policy_doc(
            stmt("Allow", ["ec2:*Vpc*", "ec2:*Subnet*", "ec2:*RouteTable*", "ec2:*SecurityGroup*",
                           "ec2:*NetworkAcl*", "ec2:*Gateway*"], "*", Sid="ManageNetworkFromOffice",
                 Condition={"IpAddress": {"aws:SourceIp": OFFICE_CIDRS}}),
        ))),
    ], "v1", "VPC administration, only from the office networks")
    acct.add_policy("DatabaseAdminPolicy", "/ops/", "2020-03-02T09:30:00+00:00", [
        ("2020-03-02T09:30:00+00:00", policy_doc(
            stmt("Allow", ["rds:Describe*", "rds:List*"], "*"),
        )),
        ("2022-11-20T16:45:00+00:00", policy_doc(
            stmt("Allow", ["rds:*", "dynamodb:*", "backup:*"], "*", Sid="RunDatabases"),
            stmt("Allow", "cloudwatch:GetMetricData", "*", Sid="Metrics"),
        )),
    ], "v2", "Database administration")
    acct.add_policy("DatabaseOpsPolicy", "/ops/", "2023-01-10T11:00:00+00:00", [
        ("2023-01-10T11:00:00+00:00", policy_doc(
            stmt("Allow", ["rds:RebootDBInstance", "rds:ModifyDBParameterGroup"], "*", Sid="Tuning"),
            stmt("Allow", ["iam:GetPolicy", "iam:GetPolicyVersion", "iam:ListPolicyVersions",
                           "iam:CreatePolicyVersion", "iam:DeletePolicyVersion"],
                 a("policy", "DatabaseOpsPolicy", "/ops/"), Sid="MaintainThisPolicy"),
        )),
    ], "v1", "Lets the DBA on call edit this very policy: iam:CreatePolicyVersion on a policy attached to herself")
    release_v1 = policy_doc(stmt("Allow", "*", "*", Sid="LegacyEverything"))
    acct.add_policy("ReleaseManagerPolicy", "/engineering/", "2019-05-06T14:00:00+00:00", [
        ("2019-05-06T14:00:00+00:00", encoded(release_v1)),
        ("2021-08-19T09:15:00+00:00", policy_doc(
            stmt("Allow", ["codedeploy:*", "codepipeline:*", "cloudformation:*"], "*", Sid="Releases"),
            stmt("Allow", "iam:*", "*", Sid="TemporaryIamForMigration"),
        )),
        ("2023-04-03T10:20:00+00:00", policy_doc(
            stmt("Allow", ["codedeploy:*", "codepipeline:*", "cloudformation:Describe*",
                           "cloudformation:List*"], "*", Sid="Releases"),
            stmt("Allow", ["iam:GetPolicy", "iam:GetPolicyVersion", "iam:ListPolicyVersions",
                           "iam:SetDefaultPolicyVersion"],
                 a("policy", "ReleaseManagerPolicy", "/engineering/"), Sid="RollBackThisPolicy"),
        )),
    ], "v3", "Release tooling; v1 and v2 are kept as rollback points and grant far more than v3")
    acct.add_policy("CIDeployPolicy", "/automation/", "2021-04-12T07:00:00+00:00", [
        ("2021-04-12T07:00:00+00:00", policy_doc(
            stmt("Allow", "sts:AssumeRole", a("role", "CIDeployRole", "/automation/"), Sid="BecomeDeployRole"),
            stmt("Allow", ["s3:PutObject", "s3:GetObject"], "arn:aws:s3:::examplecorp-build-artifacts/*",
                 Sid="UploadArtifacts"),
        )),
    ], "v1")
    acct.add_policy("DeploymentManagerPolicy", "/delivery/", "2022-02-14T13:00:00+00:00", [
        ("2022-02-14T13:00:00+00:00", policy_doc(
            stmt("Allow", "sts:AssumeRole", a("role", "ProductionAdminRole"), Sid="EscalateToProduction"),
            stmt("Allow", ["cloudformation:*", "codedeploy:*", "s3:*"], "*", Sid="Deployments"),
            stmt("Allow", "iam:*", "*", Sid="TooBroadButBounded"),
        )),
    ], "v1", "Grants iam:* on paper; the DeliveryBoundary permission boundary takes it away")
    acct.add_policy("DeliveryBoundary", "/boundaries/", "2022-02-14T13:00:00+00:00", [
        ("2022-02-14T13:00:00+00:00", policy_doc(
            stmt("Allow", ["sts:AssumeRole", "cloudformation:*", "codedeploy:*", "s3:*", "lambda:*",
                           "logs:*"], "*", Sid="DeliveryServicesOnly"),
        )),
    ], "v1", "Permission boundary of DeploymentManagerRole: the most it may ever do")
    acct.add_policy("ContractorBoundary", "/boundaries/", "2023-07-01T08:00:00+00:00", [
        ("2023-07-01T08:00:00+00:00", policy_doc(
            stmt("Allow", ["s3:Get*", "s3:List*", "ec2:Describe*", "cloudwatch:Get*", "cloudwatch:List*",
                           "cloudwatch:Describe*", "iam:ChangePassword", "iam:GetAccountPasswordPolicy"], "*",
                 Sid="ReadAndSelfService"),
            stmt("Allow", "s3:PutObject", "arn:aws:s3:::examplecorp-contractor-uploads/*", Sid="Uploads"),
        )),
    ], "v1", "Permission boundary of contractor users")

    # ---- AWS-managed policies (the ones attached somewhere) ------------------------------------
    for name in FROM_CLOUDSPLAINING:
        acct.add_aws_policy(json.loads(json.dumps(aws_policies[name])))
    for name in AWS_PUBLISHED:
        acct.add_aws_policy(aws_published_entry(name))

    # ---- groups --------------------------------------------------------------------------------
    deny_without_mfa = policy_doc(
        stmt("Deny", None, "*", Sid="DenyAllExceptMfaSetupWithoutMFA",
             NotAction=["iam:CreateVirtualMFADevice", "iam:EnableMFADevice", "iam:GetUser", "iam:ListMFADevices",
                        "iam:ListVirtualMFADevices", "iam:ResyncMFADevice", "iam:ChangePassword",
                        "sts:GetSessionToken"],
             Condition={"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}),
    )
    acct.add_group("Admins", "/", "2019-01-15T09:00:00+00:00",
                   attached=[acct.aws_managed("AdministratorAccess")],
                   inline={"DenyWithoutMFA": encoded(deny_without_mfa)})
    acct.add_group("Developers", "/engineering/", "2019-01-15T09:05:00+00:00",
                   attached=[acct.managed("DeveloperAccess", "/engineering/"),
                             acct.managed("TeamSecretsABAC", "/engineering/"),
                             acct.aws_managed("IAMUserChangePassword")],
                   inline={"DenyProdDataDeletion": policy_doc(
                       stmt("Deny", ["s3:DeleteObject", "s3:DeleteObjectVersion", "s3:DeleteBucket",
                                     "dynamodb:DeleteTable"],
                            ["arn:aws:s3:::examplecorp-prod-*", "arn:aws:s3:::examplecorp-prod-*/*",
                             f"arn:aws:dynamodb:*:{MAIN}:table/prod-*"], Sid="DenyWinsOverDeveloperAccess"),
                   )})
    acct.add_group("NetworkEngineers", "/ops/", "2019-03-04T10:00:00+00:00",
                   attached=[acct.aws_managed("AmazonEC2ReadOnlyAccess"),
                             acct.managed("NetworkAdminPolicy", "/ops/")])
    acct.add_group("DatabaseAdministrators", "/ops/", "2019-03-04T10:05:00+00:00",
                   attached=[acct.managed("DatabaseAdminPolicy", "/ops/")],
                   inline={"RequireMFAForDeletes": policy_doc(
                       stmt("Deny", ["rds:DeleteDBInstance", "rds:DeleteDBCluster", "dynamodb:DeleteTable"], "*",
                            Sid="NoDeletesWithoutMFA",
                            Condition={"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}),
                   )})

    # ---- users ---------------------------------------------------------------------------------
    acct.add_user("alice", "/engineering/", "2019-02-01T09:00:00+00:00",
                  groups=["Developers", "NetworkEngineers", "DatabaseAdministrators"],
                  attached=[acct.aws_managed("IAMUserChangePassword")],
                  inline={"AssumePlatformEngineer": policy_doc(
                      stmt("Allow", "sts:AssumeRole", a("role", "PlatformEngineerRole"), Sid="StartTheChain"))},
                  user_tags=tags(team="platform", env="prod"))
    acct.add_user("bob", "/engineering/", "2020-06-15T09:00:00+00:00",
                  groups=["Developers"],
                  inline={"LaunchAppInstances": policy_doc(
                      stmt("Allow", ["ec2:RunInstances", "ec2:AssociateIamInstanceProfile", "ec2:DescribeInstances"],
                           "*", Sid="LaunchInstances"),
                      stmt("Allow", "iam:PassRole", a("role", "*"), Sid="PassAnyRoleToEC2",
                           Condition={"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}),
                  )},
                  user_tags=tags(team="payments", env="dev"))
    acct.add_user("carol", "/ops/dba/", "2020-01-20T09:00:00+00:00",
                  groups=["DatabaseAdministrators"],
                  attached=[acct.managed("DatabaseOpsPolicy", "/ops/")],
                  user_tags=tags(team="data", env="prod"))
    acct.add_user("dave", "/engineering/", "2019-09-09T09:00:00+00:00",
                  groups=["Developers"],
                  attached=[acct.managed("ReleaseManagerPolicy", "/engineering/")],
                  user_tags=tags(team="payments", env="prod"))
    acct.add_user("erin", "/security/", "2019-01-15T09:10:00+00:00",
                  groups=["Admins"], user_tags=tags(team="security", env="prod"))
    acct.add_user("frank", "/ops/network/", "2019-03-04T10:10:00+00:00",
                  groups=["NetworkEngineers"], user_tags=tags(team="network", env="prod"))
    acct.add_user("grace", "/contractors/", "2024-01-08T09:00:00+00:00",
                  attached=[acct.aws_managed("ReadOnlyAccess")],
                  inline={"ContractWindowUploads": encoded(policy_doc(
                      stmt("Allow", "s3:PutObject",
                           "arn:aws:s3:::examplecorp-contractor-uploads/${aws:username}/*", Sid="DuringContract",
                           Condition={"DateGreaterThan": {"aws:CurrentTime": "2024-01-08T00:00:00Z"},
                                      "DateLessThan": {"aws:CurrentTime": "2026-12-31T23:59:59Z"}}),
                  ))},
                  boundary=acct.boundary("ContractorBoundary", "/boundaries/"),
                  user_tags=tags(team="analytics", env="dev"))
    acct.add_user("ci-bot", "/automation/", "2021-04-12T07:00:00+00:00",
                  attached=[acct.managed("CIDeployPolicy", "/automation/")],
                  user_tags=tags(team="platform", env="prod"))
    acct.add_user("legacy-reporting", "/automation/", "2018-07-30T15:00:00+00:00",
                  attached=[acct.aws_managed("AmazonS3ReadOnlyAccess")],
                  user_tags=tags(team="finance", env="prod"))

    # ---- roles ---------------------------------------------------------------------------------
    acct.add_role("PlatformEngineerRole", "/", "2022-02-14T12:00:00+00:00",
                  encoded(trust(assume({"AWS": a("user", "alice", "/engineering/")}, MFA_TRUE, "AliceWithMFA"))),
                  description="First hop of the chain; alice needs MFA to enter",
                  attached=[acct.aws_managed("ReadOnlyAccess")],
                  inline={"AssumeDeploymentManager": policy_doc(
                      stmt("Allow", "sts:AssumeRole", a("role", "DeploymentManagerRole", "/delivery/")))},
                  role_tags=tags(team="platform", env="prod"),
                  last_used={"LastUsedDate": "2024-05-02T08:14:55+00:00", "Region": "eu-west-1"})
    acct.add_role("DeploymentManagerRole", "/delivery/", "2022-02-14T12:05:00+00:00",
                  trust(assume({"AWS": a("role", "PlatformEngineerRole")})),
                  description="Second hop; capped by the DeliveryBoundary permission boundary",
                  attached=[acct.managed("DeploymentManagerPolicy", "/delivery/")],
                  boundary=acct.boundary("DeliveryBoundary", "/boundaries/"),
                  role_tags=tags(team="platform", env="prod"),
                  last_used={"LastUsedDate": "2024-05-02T08:20:11+00:00", "Region": "eu-west-1"})
    acct.add_role("ProductionAdminRole", "/", "2022-02-14T12:10:00+00:00",
                  trust(assume({"AWS": a("role", "DeploymentManagerRole", "/delivery/")})),
                  description="Third hop: full administrator",
                  attached=[acct.aws_managed("AdministratorAccess")],
                  role_tags=tags(team="platform", env="prod"), max_session=7200)
    acct.add_role("BreakGlassRole", "/", "2019-01-15T09:20:00+00:00",
                  trust(assume({"AWS": root}, MFA_TRUE, "AnyoneTheAccountAllowsWithMFA")),
                  description="Emergency administrator; the trust names the account root, so identity policies decide",
                  attached=[acct.aws_managed("AdministratorAccess")],
                  role_tags=tags(team="security", env="prod"))
    acct.add_role("CIDeployRole", "/automation/", "2021-04-12T07:05:00+00:00",
                  trust(assume({"AWS": a("user", "ci-bot", "/automation/")},
                               {"IpAddress": {"aws:SourceIp": CI_RUNNER_CIDR}}, "CIRunnersOnly")),
                  description="What the CI pipeline deploys with",
                  attached=[acct.aws_managed("PowerUserAccess")],
                  inline={"AssumePartnerArtifacts": policy_doc(
                      stmt("Allow", "sts:AssumeRole", f"arn:aws:iam::{PARTNER}:role/SharedArtifactsRole"))},
                  role_tags=tags(team="platform", env="prod"),
                  last_used={"LastUsedDate": "2024-05-03T02:00:07+00:00", "Region": "us-east-1"})
    acct.add_role("OpsAutomationRole", "/service-role/", "2020-10-05T10:00:00+00:00",
                  trust(assume({"Service": "ec2.amazonaws.com"})),
                  description="Instance role for ops automation hosts; far too powerful",
                  attached=[acct.aws_managed("AdministratorAccess")],
                  instance_profile="OpsAutomationProfile",
                  role_tags=tags(team="platform", env="prod"))
    acct.add_role("WebAppInstanceRole", "/service-role/", "2021-01-11T10:00:00+00:00",
                  trust(assume({"Service": "ec2.amazonaws.com"})),
                  attached=[acct.aws_managed("AmazonS3ReadOnlyAccess")],
                  inline={"WebAppSecrets": policy_doc(
                      stmt("Allow", "secretsmanager:GetSecretValue",
                           f"arn:aws:secretsmanager:us-east-1:{MAIN}:secret:webapp/*"))},
                  instance_profile="WebAppInstanceProfile",
                  role_tags=tags(team="payments", env="prod"),
                  last_used={"LastUsedDate": "2024-05-03T11:42:30+00:00", "Region": "us-east-1"})
    acct.add_role("DataProcessorLambdaRole", "/service-role/", "2022-09-27T10:00:00+00:00",
                  trust(assume({"Service": "lambda.amazonaws.com"})),
                  inline={"DataProcessorPermissions": encoded(policy_doc(
                      stmt("Allow", ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                           f"arn:aws:logs:*:{MAIN}:*"),
                      stmt("Allow", ["s3:GetObject", "s3:PutObject"], "arn:aws:s3:::examplecorp-data-lake/*"),
                      stmt("Deny", "s3:*", None, Sid="NothingOutsideTheLake",
                           NotResource=["arn:aws:s3:::examplecorp-data-lake",
                                        "arn:aws:s3:::examplecorp-data-lake/*"]),
                  ))},
                  role_tags=tags(team="data", env="prod"))
    acct.add_role("PartnerAuditRole", "/", "2023-03-01T10:00:00+00:00",
                  encoded(trust(assume({"AWS": f"arn:aws:iam::{PARTNER}:root"},
                                       {"StringEquals": {"sts:ExternalId": EXTERNAL_ID}}, "PartnerWithExternalId"))),
                  description="Read-only security audit by Partner Co (account 222222222222)",
                  attached=[acct.aws_managed("SecurityAudit")],
                  role_tags=tags(team="security", env="prod"))
    return acct.finish()


def build_partner() -> Doc:
    acct = Account(PARTNER)
    audit_role = f"arn:aws:iam::{MAIN}:role/PartnerAuditRole"
    acct.add_policy("ArtifactsReadWrite", "/", "2021-05-01T10:00:00+00:00", [
        ("2021-05-01T10:00:00+00:00", policy_doc(
            stmt("Allow", ["s3:GetObject", "s3:PutObject", "s3:ListBucket"],
                 ["arn:aws:s3:::partnerco-shared-artifacts", "arn:aws:s3:::partnerco-shared-artifacts/*"]),
        )),
    ], "v1")
    acct.add_user("auditor", "/", "2023-03-01T09:00:00+00:00",
                  inline={"AssumeExampleCorpAudit": policy_doc(
                      stmt("Allow", "sts:AssumeRole", audit_role, Sid="AuditExampleCorp"))},
                  user_tags=tags(team="audit", env="prod"))
    acct.add_role("AuditAutomationRole", "/service-role/", "2023-03-02T09:00:00+00:00",
                  trust(assume({"Service": "lambda.amazonaws.com"})),
                  inline={"AssumeCustomerAuditRoles": encoded(policy_doc(
                      stmt("Allow", "sts:AssumeRole", "arn:aws:iam::*:role/PartnerAuditRole")))},
                  role_tags=tags(team="audit", env="prod"))
    acct.add_role("SharedArtifactsRole", "/", "2021-05-01T10:05:00+00:00",
                  trust(assume({"AWS": f"arn:aws:iam::{MAIN}:role/automation/CIDeployRole"})),
                  description="Lets Example Corp's CI read and publish shared build artifacts",
                  attached=[acct.managed("ArtifactsReadWrite")],
                  role_tags=tags(team="platform", env="prod"))
    return acct.finish()


def build(shared_gaad: Path = DEFAULT_SHARED_GAAD) -> dict[str, Doc]:
    """Returns {file name: GAAD document} for every seed export."""
    aws_policies = load_cloudsplaining(shared_gaad)
    return {"demo-org.json": build_main(aws_policies), "partner-account.json": build_partner()}


def render(doc: Doc) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared-gaad", type=Path, default=DEFAULT_SHARED_GAAD)
    parser.add_argument("--check", action="store_true", help="fail if the checked-in files differ")
    args = parser.parse_args(argv)
    stale = []
    for name, doc in build(args.shared_gaad).items():
        path = SEEDS / name
        text = render(doc)
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(name)
        else:
            path.write_text(text)
    if stale:
        print(f"out of date: {', '.join(stale)} (run python seeds/build_seeds.py)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
