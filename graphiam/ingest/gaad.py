"""`aws iam get-account-authorization-details` (GAAD) JSON → `AccountExport`.

Required keys fail loudly with the JSON path (`d["Arn"]`); optional ones may be absent or null, but a value of
the wrong type (an entry that is not an object, a `Path` that is a number) fails the same way. Policy
documents may be JSON objects or (as the raw API returns them) URL-encoded JSON strings; both become canonical
JSON strings. Nothing here touches the database: a file either parses completely or raises `IngestError`.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

from graphiam.arn import parse_arn
from graphiam.errors import IngestError
from graphiam.ingest.limits import export_warnings
from graphiam.ingest.reader import DocumentCheck, ExportReader
from graphiam.model import (
    AWS_MANAGED,
    CUSTOMER_MANAGED,
    AccountExport,
    Group,
    InstanceProfile,
    ManagedPolicy,
    PolicyVersion,
    Role,
    User,
)

_TOP_KEYS = ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies")


def _account_of(arn: str) -> str:
    return parse_arn(arn).account


def parse_gaad(
    data: Any, *, source: str = "<export>", check_document: DocumentCheck | None = None
) -> AccountExport:
    """Turn one parsed GAAD JSON value into an `AccountExport`; raises `IngestError` naming the JSON path."""
    r = ExportReader(source, check_document)
    if not isinstance(data, dict):
        raise r.fail(
            "$", f"not a get-account-authorization-details export: top level is {type(data).__name__}"
        )
    if not any(k in data for k in _TOP_KEYS):
        raise r.fail(
            "$",
            "not a get-account-authorization-details export: none of " + ", ".join(_TOP_KEYS) + " is present",
        )
    users: list[User] = []
    groups: list[Group] = []
    roles: list[Role] = []
    policies: list[ManagedPolicy] = []
    profiles: dict[str, InstanceProfile] = {}
    accounts: dict[str, int] = {}  # users, groups and roles per account: which account the file is for
    locations: dict[str, str] = {}  # every ARN the file defines -> the JSON path of its `Arn`

    def note_account(arn: str, path: str) -> str:
        acct = _account_of(arn)
        accounts[acct] = accounts.get(acct, 0) + 1
        locations[arn] = f"{path}.Arn"
        return acct

    for i, u in enumerate(r.opt_list(data, "UserDetailList", "$")):
        p = f"$.UserDetailList[{i}]"
        arn = r.unique(r.arn(u, "Arn", p, "user"), f"{p}.Arn")
        acct = note_account(arn, p)
        users.append(
            User(
                arn=arn,
                name=r.req(u, "UserName", p),
                account=acct,
                user_id=r.opt(u, "UserId", p),
                path=r.opt(u, "Path", p, default="/"),
                create_date=r.opt(u, "CreateDate", p),
                group_names=tuple(str(g) for g in r.opt_list(u, "GroupList", p)),
                attached_policy_arns=r.attached(u, p),
                inline_policies=r.inline(u, "UserPolicyList", p, arn),
                boundary_arn=r.boundary(u, p),
                tags=r.tags(u, p),
                password_last_used=r.opt(u, "PasswordLastUsed", p),
            )
        )
    for i, g in enumerate(r.opt_list(data, "GroupDetailList", "$")):
        p = f"$.GroupDetailList[{i}]"
        arn = r.unique(r.arn(g, "Arn", p, "group"), f"{p}.Arn")
        groups.append(
            Group(
                arn=arn,
                name=r.req(g, "GroupName", p),
                account=note_account(arn, p),
                group_id=r.opt(g, "GroupId", p),
                path=r.opt(g, "Path", p, default="/"),
                create_date=r.opt(g, "CreateDate", p),
                attached_policy_arns=r.attached(g, p),
                inline_policies=r.inline(g, "GroupPolicyList", p, arn),
            )
        )
    for i, ro in enumerate(r.opt_list(data, "RoleDetailList", "$")):
        p = f"$.RoleDetailList[{i}]"
        arn = r.unique(r.arn(ro, "Arn", p, "role"), f"{p}.Arn")
        trust = ro.get("AssumeRolePolicyDocument")
        last_used = r.opt(r.opt(ro, "RoleLastUsed", p, dict, {}), "LastUsedDate", f"{p}.RoleLastUsed")
        roles.append(
            Role(
                arn=arn,
                name=r.req(ro, "RoleName", p),
                account=note_account(arn, p),
                role_id=r.opt(ro, "RoleId", p),
                path=r.opt(ro, "Path", p, default="/"),
                create_date=r.opt(ro, "CreateDate", p),
                description=r.opt(ro, "Description", p),
                max_session_duration=r.opt(ro, "MaxSessionDuration", p, int),
                trust_policy=r.document(trust, f"{p}.AssumeRolePolicyDocument", "trust")
                if trust is not None
                else None,
                attached_policy_arns=r.attached(ro, p),
                inline_policies=r.inline(ro, "RolePolicyList", p, arn),
                boundary_arn=r.boundary(ro, p),
                tags=r.tags(ro, p),
                last_used=last_used,
            )
        )
        for j, ip in enumerate(r.opt_list(ro, "InstanceProfileList", p)):
            ipp = f"{p}.InstanceProfileList[{j}]"
            ip_arn = r.arn(ip, "Arn", ipp, "instance-profile")
            role_arns = [
                r.arn(x, "Arn", f"{ipp}.Roles[{k}]", "role")
                for k, x in enumerate(r.opt_list(ip, "Roles", ipp))
            ]
            locations.setdefault(ip_arn, f"{ipp}.Arn")
            prev = profiles.get(ip_arn)
            merged = tuple(dict.fromkeys((prev.role_arns if prev else ()) + tuple(role_arns) + (arn,)))
            profiles[ip_arn] = InstanceProfile(
                arn=ip_arn,
                name=r.req(ip, "InstanceProfileName", ipp),
                account=_account_of(ip_arn),
                profile_id=r.opt(ip, "InstanceProfileId", ipp),
                path=r.opt(ip, "Path", ipp, default="/"),
                create_date=r.opt(ip, "CreateDate", ipp),
                role_arns=merged,
            )
    for i, pol in enumerate(r.opt_list(data, "Policies", "$")):
        p = f"$.Policies[{i}]"
        arn = r.unique(r.arn(pol, "Arn", p, "policy"), f"{p}.Arn")
        owner = _account_of(arn)
        locations[arn] = f"{p}.Arn"
        versions = []
        for j, v in enumerate(r.opt_list(pol, "PolicyVersionList", p)):
            vp = f"{p}.PolicyVersionList[{j}]"
            version_id = r.req(v, "VersionId", vp)
            r.unique(f"{arn} version {version_id}", f"{vp}.VersionId")
            if "Document" not in v:
                raise r.fail(f"{vp}.Document", "missing required key")
            versions.append(
                PolicyVersion(
                    version_id=version_id,
                    is_default=bool(v.get("IsDefaultVersion", False)),
                    document=r.document(v["Document"], f"{vp}.Document"),
                    create_date=r.opt(v, "CreateDate", vp),
                )
            )
        default_id = pol.get("DefaultVersionId")
        defaults = [v for v in versions if v.is_default]
        if not defaults and default_id:
            versions = [
                PolicyVersion(
                    version_id=v.version_id,
                    is_default=v.version_id == default_id,
                    document=v.document,
                    create_date=v.create_date,
                )
                for v in versions
            ]
            defaults = [v for v in versions if v.is_default]
        if len(defaults) != 1:
            raise r.fail(
                f"{p}.PolicyVersionList", f"policy `{arn}` has {len(defaults)} default versions, expected 1"
            )
        policies.append(
            ManagedPolicy(
                arn=arn,
                name=r.req(pol, "PolicyName", p),
                kind=AWS_MANAGED if owner == "aws" else CUSTOMER_MANAGED,
                account="aws" if owner == "aws" else "",
                policy_id=r.opt(pol, "PolicyId", p),
                path=r.opt(pol, "Path", p, default="/"),
                default_version_id=defaults[0].version_id,
                versions=tuple(versions),
                attachment_count=r.opt(pol, "AttachmentCount", p, int),
                boundary_usage_count=r.opt(pol, "PermissionsBoundaryUsageCount", p, int),
                is_attachable=bool(pol.get("IsAttachable", True)),
                description=r.opt(pol, "Description", p),
                create_date=r.opt(pol, "CreateDate", p),
                update_date=r.opt(pol, "UpdateDate", p),
            )
        )
    if not accounts:
        for pol in policies:
            if pol.kind == CUSTOMER_MANAGED:
                accounts[_account_of(pol.arn)] = accounts.get(_account_of(pol.arn), 0) + 1
    if not accounts:
        raise r.fail(
            "$",
            "cannot tell which account the export is for: it has no users, groups, roles "
            "or customer-managed policies",
        )
    # One file is one account: the account most of its ARNs name. Real exports (Cloudsplaining's samples)
    # carry a few ARNs of other accounts; they keep their own ARN and load with this file's account.
    account = max(sorted(accounts), key=lambda a: accounts[a])
    warnings = _foreign_arns(source, account, locations)
    if data.get("IsTruncated") is True or data.get("NextToken") or data.get("Marker"):
        warnings += (
            f"{source}: the export is one page of a truncated answer (IsTruncated/NextToken/Marker): "
            "what later pages hold is missing; export without --max-items (the CLI then pages for you)",
        )
    export = _resolve(
        AccountExport(
            account_id=account,
            source=source,
            users=tuple(users),
            groups=tuple(groups),
            roles=tuple(roles),
            policies=tuple(_own(p, account) for p in policies),
            instance_profiles=tuple(profiles.values()),
            warnings=warnings,
            locations=locations,
        ),
        r,
    )
    beyond = export_warnings(export)  # IAM would not have let these be made: loaded, with a warning
    return (
        AccountExport(**{**export.__dict__, "warnings": export.warnings + tuple(beyond)})
        if beyond
        else export
    )


_KINDS = {  # ARN resource type -> (one, several)
    "user": ("user", "users"),
    "group": ("group", "groups"),
    "role": ("role", "roles"),
    "policy": ("policy", "policies"),
    "instance-profile": ("instance profile", "instance profiles"),
}


def _foreign_arns(source: str, account: str, locations: dict[str, str]) -> tuple[str, ...]:
    """One warning per other account the file's ARNs name, counting every ARN it defines, by kind."""
    counts: dict[str, dict[str, int]] = {}
    for arn in locations:
        parsed = parse_arn(arn)
        if parsed.account in (account, "aws"):
            continue
        kind = parsed.resource.split("/", 1)[0]
        per_kind = counts.setdefault(parsed.account, {})
        per_kind[kind] = per_kind.get(kind, 0) + 1
    out = []
    for other, per_kind in sorted(counts.items()):
        n = sum(per_kind.values())
        what = ", ".join(f"{per_kind[k]} {_KINDS[k][per_kind[k] != 1]}" for k in _KINDS if k in per_kind)
        out.append(
            f"{source}: {n} ARN{'s' if n != 1 else ''} ({what}) name account `{other}`, not the export's "
            f"account `{account}`: they load with this file's account"
        )
    return tuple(out)


