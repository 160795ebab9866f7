"""The organization folder of an iam-collect store (`organizations/<org id>/`) → `Organization`.

`metadata.json` names the organization (`id`), its root (`rootOu`) and management account (`rootAccountId`)
and which policy types are enabled (`features`); `ous.json` maps each root and OU id to its `parent` and the
ARNs of the `scps` and `rcps` attached to it, `accounts.json` each account id to its `ou` and its `scps` and
`rcps`; `ous/<id>/metadata.json` holds an OU's `name`; `scps/<id>/` and `rcps/<id>/` a policy's
`metadata.json` (`arn`, `name`, `description`, `awsManaged`) and `policy.json` (its document).

The folder is turned into the Organizations description `graphiam.ingest.organizations` reads (the same
checks), each policy attached where the files say. When SCPs are not enabled in the organization
(`features.SERVICE_CONTROL_POLICY` false) none apply: the organization is loaded without SCPs standing in the
way (an allow-everything stand-in at every level, with a warning).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from graphiam.errors import IngestError
from graphiam.ingest.gaad import read_json_file
from graphiam.ingest.organizations import RCP_TYPE, SCP_TYPE, parse_organization
from graphiam.ingest.reader import DocumentCheck, ExportReader
from graphiam.model import Organization

_ALLOW_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def _object(path: Path, counter: list[int]) -> Mapping[str, Any]:
    counter[0] += 1
    data = read_json_file(path)
    if not isinstance(data, Mapping):
        raise IngestError(f"expected a JSON object, got {type(data).__name__}", source=str(path))
    return data


def _policies(
    folder: Path, kind: str, counter: list[int], check_document: DocumentCheck | None
) -> dict[str, dict[str, Any]]:
    """The policies of `scps/` or `rcps/`, by ARN, in the Organizations description's shape."""
    out: dict[str, dict[str, Any]] = {}
    if not folder.is_dir():
        return out
    for d in sorted(p for p in folder.iterdir() if p.is_dir()):
        meta_path = d / "metadata.json"
        if not meta_path.is_file():
            raise IngestError("policy folder without metadata.json", source=str(d))
        meta = _object(meta_path, counter)
        arn = meta.get("arn")
        if not isinstance(arn, str) or "/" not in arn:
            raise IngestError("metadata has no policy `arn`", source=str(meta_path))
        doc_path = d / "policy.json"
        if not doc_path.is_file():
            raise IngestError("policy folder without policy.json", source=str(d))
        counter[0] += 1
        content = ExportReader(str(doc_path), check_document).document(read_json_file(doc_path), "$", None)
        out[arn] = {
            "Id": arn.rsplit("/", 1)[-1],
            "Name": meta.get("name") if isinstance(meta.get("name"), str) else arn.rsplit("/", 1)[-1],
            "Description": meta.get("description") if isinstance(meta.get("description"), str) else None,
            "AwsManaged": bool(meta.get("awsManaged", False)),
            "Type": kind,
            "Content": content,
            "Targets": [],
        }
    return out


def read_organization_dir(folder: Path, check_document: DocumentCheck | None) -> tuple[Organization, int]:
    """Read one organization folder; returns it and the number of files read."""
    counter = [0]
    meta_path = folder / "metadata.json"
    if not meta_path.is_file():
        raise IngestError("organization folder without metadata.json", source=str(folder))
    meta = _object(meta_path, counter)
    org_id, root = meta.get("id"), meta.get("rootOu")
    if not isinstance(org_id, str) or not isinstance(root, str):
        raise IngestError("metadata needs the organization `id` and its `rootOu`", source=str(meta_path))
    raw_features = meta.get("features")
    features: Mapping[str, Any] = raw_features if isinstance(raw_features, Mapping) else {}
    ous_path, accounts_path = folder / "ous.json", folder / "accounts.json"
    ous = _object(ous_path, counter) if ous_path.is_file() else {root: {}}
    accounts = _object(accounts_path, counter) if accounts_path.is_file() else {}
    scps = _policies(folder / "scps", SCP_TYPE, counter, check_document)
    rcps = _policies(folder / "rcps", RCP_TYPE, counter, check_document)
    warnings: list[str] = []
    scps_enabled = bool(features.get(SCP_TYPE, True))
    if not scps_enabled:
        stand_in = {
            "Id": "p-graphiam-no-scps",
            "Name": "SCPs not enabled (stand-in allowing everything)",
            "Type": SCP_TYPE,
            "Content": json.dumps(_ALLOW_ALL),
            "Targets": [],
        }
        scps = {"": stand_in}
        warnings.append(
            f"{meta_path}: SCPs are not enabled in organization `{org_id}`: none limit its accounts "
            "(loaded as an allow-everything stand-in at every level)"
        )
    by_arn = {**scps, **rcps}

    def attach(unit: str, entry: Mapping[str, Any], where: Path) -> None:
        if not scps_enabled:
            scps[""]["Targets"].append(unit)
        for key in ("scps", "rcps"):
            arns = entry.get(key) or []
            if not isinstance(arns, list):
                raise IngestError(f"`{unit}`.{key} must be a list of policy ARNs", source=str(where))
            for arn in arns:
                policy = by_arn.get(arn) if isinstance(arn, str) else None
                if policy is None:
                    raise IngestError(
                        f"`{unit}` names {key[:-1].upper()} `{arn}`, which is not in {key}/",
                        source=str(where),
                    )
                policy["Targets"].append(unit)

    roots, units, members = [], [], []
    for uid, entry in ous.items():
        if not isinstance(entry, Mapping):
            raise IngestError(f"`{uid}` must map to an object", source=str(ous_path))
        name_path = folder / "ous" / uid.lower() / "metadata.json"
        name = _object(name_path, counter).get("name") if name_path.is_file() else None
        parent = entry.get("parent")
        if uid == root or parent is None:
            roots.append({"Id": uid, "Name": name})
        else:
            units.append({"Id": uid, "Name": name, "ParentId": parent})
        attach(uid, entry, ous_path)
    for aid, entry in accounts.items():
        if not isinstance(entry, Mapping):
            raise IngestError(f"`{aid}` must map to an object", source=str(accounts_path))
        members.append({"Id": aid, "ParentId": entry.get("ou")})
        attach(aid, entry, accounts_path)
    description = {
        "Organization": {"Id": org_id, "MasterAccountId": meta.get("rootAccountId")},
        "Roots": roots,
        "OrganizationalUnits": units,
        "Accounts": members,
        "Policies": list(scps.values()) + list(rcps.values()),
    }
    org = parse_organization(description, source=str(folder), check_document=None)
    return Organization(**{**org.__dict__, "warnings": tuple(warnings) + org.warnings}), counter[0]
