"""Shortcuts of the self-escalation derivation give exactly the edges of the derivation without them.

- `DeriveOptions.share_blind`: an admin probe is evaluated once for every principal of an account and type
  when the statements taking part read nothing of the principal (no Principal, no policy variable, no
  condition on a key the principal defines). Traps: a condition on `aws:PrincipalTag/…` or `aws:username`,
  `${aws:username}` in a Resource, a boundary, a Deny that only one of two otherwise equal principals has.
- `DeriveOptions.prefilter`: no self-escalation without an identity Allow for each required action, and a
  policy version that leaves the stored principal refused a probe leaves it refused after joining a group that
  says nothing about that probe (`_refused_as_stored`).
The oracle is the same derivation with both turned off, on hand-made traps and generated organisations.
"""

from __future__ import annotations

import collections
import json
from typing import Any

import pytest

from graphiam.derive.escalation import decide
from graphiam.derive.escalation import run as R
from graphiam.derive.escalation.derive import derive
from graphiam.derive.escalation.edges import DeriveOptions
from graphiam.graph.snapshot import build_snapshot
from graphiam.queries import escalation_paths as Q
from tests.helpers import (
    ACCT,
    allow,
    arn,
    cm,
    deny,
    doc,
    export,
    generated_exports,
    group,
    managed_policy,
    role,
    user,
    write,
)

TEAM = {"StringEquals": {"aws:PrincipalTag/team": "admins"}}
ALICE = {"StringEquals": {"aws:username": "alice"}}
JOIN = allow("iam:AddUserToGroup", arn("group", "*"))
VERSION = allow("iam:CreatePolicyVersion", cm("*"))
BOUNDARY = cm("ops-only")


def _traps() -> dict[str, Any]:
    everything = managed_policy(cm("everything"), doc(allow("*")))
    by_tag = managed_policy(cm("by-tag"), doc(allow("*", Condition=TEAM)))
    by_name = managed_policy(cm("by-name"), doc(allow("*", Condition=ALICE)))
    own = managed_policy(cm("own"), doc(allow("*", arn("user", "${aws:username}"))))
    ops = managed_policy(cm("ops"), doc(VERSION, JOIN))
    ops_only = managed_policy(BOUNDARY, doc(allow(["iam:CreatePolicyVersion", "iam:AddUserToGroup", "s3:*"])))
    users = [
        # equal policies, different tags / names: the conditions tell them apart
        user("alice", managed=(cm("by-tag"), cm("by-name"), cm("own")), tags={"team": "admins"}),
        user("bob", managed=(cm("by-tag"), cm("by-name"), cm("own")), tags={"team": "dev"}),
        # equal policies, a Deny on one only
        user("carol", JOIN, managed=(cm("ops"),)),
        user("dave", JOIN, deny("s3:GetObject"), managed=(cm("ops"),)),
        # equal policies, a boundary on one only (it refuses most probes however the policy version reads)
        user("erin", managed=(cm("ops"),)),
        user("frank", managed=(cm("ops"),), boundary=BOUNDARY),
        user("grace", managed=(cm("ops"),), boundary=BOUNDARY, groups=("kms-users",)),
    ]
    groups = (
        group("by-tag", managed=(cm("by-tag"),)),
        group("by-name", managed=(cm("by-name"),)),
        group("kms-users", allow("kms:*")),
        group("readers", allow("s3:Get*")),
        group("everything", managed=(cm("everything"),)),
    )
    return export(*users, groups=groups, policies=(everything, by_tag, by_name, own, ops, ops_only))


def _rows(db: Any, options: DeriveOptions) -> collections.Counter[str]:
    snap = build_snapshot(db)
    out = derive(snap, R.graph_facts(db, snap), options=options)
    return collections.Counter(
        [
            *(json.dumps(e.row(), sort_keys=True) for e in out.edges),
            *(
                json.dumps([f.source, f.technique, f.targets.id, [u.as_json() for u in f.uses]])
                for f in out.fans
            ),
        ]
    )


