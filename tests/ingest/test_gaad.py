"""GAAD export → model objects (pure ingest)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest

from graphiam.errors import IngestError
from graphiam.ingest.gaad import parse_gaad, read_gaad_file
from graphiam.ingest.reader import check_policy_document
from tests.helpers import CONFORMANCE, GAAD_EXAMPLE

ACCT = "111122223333"


def _export(**over):
    doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
    data = {
        "UserDetailList": [
            {
                "UserName": "alice",
                "Arn": f"arn:aws:iam::{ACCT}:user/alice",
                "Path": "/",
                "GroupList": ["devs"],
                "AttachedManagedPolicies": [],
                "UserPolicyList": [{"PolicyName": "inl", "PolicyDocument": quote(json.dumps(doc))}],
            }
        ],
        "GroupDetailList": [
            {
                "GroupName": "devs",
                "Arn": f"arn:aws:iam::{ACCT}:group/devs",
                "AttachedManagedPolicies": [
                    {"PolicyName": "p", "PolicyArn": f"arn:aws:iam::{ACCT}:policy/p"}
                ],
            }
        ],
        "RoleDetailList": [],
        "Policies": [
            {
                "PolicyName": "p",
                "Arn": f"arn:aws:iam::{ACCT}:policy/p",
                "DefaultVersionId": "v2",
                "PolicyVersionList": [
                    {"VersionId": "v1", "IsDefaultVersion": False, "Document": doc},
                    {"VersionId": "v2", "IsDefaultVersion": True, "Document": json.dumps(doc)},
                ],
            }
        ],
    }
    data.update(over)
    return data


def test_real_export_counts():
    e = read_gaad_file(GAAD_EXAMPLE)
    assert (len(e.users), len(e.groups), len(e.roles)) == (44, 5, 78)
    assert len([p for p in e.policies if not p.missing]) == 84
    assert e.account_id == "200611803367"


def test_conformance_export_counts():
    e = read_gaad_file(CONFORMANCE / "gaad.json")
    assert (len(e.users), len(e.groups), len(e.roles), len(e.policies)) == (20, 6, 10, 33)


def test_url_encoded_and_object_documents_decode_to_the_same_json():
    e = parse_gaad(_export())
    inline = e.users[0].inline_policies[0]
    assert json.loads(inline.document)["Statement"][0]["Action"] == "s3:*"
    p = e.policies[0]
    assert [v.version_id for v in p.versions] == ["v1", "v2"]
    assert p.default_version_id == "v2"
    assert p.default_document is not None
    assert json.loads(p.default_document) == json.loads(p.versions[0].document or "null")


def test_boundary_naming_an_omitted_policy_becomes_a_placeholder_with_a_warning():
    data = _export()
    data["UserDetailList"][0]["PermissionsBoundary"] = {
        "PermissionsBoundaryType": "PermissionsBoundaryPolicy",
        "PermissionsBoundaryArn": f"arn:aws:iam::{ACCT}:policy/boundary-only",
    }
    e = parse_gaad(data)
    placeholder = [p for p in e.policies if p.missing]
    assert [p.arn for p in placeholder] == [f"arn:aws:iam::{ACCT}:policy/boundary-only"]
    assert placeholder[0].default_document is None
    assert any("boundary-only" in w and "placeholder" in w for w in e.warnings)


@pytest.mark.parametrize(
    "mutate, path_part, message_part",
    [
        (lambda d: d["UserDetailList"][0].pop("Arn"), "$.UserDetailList[0].Arn", "missing required key"),
        (
            lambda d: d["UserDetailList"][0].update(Arn="arn:aws:iam::1:user/x"),
            "$.UserDetailList[0].Arn",
            "not a valid IAM user ARN",
        ),
        (
            lambda d: d["UserDetailList"][0]["UserPolicyList"][0].update(PolicyDocument="%7Bnot json"),
            "$.UserDetailList[0].UserPolicyList[0].PolicyDocument",
            "not JSON",
        ),
        (
            lambda d: d["UserDetailList"][0].update(GroupList=["nope"]),
            "$.UserDetailList[0].GroupList",
            "`nope`",
        ),
        (
            lambda d: d["Policies"][0]["PolicyVersionList"][0].update(IsDefaultVersion=True),
            "$.Policies[0].PolicyVersionList",
            "2 default versions",
        ),
        (lambda d: d.update(UserDetailList="x"), "$.UserDetailList", "expected a list"),
        # found by tests/test_fuzz.py: these raised TypeError / pyarrow errors (an internal error through
        # importExport)
        (lambda d: d["GroupDetailList"].append(1.5), "$.GroupDetailList[1]", "expected an object, got float"),
        (
            lambda d: d["Policies"][0]["PolicyVersionList"].append(7),
            "$.Policies[0].PolicyVersionList[2]",
            "expected an object, got int",
        ),
        (
            lambda d: d["UserDetailList"][0].update(Path=1),
            "$.UserDetailList[0].Path",
            "expected str, got int",
        ),
        (
            lambda d: d["UserDetailList"][0].update(CreateDate={}),
            "$.UserDetailList[0].CreateDate",
            "expected str, got dict",
        ),
        (
            lambda d: d["Policies"][0].update(AttachmentCount=True),
            "$.Policies[0].AttachmentCount",
            "expected int, got bool",
        ),
        (
            lambda d: d["UserDetailList"][0].update(PermissionsBoundary="x"),
            "$.UserDetailList[0].PermissionsBoundary",
            "expected an object, got str",
        ),
    ],
    ids=[
        "missing-arn",
        "bad-arn",
        "undecodable-document",
        "unknown-group",
        "two-defaults",
        "not-a-list",
        "entry-not-object",
        "version-not-object",
        "path-not-string",
        "date-not-string",
        "count-not-int",
        "boundary-not-object",
    ],
)
def test_bad_exports_name_the_json_path(mutate, path_part, message_part):
    data = _export()
    mutate(data)
    with pytest.raises(IngestError) as err:
        parse_gaad(data, source="x.json")
    text = str(err.value)
    assert text.startswith("x.json: ") and path_part in text and message_part in text
    assert "\n" not in text


def test_not_an_export():
    with pytest.raises(IngestError, match="not a get-account-authorization-details export"):
        parse_gaad({"hello": 1}, source="x.json")
    with pytest.raises(IngestError, match="top level is list"):
        parse_gaad([], source="x.json")


def test_not_json_file(tmp_path):
    f = tmp_path / "broken.json"
    f.write_text("{ nope")
    with pytest.raises(IngestError, match=r"broken.json: not JSON: .* line 1 column 3"):
        read_gaad_file(f)


@pytest.mark.parametrize("marker", [{"IsTruncated": True, "Marker": "m1"}, {"NextToken": "t1"}])
def test_a_truncated_page_is_loaded_with_a_warning(marker):
    data = {**json.loads((CONFORMANCE / "gaad.json").read_text()), **marker}
    e = parse_gaad(data, source="page1.json")
    assert len(e.users) == 20
    assert any("truncated" in w and w.startswith("page1.json") for w in e.warnings)
    assert not any(
        "truncated" in w
        for w in parse_gaad({**data, "IsTruncated": False, "Marker": None, "NextToken": None}).warnings
    )


def _changed(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((CONFORMANCE / "gaad.json").read_text())
    for key, fn in changes.items():
        fn(data[key])
    return data


@pytest.mark.parametrize(
    "change, path, message",
    [
        (
            dict(UserDetailList=lambda us: us.append(dict(us[1]))),
            "$.UserDetailList[20].Arn",
            "also at $.UserDetailList[1]",
        ),
        (
            dict(RoleDetailList=lambda rs: rs.append(dict(rs[0]))),
            "$.RoleDetailList[10].Arn",
            "also at $.RoleDetailList[0]",
        ),
        (dict(Policies=lambda ps: ps.append(dict(ps[2]))), "$.Policies[33].Arn", "also at $.Policies[2]"),
    ],
    ids=["user", "role", "policy"],
)
def test_an_entity_twice_in_one_export_is_named(change, path, message):
    with pytest.raises(IngestError) as err:
        parse_gaad(_changed(**change), source="dup.json")
    assert f"dup.json: {path}: " in str(err.value) and message in str(err.value)


def test_an_inline_policy_name_twice_on_one_owner_is_named():
    data = _changed()
    owner = next(u for u in data["UserDetailList"] if u.get("UserPolicyList"))
    owner["UserPolicyList"].append(dict(owner["UserPolicyList"][0]))
    with pytest.raises(IngestError) as err:
        parse_gaad(data, source="dup.json")
    assert (
        "UserPolicyList[" in str(err.value) and "PolicyName" in str(err.value) and "also at" in str(err.value)
    )


NO_RESOURCE = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*"}]}
WITH_PRINCIPAL = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Principal": {"AWS": "*"}}],
}
TRUST_WITHOUT_PRINCIPAL = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole"}],
}


def _set_inline(doc):
    def change(users):
        users[0]["UserPolicyList"] = [{"PolicyName": "broken", "PolicyDocument": doc}]

    return change


def _set_trust(doc):
    def change(roles):
        roles[0]["AssumeRolePolicyDocument"] = doc

    return change


@pytest.mark.parametrize(
    "change, path, message",
    [
        (
            dict(UserDetailList=_set_inline(NO_RESOURCE)),
            "$.UserDetailList[0].UserPolicyList[0].PolicyDocument.Statement[0]",
            "Resource",
        ),
        (
            dict(UserDetailList=_set_inline(WITH_PRINCIPAL)),
            "$.UserDetailList[0].UserPolicyList[0].PolicyDocument.Statement[0].Principal",
            "identity-based",
        ),
        (
            dict(RoleDetailList=_set_trust(TRUST_WITHOUT_PRINCIPAL)),
            "$.RoleDetailList[0].AssumeRolePolicyDocument.Statement[0]",
            "Principal",
        ),
    ],
    ids=["identity-without-resource", "identity-with-principal", "trust-without-principal"],
)
def test_documents_aws_rejects_for_their_policy_type_are_refused_at_load(change, path, message):
    with pytest.raises(IngestError) as err:
        parse_gaad(_changed(**change), source="x.json", check_document=check_policy_document)
    assert f"x.json: {path}" in str(err.value) and message in str(err.value), str(err.value)
