"""An AWS Organizations description (the tree, its service and resource control policies) → `Organization`.

GAAD carries no SCPs, so graphiam reads them from a small JSON file assembled from the Organizations API
(the key names are the API's):

    {"Organization": {"Id": "o-…", "MasterAccountId": "111111111111"},
     "Roots": [{"Id": "r-…", "Name": "Root"}],
     "OrganizationalUnits": [{"Id": "ou-…", "Name": "Prod", "ParentId": "r-…"}],
     "Accounts": [{"Id": "222222222222", "Name": "prod", "ParentId": "ou-…"}],
     "Policies": [{"Id": "p-FullAWSAccess", "Name": "FullAWSAccess", "AwsManaged": true,
                   "Content": {…} or "…JSON text…", "Targets": ["r-…", "ou-…", "222222222222"]}]}

Organization comes from describe-organization, Roots from list-roots, OrganizationalUnits from
list-organizational-units-for-parent, Accounts from list-accounts (or list-accounts-for-parent), Policies from
describe-policy and their Targets from list-targets-for-policy. `Type` on a policy (describe-policy's
`PolicySummary.Type`) says what it is: SERVICE_CONTROL_POLICY (the default when absent) or
RESOURCE_CONTROL_POLICY (an RCP, attached along the same tree); other policy types are skipped with a warning.
Every problem raises `IngestError` with the JSON path; nothing touches the database here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from graphiam.ingest.reader import DocumentCheck, ExportReader
from graphiam.model import Organization, OrgUnit, ResourceControlPolicy, ServiceControlPolicy

_ACCOUNT = re.compile(r"^\d{12}$")
_ROOT = re.compile(r"^r-[0-9a-z]{4,32}$")
_OU = re.compile(r"^ou-[0-9a-z]{4,32}-[0-9a-z]{8,32}$")
_ORG = re.compile(r"^o-[a-z0-9]{10,32}$")
SCP_TYPE = "SERVICE_CONTROL_POLICY"
RCP_TYPE = "RESOURCE_CONTROL_POLICY"


def is_organization(data: Any) -> bool:
    """A JSON value that looks like an Organizations description rather than a GAAD export."""
    return isinstance(data, Mapping) and ("Roots" in data or "Organization" in data)


def parse_organization(
    data: Any, *, source: str = "<organization>", check_document: DocumentCheck | None = None
) -> Organization:
    r = ExportReader(source, check_document)
    if not isinstance(data, Mapping):
        raise r.fail("$", "an organization description must be a JSON object")
    org = r.req(data, "Organization", "$", Mapping)
    org_id = r.req(org, "Id", "$.Organization")
    if not _ORG.match(org_id):
        raise r.fail("$.Organization.Id", f"`{org_id}` is not an organization id (o-…)")
    management = r.opt(org, "MasterAccountId", "$.Organization") or r.opt(
        org, "ManagementAccountId", "$.Organization"
    )
    if management is not None and not _ACCOUNT.match(management):
        raise r.fail("$.Organization.MasterAccountId", f"`{management}` is not a 12-digit account id")

    units: dict[str, OrgUnit] = {}
    where: dict[str, str] = {}
    for key, kind, pattern, what in (
        ("Roots", "root", _ROOT, "a root id (r-…)"),
        ("OrganizationalUnits", "ou", _OU, "an OU id (ou-…-…)"),
        ("Accounts", "account", _ACCOUNT, "a 12-digit account id"),
    ):
        entries = r.req(data, key, "$", list) if key == "Roots" else r.opt_list(data, key, "$")
        for i, e in enumerate(entries):
            path = f"$.{key}[{i}]"
            uid = r.req(e, "Id", path)
            if not pattern.match(uid):
                raise r.fail(f"{path}.Id", f"`{uid}` is not {what}")
            if uid in units:
                raise r.fail(f"{path}.Id", f"`{uid}` is also at {where[uid]}")
            parent = None if kind == "root" else r.req(e, "ParentId", path)
            units[uid] = OrgUnit(id=uid, kind=kind, name=r.opt(e, "Name", path), parent_id=parent)
            where[uid] = path
    if not any(u.kind == "root" for u in units.values()):
        raise r.fail("$.Roots", "an organization has a root")
    for uid, u in units.items():
        if u.parent_id is None:
            continue
        parent = units.get(u.parent_id)
        if parent is None or parent.kind == "account":
            raise r.fail(f"{where[uid]}.ParentId", f"`{u.parent_id}` is not a root or OU of this file")
        seen = {uid}
        up: OrgUnit | None = parent
        while up is not None:  # a parent chain must end at a root
            if up.id in seen:
                raise r.fail(f"{where[uid]}.ParentId", f"the parents of `{uid}` form a loop")
            seen.add(up.id)
            up = units.get(up.parent_id) if up.parent_id else None
    if management is not None and management not in units:
        raise r.fail(
            "$.Organization.MasterAccountId", f"management account `{management}` is not in $.Accounts"
        )

    policies: list[ServiceControlPolicy] = []
    rcps: list[ResourceControlPolicy] = []
    warnings: list[str] = []
    for i, p in enumerate(r.req(data, "Policies", "$", list)):
        path = f"$.Policies[{i}]"
        pid = r.req(p, "Id", path)
        kind = r.opt(p, "Type", path)
        if kind is not None and kind not in (SCP_TYPE, RCP_TYPE):
            warnings.append(f"{source}: {path} is a {kind}, not an SCP or RCP: skipped")
            continue
        if "Content" not in p:
            raise r.fail(f"{path}.Content", "missing required key")
        targets = []
        for j, t in enumerate(r.opt_list(p, "Targets", path)):
            # the list-targets-for-policy shape, or plain ids
            tid = t.get("TargetId") if isinstance(t, Mapping) else t
            if not isinstance(tid, str) or tid not in units:
                raise r.fail(f"{path}.Targets[{j}]", f"`{tid}` is not a root, OU or account of this file")
            targets.append(tid)
        made = (ResourceControlPolicy if kind == RCP_TYPE else ServiceControlPolicy)(
            id=pid,
            name=r.opt(p, "Name", path) or pid,
            document=r.document(p["Content"], f"{path}.Content", None),
            targets=tuple(dict.fromkeys(targets)),
            description=r.opt(p, "Description", path),
            aws_managed=bool(r.opt(p, "AwsManaged", path, bool, False)),
        )
        if isinstance(made, ResourceControlPolicy):
            rcps.append(made)
        else:
            policies.append(made)
    covered = {t for p in policies for t in p.targets}
    for uid, u in units.items():
        if uid not in covered and uid != management:
            warnings.append(
                f"{source}: {where[uid]} ({u.kind} `{uid}`) has no SCP attached: AWS keeps at least one "
                "on every root, OU and account, so every action below it is denied"
            )
    ids = [p.id for p in (*policies, *rcps)]
    if len(set(ids)) != len(ids):
        dup = next(x for x in ids if ids.count(x) > 1)
        raise r.fail("$.Policies", f"policy id `{dup}` appears twice")
    return Organization(
        id=org_id,
        management_account=management,
        source=source,
        units=tuple(units.values()),
        policies=tuple(policies),
        rcps=tuple(rcps),
        warnings=tuple(warnings),
    )
