"""Mutations on the demo organisation: each applies and is visible through queries; refusals are typed and
leave the graph exactly as it was; deletes take what hangs on the entity with them; derived edges follow."""

from __future__ import annotations

import asyncio
import copy
import json
from typing import Any

import httpx
import pytest
from strawberry.types import get_object_definition

from graphiam.api.mutations import Mutation
from graphiam.api.security import IsAdmin
from graphiam.app import create_app
from graphiam.auth import Auth, Role, TokenStore
from graphiam.derive.refresh import refresh_derived
from tests.helpers import SEEDS, graph_dump, mutate

A = "arn:aws:iam::111111111111:"
ALICE, BOB, GRACE, CAROL = (
    A + "user/engineering/alice",
    A + "user/engineering/bob",
    A + "user/contractors/grace",
    A + "user/ops/dba/carol",
)
ADMINS, DEVS = A + "group/Admins", A + "group/engineering/Developers"
WEBAPP, PROD_ADMIN = A + "role/service-role/WebAppInstanceRole", A + "role/ProductionAdminRole"
ADMIN_ACCESS = "arn:aws:iam::aws:policy/AdministratorAccess"
DEV_ACCESS, RELEASE = A + "policy/engineering/DeveloperAccess", A + "policy/engineering/ReleaseManagerPolicy"
CONTRACTOR_BOUNDARY = A + "policy/boundaries/ContractorBoundary"
DOC = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
EC2_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}


@pytest.fixture
def demo(gql):
    return gql(SEEDS / "demo-org.json", SEEDS / "partner-account.json")


def _names(items: list[dict[str, Any]]) -> set[str]:
    return {i["name"] for i in items}


