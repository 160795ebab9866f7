"""An iam-collect file store (a directory tree, one JSON file per fact) → `AccountExport`s and an
`Organization`.

The layout, under the store's root: `aws/<partition>/accounts/<account id>/<service>/[<region>/][aws/]
[<resource type>/]<resource id>/` holds one folder per resource with `metadata.json` (its `arn`, `name`,
`id`, `path`…) beside the facts collected about it: `policy.json` (the resource-based policy), `tags.json`
(an object of tags), and for IAM `trust-policy.json`, `inline-policies.json` (`[{"PolicyName",
"PolicyDocument"}]`), `managed-policies.json` (policy ARNs), `groups.json` (a user's group ARNs),
`instance-profiles.json`, `current-policy.json` (a managed policy's default version).
`aws/<partition>/organizations/<org id>/` is read by `graphiam.ingest.iam_collect_org`. Folder names are
lower-cased and URL-encoded, so ARNs and ids come from the files, never from the paths.

An account's IAM is assembled into the shape of a GAAD export and parsed by `graphiam.ingest.gaad` (the same
checks and placeholders); its other resources become `Resource`s. Every problem raises `IngestError` naming
the file; nothing here touches the database.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from graphiam.arn import is_account_id, is_role_arn, resource_type
from graphiam.errors import IngestError
from graphiam.ingest.gaad import parse_gaad, read_json_file
from graphiam.ingest.iam_collect_org import read_organization_dir
from graphiam.ingest.reader import DocumentCheck, ExportReader
from graphiam.model import IAM_PART, RESOURCES_PART, AccountExport, Organization, Resource, Tag

Progress = Callable[[str, int, int], None]
_IAM_KINDS = ("user", "group", "role", "policy", "instance-profile")
_GAAD_PATH = re.compile(r"^\$\.(UserDetailList|GroupDetailList|RoleDetailList|Policies)\[(\d+)\](.*)$")


@dataclass(frozen=True, kw_only=True)
class CollectedStore:
    """What one iam-collect store holds."""

    root: Path
    exports: tuple[AccountExport, ...]
    organization: Organization | None
    files: int  # JSON files read


def partition_dirs(path: Path) -> list[Path] | None:
    """The partition folders (`aws/<partition>`) of an iam-collect store given as its root, its `aws` folder
    or one partition folder; None when `path` is none of these."""
    if not path.is_dir():
        return None

    def is_partition(p: Path) -> bool:
        return p.is_dir() and ((p / "accounts").is_dir() or (p / "organizations").is_dir())

    if is_partition(path):
        return [path]
    for base in (path / "aws", path):
        found = sorted(p for p in base.iterdir() if is_partition(p)) if base.is_dir() else []
        if found:
            return found
    return None


def is_iam_collect_store(path: str | os.PathLike[str]) -> bool:
    return partition_dirs(Path(path)) is not None


def read_store(
    path: str | os.PathLike[str],
    *,
    check_document: DocumentCheck | None = None,
    progress: Progress | None = None,
) -> CollectedStore:
    """Read every account and the organization of an iam-collect store."""
    root = Path(path)
    partitions = partition_dirs(root)
    if partitions is None:
        raise IngestError(
            "not an iam-collect store (no aws/<partition>/accounts or organizations)", source=str(root)
        )
    step = progress or (lambda *_: None)
    account_dirs = [
        d
        for part in partitions
        if (part / "accounts").is_dir()
        for d in sorted((part / "accounts").iterdir())
        if d.is_dir() and is_account_id(d.name)
    ]
    org_dirs = [
        d
        for part in partitions
        if (part / "organizations").is_dir()
        for d in sorted((part / "organizations").iterdir())
        if d.is_dir()
    ]
    if len(org_dirs) > 1:
        raise IngestError(
            f"one organization per load; `{org_dirs[0]}` also holds one", source=str(org_dirs[1])
        )
    exports = []
    files = 0
    for i, d in enumerate(account_dirs):
        step(f"reading account {d.name}", i, len(account_dirs))
        export, n = _read_account(d, check_document)
        files += n
        if export is not None:
            exports.append(export)
    org = None
    if org_dirs:
        org, n = read_organization_dir(org_dirs[0], check_document)
        files += n
    if not exports and org is None:
        raise IngestError("the iam-collect store holds no account and no organization", source=str(root))
    return CollectedStore(root=root, exports=tuple(exports), organization=org, files=files)


class _Files:
    """Reads the JSON files of one account folder, counting them; errors name the file."""

    def __init__(self, check_document: DocumentCheck | None) -> None:
        self.check_document = check_document
        self.count = 0

    def json(self, path: Path) -> Any:
        self.count += 1
        return read_json_file(path)

    def optional(self, folder: Path, name: str) -> Any:
        p = folder / name
        return self.json(p) if p.is_file() else None

    def document(self, folder: Path, name: str, kind: str | None) -> str | None:
        """A policy document file as canonical JSON (None: no file, or it holds null)."""
        p = folder / name
        raw = self.optional(folder, name)
        if raw is None:
            return None
        return ExportReader(str(p), self.check_document).document(raw, "$", kind)


def _tags(raw: Any, where: Path) -> tuple[Tag, ...]:
    """iam-collect's tags: an object of key → value (older files: a list of {Key, Value})."""
    if raw is None:
        return ()
    if isinstance(raw, Mapping):
        return tuple(Tag(key=str(k), value="" if v is None else str(v)) for k, v in raw.items())
    if isinstance(raw, list):
        out = []
        for t in raw:
            if not isinstance(t, Mapping) or not isinstance(t.get("Key", t.get("key")), str):
                raise IngestError("a tag must be an object with a Key", source=str(where))
            out.append(Tag(key=t.get("Key", t.get("key")), value=str(t.get("Value", t.get("value", "")))))
        return tuple(out)
    raise IngestError(f"tags must be an object, got {type(raw).__name__}", source=str(where))