def _own(p: ManagedPolicy, account: str) -> ManagedPolicy:
    if p.kind == AWS_MANAGED:
        return p
    return ManagedPolicy(**{**p.__dict__, "account": _account_of(p.arn)})


def _resolve(export: AccountExport, r: ExportReader) -> AccountExport:
    """Check references inside the export; add placeholders for policies it names but omits."""
    group_names = {g.name for g in export.groups}
    for i, u in enumerate(export.users):
        for name in u.group_names:
            if name not in group_names:
                raise r.fail(
                    f"$.UserDetailList[{i}].GroupList",
                    f"user `{u.name}` is in group `{name}`, which the export does not list",
                )
    known = {p.arn for p in export.policies}
    placeholders: dict[str, ManagedPolicy] = {}
    warnings = []
    for kind, entities in (("user", export.users), ("group", export.groups), ("role", export.roles)):
        for e in entities:
            refs = [(a, "attachment") for a in e.attached_policy_arns]
            boundary = getattr(e, "boundary_arn", None)
            if boundary:
                refs.append((boundary, "permissions boundary"))
            for arn, how in refs:
                if arn in known or arn in placeholders:
                    continue
                owner = _account_of(arn)
                placeholders[arn] = ManagedPolicy(
                    arn=arn,
                    name=arn.rsplit("/", 1)[-1],
                    kind=AWS_MANAGED if owner == "aws" else CUSTOMER_MANAGED,
                    account=owner,
                    missing=True,
                )
                shared = (
                    " unless another loaded account's export holds this AWS-managed policy (they are shared)"
                    if owner == "aws"
                    else ""
                )
                warnings.append(
                    f"{export.source}: {kind} `{e.arn}` names {how} `{arn}`, which the export omits: "
                    f"kept as a placeholder without a document{shared}: what it allows is unknown, and "
                    "answers that rest on it say so (isAdmin null, whoCan unknown, warnings)"
                )
    if not placeholders:
        return export
    return AccountExport(
        **{
            **export.__dict__,
            "policies": export.policies + tuple(placeholders.values()),
            "warnings": export.warnings + tuple(warnings),
        }
    )


def read_gaad_file(path: str | Path, *, check_document: DocumentCheck | None = None) -> AccountExport:
    """Read and parse one GAAD file; raises `IngestError` naming the file and the JSON path."""
    return parse_gaad(read_json_file(path), source=str(path), check_document=check_document)


def read_json_file(path: str | Path) -> Any:
    """A file's JSON value (a `.gz` file is decompressed first); `IngestError` naming the file when it cannot
    be read or is not JSON."""
    source = str(path)
    try:
        raw = Path(path).read_bytes()
        if source.lower().endswith(".gz"):
            raw = gzip.decompress(raw)
        text = raw.decode("utf-8")
    except OSError as exc:  # gzip.BadGzipFile is one
        raise IngestError(
            f"cannot read file: {getattr(exc, 'strerror', None) or exc}", source=source
        ) from None
    except (UnicodeDecodeError, EOFError):
        raise IngestError("file is not UTF-8 text (or not complete gzip)", source=source) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise IngestError(
            f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}", source=source
        ) from None
    return data