# (mutation, input type, input, query, variables, check(data))
CASES = [
    (
        "createUser",
        "CreateUserInput",
        {
            "account": "111111111111",
            "name": "zoe",
            "path": "/eng/",
            "tags": [{"key": "team", "value": "x"}],
            "permissionsBoundary": CONTRACTOR_BOUNDARY,
        },
        "query($a: String!) { user(arn: $a) { userId createDate path tags { key value } "
        "permissionsBoundary { arn } } }",
        {"a": A + "user/eng/zoe"},
        lambda d: (
            d["user"]["userId"].startswith("AIDA")
            and len(d["user"]["userId"]) == 21
            and d["user"]["createDate"]
            and d["user"]["tags"] == [{"key": "team", "value": "x"}]
            and d["user"]["permissionsBoundary"]["arn"] == CONTRACTOR_BOUNDARY
        ),
    ),
    (
        "deleteUser",
        "DeleteInput",
        {"arn": BOB},
        "query($a: String!) { user(arn: $a) { arn } }",
        {"a": BOB},
        lambda d: d["user"] is None,
    ),
    (
        "createGroup",
        "CreateGroupInput",
        {"account": "111111111111", "name": "Auditors"},
        "query($a: String!) { group(arn: $a) { name path } }",
        {"a": A + "group/Auditors"},
        lambda d: d["group"] == {"name": "Auditors", "path": "/"},
    ),
    (
        "deleteGroup",
        "DeleteInput",
        {"arn": DEVS},
        "query($a: String!) { user(arn: $a) { groups { arn } } }",
        {"a": ALICE},
        lambda d: DEVS not in {g["arn"] for g in d["user"]["groups"]},
    ),
    (
        "createRole",
        "CreateRoleInput",
        {"account": "111111111111", "name": "NewRole", "trustPolicy": EC2_TRUST},
        "query($a: String!) { role(arn: $a) { roleId trustPolicy maxSessionDuration } }",
        {"a": A + "role/NewRole"},
        lambda d: (
            d["role"]["roleId"].startswith("AROA")
            and d["role"]["trustPolicy"] == EC2_TRUST
            and d["role"]["maxSessionDuration"] == 3600
        ),
    ),
    (
        "deleteRole",
        "DeleteInput",
        {"arn": WEBAPP},
        "query($a: String!) { role(arn: $a) { arn } }",
        {"a": WEBAPP},
        lambda d: d["role"] is None,
    ),
    (
        "createPolicy",
        "CreatePolicyInput",
        {"account": "111111111111", "name": "S3Get", "document": DOC},
        "query($a: String!) { policy(arn: $a) { kind defaultVersionId document "
        "versions { versionId isDefault } } }",
        {"a": A + "policy/S3Get"},
        lambda d: (
            d["policy"]
            == {
                "kind": "CUSTOMER_MANAGED",
                "defaultVersionId": "v1",
                "document": DOC,
                "versions": [{"versionId": "v1", "isDefault": True}],
            }
        ),
    ),
    (
        "deletePolicy",
        "DeleteInput",
        {"arn": DEV_ACCESS},
        "query($a: String!) { group(arn: $a) { policies { policy { arn } } } }",
        {"a": DEVS},
        lambda d: DEV_ACCESS not in {p["policy"]["arn"] for p in d["group"]["policies"]},
    ),
    (
        "putUserPolicy",
        "PutInlinePolicyInput",
        {"arn": GRACE, "policyName": "Extra", "document": DOC},
        "query($a: String!) { policy(arn: $a) { kind document ownerArn } }",
        {"a": GRACE + "#Extra"},
        lambda d: d["policy"] == {"kind": "INLINE", "document": DOC, "ownerArn": GRACE},
    ),
    (
        "putGroupPolicy",
        "PutInlinePolicyInput",
        {"arn": ADMINS, "policyName": "DenyWithoutMFA", "document": DOC},
        "query($a: String!) { policy(arn: $a) { document } }",
        {"a": ADMINS + "#DenyWithoutMFA"},
        lambda d: d["policy"]["document"] == DOC,
    ),  # replaces the policy of that name
    (
        "putRolePolicy",
        "PutInlinePolicyInput",
        {"arn": WEBAPP, "policyName": "More", "document": DOC},
        "query($a: String!) { role(arn: $a) { policies { policy { name } } } }",
        {"a": WEBAPP},
        lambda d: "More" in {p["policy"]["name"] for p in d["role"]["policies"]},
    ),
    (
        "deleteUserPolicy",
        "DeleteInlinePolicyInput",
        {"arn": ALICE, "policyName": "AssumePlatformEngineer"},
        "query($a: String!) { policy(arn: $a) { arn } }",
        {"a": ALICE + "#AssumePlatformEngineer"},
        lambda d: d["policy"] is None,
    ),
    (
        "deleteGroupPolicy",
        "DeleteInlinePolicyInput",
        {"arn": ADMINS, "policyName": "DenyWithoutMFA"},
        "query($a: String!) { policy(arn: $a) { arn } }",
        {"a": ADMINS + "#DenyWithoutMFA"},
        lambda d: d["policy"] is None,
    ),
    (
        "deleteRolePolicy",
        "DeleteInlinePolicyInput",
        {"arn": WEBAPP, "policyName": "WebAppSecrets"},
        "query($a: String!) { policy(arn: $a) { arn } }",
        {"a": WEBAPP + "#WebAppSecrets"},
        lambda d: d["policy"] is None,
    ),
    (
        "attachPolicy",
        "AttachPolicyInput",
        {"policyArn": ADMIN_ACCESS, "targetArn": GRACE},
        "query($a: String!) { user(arn: $a) { policies { policy { arn } } } }",
        {"a": GRACE},
        lambda d: ADMIN_ACCESS in {p["policy"]["arn"] for p in d["user"]["policies"]},
    ),
    (
        "attachPolicy",
        "AttachPolicyInput",
        {"policyArn": DEV_ACCESS, "targetArn": ADMINS},
        "query($a: String!) { policy(arn: $a) { attachmentCount attachments { targetArn } } }",
        {"a": DEV_ACCESS},
        lambda d: (
            d["policy"]["attachmentCount"] == 2
            and ADMINS in {x["targetArn"] for x in d["policy"]["attachments"]}
        ),
    ),
    (
        "detachPolicy",
        "AttachPolicyInput",
        {"policyArn": "arn:aws:iam::aws:policy/IAMUserChangePassword", "targetArn": ALICE},
        "query($a: String!) { user(arn: $a) { policies { via policy { name } } } }",
        {"a": ALICE},
        lambda d: (
            ("DIRECT", "IAMUserChangePassword")
            not in {(p["via"], p["policy"]["name"]) for p in d["user"]["policies"]}
        ),
    ),
    (
        "addUserToGroup",
        "GroupMembershipInput",
        {"userArn": GRACE, "groupArn": ADMINS},
        "query($a: String!) { group(arn: $a) { members { arn } } }",
        {"a": ADMINS},
        lambda d: GRACE in {m["arn"] for m in d["group"]["members"]},
    ),
    (
        "removeUserFromGroup",
        "GroupMembershipInput",
        {"userArn": ALICE, "groupArn": DEVS},
        "query($a: String!) { user(arn: $a) { groups { arn } } }",
        {"a": ALICE},
        lambda d: DEVS not in {g["arn"] for g in d["user"]["groups"]},
    ),
    (
        "putPermissionsBoundary",
        "PermissionsBoundaryInput",
        {"arn": ALICE, "policyArn": CONTRACTOR_BOUNDARY},
        "query($a: String!) { user(arn: $a) { permissionsBoundary { arn } } }",
        {"a": ALICE},
        lambda d: d["user"]["permissionsBoundary"]["arn"] == CONTRACTOR_BOUNDARY,
    ),
    (
        "deletePermissionsBoundary",
        "DeletePermissionsBoundaryInput",
        {"arn": GRACE},
        "query($a: String!) { user(arn: $a) { permissionsBoundary { arn } } }",
        {"a": GRACE},
        lambda d: d["user"]["permissionsBoundary"] is None,
    ),
    (
        "updateAssumeRolePolicy",
        "UpdateAssumeRolePolicyInput",
        {"roleArn": PROD_ADMIN, "document": EC2_TRUST},
        "query($a: String!) { role(arn: $a) { trustPolicy } }",
        {"a": PROD_ADMIN},
        lambda d: d["role"]["trustPolicy"] == EC2_TRUST,
    ),
    (
        "createPolicyVersion",
        "CreatePolicyVersionInput",
        {"policyArn": DEV_ACCESS, "document": DOC, "setAsDefault": True},
        "query($a: String!) { policy(arn: $a) { defaultVersionId document "
        "versions { versionId isDefault } } }",
        {"a": DEV_ACCESS},
        lambda d: (
            d["policy"]["defaultVersionId"] == "v2"
            and d["policy"]["document"] == DOC
            and {(v["versionId"], v["isDefault"]) for v in d["policy"]["versions"]}
            == {("v1", False), ("v2", True)}
        ),
    ),
    (
        "setDefaultPolicyVersion",
        "PolicyVersionInput",
        {"policyArn": RELEASE, "versionId": "v1"},
        "query($a: String!) { policy(arn: $a) { defaultVersionId document } }",
        {"a": RELEASE},
        lambda d: (
            d["policy"]["defaultVersionId"] == "v1"
            and d["policy"]["document"]["Statement"][0]["Action"] == "*"
        ),
    ),
    (
        "deletePolicyVersion",
        "PolicyVersionInput",
        {"policyArn": RELEASE, "versionId": "v2"},
        "query($a: String!) { policy(arn: $a) { versions { versionId } } }",
        {"a": RELEASE},
        lambda d: {v["versionId"] for v in d["policy"]["versions"]} == {"v1", "v3"},
    ),
]


