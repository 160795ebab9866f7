"""A snapshot of part of the graph: the principals of some accounts and some others named one by one, with
everything the policy engine needs of them (their policies, groups, boundaries, instance profiles), the stored
organization and the stored resources.

Deriving the facts a change to a few accounts can alter needs only the principals it can reach
(`derive.scope`): in an organisation of hundreds of accounts, reading and parsing all of them for each
re-loaded account would cost as much as loading the whole organisation again.
"""

from __future__ import annotations

from collections.abc import Iterable

from graphiam.graph.snapshot import Snapshot, SnapshotRows, assemble
from graphiam.store import Database
from graphiam.store import partial as P
from graphiam.store import reader as R
from graphiam.store.org_store import read_organization, read_rcps


def build_partial_snapshot(db: Database, *, accounts: Iterable[str], arns: Iterable[str] = ()) -> Snapshot:
    """The snapshot of the users, roles and groups of `accounts` and of the users and roles of `arns` (the
    others are not in it: a derivation over it must only ask about these)."""
    with db.read_transaction():
        generation = db.generation
        wanted = sorted(set(accounts))
        users, roles = P.principal_rows(db, accounts=wanted, arns=sorted(set(arns)))
        memberships = P.memberships(db, [u.arn for u in users])
        groups = P.groups(db, accounts=wanted, arns=sorted({g for _, g in memberships}))
        attachments = P.attachments(
            db, [*(u.arn for u in users), *(r.arn for r in roles), *(g.arn for g in groups)]
        )
        policies = {p.arn: p for p in P.policies(db, sorted({a.policy_arn for a in attachments}))}
        org_units, org_scps = read_organization(db)
        rows = SnapshotRows(
            generation=generation,
            users=users,
            roles=roles,
            groups=groups,
            policies=policies,
            attachments=attachments,
            memberships=memberships,
            profiles=P.profiles(db, [r.arn for r in roles]),
            org_units=org_units,
            org_scps=org_scps,
            org_rcps=read_rcps(db),
            resources=R.all_resources(db),
        )
    snap = assemble(rows)
    snap.complete = False
    return snap