def _str_list(raw: Any, where: Path) -> list[str]:
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
        raise IngestError("expected a list of ARNs", source=str(where))
    return list(raw)


def _resource_folders(account_dir: Path) -> list[Path]:
    """Every folder under the account holding a `metadata.json`, in path order."""
    out = []
    for dirpath, dirnames, filenames in os.walk(account_dir):
        dirnames.sort()
        if "metadata.json" in filenames and Path(dirpath) != account_dir:
            out.append(Path(dirpath))
    return out


def _iam_kind(arn: str) -> str | None:
    parts = arn.split(":", 5)
    if len(parts) == 6 and parts[2] == "iam":
        kind = parts[5].split("/", 1)[0]
        return kind if kind in _IAM_KINDS else None
    return None


def _read_account(
    account_dir: Path, check_document: DocumentCheck | None
) -> tuple[AccountExport | None, int]:
    """One account folder: its IAM (as a GAAD export) and its resources; None when it holds neither."""
    files = _Files(check_document)
    account = account_dir.name
    gaad: dict[str, list[dict[str, Any]]] = {
        "UserDetailList": [],
        "GroupDetailList": [],
        "RoleDetailList": [],
        "Policies": [],
    }
    where: dict[str, list[Path]] = {k: [] for k in gaad}  # the metadata.json of each entry
    profiles: dict[str, dict[str, Any]] = {}
    role_profiles: dict[str, list[str]] = {}
    resources: list[Resource] = []
    for folder in _resource_folders(account_dir):
        meta_path = folder / "metadata.json"
        meta = files.json(meta_path)
        arn = _arn_of(meta, meta_path)
        kind = _iam_kind(arn)
        tags = _tags(files.optional(folder, "tags.json"), folder / "tags.json")
        if kind is None:
            if arn.split(":", 3)[2] == "iam":
                continue  # other IAM facts (identity providers…): not resources with a policy
            resources.append(_resource(arn, meta, tags, folder, files, account))
            continue
        name = meta.get("name") if isinstance(meta.get("name"), str) else arn.rsplit("/", 1)[-1]
        common = {"Arn": arn, "Path": meta.get("path") or "/", "CreateDate": meta.get("created")}
        if kind == "instance-profile":
            roles = _str_list(meta.get("roles"), meta_path)
            profiles[arn] = {
                "Arn": arn,
                "InstanceProfileName": arn.rsplit("/", 1)[-1],  # iam-collect's `name` holds the path
                "InstanceProfileId": meta.get("id"),
                "Path": meta.get("path") or "/",
                "Roles": [{"Arn": r} for r in roles],
            }
            continue
        if kind == "policy":
            document = files.document(folder, "current-policy.json", "identity")
            if document is None:
                raise IngestError("managed policy without its current-policy.json", source=str(folder))
            version = meta.get("defaultVersionId") or "v1"
            gaad["Policies"].append(
                {
                    **common,
                    "PolicyName": name,
                    "PolicyId": meta.get("id"),
                    "DefaultVersionId": version,
                    "PermissionsBoundaryUsageCount": meta.get("permissionsBoundaryUsageCount"),
                    "IsAttachable": meta.get("isAttachable", True),
                    "Description": meta.get("description"),
                    "CreateDate": meta.get("createDate"),
                    "UpdateDate": meta.get("updateDate"),
                    "PolicyVersionList": [
                        {"VersionId": version, "IsDefaultVersion": True, "Document": document}
                    ],
                }
            )
            where["Policies"].append(meta_path)
            continue
        entry: dict[str, Any] = {
            **common,
            "AttachedManagedPolicies": [
                {"PolicyArn": a}
                for a in _str_list(
                    files.optional(folder, "managed-policies.json"), folder / "managed-policies.json"
                )
            ],
        }
        inline = _inline(files, folder)
        boundary = meta.get("permissionBoundary")
        if boundary:
            entry["PermissionsBoundary"] = {"PermissionsBoundaryArn": boundary}
        if kind == "user":
            groups = _str_list(files.optional(folder, "groups.json"), folder / "groups.json")
            entry |= {
                "UserName": name,
                "UserId": meta.get("id"),
                "GroupList": [g.rsplit("/", 1)[-1] for g in groups],
                "UserPolicyList": inline,
                "Tags": [{"Key": t.key, "Value": t.value} for t in tags],
            }
            gaad["UserDetailList"].append(entry)
            where["UserDetailList"].append(meta_path)
        elif kind == "group":
            entry |= {"GroupName": name, "GroupId": meta.get("id"), "GroupPolicyList": inline}
            entry.pop("PermissionsBoundary", None)
            gaad["GroupDetailList"].append(entry)
            where["GroupDetailList"].append(meta_path)
        else:
            trust = files.document(folder, "trust-policy.json", "trust")
            entry |= {
                "RoleName": name,
                "RoleId": meta.get("id"),
                "RolePolicyList": inline,
                "Tags": [{"Key": t.key, "Value": t.value} for t in tags],
            }
            if trust is not None:
                entry["AssumeRolePolicyDocument"] = trust
            role_profiles[arn] = _str_list(
                files.optional(folder, "instance-profiles.json"), folder / "instance-profiles.json"
            )
            gaad["RoleDetailList"].append(entry)
            where["RoleDetailList"].append(meta_path)
    for role in gaad["RoleDetailList"]:
        listed = dict.fromkeys(role_profiles.get(role["Arn"], []))
        listed |= dict.fromkeys(
            a for a, p in profiles.items() if any(r["Arn"] == role["Arn"] for r in p["Roles"])
        )
        role["InstanceProfileList"] = [
            profiles.get(a)
            or {"Arn": a, "InstanceProfileName": a.rsplit("/", 1)[-1], "Roles": [{"Arn": role["Arn"]}]}
            for a in listed
        ]
    has_iam = any(gaad[k] for k in gaad if k != "Policies") or any(
        p["Arn"].split(":")[4] != "aws" for p in gaad["Policies"]
    )
    if not has_iam and not resources:
        return None, files.count
    if has_iam:
        try:
            export = parse_gaad(gaad, source=str(account_dir), check_document=None)
        except IngestError as exc:
            raise _relocate(exc, where) from None
        if export.account_id != account:
            raise IngestError(
                f"the folder is account `{account}` but its IAM ARNs name account `{export.account_id}`",
                source=str(account_dir),
            )
        export = replace(
            export,
            locations={arn: str(_folder_of(arn, where, export.locations[arn])) for arn in export.locations},
        )
    else:
        export = AccountExport(account_id=account, source=str(account_dir))
    return _with_parts(export, resources, has_iam), files.count