@pytest.mark.parametrize(
    ("name", "input_type", "value", "query", "variables", "check"),
    CASES,
    ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)],
)
def test_each_mutation_applies_and_is_visible(demo, name, input_type, value, query, variables, check):
    before = demo.db.generation
    result = mutate(demo, name, input_type, value)
    assert result["ok"] and result["errors"] == [] and not result["dryRun"], result
    assert result["applied"][0]["operation"] == name
    assert demo.db.generation == before + 1  # one transaction
    assert check(demo(query, variables)), demo(query, variables)


def test_created_entities_belong_to_their_account_and_a_reimport_replaces_them(demo):
    mutate(demo, "createUser", "CreateUserInput", {"account": "222222222222", "name": "temp"})
    arn = "arn:aws:iam::222222222222:user/temp"
    assert demo("query($a: String!) { user(arn: $a) { account } }", {"a": arn})["user"] == {
        "account": "222222222222"
    }
    export = json.loads((SEEDS / "partner-account.json").read_text())
    result = mutate(demo, "importExport", "ImportExportInput", {"document": export})
    assert result["ok"], result
    assert demo("query($a: String!) { user(arn: $a) { arn } }", {"a": arn})["user"] is None


def test_import_export_loads_a_new_account_with_derived_edges(demo):
    export = json.loads((SEEDS / "partner-account.json").read_text())
    export = json.loads(json.dumps(export).replace("222222222222", "333333333333"))
    result = mutate(
        demo,
        "importExport",
        "ImportExportInput",
        {"document": export},
        fields="ok changes { canAssumeAdded { from to } }",
    )
    assert result["ok"]
    added = {(e["from"], e["to"]) for e in result["changes"]["canAssumeAdded"]}
    assert (
        "lambda.amazonaws.com",
        "arn:aws:iam::333333333333:role/service-role/AuditAutomationRole",
    ) in added
    accounts = {a["id"] for a in demo("{ accounts { id } }")["accounts"]}
    assert accounts == {"111111111111", "222222222222", "333333333333"}


