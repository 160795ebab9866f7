"""Who outside the graph can get in: every role a principal of an account that is not loaded, a federated
identity provider or anyone (`*`) can assume, as the CAN_ASSUME derivation decided it (trust policy and, for a
loaded account, identity policies; conditions that must hold are kept with the edge).

`outside_organization` marks principals whose account is not in the stored organization (with no organization,
every external account is outside); anyone and federated providers are always outside.

`external_resources`: what stored resources' policies open beyond their account, one entry per (resource,
Allow statement, principal it names): another account (whole, or a principal of it), a federated provider or
canonical user, a service whose grant no `aws:SourceArn`/`aws:SourceAccount`/`aws:SourceOrgID`/
`aws:SourceOrgPaths` condition binds (anyone's resource could make it act: the confused deputy), or everyone.
`*` limited by `aws:PrincipalOrgID` (or `aws:PrincipalOrgPaths`) to the stored organization is neither public
nor external and is left out; limited to another organization it is external. `public`: everyone with no
condition limiting the caller (`graph.resources.public_statements`). `rcp_denied`: the RCPs of the resource's
account deny a caller standing for the entry every action of the statement (a few of each wildcard's, as the
catalogue expands it; `resource_grants.rcp_denied`), e.g. a public bucket under an RCP denying callers
outside the organization.
"""

from __future__ import annotations

from dataclasses import dataclass

from graphiam.arn import account_of, is_account_id, is_account_root
from graphiam.catalog import Catalog
from graphiam.graph.resources import ResourceInfo, public_statements
from graphiam.graph.snapshot import Snapshot
from graphiam.policy.document import Statement
from graphiam.queries.chains import ChainHop, HopCondition, hop
from graphiam.queries.resource_grants import of_resource, rcp_denied
from graphiam.store import Database
from graphiam.store import assume_store as S
from graphiam.store.org_store import read_organization


@dataclass(frozen=True, kw_only=True)
class ExternalAccess:
    role: str
    account: str
    principal: str
    principal_kind: str  # account | principal | role | session | federated | everyone
    principal_account: str | None
    outside_organization: bool
    hop: ChainHop


def external_access(db: Database, *, account: str | None = None) -> list[ExternalAccess]:
    """Every (external principal, role) edge, ordered by role then principal; `account` keeps that account's
    roles."""
    with db.read_transaction():
        rows = S.external_edges(db)
        units, _ = read_organization(db)
    members = {u.id for u in units if u.kind == "account"}
    out = []
    for r in rows:
        if account is not None and r["account"] != account:
            continue
        theirs = r["principal_account"]
        out.append(
            ExternalAccess(
                role=r["role"],
                account=r["account"],
                principal=r["principal"],
                principal_kind=r["kind"],
                principal_account=theirs,
                outside_organization=r["kind"] in ("everyone", "federated")
                or theirs is None
                or theirs not in members,
                hop=hop(
                    r["principal"],
                    r["role"],
                    r["action"],
                    r["statements"],
                    r["conditions"],
                    r["needs"],
                    r["trust"],
                ),
            )
        )
    return out


@dataclass(frozen=True, kw_only=True)
class ExternalResourceAccess:
    resource: str
    resource_type: str
    account: str  # the resource's
    principal: str  # account id, ARN, service or provider name, canonical user id, or `*`
    principal_kind: str  # account | principal | service | federated | canonical-user | everyone
    principal_account: str | None
    outside_organization: bool
    public: bool
    actions: tuple[str, ...]  # as the statement writes them
    conditions: tuple[HopCondition, ...]  # the statement's conditions (every one must hold)
    statement_index: int
    rcp_denied: bool


_SOURCE_BINDING = frozenset({"aws:sourcearn", "aws:sourceaccount", "aws:sourceorgid", "aws:sourceorgpaths"})
_ORG_KEYS = frozenset({"aws:principalorgid", "aws:principalorgpaths"})
RCP_ACTIONS = 5  # actions of a wildcard asked of the RCPs