def _both(db: Any) -> tuple[collections.Counter[str], collections.Counter[str]]:
    return _rows(db, DeriveOptions()), _rows(db, DeriveOptions(share_blind=False, prefilter=False))


def test_traps_give_the_same_edges_with_and_without_shortcuts(make_db, tmp_path):
    db = make_db(write(tmp_path, "traps.json", _traps()))
    fast, slow = _both(db)
    assert fast == slow
    edges = {
        (json.loads(r)["from"].rsplit("/", 1)[-1], json.loads(r)["technique"]) for r in fast if '"from"' in r
    }
    direct = Q.direct_admins(build_snapshot(db))
    assert arn("user", "alice") in direct and arn("user", "bob") not in direct  # the tag and the name decide
    # carol and dave join `everything`; dave's Deny of s3:GetObject keeps him refused whatever he joins
    assert ("carol", "iam-013") in edges and ("dave", "iam-013") not in edges
    # erin makes her policy `*`; frank and grace keep a boundary that refuses the probes, whatever they join
    assert (
        ("erin", "iam-001") in edges
        and ("frank", "iam-001") not in edges
        and ("grace", "iam-001") not in edges
    )


def test_bob_is_not_given_alices_verdict_when_probed_first(make_db, tmp_path):
    """The shared probe memo never carries a verdict across principals whose conditions read them."""
    db = make_db(write(tmp_path, "traps.json", _traps()))
    snap = build_snapshot(db)
    d = decide.Decider(snap)
    alice, bob = snap.principals[arn("user", "alice")], snap.principals[arn("user", "bob")]
    assert d.admin_with(alice) is not None
    assert d.admin_with(bob) is None
    d = decide.Decider(snap)
    assert d.admin_with(bob) is None
    assert d.admin_with(alice) is not None


def test_a_trust_decision_is_shared_only_when_the_trust_names_accounts(make_db, tmp_path):
    """Users with one managed policy of blind statements share a decision on a role whose trust names their
    account and reads nothing else of them (and on none other): a trust naming alice, or the account under a
    condition on `aws:username`, lets alice, not bob, take the role over (iam-014, AttachRolePolicy then
    AssumeRole), though alice is decided first; a trust naming the account lets both."""
    both = allow(["iam:AttachRolePolicy", "sts:AssumeRole"])
    by_name = role("alice-by-name", {"AWS": f"arn:aws:iam::{ACCT}:root"})  # the account, if the name is alice
    by_name["AssumeRolePolicyDocument"]["Statement"][0]["Condition"] = ALICE
    db = make_db(
        write(
            tmp_path,
            "trusts.json",
            export(
                user("alice", managed=(cm("both"),)),
                user("bob", managed=(cm("both"),)),
                policies=(managed_policy(cm("both"), doc(both)),),
                roles=(
                    role("alice-only", {"AWS": arn("user", "alice")}),
                    role("whole-account", {"AWS": f"arn:aws:iam::{ACCT}:root"}),
                    by_name,
                ),
            ),
        )
    )
    fast, slow = _both(db)
    assert fast == slow
    reached = {
        (json.loads(r)["from"].rsplit("/", 1)[-1], json.loads(r)["to"].rsplit("/", 1)[-1])
        for r in fast
        if '"from"' in r and json.loads(r)["technique"] == "iam-014"
    }
    assert reached == {
        ("alice", "alice-only"),
        ("alice", "alice-by-name"),
        ("alice", "whole-account"),
        ("bob", "whole-account"),
    }


@pytest.mark.parametrize("n,seed", [(150, 3), (120, 5), (160, 11)])
def test_generated_orgs_give_the_same_edges_with_and_without_shortcuts(make_db, tmp_path, n, seed):
    fast, slow = _both(make_db(*generated_exports(tmp_path, n, seed)))
    assert sum(fast.values()) > 100
    assert fast == slow