def test_import_export_refuses_a_broken_export_with_its_json_path(demo):
    export = json.loads((SEEDS / "partner-account.json").read_text())
    broken = copy.deepcopy(export)
    del broken["UserDetailList"][0]["Arn"]
    before = graph_dump(demo.db)
    result = mutate(demo, "importExport", "ImportExportInput", {"document": broken})
    assert not result["ok"]
    [err] = result["errors"]
    assert err["code"] == "INVALID_INPUT" and err["jsonPath"] == "$.UserDetailList[0].Arn"
    assert graph_dump(demo.db) == before


def test_invalid_policy_is_rejected_with_json_paths_and_the_graph_unchanged(demo):
    before = graph_dump(demo.db)
    generation = demo.db.generation
    doc = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"},
            {"Effect": "Alow", "Action": "s3:PutObject", "Resource": "*", "Principal": "*"},
        ],
    }
    result = mutate(
        demo, "putUserPolicy", "PutInlinePolicyInput", {"arn": ALICE, "policyName": "Bad", "document": doc}
    )
    assert not result["ok"] and result["applied"] == []
    paths = {e["jsonPath"] for e in result["errors"]}
    assert paths == {"$.Statement[1].Effect", "$.Statement[1].Principal"}
    assert {e["code"] for e in result["errors"]} == {"INVALID_POLICY"}
    assert all(e["path"] == ["input", "document"] for e in result["errors"])
    assert any("Statement[1].Effect" in e["message"] and "Alow" in e["message"] for e in result["errors"])
    assert graph_dump(demo.db) == before and demo.db.generation == generation


REFUSALS = [
    (
        "createUser",
        "CreateUserInput",
        {"account": "111111111111", "name": "alice", "path": "/other/"},
        "ALREADY_EXISTS",
        ["input", "name"],
    ),
    (
        "createUser",
        "CreateUserInput",
        {"account": "1111", "name": "x"},
        "INVALID_INPUT",
        ["input", "account"],
    ),
    (
        "createUser",
        "CreateUserInput",
        {"account": "111111111111", "name": "bad name"},
        "INVALID_INPUT",
        ["input", "name"],
    ),
    (
        "createUser",
        "CreateUserInput",
        {"account": "111111111111", "name": "x", "path": "nopath"},
        "INVALID_INPUT",
        ["input", "path"],
    ),
    ("deleteUser", "DeleteInput", {"arn": A + "user/nobody"}, "NOT_FOUND", ["input", "arn"]),
    ("deleteUser", "DeleteInput", {"arn": A + "role/PlatformEngineerRole"}, "INVALID_ARN", ["input", "arn"]),
    ("deleteRole", "DeleteInput", {"arn": "not-an-arn"}, "INVALID_ARN", ["input", "arn"]),
    ("deletePolicy", "DeleteInput", {"arn": ADMIN_ACCESS}, "UNMODIFIABLE", ["input", "arn"]),
    (
        "createRole",
        "CreateRoleInput",
        {"account": "111111111111", "name": "R", "trustPolicy": DOC},
        "INVALID_POLICY",
        ["input", "trustPolicy"],
    ),
    (
        "attachPolicy",
        "AttachPolicyInput",
        {"policyArn": A + "policy/nope", "targetArn": ALICE},
        "NOT_FOUND",
        ["input", "policyArn"],
    ),
    (
        "attachPolicy",
        "AttachPolicyInput",
        {"policyArn": "arn:aws:iam::222222222222:policy/ArtifactsReadWrite", "targetArn": ALICE},
        "INVALID_INPUT",
        ["input", "policyArn"],
    ),
    (
        "detachPolicy",
        "AttachPolicyInput",
        {"policyArn": ADMIN_ACCESS, "targetArn": ALICE},
        "NOT_FOUND",
        ["input", "policyArn"],
    ),
    (
        "removeUserFromGroup",
        "GroupMembershipInput",
        {"userArn": GRACE, "groupArn": ADMINS},
        "NOT_FOUND",
        ["input", "groupArn"],
    ),
    (
        "deletePermissionsBoundary",
        "DeletePermissionsBoundaryInput",
        {"arn": ALICE},
        "NOT_FOUND",
        ["input", "arn"],
    ),
    (
        "deletePolicyVersion",
        "PolicyVersionInput",
        {"policyArn": RELEASE, "versionId": "v3"},
        "CONFLICT",
        ["input", "versionId"],
    ),
    (
        "setDefaultPolicyVersion",
        "PolicyVersionInput",
        {"policyArn": RELEASE, "versionId": "v9"},
        "NOT_FOUND",
        ["input", "versionId"],
    ),
    (
        "deleteUserPolicy",
        "DeleteInlinePolicyInput",
        {"arn": ALICE, "policyName": "Nope"},
        "NOT_FOUND",
        ["input", "policyName"],
    ),
]