def external_resources(snap: Snapshot, *, account: str | None = None) -> list[ExternalResourceAccess]:
    """Every external grant of the stored resources' policies (module docstring), by resource, statement and
    principal; `account` keeps that account's resources."""
    out: list[ExternalResourceAccess] = []
    for res in snap.resources_of(account=account):
        if res.policy is None:
            continue
        open_ = {id(st) for st in public_statements(res.policy.document)}
        for st in res.policy.document.statements:
            if st.effect != "Allow":
                continue
            for kind, value, principal_account in _external(snap, res, st):
                public = kind == "everyone" and id(st) in open_
                if kind == "everyone" and not public and _inside_org(snap, st):
                    continue
                member = snap.org_member(principal_account)
                out.append(
                    ExternalResourceAccess(
                        resource=res.arn,
                        resource_type=res.type,
                        account=res.account,
                        principal=value,
                        principal_kind=kind,
                        principal_account=principal_account,
                        outside_organization=kind != "service" and not member,
                        public=public,
                        actions=st.actions or tuple(f"NotAction {a}" for a in st.not_actions or ()),
                        conditions=_conditions(res, st),
                        statement_index=st.index,
                        rcp_denied=_rcp_denied(snap, res, st, kind, value),
                    )
                )
    return out


def _external(snap: Snapshot, res: ResourceInfo, st: Statement) -> list[tuple[str, str, str | None]]:
    """(kind, principal, its account) for each principal of `st` outside the resource's account."""
    if st.not_principals is not None:
        return [("everyone", "*", None)]
    found: dict[tuple[str, str, str | None], None] = {}
    for pkind, values in (st.principals or {}).items():
        for v in values:
            if v == "*":
                found[("everyone", "*", None)] = None
            elif pkind == "AWS" and (is_account_id(v) or is_account_root(v)):
                acct = v if is_account_id(v) else v.split(":")[4]
                if acct != res.account:
                    found[("account", acct, acct)] = None
            elif pkind == "AWS":
                theirs = account_of(v)
                if theirs != res.account:
                    found[("principal", v, theirs)] = None
            elif pkind == "Service":
                if not any(c.key_lower in _SOURCE_BINDING for c in st.compiled_conditions):
                    found[("service", v, None)] = None
            elif pkind == "Federated":
                found[("federated", v, None)] = None
            elif pkind == "CanonicalUser":
                found[("canonical-user", v, None)] = None
    return list(found)


def _inside_org(snap: Snapshot, st: Statement) -> bool:
    """Whether `st` requires the caller to be of the stored organization (aws:PrincipalOrgID/OrgPaths)."""
    if snap.organization is None:
        return False
    values = [
        v
        for c in st.compiled_conditions
        if c.key_lower in _ORG_KEYS
        and "not" not in c.operator.lower()
        and not c.operator.lower().endswith("ifexists")
        for v in c.values
    ]
    return bool(values) and all(v.split("/", 1)[0] == snap.organization for v in values)


def _conditions(res: ResourceInfo, st: Statement) -> tuple[HopCondition, ...]:
    assert res.policy is not None
    return tuple(
        HopCondition(
            key=c.key,
            operator=c.operator,
            values=tuple(c.values),
            effect="Allow",
            policy_arn=res.policy.policy_id,
            statement_index=st.index,
        )
        for c in st.compiled_conditions
    )


def _rcp_denied(snap: Snapshot, res: ResourceInfo, st: Statement, kind: str, value: str) -> bool:
    if snap.rcp_levels(res.account) is None or not st.actions:
        return False
    gov = of_resource(snap, res)
    service = res.type.split(":", 1)[0]
    catalog = Catalog.default()
    actions: list[str] = []
    for pattern in st.actions:
        if "*" not in pattern and "?" not in pattern:
            actions.append(pattern)
            continue
        actions += [a.full_name for a in catalog.expand(pattern) if a.service == service][:RCP_ACTIONS]
    return rcp_denied(snap, gov, kind=kind, value=value, actions=actions, resource=res.arn)
