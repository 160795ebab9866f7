"""GraphQL `imports` and `changes(since:)`: the same content as `graphiam diff --since ID --json`."""

from __future__ import annotations

import json

import jsonschema
import pytest

from graphiam.changes.apply import Change, apply_changes
from graphiam.changes.load import load_files
from graphiam.queries.drift import as_json
from graphiam.queries.history import changes_since
from tests.helpers import ADMIN_ARN, ROOT, GraphQLClient, arn, drift_exports, write

SCHEMA = json.loads((ROOT / "schema" / "diff.schema.json").read_text())
CHANGES = """query($since: ID, $cats: [String!], $min: ChangeSeverity, $first: Int) {
  changes(since: $since) {
    since { id } until { id } clean summary { category severity count } document
    items(categories: $cats, minSeverity: $min, first: $first) {
      category severity subject account title details }
  } }"""


@pytest.fixture
def client(make_db, tmp_path) -> GraphQLClient:
    old, new = drift_exports()
    db = make_db(write(tmp_path, "old.json", old))
    load_files(db, [write(tmp_path, "new.json", new)])
    return GraphQLClient(db)


def test_imports(client):
    data = client("{ imports { id at accounts files { name bytes sha256 } counts warnings } }")
    first, second = data["imports"]
    assert (first["id"], second["id"]) == ("1", "2")
    assert first["files"][0]["name"].endswith("old.json") and len(first["files"][0]["sha256"]) == 64
    assert second["counts"]["admins"] == first["counts"]["admins"] + 1


def test_changes_is_the_diff_document(client):
    data = client(CHANGES)["changes"]  # since: PREVIOUS by default
    assert (data["since"]["id"], data["until"]["id"], data["clean"]) == ("1", "2", False)
    doc = data["document"]
    jsonschema.Draft202012Validator(SCHEMA).validate(doc)
    assert doc == json.loads(json.dumps(as_json(changes_since(client.db, "1"))))
    assert [i["title"] for i in data["items"]] == [i["title"] for i in doc["items"][:50]]
    assert data["summary"][0] == {"category": "new-admin", "severity": "CRITICAL", "count": 1}
    top = client(CHANGES, {"cats": ["new-admin", "new-escalation"]})["changes"]["items"]
    assert [(i["category"], i["subject"]) for i in top] == [
        ("new-admin", arn("user", "dave")),
        ("new-escalation", arn("user", "bob")),
    ]
    high = client(CHANGES, {"min": "HIGH", "first": 3})["changes"]["items"]
    assert len(high) == 3 and {i["severity"] for i in high} <= {"CRITICAL", "HIGH"}
    assert client(CHANGES, {"since": "LATEST"})["changes"]["clean"] is True


def test_changes_after_a_mutation_are_computed(client):
    alice = arn("user", "alice")
    assert apply_changes(
        client.db, [Change(op="attachPolicy", args={"policy_arn": ADMIN_ARN, "target_arn": alice})]
    ).ok
    data = client(CHANGES, {"since": "LATEST", "cats": ["new-admin"]})["changes"]
    assert data["until"] is None
    assert [i["subject"] for i in data["items"]] == [alice]


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"since": "7"}, "no import with id 7"),
        ({"since": "yesterday"}, "not an import id"),
        ({"cats": ["nope"]}, "unknown category `nope`"),
    ],
)
def test_bad_arguments(client, variables, message):
    body = client.raw(CHANGES, variables)
    assert message in body["errors"][0]["message"]