@pytest.mark.parametrize(
    ("name", "input_type", "value", "code", "path"),
    REFUSALS,
    ids=[f"{r[0]}-{r[3]}-{i}" for i, r in enumerate(REFUSALS)],
)
def test_expected_failures_are_typed_and_change_nothing(demo, name, input_type, value, code, path):
    before = graph_dump(demo.db)
    result = mutate(demo, name, input_type, value)
    assert not result["ok"] and result["applied"] == []
    assert [(e["code"], e["path"]) for e in result["errors"]] == [(code, path)], result["errors"]
    assert graph_dump(demo.db) == before


def test_policy_versions_are_limited_to_five(demo):
    for _ in range(2):  # ReleaseManagerPolicy has v1..v3
        assert mutate(
            demo, "createPolicyVersion", "CreatePolicyVersionInput", {"policyArn": RELEASE, "document": DOC}
        )["ok"]
    result = mutate(
        demo, "createPolicyVersion", "CreatePolicyVersionInput", {"policyArn": RELEASE, "document": DOC}
    )
    assert [e["code"] for e in result["errors"]] == ["LIMIT_EXCEEDED"]


def test_deleting_a_user_removes_its_memberships_attachments_and_inline_policies(demo):
    mutate(demo, "attachPolicy", "AttachPolicyInput", {"policyArn": DEV_ACCESS, "targetArn": ALICE})
    assert mutate(demo, "deleteUser", "DeleteInput", {"arn": ALICE})["ok"]
    data = demo(
        'query($p: String!, $i: String!) { group(arn: "' + DEVS + '") { members { arn } } policy(arn: $p) '
        "{ attachmentCount attachments { targetArn } } inline: policy(arn: $i) { arn } }",
        {"p": DEV_ACCESS, "i": ALICE + "#AssumePlatformEngineer"},
    )
    assert ALICE not in {m["arn"] for m in data["group"]["members"]}
    assert ALICE not in {a["targetArn"] for a in data["policy"]["attachments"]}
    assert data["policy"]["attachmentCount"] == 1
    assert data["inline"] is None
    dump = graph_dump(demo.db)
    assert not any(ALICE in line for line in dump["edges"])  # CAN_ASSUME and ESCALATES_TO edges too
    assert not any(f'"arn": "{ALICE}' in line for line in dump["nodes"])


def test_deleting_a_boundary_policy_clears_the_boundary(demo):
    assert mutate(demo, "deletePolicy", "DeleteInput", {"arn": CONTRACTOR_BOUNDARY})["ok"]
    assert (
        demo("query($a: String!) { user(arn: $a) { permissionsBoundary { arn } } }", {"a": GRACE})["user"][
            "permissionsBoundary"
        ]
        is None
    )


def test_derived_edges_follow_a_committed_mutation(demo):
    """A trust policy admitting grace gives her a CAN_ASSUME edge, and an escalation path to administrator."""
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": GRACE}, "Action": "sts:AssumeRole"}],
    }
    query = "query($a: String!) { escalationPaths(from: $a) { steps { from to technique } } }"
    assert demo(query, {"a": GRACE})["escalationPaths"] == []
    result = mutate(
        demo,
        "updateAssumeRolePolicy",
        "UpdateAssumeRolePolicyInput",
        {"roleArn": PROD_ADMIN, "document": trust},
        fields="ok changes { canAssumeAdded { from to } }",
    )
    assert {"from": GRACE, "to": PROD_ADMIN} in result["changes"]["canAssumeAdded"]
    paths = demo(query, {"a": GRACE})["escalationPaths"]
    assert [{"from": GRACE, "to": PROD_ADMIN, "technique": "sts-001"}] in [p["steps"] for p in paths]


