"""AWS Config configuration items → one `AccountExport` per account (its resources, and the IAM it records).

Three shapes are read: a configuration snapshot as Config delivers it to S3 (`{"fileVersion": …,
"configurationItems": [item, …]}`, `.json` or `.json.gz`), the answer of an advanced query
(`select-resource-config`: `{"Results": ["<item as JSON text>", …]}`), or a JSON list of items. Items name the
account as `awsAccountId` (snapshots) or `accountId` (the API), the ARN as `ARN` or `arn`; `configuration`
and the values of `supplementaryConfiguration` may be objects or JSON text; tags an object or a list of
`{key, value}`.

Resource policies, by type: S3 buckets `supplementaryConfiguration.BucketPolicy.policyText`; KMS keys and
Lambda functions `supplementaryConfiguration.Policy`; SQS queues and SNS topics `configuration.Policy` (or
`configuration.Attributes.Policy`); ECR repositories `configuration.RepositoryPolicyText`; Secrets Manager
secrets `configuration.ResourcePolicy` or `supplementaryConfiguration.ResourcePolicy`. IAM items
(`AWS::IAM::User`, `Group`, `Role`, `Policy`: lower-camel-case keys, URL-encoded documents) become the
account's IAM, parsed by `graphiam.ingest.gaad`. Items of other types and deleted ones
(`configurationItemStatus` ResourceDeleted / ResourceNotRecorded) are skipped.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from graphiam.arn import is_account_id, is_role_arn, resource_type
from graphiam.errors import IngestError
from graphiam.ingest.gaad import parse_gaad
from graphiam.ingest.reader import DocumentCheck, ExportReader
from graphiam.model import IAM_PART, RESOURCES_PART, AccountExport, Resource, Tag

_GONE = frozenset({"ResourceDeleted", "ResourceDeletedNotRecorded", "ResourceNotRecorded"})
_IAM_TYPES = {
    "AWS::IAM::User": "UserDetailList",
    "AWS::IAM::Group": "GroupDetailList",
    "AWS::IAM::Role": "RoleDetailList",
    "AWS::IAM::Policy": "Policies",
}
# resource type -> where its policy is: ("supplementary" | "configuration", key path)
_POLICY_AT: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "AWS::S3::Bucket": (("supplementaryConfiguration", ("BucketPolicy", "policyText")),),
    "AWS::KMS::Key": (("supplementaryConfiguration", ("Policy",)), ("configuration", ("KeyPolicy",))),
    "AWS::Lambda::Function": (("supplementaryConfiguration", ("Policy",)),),
    "AWS::SQS::Queue": (("configuration", ("Policy",)), ("configuration", ("Attributes", "Policy"))),
    "AWS::SNS::Topic": (("configuration", ("Policy",)), ("configuration", ("Attributes", "Policy"))),
    "AWS::ECR::Repository": (("configuration", ("RepositoryPolicyText",)),),
    "AWS::SecretsManager::Secret": (
        ("configuration", ("ResourcePolicy",)),
        ("supplementaryConfiguration", ("ResourcePolicy",)),
    ),
}


def is_config_items(data: Any) -> bool:
    """A JSON value holding AWS Config configuration items (a snapshot, query results or a list)."""
    if isinstance(data, Mapping):
        return "configurationItems" in data or ("Results" in data and "QueryInfo" in data)
    return (
        isinstance(data, list)
        and bool(data)
        and all(isinstance(x, Mapping) and "resourceType" in x for x in data)
    )


def _items(data: Any, r: ExportReader) -> list[tuple[str, Any]]:
    """(JSON path, item) for every item of the file."""
    if isinstance(data, list):
        return [(f"$[{i}]", x) for i, x in enumerate(data)]
    if "configurationItems" in data:
        return [
            (f"$.configurationItems[{i}]", x)
            for i, x in enumerate(r.req(data, "configurationItems", "$", list))
        ]
    out = []
    for i, text in enumerate(r.req(data, "Results", "$", list)):
        out.append((f"$.Results[{i}]", _json(text, f"$.Results[{i}]", r)))
    return out


def _json(value: Any, path: str, r: ExportReader) -> Any:
    """A value that may be JSON text (the API returns `configuration` and supplementary values as text)."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise r.fail(path, f"not JSON ({exc.msg} at char {exc.pos})") from None
    return value


def _dig(value: Any, keys: tuple[str, ...], path: str, r: ExportReader) -> tuple[Any, str]:
    for k in keys:
        value = _json(value, path, r)
        if not isinstance(value, Mapping) or value.get(k) is None:
            return None, path
        value, path = value[k], f"{path}.{k}"
    return value, path