def _folder_of(arn: str, where: dict[str, list[Path]], gaad_path: str) -> str:
    """The metadata.json defining `arn`, from the GAAD path parse_gaad noted (`$.RoleDetailList[3].Arn`)."""
    m = _GAAD_PATH.match(gaad_path)
    if m and int(m.group(2)) < len(where.get(m.group(1), [])):
        return str(where[m.group(1)][int(m.group(2))])
    return gaad_path


def _relocate(exc: IngestError, where: dict[str, list[Path]]) -> IngestError:
    """A parse_gaad error moved onto the metadata.json of the entry it is about."""
    m = _GAAD_PATH.match(exc.path or "")
    if m is None or int(m.group(2)) >= len(where.get(m.group(1), [])):
        return exc
    message = str(exc).split(f"{exc.path}: ", 1)[-1]
    return IngestError(
        message, source=str(where[m.group(1)][int(m.group(2))].parent), path=m.group(3) or None
    )


def _inline(files: _Files, folder: Path) -> list[dict[str, Any]]:
    """inline-policies.json: `[{"PolicyName", "PolicyDocument"}]`, documents checked and made canonical."""
    p = folder / "inline-policies.json"
    raw = files.optional(folder, "inline-policies.json")
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise IngestError(f"expected a list of inline policies, got {type(raw).__name__}", source=str(p))
    r = ExportReader(str(p), files.check_document)
    out = []
    for i, e in enumerate(raw):
        name = r.req(e, "PolicyName", f"$[{i}]")
        if "PolicyDocument" not in e:
            raise r.fail(f"$[{i}].PolicyDocument", "missing required key")
        out.append(
            {"PolicyName": name, "PolicyDocument": r.document(e["PolicyDocument"], f"$[{i}].PolicyDocument")}
        )
    return out