def test_apply_changes_is_all_or_nothing(demo):
    before = graph_dump(demo.db)
    q = (
        "mutation($c: [ChangeInput!]!) { applyChanges(changes: $c) { ok errors { code path jsonPath } "
        "applied { operation } } }"
    )
    changes = [
        {"createUser": {"account": "111111111111", "name": "newbie"}},
        {"addUserToGroup": {"userArn": A + "user/newbie", "groupArn": ADMINS}},
        {"putUserPolicy": {"arn": A + "user/newbie", "policyName": "p", "document": {"Statement": "nope"}}},
    ]
    result = demo(q, {"c": changes})["applyChanges"]
    assert not result["ok"] and result["applied"] == []
    assert result["errors"][0]["path"] == ["changes", "2", "putUserPolicy", "document"]
    assert graph_dump(demo.db) == before
    result = demo(q, {"c": changes[:2]})["applyChanges"]
    assert result["ok"] and [a["operation"] for a in result["applied"]] == ["createUser", "addUserToGroup"]
    members = demo("query($a: String!) { group(arn: $a) { members { name } } }", {"a": ADMINS})["group"][
        "members"
    ]
    assert "newbie" in _names(members)


def test_a_change_input_names_exactly_one_operation(demo):
    body = demo.raw(
        'mutation { applyChanges(changes: [{createGroup: {account: "111111111111", name: "G"}, '
        'deleteUser: {arn: "x"}}]) { ok } }'
    )
    assert body.get("errors") and body.get("data") is None


def test_a_batch_creating_several_relationships_derives_what_a_full_refresh_derives(demo):
    """Several attachments and memberships in one transaction (see store.mutations.settle_created_rels): the
    derived edges committed are those a full recomputation finds, and every relationship is where it was
    put."""
    partner_audit = A + "role/PartnerAuditRole"
    q = "mutation($c: [ChangeInput!]!) { applyChanges(changes: $c) { ok errors { code message path } } }"
    changes = [
        {"attachPolicy": {"policyArn": ADMIN_ACCESS, "targetArn": partner_audit}},
        {"attachPolicy": {"policyArn": DEV_ACCESS, "targetArn": GRACE}},
        {"addUserToGroup": {"userArn": GRACE, "groupArn": DEVS}},
        {"addUserToGroup": {"userArn": CAROL, "groupArn": ADMINS}},
    ]
    assert demo(q, {"c": changes})["applyChanges"]["ok"]
    derived = [e for e in graph_dump(demo.db)["edges"] if '"CAN_ASSUME"' in e or '"ESCALATES_TO"' in e]
    with demo.db.transaction():
        refresh_derived(demo.db, {"111111111111", "222222222222"})
    assert [
        e for e in graph_dump(demo.db)["edges"] if '"CAN_ASSUME"' in e or '"ESCALATES_TO"' in e
    ] == derived
    data = demo(
        f'query {{ grace: user(arn: "{GRACE}") {{ groups {{ arn }} policies {{ policy {{ arn }} }} }} '
        f'carol: user(arn: "{CAROL}") {{ groups {{ arn }} }} '
        f'role(arn: "{partner_audit}") {{ policies {{ policy {{ arn }} }} }} }}'
    )
    assert DEVS in {g["arn"] for g in data["grace"]["groups"]}
    assert DEV_ACCESS in {p["policy"]["arn"] for p in data["grace"]["policies"]}
    assert ADMINS in {g["arn"] for g in data["carol"]["groups"]}
    assert ADMIN_ACCESS in {p["policy"]["arn"] for p in data["role"]["policies"]}


def test_every_mutation_needs_the_admin_role():
    """Each field carries `IsAdmin` itself (MutationGuard refuses non-admin mutation operations too; the HTTP
    refusal is tested in tests/test_auth.py)."""
    fields = get_object_definition(Mutation, strict=True).fields
    assert len(fields) == 26
    assert [f.name for f in fields if IsAdmin not in f.permission_classes] == []


def test_a_reader_token_cannot_dry_run_either(make_db, tmp_path):
    store = TokenStore(tmp_path / "db.tokens.json")
    _, reader = store.create(Role.READER, "r")
    db = make_db(SEEDS / "demo-org.json")
    app = create_app(database=db, load_seeds=False, auth=Auth(store=store, anonymous_reads=True))

    async def go(headers: dict[str, str]) -> dict[str, Any]:
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c,
        ):
            q = 'mutation { deleteUser(input: {arn: "' + ALICE + '"}, dryRun: true) { ok } }'
            body: dict[str, Any] = (await c.post("/graphql", json={"query": q}, headers=headers)).json()
            return body

    before = graph_dump(db)
    for headers in ({}, {"Authorization": f"Bearer {reader}"}):
        body = asyncio.run(go(headers))
        assert body["data"] is None and body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert graph_dump(db) == before
