"""`queries.drift.compare` over summaries of two real loads (tests/helpers.drift_exports): every category,
in both directions, nothing for an import against itself, a stable order."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from graphiam.changes.load import load_files
from graphiam.queries import drift as D
from graphiam.queries import summary as S
from graphiam.store import open_database
from tests.helpers import ACCT, APP_POLICY, OUTSIDE, REORDERED, RISKY, arn, drift_exports, write

DAVE, BOB, CAROL, ALICE = (arn("user", n) for n in ("dave", "bob", "carol", "alice"))
APP, OPS, PUBLIC = (arn("role", n) for n in ("App", "Ops", "Public"))


@pytest.fixture(scope="module")
def summaries(tmp_path_factory: pytest.TempPathFactory) -> tuple[S.Summary, S.Summary]:
    tmp = tmp_path_factory.mktemp("drift")
    old, new = drift_exports()
    out = []
    for name, export in (("old.json", old), ("new.json", new)):
        db = open_database(None, buffer_pool_mb=256)
        try:
            load_files(db, [write(Path(tmp), name, export)])
            out.append(S.summarise(db))
        finally:
            db.close()
    return out[0], out[1]


def _drift(a: S.Summary, b: S.Summary) -> D.Drift:
    return D.compare(a, b, old_side=D.Side(kind="files", name="a"), new_side=D.Side(kind="files", name="b"))


def _items(drift: D.Drift, category: str, subject: str | None = None) -> list[D.Item]:
    return [i for i in drift.items if i.category == category and (subject is None or i.subject == subject)]


def test_an_import_against_itself_is_clean(summaries):
    old, new = summaries
    for s in (old, new):
        d = _drift(s, s)
        assert d.clean and d.items == [] and d.warnings == []
        assert D.as_json(d)["clean"] is True


def test_every_category_forward(summaries):
    d = _drift(*summaries)
    (admin,) = _items(d, "new-admin")
    assert admin.subject == DAVE and admin.severity == "critical" and admin.details["principalAdded"]
    assert admin.details["statements"] == ["arn:aws:iam::aws:policy/AdministratorAccess#0"]

    (public,) = _items(d, "new-public-access")
    assert public.subject == PUBLIC and public.details["principalKind"] == "everyone"

    (ext,) = _items(d, "new-external-access")
    assert ext.subject == APP and ext.severity == "high"
    assert ext.details["principal"] == f"arn:aws:iam::{OUTSIDE}:root"
    assert ext.details["outsideOrganization"] is True
    assert f"{APP}#trust#1" in ext.details["statements"]  # the statement the change added

    (esc,) = _items(d, "new-escalation")
    assert esc.subject == BOB
    assert [(s["from"], s["to"], s["technique"]) for s in esc.details["path"]] == [(BOB, OPS, "sts-001")]

    assumed = {(i.subject, tuple(i.details["principals"])) for i in _items(d, "new-assume")}
    assert (OPS, (BOB,)) in assumed
    (bob_ops,) = [i for i in _items(d, "new-assume", OPS) if i.details["principals"] == [BOB]]
    assert bob_ops.details["statements"] == [f"{BOB}#p#0", f"{OPS}#trust#0"]  # bob's new inline policy

    (sens,) = _items(d, "new-sensitive-access")
    assert sens.subject == BOB and sens.details["actions"] == ["iam:CreateAccessKey"]
    assert not _items(d, "new-sensitive-access", DAVE)  # a new administrator is reported once, as new-admin

    found = {(i.subject, i.details["riskCategory"], i.severity) for i in _items(d, "new-finding")}
    assert (RISKY, "CredentialsExposure", "high") in found
    assert (RISKY, "InfrastructureModification", "low") in found

    (policy,) = _items(d, "entity-changed", APP_POLICY)
    changes = {c["facet"]: c for c in policy.details["changes"]}
    assert changes["attributes"]["changed"] == [{"name": "defaultVersion", "before": "v1", "after": "v2"}]
    assert changes["statements"]["added"] == [
        {"Action": ["s3:PutObject"], "Effect": "Allow", "Resource": ["arn:aws:s3:::app/*"]}
    ]
    assert changes["statements"]["removed"] == [] and changes["versions"]["added"] == ["v2"]
    (trust,) = _items(d, "entity-changed", APP)
    assert [c["facet"] for c in trust.details["changes"]] == ["trust"]

    assert {i.subject for i in _items(d, "entity-removed")} == {CAROL, f"{CAROL}#p"}
    assert {i.subject for i in _items(d, "entity-added")} >= {DAVE, PUBLIC, RISKY}
    # the reordered policy (keys, statements, strings for lists of one) and its holder did not change
    changed = {i.subject for i in _items(d, "entity-changed")}
    assert REORDERED not in changed and ALICE not in changed
    assert all(i.account == ACCT for i in d.items if i.subject.startswith(f"arn:aws:iam::{ACCT}:"))


def test_every_category_backward(summaries):
    old, new = summaries
    d = _drift(new, old)
    (admin,) = _items(d, "admin-removed")
    assert admin.subject == DAVE and admin.details["principalRemoved"] and admin.severity == "info"
    assert [i.subject for i in _items(d, "public-access-removed")] == [PUBLIC]
    assert [i.subject for i in _items(d, "external-access-removed")] == [APP]
    assert [i.subject for i in _items(d, "escalation-removed")] == [BOB]
    assert [i.subject for i in _items(d, "sensitive-access-removed")] == [BOB]
    assert {i.details["riskCategory"] for i in _items(d, "finding-resolved", RISKY)} >= {
        "CredentialsExposure"
    }
    assert any(i.details["principals"] == [BOB] for i in _items(d, "assume-removed", OPS))
    assert CAROL in {i.subject for i in _items(d, "entity-added")}
    # going back only takes access away: nothing above low
    assert all(D.at_least("low", i.severity) for i in d.items), [i.title for i in d.items]


def test_order_is_most_severe_first_and_stable(summaries):
    d = _drift(*summaries)
    ranks = [D.SEVERITIES.index(i.severity) for i in d.items]
    assert ranks == sorted(ranks)
    again = _drift(*summaries)
    assert json.dumps(D.as_json(d)) == json.dumps(D.as_json(again))
    summary = D.as_json(d)["summary"]
    assert sum(r["count"] for r in summary) == len(d.items)
    assert summary[0] == {"category": "new-admin", "severity": "critical", "count": 1}


def test_gates(summaries):
    d = _drift(*summaries)
    assert [
        i.category for i in D.failing(d.items, categories=D.parse_categories("new-admin,new-escalation"))
    ] == [
        "new-admin",
        "new-escalation",
    ]
    assert D.failing(d.items, categories=["admin-removed"]) == []
    assert {i.severity for i in D.failing(d.items, severity="critical")} == {"critical"}
    with pytest.raises(Exception, match="unknown category `new-bogus`"):
        D.parse_categories(["new-admin", "new-bogus"])
    with pytest.raises(Exception, match="unknown severity"):
        D.check_severity("urgent")


def test_different_sensitive_lists_compare_what_both_decided(summaries):
    old, new = summaries
    narrowed = {**new, "sensitive": {**new["sensitive"]}}
    acts = new["sensitive"]["actions"]
    keep = [i for i, a in enumerate(acts) if a != "iam:CreateAccessKey"]
    narrowed["sensitive"] = {
        "actions": [acts[i] for i in keep],
        "allowed": {
            p: [keep.index(i) for i in v if i in keep]
            for p, v in new["sensitive"]["allowed"].items()
            if any(i in keep for i in v)
        },
        "fingerprints": new["sensitive"]["fingerprints"],
    }
    d = _drift(old, narrowed)
    assert not _items(d, "new-sensitive-access", BOB)
    assert d.warnings and "sensitive-action lists" in d.warnings[0]