def _resource(
    arn: str, meta: Mapping[str, Any], tags: tuple[Tag, ...], folder: Path, files: _Files, account: str
) -> Resource:
    parts = arn.split(":", 5)
    region = parts[3] if len(parts) == 6 and parts[3] else meta.get("region")
    name = meta.get("name")
    if not isinstance(name, str) or not name:
        name = parts[-1].split("/")[-1].split(":")[-1]
    return Resource(
        arn=arn,
        type=resource_type(arn),
        account=account,
        region=region if isinstance(region, str) else None,
        name=name,
        tags=tags,
        policy=files.document(folder, "policy.json", None),
        source=str(folder),
        role=_role(meta),
    )


def _role(meta: Mapping[str, Any]) -> str | None:
    """The execution role iam-collect records in a Lambda function's metadata (`role`), if a role ARN."""
    role = meta.get("role")
    return role if isinstance(role, str) and is_role_arn(role) else None


def _arn_of(meta: Any, where: Path) -> str:
    if not isinstance(meta, Mapping):
        raise IngestError(f"metadata must be a JSON object, got {type(meta).__name__}", source=str(where))
    arn = meta.get("arn")
    if not isinstance(arn, str) or not arn.startswith("arn:"):
        raise IngestError("metadata has no `arn`", source=str(where))
    return arn


def _with_parts(export: AccountExport, resources: list[Resource], iam: bool) -> AccountExport:
    parts = frozenset({RESOURCES_PART} | ({IAM_PART} if iam else set()))
    locations = {**export.locations, **{r.arn: str(r.source) for r in resources}}
    return replace(export, resources=tuple(resources), parts=parts, format="iam-collect", locations=locations)