def _tags(raw: Any, path: str, r: ExportReader) -> tuple[Tag, ...]:
    raw = _json(raw, path, r)
    if raw is None:
        return ()
    if isinstance(raw, Mapping):
        return tuple(Tag(key=str(k), value="" if v is None else str(v)) for k, v in raw.items())
    if isinstance(raw, list):
        out = []
        for i, t in enumerate(raw):
            key = t.get("key", t.get("Key")) if isinstance(t, Mapping) else None
            if not isinstance(key, str):
                raise r.fail(f"{path}[{i}]", "a tag must be an object with a key")
            out.append(Tag(key=key, value=str(t.get("value", t.get("Value", "")))))
        return tuple(out)
    raise r.fail(path, f"tags must be an object or a list, got {type(raw).__name__}")


def _upper(value: Any) -> Any:
    """Config's lower-camel-case IAM keys in GAAD's spelling (`roleName` → `RoleName`), documents kept."""
    if isinstance(value, list):
        return [_upper(v) for v in value]
    if not isinstance(value, Mapping):
        return value
    out = {}
    for k, v in value.items():
        key = k[:1].upper() + k[1:]
        out[key] = v if key in ("AssumeRolePolicyDocument", "PolicyDocument", "Document") else _upper(v)
    return out


def parse_config(
    data: Any, *, source: str, check_document: DocumentCheck | None = None
) -> list[AccountExport]:
    """The accounts of one file of configuration items; raises `IngestError` naming the JSON path."""
    r = ExportReader(source, check_document)
    if not is_config_items(data):
        raise r.fail("$", "not AWS Config configuration items")
    resources: dict[str, list[Resource]] = {}
    gaad: dict[str, dict[str, list[Any]]] = {}
    where: dict[str, str] = {}
    for path, item in _items(data, r):
        if not isinstance(item, Mapping):
            raise r.fail(path, f"a configuration item must be an object, got {type(item).__name__}")
        kind = r.req(item, "resourceType", path)
        if item.get("configurationItemStatus") in _GONE:
            continue
        account = item.get("awsAccountId", item.get("accountId"))
        if not isinstance(account, str) or not is_account_id(account):
            raise r.fail(f"{path}.awsAccountId", f"`{account}` is not a 12-digit account id")
        arn = item.get("ARN", item.get("arn"))
        if kind in _IAM_TYPES:
            config = _json(item.get("configuration"), f"{path}.configuration", r)
            if not isinstance(config, Mapping):
                raise r.fail(f"{path}.configuration", "an IAM item needs its configuration")
            gaad.setdefault(account, {k: [] for k in _IAM_TYPES.values()})[_IAM_TYPES[kind]].append(
                _upper(config)
            )
            continue
        if kind not in _POLICY_AT:
            continue
        if not isinstance(arn, str) or not arn.startswith("arn:"):
            raise r.fail(f"{path}.ARN", "missing the resource's ARN")
        if arn in where:
            raise r.fail(f"{path}.ARN", f"`{arn}` is also at {where[arn]}")
        where[arn] = path
        policy = None
        for part, keys in _POLICY_AT[kind]:
            raw, at = _dig(item.get(part), keys, f"{path}.{part}", r)
            if raw is not None:
                policy = r.document(raw, at, None)
                break
        region = item.get("awsRegion")
        name = item.get("resourceName") or item.get("resourceId")
        role = None
        if kind == "AWS::Lambda::Function":  # the execution role, `configuration.role`
            config = _json(item.get("configuration"), f"{path}.configuration", r)
            found = config.get("role") if isinstance(config, Mapping) else None
            role = found if isinstance(found, str) and is_role_arn(found) else None
        resources.setdefault(account, []).append(
            Resource(
                arn=arn,
                type=resource_type(arn),
                account=account,
                region=region if isinstance(region, str) and region != "global" else None,
                name=name if isinstance(name, str) else None,
                tags=_tags(item.get("tags"), f"{path}.tags", r),
                policy=policy,
                source=source,
                role=role,
            )
        )
    out = []
    for account in sorted(set(resources) | set(gaad)):
        export = AccountExport(account_id=account, source=source, format="aws-config", parts=frozenset())
        iam = gaad.get(account)
        if iam:
            export = parse_gaad(iam, source=source, check_document=check_document)
            if export.account_id != account:
                raise IngestError(
                    f"IAM items of account `{account}` name account `{export.account_id}`", source=source
                )
        mine = resources.get(account, [])
        out.append(
            AccountExport(
                **{
                    **export.__dict__,
                    "resources": tuple(mine),
                    "parts": frozenset({RESOURCES_PART} | ({IAM_PART} if iam else set())),
                    "format": "aws-config",
                    "locations": {**export.locations, **{x.arn: where[x.arn] for x in mine}},
                }
            )
        )
    return out
