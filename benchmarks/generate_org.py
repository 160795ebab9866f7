"""Synthetic AWS organisations in the `get-account-authorization-details` (GAAD) format, for benchmarks.

Seeded and deterministic: the same arguments always give byte-identical output (only `random.Random(seed)`
derived generators are used, and nothing iterates over a set). Sizes are per account:

    generate_org(users=2000, roles=1000, policies=3000, accounts=1, seed=7) -> [gaad_dict]

`policies` counts every entry of `Policies` (a few attached AWS-managed policies plus customer-managed
ones). As real GAAD does, some permission boundaries name a policy that is not in the export; those ARNs
always contain `MISSING_BOUNDARY_MARK`, and every other attachment names a policy of the export.

CLI: python benchmarks/generate_org.py --users 2000 --roles 1000 --policies 3000 --accounts 1 --seed 7 -o out/
writes one `<account-id>.json` per account.

Shapes (`shape=`, `--shape`): "default" (the output above, unchanged for every existing argument) and
"wide", an org of another shape for the same sizes, so figures do not depend on one generator's habits: few
large groups (users / 30 groups, the first holding about half the users), most statements conditional,
permissions boundaries on about half the users and roles, broad trust (other accounts' roots, the
organization, ARN patterns) and identity permissions to assume roles anywhere; meant for many small accounts
(issue 16: 20 accounts of 300 users, 200 roles and 150 policies). `iter_org` yields accounts one at a time.

Resources (off by default, so the GAAD files and every figure taken from them stay as they were):
`generate_resources(exports, resources=5000, seed=7)` spreads S3 buckets, KMS keys and SQS queues over the
accounts, with policies naming roles and users of the same and other accounts, whole accounts, a service bound
by aws:SourceArn, or everyone limited by aws:PrincipalOrgID (a few buckets public, a few without a policy);
`write_resource_store(root, resources)` writes them as an iam-collect file store (resources only: `graphiam
load` merges them with the GAAD files by part). CLI: `--resources N` writes the store to `<out>/resources`.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

Doc = dict[str, Any]

MISSING_BOUNDARY_MARK = "/boundaries/retired/"
ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
ENCODED_SHARE = 0.25

FIRST = (
    "alice",
    "bob",
    "carol",
    "dave",
    "erin",
    "frank",
    "grace",
    "heidi",
    "ivan",
    "judy",
    "mallory",
    "niaj",
    "olivia",
    "peggy",
    "rupert",
    "sybil",
    "trent",
    "victor",
    "walter",
    "yuki",
)
LAST = ("smith", "jones", "garcia", "nguyen", "khan", "muller", "rossi", "tanaka", "silva", "novak")
TEAMS = ("platform", "payments", "data", "security", "network", "mobile", "search", "billing")
ENVS = ("dev", "staging", "prod")
USER_PATHS = (
    "/",
    "/",
    "/",
    "/engineering/",
    "/engineering/",
    "/ops/",
    "/ops/team-a/",
    "/ops/team-b/",
    "/contractors/",
    "/automation/",
)
ROLE_PATHS = ("/", "/", "/service-role/", "/service-role/", "/delivery/", "/ops/team-a/", "/app/")
POLICY_PATHS = ("/", "/", "/team/", "/guardrails/", "/engineering/")
SERVICES = (
    "ec2.amazonaws.com",
    "lambda.amazonaws.com",
    "ecs-tasks.amazonaws.com",
    "glue.amazonaws.com",
    "codebuild.amazonaws.com",
    "sagemaker.amazonaws.com",
)
REGIONS = ("us-east-1", "us-west-2", "eu-west-1", "ap-southeast-2")
DATE_RANGE = (1_420_070_400, 1_714_521_600)  # 2015-01-01 .. 2024-05-01, epoch seconds

# (action patterns, resource template) — `{a}` is the account id, `{r}` a region, `{n}` a short name.
ACTION_FAMILIES: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (
        ("s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:Get*", "s3:List*", "s3:*"),
        (
            "arn:aws:s3:::{n}-bucket/*",
            "arn:aws:s3:::{n}-*",
            "arn:aws:s3:::{n}-bucket/${{aws:username}}/*",
            "arn:aws:s3:::{n}-bucket/${{aws:PrincipalTag/team}}/*",
        ),
    ),
    (
        (
            "ec2:DescribeInstances",
            "ec2:Describe*",
            "ec2:RunInstances",
            "ec2:StartInstances",
            "ec2:StopInstances",
            "ec2:TerminateInstances",
            "ec2:*",
        ),
        ("*", "arn:aws:ec2:{r}:{a}:instance/*", "arn:aws:ec2:*:{a}:instance/i-0{n}*"),
    ),
    (
        (
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:Query",
            "dynamodb:Scan",
            "dynamodb:DeleteTable",
            "dynamodb:*",
        ),
        ("arn:aws:dynamodb:{r}:{a}:table/{n}", "arn:aws:dynamodb:*:{a}:table/{n}-*"),
    ),
    (
        ("lambda:InvokeFunction", "lambda:CreateFunction", "lambda:UpdateFunctionCode", "lambda:Get*"),
        ("arn:aws:lambda:{r}:{a}:function:{n}*", "*"),
    ),
    (
        ("secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret", "kms:Decrypt", "kms:Encrypt"),
        ("arn:aws:secretsmanager:{r}:{a}:secret:{n}/*", "arn:aws:kms:{r}:{a}:key/*", "*"),
    ),
    (
        ("logs:CreateLogStream", "logs:PutLogEvents", "cloudwatch:GetMetricData", "cloudwatch:List*"),
        ("arn:aws:logs:*:{a}:log-group:/aws/{n}/*", "*"),
    ),
    (("iam:PassRole",), ("arn:aws:iam::{a}:role/*", "arn:aws:iam::{a}:role/service-role/*")),
    (
        (
            "iam:CreatePolicyVersion",
            "iam:SetDefaultPolicyVersion",
            "iam:AttachUserPolicy",
            "iam:AttachRolePolicy",
            "iam:PutUserPolicy",
            "iam:PutRolePolicy",
            "iam:CreateAccessKey",
            "iam:UpdateAssumeRolePolicy",
            "iam:AddUserToGroup",
            "iam:Get*",
            "iam:List*",
        ),
        ("*", "arn:aws:iam::{a}:user/*", "arn:aws:iam::{a}:policy/*", "arn:aws:iam::{a}:role/{n}*"),
    ),
)

CONDITIONS: tuple[Doc, ...] = (
    {"IpAddress": {"aws:SourceIp": ["203.0.113.0/24", "198.51.100.0/24"]}},
    {"NotIpAddress": {"aws:SourceIp": "192.0.2.0/24"}},
    {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
    {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
    {
        "DateGreaterThan": {"aws:CurrentTime": "2023-01-01T00:00:00Z"},
        "DateLessThan": {"aws:CurrentTime": "2026-12-31T23:59:59Z"},
    },
    {"StringEquals": {"aws:RequestedRegion": ["us-east-1", "eu-west-1"]}},
    {"StringEquals": {"aws:ResourceTag/team": "${aws:PrincipalTag/team}"}},
    {"StringLike": {"s3:prefix": ["home/${aws:username}/*", ""]}},
    {"ForAnyValue:StringEquals": {"aws:TagKeys": ["team", "env"]}},
    {"NumericLessThanEquals": {"aws:MultiFactorAuthAge": "3600"}},
)

# A few real AWS-managed policies (small ones, documents as AWS publishes them).
AWS_MANAGED: tuple[tuple[str, str, Doc], ...] = (
    (
        "AdministratorAccess",
        "ANPAIWMBCKSKIEE64ZLYK",
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]},
    ),
    (
        "PowerUserAccess",
        "ANPAJYRXTHIB4FOVS3ZXS",
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "NotAction": ["iam:*", "organizations:*", "account:*"], "Resource": "*"},
                {
                    "Effect": "Allow",
                    "Action": [
                        "iam:CreateServiceLinkedRole",
                        "iam:DeleteServiceLinkedRole",
                        "iam:ListRoles",
                        "organizations:DescribeOrganization",
                        "account:ListRegions",
                    ],
                    "Resource": "*",
                },
            ],
        },
    ),
    (
        "AmazonS3ReadOnlyAccess",
        "ANPAIZTJ4DXE7G6AGAE6M",
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": ["s3:Get*", "s3:List*"], "Resource": "*"}],
        },
    ),
    (
        "IAMUserChangePassword",
        "ANPAJ4L4MM2A7QIEB56MS",
        {
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
    ),
    (
        "AmazonEC2ReadOnlyAccess",
        "ANPAIGDT4SV4GSETWTBZK",
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*"},
                {"Effect": "Allow", "Action": "elasticloadbalancing:Describe*", "Resource": "*"},
                {
                    "Effect": "Allow",
                    "Action": [
                        "cloudwatch:ListMetrics",
                        "cloudwatch:GetMetricStatistics",
                        "cloudwatch:Describe*",
                    ],
                    "Resource": "*",
                },
                {"Effect": "Allow", "Action": "autoscaling:Describe*", "Resource": "*"},
            ],
        },
    ),
)


def role_path(index: int) -> str:
    return ROLE_PATHS[(index * 7 + 3) % len(ROLE_PATHS)]


def account_ids(count: int, seed: int) -> list[str]:
    """`count` distinct, deterministic 12-digit account ids for `seed`."""
    rng = random.Random(f"graphiam-accounts-{seed}")
    ids: list[str] = []
    while len(ids) < count:
        candidate = str(rng.randrange(100_000_000_000, 1_000_000_000_000))
        if candidate not in ids:
            ids.append(candidate)
    return ids


class _AccountGen:
    """Generates one account; `peers` are the other generated accounts (for cross-account trust). The class
    attributes are the default shape's habits; `_WideAccountGen` changes them."""

    CONDITIONS: tuple[Doc, ...] = CONDITIONS
    CONDITION_CHANCE = 0.3  # an identity statement has a Condition
    ASSUME_CHANCE = 0.2  # an identity document also allows sts:AssumeRole
    USER_BOUNDARY = 0.1  # a user has a permissions boundary
    ROLE_BOUNDARY = 0.08
    MISSING_BOUNDARY = 0.3  # a boundary names a policy the export leaves out

    def __init__(
        self,
        rng: random.Random,
        account: str,
        peers: Sequence[str],
        *,
        users: int,
        roles: int,
        policies: int,
        groups: int,
    ) -> None:
        self.rng = rng
        self.account = account
        self.peers = list(peers)
        self.n_users, self.n_roles, self.n_policies, self.n_groups = users, roles, policies, groups
        self.foreign = str(rng.randrange(100_000_000_000, 1_000_000_000_000))  # a vendor, never loaded

    # ---- small helpers ----
    def date(self) -> str:
        seconds = self.rng.randrange(*DATE_RANGE)
        return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(seconds))

    def unique_id(self, prefix: str) -> str:
        return prefix + "".join(self.rng.choices(ID_ALPHABET, k=17))

    def maybe_encode(self, doc: Doc) -> Doc | str:
        if self.rng.random() < ENCODED_SHARE:
            return quote(json.dumps(doc, indent=self.rng.choice((None, 4))), safe="")
        return doc

    def tags(self) -> list[dict[str, str]]:
        out = []
        if self.rng.random() < 0.8:
            out.append({"Key": "team", "Value": self.rng.choice(TEAMS)})
        if self.rng.random() < 0.6:
            out.append({"Key": "env", "Value": self.rng.choice(ENVS)})
        if self.rng.random() < 0.1:
            out.append({"Key": "cost-center", "Value": str(self.rng.randrange(1000, 9999))})
        return out

    def arn(self, kind: str, path: str, name: str, account: str | None = None) -> str:
        return f"arn:aws:iam::{account or self.account}:{kind}{path}{name}"

    # ---- documents ----
    def statement(self) -> Doc:
        rng = self.rng
        actions, resources = rng.choice(ACTION_FAMILIES)
        fill = {"a": self.account, "r": rng.choice(REGIONS), "n": rng.choice(TEAMS)}
        stmt: Doc = {}
        if rng.random() < 0.3:
            stmt["Sid"] = f"S{rng.randrange(10_000)}"
        stmt["Effect"] = "Deny" if rng.random() < 0.15 else "Allow"
        picked = rng.sample(actions, k=min(len(actions), rng.randint(1, 3)))
        stmt["NotAction" if rng.random() < 0.05 else "Action"] = picked[0] if len(picked) == 1 else picked
        res = [rng.choice(resources).format(**fill) for _ in range(rng.randint(1, 2))]
        stmt["NotResource" if rng.random() < 0.04 else "Resource"] = res[0] if len(res) == 1 else res
        if rng.random() < self.CONDITION_CHANCE:
            stmt["Condition"] = rng.choice(self.CONDITIONS)
        return stmt

    def assume_statement(self) -> Doc:
        """Identity permission to assume some role (own account mostly, sometimes a peer's)."""
        if self.peers and self.rng.random() < 0.2:
            account = self.rng.choice(self.peers)
            if self.rng.random() < 0.3 or not self.n_roles:
                target = f"arn:aws:iam::{account}:role/*"
            else:  # role paths depend only on the index, so a peer's role ARN is known here
                index = self.rng.randrange(self.n_roles)
                target = f"arn:aws:iam::{account}:role{role_path(index)}role-{index}"
        elif self.rng.random() < 0.1:
            target = "*"
        else:
            target = self.rng.choice(self.role_arns) if self.role_arns else "*"
        return {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": target}

    def document(self, *, admin_chance: float = 0.01) -> Doc:
        if self.rng.random() < admin_chance:
            statements = [{"Effect": "Allow", "Action": "*", "Resource": "*"}]
        else:
            statements = [self.statement() for _ in range(self.rng.randint(1, 4))]
            if self.rng.random() < self.ASSUME_CHANCE:
                statements.append(self.assume_statement())
        return {"Version": "2012-10-17", "Statement": statements}

    def trust_document(self, role_arn: str) -> tuple[Doc, bool]:
        """A trust policy and whether it trusts ec2 (so the role gets an instance profile)."""
        rng = self.rng
        statements: list[Doc] = []
        is_ec2 = False
        for _ in range(rng.choices((1, 2), weights=(4, 1))[0]):
            kind = rng.choices(
                ("service", "user", "role", "root", "peer", "foreign"),
                weights=(30, 25, 15, 15, 10 if self.peers else 0, 5),
            )[0]
            stmt: Doc = {"Effect": "Allow"}
            if kind == "service":
                # EC2 instance roles are the most common service roles in real accounts.
                service = SERVICES[0] if rng.random() < 0.4 else rng.choice(SERVICES)
                is_ec2 = is_ec2 or service == "ec2.amazonaws.com"
                stmt["Principal"] = {"Service": service}
            elif kind == "user" and self.user_arns:
                picked = rng.sample(self.user_arns, k=min(len(self.user_arns), rng.randint(1, 3)))
                stmt["Principal"] = {"AWS": picked[0] if len(picked) == 1 else picked}
                if rng.random() < 0.3:
                    stmt["Condition"] = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
            elif kind == "role" and len(self.role_arns) > 1:
                other = rng.choice(self.role_arns)
                while other == role_arn:
                    other = rng.choice(self.role_arns)
                stmt["Principal"] = {"AWS": other}
            elif kind == "peer":
                peer = rng.choice(self.peers)
                stmt["Principal"] = {"AWS": rng.choice((f"arn:aws:iam::{peer}:root", peer))}
                if rng.random() < 0.5:
                    stmt["Condition"] = {"StringEquals": {"sts:ExternalId": f"ext-{rng.randrange(10**6)}"}}
            elif kind == "foreign":
                stmt["Principal"] = {"AWS": f"arn:aws:iam::{self.foreign}:root"}
                stmt["Condition"] = {"StringEquals": {"sts:ExternalId": f"vendor-{rng.randrange(10**6)}"}}
            else:
                stmt["Principal"] = {"AWS": rng.choice((f"arn:aws:iam::{self.account}:root", self.account))}
                if rng.random() < 0.4:
                    stmt["Condition"] = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
            stmt["Action"] = "sts:AssumeRole"
            statements.append(stmt)
        return {"Version": "2012-10-17", "Statement": statements}, is_ec2

    # ---- entities ----
    def build(self) -> Doc:
        rng = self.rng
        # Names first, so documents can refer to principals generated later.
        self.user_rows = [(rng.choice(USER_PATHS), self.user_name(i)) for i in range(self.n_users)]
        self.user_arns = [self.arn("user", p, n) for p, n in self.user_rows]
        self.role_rows = [(role_path(i), f"role-{i}") for i in range(self.n_roles)]
        self.role_arns = [self.arn("role", p, n) for p, n in self.role_rows]
        group_rows = [
            (rng.choice(("/", "/engineering/", "/ops/")), f"group-{rng.choice(TEAMS)}-{i}")
            for i in range(self.n_groups)
        ]

        n_aws = min(len(AWS_MANAGED), self.n_policies // 10)
        policies = [self.aws_policy(*AWS_MANAGED[i]) for i in range(n_aws)]
        n_boundaries = (self.n_policies - n_aws) // 30
        for i in range(self.n_policies - n_aws):
            policies.append(self.customer_policy(i, boundary=i < n_boundaries))
        boundary_arns = [p["Arn"] for p in policies[n_aws : n_aws + n_boundaries]]
        attachable = [p["Arn"] for p in policies[n_aws + n_boundaries :]] or [p["Arn"] for p in policies]
        names = {p["Arn"]: p["PolicyName"] for p in policies}

        def attach(limit: int) -> list[dict[str, str]]:
            if not attachable:
                return []
            k = min(len(attachable), rng.choices(range(limit + 1), weights=[3] + [2] * limit)[0])
            return [{"PolicyName": names[a], "PolicyArn": a} for a in rng.sample(attachable, k=k)]

        def boundary(chance: float) -> dict[str, str] | None:
            if rng.random() >= chance:
                return None
            if not boundary_arns or rng.random() < self.MISSING_BOUNDARY:
                # Real GAAD omits policies used only as boundaries when they are filtered out: keep some.
                missing = self.arn("policy", MISSING_BOUNDARY_MARK, f"boundary-{rng.randrange(1000)}")
                return {
                    "PermissionsBoundaryType": "PermissionsBoundaryPolicy",
                    "PermissionsBoundaryArn": missing,
                }
            return {
                "PermissionsBoundaryType": "PermissionsBoundaryPolicy",
                "PermissionsBoundaryArn": rng.choice(boundary_arns),
            }

        def inline(limit: int) -> list[Doc]:
            return [
                {"PolicyName": f"inline-{j}", "PolicyDocument": self.maybe_encode(self.document())}
                for j in range(rng.choices(range(limit + 1), weights=[5] + [2] * limit)[0])
            ]

        groups: list[Doc] = []
        for path, name in group_rows:
            groups.append(
                {
                    "Path": path,
                    "GroupName": name,
                    "GroupId": self.unique_id("AGPA"),
                    "Arn": self.arn("group", path, name),
                    "CreateDate": self.date(),
                    "GroupPolicyList": inline(1),
                    "AttachedManagedPolicies": attach(3),
                }
            )
        group_names: list[str] = [g["GroupName"] for g in groups]

        users = []
        for (path, name), arn in zip(self.user_rows, self.user_arns, strict=True):
            user: Doc = {
                "Path": path,
                "UserName": name,
                "UserId": self.unique_id("AIDA"),
                "Arn": arn,
                "CreateDate": self.date(),
            }
            policies_inline = inline(2)
            if policies_inline:
                user["UserPolicyList"] = policies_inline
            user["GroupList"] = self.memberships(group_names)
            user["AttachedManagedPolicies"] = attach(2)
            b = boundary(self.USER_BOUNDARY)
            if b:
                user["PermissionsBoundary"] = b
            user["Tags"] = self.tags()
            users.append(user)

        roles = []
        for (path, name), arn in zip(self.role_rows, self.role_arns, strict=True):
            trust_doc, is_ec2 = self.trust_document(arn)
            trust_value = self.maybe_encode(trust_doc)
            created = self.date()
            role_id = self.unique_id("AROA")
            role: Doc = {
                "Path": path,
                "RoleName": name,
                "RoleId": role_id,
                "Arn": arn,
                "CreateDate": created,
                "AssumeRolePolicyDocument": trust_value,
            }
            profiles = []
            if is_ec2:
                profile_name = f"{name}-profile"
                profiles.append(
                    {
                        "Path": path,
                        "InstanceProfileName": profile_name,
                        "InstanceProfileId": self.unique_id("AIPA"),
                        "Arn": self.arn("instance-profile", path, profile_name),
                        "CreateDate": created,
                        "Roles": [
                            {
                                "Path": path,
                                "RoleName": name,
                                "RoleId": role_id,
                                "Arn": arn,
                                "CreateDate": created,
                                "AssumeRolePolicyDocument": trust_value,
                            }
                        ],
                    }
                )
            role["InstanceProfileList"] = profiles
            role["RolePolicyList"] = inline(2)
            role["AttachedManagedPolicies"] = attach(3)
            b = boundary(self.ROLE_BOUNDARY)
            if b:
                role["PermissionsBoundary"] = b
            role["Tags"] = self.tags()
            role["RoleLastUsed"] = (
                {"LastUsedDate": self.date(), "Region": rng.choice(REGIONS)} if rng.random() < 0.6 else {}
            )
            roles.append(role)

        self.count_attachments(policies, (*users, *groups, *roles))
        return {
            "UserDetailList": users,
            "GroupDetailList": groups,
            "RoleDetailList": roles,
            "Policies": policies,
        }

    def memberships(self, group_names: list[str]) -> list[str]:
        """The groups of one user (a user in 0 to 4 groups, any group as likely as another)."""
        k = min(len(group_names), self.rng.choices((0, 1, 2, 3, 4), weights=(15, 40, 25, 12, 8))[0])
        return self.rng.sample(group_names, k=k)

    def policy_document(self, *, boundary: bool) -> Doc:
        """A managed policy's document (a boundary's too: here, as random as any other)."""
        return self.document(admin_chance=0.0 if boundary else 0.01)

    def user_name(self, i: int) -> str:
        if self.rng.random() < 0.15:
            return f"svc-{self.rng.choice(TEAMS)}-{i}"
        return f"{self.rng.choice(FIRST)}.{self.rng.choice(LAST)}{i}"

    def aws_policy(self, name: str, policy_id: str, doc: Doc) -> Doc:
        return {
            "PolicyName": name,
            "PolicyId": policy_id,
            "Arn": f"arn:aws:iam::aws:policy/{name}",
            "Path": "/",
            "DefaultVersionId": "v1",
            "AttachmentCount": 0,
            "PermissionsBoundaryUsageCount": 0,
            "IsAttachable": True,
            "CreateDate": "2015-02-06T18:39:46+00:00",
            "UpdateDate": "2015-02-06T18:39:46+00:00",
            "PolicyVersionList": [
                {
                    "Document": doc,
                    "VersionId": "v1",
                    "IsDefaultVersion": True,
                    "CreateDate": "2015-02-06T18:39:46+00:00",
                }
            ],
        }

    def customer_policy(self, i: int, *, boundary: bool) -> Doc:
        rng = self.rng
        path = "/boundaries/" if boundary else rng.choice(POLICY_PATHS)
        name = f"boundary-{i}" if boundary else f"policy-{rng.choice(TEAMS)}-{i}"
        n_versions = 1 if rng.random() < 0.7 else rng.randint(2, 5)
        dates = sorted(self.date() for _ in range(n_versions))
        default = n_versions if rng.random() < 0.8 else rng.randint(1, n_versions)
        versions = [
            {
                "Document": self.maybe_encode(self.policy_document(boundary=boundary)),
                "VersionId": f"v{v}",
                "IsDefaultVersion": v == default,
                "CreateDate": dates[v - 1],
            }
            for v in range(n_versions, 0, -1)  # IAM lists the newest first
        ]
        return {
            "PolicyName": name,
            "PolicyId": self.unique_id("ANPA"),
            "Arn": self.arn("policy", path, name),
            "Path": path,
            "DefaultVersionId": f"v{default}",
            "AttachmentCount": 0,
            "PermissionsBoundaryUsageCount": 0,
            "IsAttachable": True,
            "CreateDate": dates[0],
            "UpdateDate": dates[-1],
            "PolicyVersionList": versions,
        }

    @staticmethod
    def count_attachments(policies: list[Doc], principals: Sequence[Doc]) -> None:
        by_arn = {p["Arn"]: p for p in policies}
        for principal in principals:
            for ref in principal["AttachedManagedPolicies"]:
                by_arn[ref["PolicyArn"]]["AttachmentCount"] += 1
            boundary = principal.get("PermissionsBoundary")
            if boundary and boundary["PermissionsBoundaryArn"] in by_arn:
                by_arn[boundary["PermissionsBoundaryArn"]]["PermissionsBoundaryUsageCount"] += 1


WIDE_CONDITIONS: tuple[Doc, ...] = (
    *(c for c in CONDITIONS if "DateLessThan" not in c),
    {"DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}},
    {"StringEquals": {"aws:PrincipalTag/team": ["platform", "security"]}},
    {"StringNotEquals": {"aws:PrincipalTag/env": "prod"}},
    {"Null": {"aws:PrincipalTag/team": "false"}},
    {"StringEquals": {"aws:ResourceAccount": "${aws:PrincipalAccount}"}},
    {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/delivery/*"}},
    {"StringEquals": {"iam:PassedToService": ["lambda.amazonaws.com", "ec2.amazonaws.com"]}},
    {"StringLike": {"iam:PolicyARN": "arn:aws:iam::*:policy/team/*"}},
    {"StringEqualsIfExists": {"aws:RequestedRegion": ["us-east-1", "eu-west-1"]}},
    {"ForAllValues:StringEquals": {"aws:TagKeys": ["team", "env", "cost-center"]}},
    {"StringEquals": {"aws:PrincipalOrgID": "o-generated01"}},
)
BOUNDARY_ACTIONS = (
    "s3:*",
    "dynamodb:*",
    "ec2:*",
    "lambda:*",
    "logs:*",
    "kms:Decrypt",
    "secretsmanager:GetSecretValue",
    "sts:AssumeRole",
    "iam:PassRole",
    "iam:Get*",
    "iam:List*",
    "iam:CreateAccessKey",
    "iam:AddUserToGroup",
    "iam:UpdateAssumeRolePolicy",
)
GUARDED_ACTIONS = (
    "iam:CreatePolicyVersion",
    "iam:SetDefaultPolicyVersion",
    "iam:AttachRolePolicy",
    "iam:AttachUserPolicy",
    "iam:PutRolePolicy",
    "iam:PutUserPolicy",
)


class _WideAccountGen(_AccountGen):
    """The `wide` shape (see `generate_org`): most statements conditional, permissions boundaries on about
    half the users and roles (policies of a few services, guarded IAM writes), few groups holding most users,
    broad identity permissions to assume roles anywhere, and trust policies that name other accounts' roots,
    the whole organization or ARN patterns."""

    CONDITIONS = WIDE_CONDITIONS
    CONDITION_CHANCE = 0.7
    ASSUME_CHANCE = 0.35
    USER_BOUNDARY = 0.55
    ROLE_BOUNDARY = 0.45
    MISSING_BOUNDARY = 0.05

    def memberships(self, group_names: list[str]) -> list[str]:
        """One to three groups, the first groups far likelier (group-0 holds about half the users)."""
        if not group_names:
            return []
        weights = [1 / (i + 1) ** 1.2 for i in range(len(group_names))]
        k = min(len(group_names), self.rng.choices((1, 2, 3), weights=(50, 35, 15))[0])
        picked: list[str] = []
        while len(picked) < k:
            name = self.rng.choices(group_names, weights=weights)[0]
            if name not in picked:
                picked.append(name)
        return picked

    def policy_document(self, *, boundary: bool) -> Doc:
        if not boundary:
            return self.document(admin_chance=0.01)
        rng = self.rng
        allowed = sorted(rng.sample(BOUNDARY_ACTIONS, k=rng.randint(4, len(BOUNDARY_ACTIONS))))
        statements: list[Doc] = [{"Effect": "Allow", "Action": allowed, "Resource": "*"}]
        if rng.random() < 0.6:
            statements.append(
                {
                    "Effect": "Deny",
                    "Action": sorted(rng.sample(GUARDED_ACTIONS, k=rng.randint(2, len(GUARDED_ACTIONS)))),
                    "Resource": "*",
                    "Condition": {"StringNotEquals": {"aws:PrincipalTag/team": "security"}},
                }
            )
        return {"Version": "2012-10-17", "Statement": statements}

    def assume_statement(self) -> Doc:
        rng = self.rng
        pick = rng.random()
        if pick < 0.25:
            target = "arn:aws:iam::*:role/*"
        elif pick < 0.6 and self.peers and self.n_roles:
            account, index = rng.choice(self.peers), rng.randrange(self.n_roles)
            target = f"arn:aws:iam::{account}:role{role_path(index)}role-{index}"
        elif pick < 0.7 and self.peers:
            target = f"arn:aws:iam::{rng.choice(self.peers)}:role/*"
        else:
            target = rng.choice(self.role_arns) if self.role_arns else "*"
        stmt: Doc = {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": target}
        if rng.random() < 0.4:
            stmt["Condition"] = rng.choice(self.CONDITIONS)
        return stmt

    def trust_document(self, role_arn: str) -> tuple[Doc, bool]:
        rng = self.rng
        statements: list[Doc] = []
        is_ec2 = False
        for _ in range(rng.choices((1, 2, 3), weights=(5, 3, 1))[0]):
            kind = rng.choices(
                ("service", "peer-roots", "own-root", "peer-role", "user", "org", "pattern"),
                weights=(20, 25 if self.peers else 0, 20, 12 if self.peers else 0, 10, 3, 5),
            )[0]
            stmt: Doc = {"Effect": "Allow"}
            if kind == "service":
                service = SERVICES[0] if rng.random() < 0.4 else rng.choice(SERVICES)
                is_ec2 = is_ec2 or service == "ec2.amazonaws.com"
                stmt["Principal"] = {"Service": service}
            elif kind == "peer-roots":
                peers = rng.sample(self.peers, k=min(len(self.peers), rng.randint(1, 4)))
                roots = [f"arn:aws:iam::{p}:root" for p in peers]
                stmt["Principal"] = {"AWS": roots[0] if len(roots) == 1 else roots}
                if rng.random() < 0.5:
                    stmt["Condition"] = rng.choice(
                        (
                            {"StringEquals": {"sts:ExternalId": f"ext-{rng.randrange(10**6)}"}},
                            {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
                            {"StringEquals": {"aws:PrincipalTag/team": rng.choice(TEAMS)}},
                        )
                    )
            elif kind == "own-root":
                stmt["Principal"] = {"AWS": f"arn:aws:iam::{self.account}:root"}
                if rng.random() < 0.3:
                    stmt["Condition"] = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
            elif kind == "peer-role":
                index = rng.randrange(self.n_roles)
                peer = rng.choice(self.peers)
                stmt["Principal"] = {"AWS": f"arn:aws:iam::{peer}:role{role_path(index)}role-{index}"}
            elif kind == "user" and self.user_arns:
                picked = rng.sample(self.user_arns, k=min(len(self.user_arns), rng.randint(1, 5)))
                stmt["Principal"] = {"AWS": picked[0] if len(picked) == 1 else picked}
            elif kind == "org":
                stmt["Principal"] = {"AWS": "*"}
                stmt["Condition"] = {"StringEquals": {"aws:PrincipalOrgID": ORG_ID}}
            else:  # "pattern", or "user" in an account without users
                stmt["Principal"] = {"AWS": "*"}
                stmt["Condition"] = {
                    "ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::*:role/delivery/role-{rng.randrange(10)}*"}
                }
            stmt["Action"] = "sts:AssumeRole"
            statements.append(stmt)
        return {"Version": "2012-10-17", "Statement": statements}, is_ec2


SHAPES = ("default", "wide")


def generate_org(
    *,
    users: int,
    roles: int,
    policies: int,
    groups: int | None = None,
    accounts: int = 1,
    seed: int = 0,
    shape: str = "default",
) -> list[Doc]:
    """One GAAD dict per account; every account has `users` users, `roles` roles, `policies` policies.

    `shape` "default" is the generator's usual org (`groups` default users / 20, each user in 0 to 4 of them,
    a few boundaries, 30 % of statements conditional). "wide" is an org of another shape for the same sizes
    (`_WideAccountGen`): `groups` default users / 30, group-0 holding about half the users; 70 % of statements
    conditional; boundaries on about half the principals; broad trust between the accounts (meant for many
    small accounts: e.g. 20 accounts of 300 users, 200 roles, 150 policies)."""
    return list(
        iter_org(
            users=users,
            roles=roles,
            policies=policies,
            groups=groups,
            accounts=accounts,
            seed=seed,
            shape=shape,
        )
    )


def iter_org(
    *,
    users: int,
    roles: int,
    policies: int,
    groups: int | None = None,
    accounts: int = 1,
    seed: int = 0,
    shape: str = "default",
) -> Iterator[Doc]:
    """`generate_org`'s accounts one at a time (an org of 200 accounts need not be held at once). The sizes
    are checked when the first account is asked for."""
    for label, value in (("users", users), ("roles", roles), ("policies", policies), ("accounts", accounts)):
        if value < 0 or (label == "accounts" and value < 1):
            raise ValueError(f"`{label}` must be {'at least 1' if label == 'accounts' else 'non-negative'}")
    if shape not in SHAPES:
        raise ValueError(f"`shape` must be one of {', '.join(SHAPES)}, got `{shape}`")
    wide = shape == "wide"
    if groups is None:
        groups = max(1, users // (30 if wide else 20)) if users else 0
    ids = account_ids(accounts, seed)
    for index, account in enumerate(ids):
        rng = random.Random(f"graphiam-org-wide-{seed}-{index}" if wide else f"graphiam-org-{seed}-{index}")
        peers = [other for other in ids if other != account]
        make = _WideAccountGen if wide else _AccountGen
        yield make(rng, account, peers, users=users, roles=roles, policies=policies, groups=groups).build()


RESOURCE_REGION = "us-east-1"
ORG_ID = "o-generated01"


def generate_resources(exports: Sequence[Doc], *, resources: int, seed: int = 0) -> dict[str, dict[str, Doc]]:
    """`resources` resources over the accounts of `exports` (round robin): account -> ARN -> {"type",
    "policy"} (policy None: none). See the module docstring."""
    if resources < 0:
        raise ValueError("`resources` must be non-negative")
    rng = random.Random(f"graphiam-resources-{seed}")
    accounts = [account_of(e) for e in exports]
    roles = {a: [r["Arn"] for r in e["RoleDetailList"]] for a, e in zip(accounts, exports, strict=True)}
    users = {a: [u["Arn"] for u in e["UserDetailList"]] for a, e in zip(accounts, exports, strict=True)}
    out: dict[str, dict[str, Doc]] = {a: {} for a in accounts}
    for i in range(resources):
        account = accounts[i % len(accounts)]
        others = [a for a in accounts if a != account] or [account]
        kind = ("bucket", "key", "queue")[i % 3]
        if kind == "bucket":
            arn = f"arn:aws:s3:::gen-{account}-bucket-{i:05d}"
            actions: Any = rng.choice((["s3:GetObject"], ["s3:GetObject", "s3:PutObject"], "s3:*"))
            target: Any = f"{arn}/*"
        elif kind == "key":
            arn = f"arn:aws:kms:{RESOURCE_REGION}:{account}:key/gen-{i:05d}"
            actions, target = rng.choice((["kms:Decrypt"], ["kms:Decrypt", "kms:Encrypt"], "kms:*")), "*"
        else:
            arn = f"arn:aws:sqs:{RESOURCE_REGION}:{account}:gen-queue-{i:05d}"
            actions, target = rng.choice((["sqs:SendMessage"], ["sqs:ReceiveMessage"], "sqs:*")), arn
        statements: list[Doc] = []
        if kind == "key":  # a key policy names its own account (the default key policy)
            own = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "kms:*"}
            statements.append({**own, "Resource": "*"})
        shape = rng.random()
        pool = roles[account] + roles[rng.choice(others)] + users[account]
        if shape < 0.05 and kind == "bucket":
            principal: Any = "*"  # public
            condition = None
        elif shape < 0.15:
            principal, condition = "*", {"StringEquals": {"aws:PrincipalOrgID": ORG_ID}}
        elif shape < 0.3:
            principal, condition = {"AWS": rng.choice(others)}, None  # a whole account
        elif shape < 0.4 and kind == "queue":
            principal = {"Service": "sns.amazonaws.com"}
            condition = {"ArnEquals": {"aws:SourceArn": f"arn:aws:sns:{RESOURCE_REGION}:{account}:t-{i}"}}
        elif shape < 0.95 and pool:
            picked = sorted(rng.sample(pool, min(len(pool), rng.randint(1, 4))))
            principal, condition = {"AWS": picked if len(picked) > 1 else picked[0]}, None
        else:
            out[account][arn] = {"type": kind, "policy": None if not statements else _policy(statements)}
            continue
        st: Doc = {"Effect": "Allow", "Principal": principal, "Action": actions, "Resource": target}
        if condition:
            st["Condition"] = condition
        out[account][arn] = {"type": kind, "policy": _policy([*statements, st])}
    return out


def _policy(statements: list[Doc]) -> Doc:
    return {"Version": "2012-10-17", "Statement": statements}


def write_resource_store(root: Path, resources: dict[str, dict[str, Doc]]) -> Path:
    """`generate_resources`' answer as an iam-collect file store under `root` (returned): one folder per
    resource holding `metadata.json` and `policy.json`."""
    for account, found in resources.items():
        base = root / "aws" / "aws" / "accounts" / account
        for n, (arn, spec) in enumerate(found.items()):
            folder = base / spec["type"] / f"{n:05d}"
            folder.mkdir(parents=True, exist_ok=True)
            meta = {"arn": arn, "name": arn.rsplit(":", 1)[-1].rsplit("/", 1)[-1]}
            if spec["type"] == "bucket":
                meta["region"] = RESOURCE_REGION
            (folder / "metadata.json").write_text(json.dumps(meta))
            if spec["policy"] is not None:
                (folder / "policy.json").write_text(json.dumps(spec["policy"]))
    return root


def account_of(export: Doc) -> str:
    for key in ("UserDetailList", "RoleDetailList", "GroupDetailList"):
        if export[key]:
            return str(export[key][0]["Arn"].split(":")[4])
    for policy in export["Policies"]:
        if not policy["Arn"].startswith("arn:aws:iam::aws:"):
            return str(policy["Arn"].split(":")[4])
    raise ValueError("empty export: no account id to name it by")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate a synthetic AWS organisation as GAAD JSON files.")
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--roles", type=int, default=100)
    parser.add_argument("--policies", type=int, default=300)
    parser.add_argument("--groups", type=int, default=None, help="default: users / 20")
    parser.add_argument("--accounts", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--resources", type=int, default=0, help="resources with policies (default none)")
    parser.add_argument("--shape", choices=SHAPES, default="default", help="the org's shape (generate_org)")
    parser.add_argument("-o", "--out", type=Path, required=True, help="directory for <account-id>.json files")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    try:
        exports = generate_org(
            users=args.users,
            roles=args.roles,
            policies=args.policies,
            groups=args.groups,
            accounts=args.accounts,
            seed=args.seed,
            shape=args.shape,
        )
    except ValueError as exc:
        parser.error(str(exc))
    args.out.mkdir(parents=True, exist_ok=True)
    ids = account_ids(args.accounts, args.seed)
    for account, export in zip(ids, exports, strict=True):
        (args.out / f"{account}.json").write_text(json.dumps(export, indent=1))
    if args.resources:
        write_resource_store(
            args.out / "resources", generate_resources(exports, resources=args.resources, seed=args.seed)
        )
    elapsed = time.perf_counter() - started
    print(
        f"wrote {len(exports)} account(s) to {args.out} in {elapsed:.2f}s: {', '.join(ids)}", file=sys.stderr
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
