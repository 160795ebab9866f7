"""Who outside the graph can get in: every role a principal of an account that is not loaded, a federated
identity provider or anyone (`*`) can assume, as the CAN_ASSUME derivation decided it (trust policy and, for a
loaded account, identity policies; conditions that must hold are kept with the edge).

`outside_organization` marks principals whose account is not in the stored organization (with no organization,
every external account is outside); anyone and federated providers are always outside.
"""

from __future__ import annotations

from dataclasses import dataclass

from graphiam.queries.chains import ChainHop, hop
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
