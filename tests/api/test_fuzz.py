"""schemathesis against the live server: every Query and Mutation field, a bounded, seeded number of cases
each.

The server is the real one (`graphiam serve`, demo org, an admin token so mutations run, dry or not). Each
operation gets `EXAMPLES` positive cases (valid queries; string arguments drawn mostly from the stored ARNs
and names, accounts, actions and context keys, sizes (`maxDepth`, `first`, `limit`) from values in and out of
range, JSON arguments from policy- and export-shaped documents, well-formed or broken one way: wrong
types, missing or unknown keys, nesting past the limit, oversize strings, cut JSON text) and `NEGATIVE`
invalid ones; derandomized, so
every run sends the same cases (`GRAPHIAM_FUZZ_EXAMPLES=100` explores further, locally: it takes minutes).
A case fails when the answer is a 5xx, is not a GraphQL response, breaks the published schema (null in a
non-null field), carries an error the server had to mask (`extensions.code == "INTERNAL"`: an unexpected
exception; its traceback is in the server log under the error id, printed with the query), or ran into the
per-query time limit (`TIMEOUT`: on the demo org every answer takes well under a second, so a timeout means an
argument that should have been refused cheaply; the worker thread keeps computing after the answer, so the
rest of the run stops).
schemathesis' own `not_a_server_error` check is not used: it counts every resolver error with a `path` as a
server fault, and graphiam answers wrong input (unknown ARN, bad policy) exactly so, with a readable message.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from graphql import NameNode, ObjectFieldNode
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.core.failures import Failure
from schemathesis.graphql import nodes

from tests.helpers import SEEDS, free_port

EXAMPLES = int(
    os.environ.get("GRAPHIAM_FUZZ_EXAMPLES", "15")
)  # positive cases per operation (raise it locally)
NEGATIVE = 3  # invalid cases per operation (refused by validation; checks the refusal path does not crash)
ACCOUNTS = ["111111111111", "222222222222", "333333333333", "*", ""]
ACTIONS = [
    "s3:GetObject",
    "iam:CreateUser",
    "iam:PassRole",
    "sts:AssumeRole",
    "iam:*",
    "*",
    "s3:Get*",
    "ec2:RunInstances",
    "lambda:CreateFunction",
    "iam:AttachUserPolicy",
    "nosuch:Thing",
    "sts:",
    ":",
]
RESOURCES = [
    "*",
    "arn:aws:s3:::demo-bucket/*",
    "arn:aws:s3:::demo-bucket",
    "arn:aws:iam::111111111111:role/*",
    "arn:aws:ec2:us-east-1:111111111111:instance/i-1",
    "not-an-arn",
    "arn:aws:iam::*:user/${aws:username}",
]
PRINCIPAL_EXTRA = [
    "ec2.amazonaws.com",
    "lambda.amazonaws.com",
    "arn:aws:iam::999999999999:root",
    "*",
    "arn:aws:iam::111111111111:user/nobody",
    "arn:aws:iam::111111111111:role/",
    "arn:aws:iam:::",
    "arn:aws:sts::111111111111:assumed-role/x/y",
]
CONTEXT_KEYS = [
    "aws:username",
    "aws:PrincipalTag/team",
    "aws:SourceIp",
    "aws:MultiFactorAuthPresent",
    "aws:CurrentTime",
    "sts:ExternalId",
    "iam:PassedToService",
    "s3:prefix",
    "aws:RequestTag/env",
    "nokey",
]


def _serve(db: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    """`graphiam serve` with its log in a file (a PIPE nobody reads would stall a chatty server)."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "graphiam.cli",
            "serve",
            "--port",
            str(port),
            "--db",
            str(db),
            "--log-level",
            "warning",
        ],
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        assert proc.poll() is None, log.read_text()
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.2)


def _stored_names(url: str, headers: dict[str, str]) -> dict[str, list[str]]:
    """ARNs and names of the demo org, so generated arguments hit stored things, not only random strings."""
    fields = " ".join(
        f"{k}(first: 100) {{ edges {{ node {{ arn name }} }} }}"
        for k in ("users", "groups", "roles", "policies")
    )
    q = f"{{ {fields} }}"
    data = httpx.post(url, json={"query": q}, headers=headers, timeout=30).json()["data"]
    found = {k: [e["node"] for e in data[k]["edges"]] for k in ("users", "groups", "roles", "policies")}
    principals = sorted(n["arn"] for k in ("users", "roles") for n in found[k])
    others = sorted(n["arn"] for k in ("groups", "policies") for n in found[k])
    return {
        "principals": principals + PRINCIPAL_EXTRA,
        "arns": principals + others + PRINCIPAL_EXTRA[2:],
        "names": sorted({n["name"] for k in found for n in found[k]}) + ["", "x" * 200, "a/b", "Ünïcode"],
    }


def _config(names: dict[str, list[str]]) -> Any:
    """Dictionaries bound to the arguments that name things or bound sizes (schemathesis substitutes them with
    probability p), so that most cases get past input validation to the engine."""
    dictionaries = {
        **{k: {"values": v} for k, v in names.items()},
        "accounts": {"values": ACCOUNTS},
        "actions": {"values": ACTIONS},
        "resources": {"values": RESOURCES + names["arns"]},
        "versions": {"values": ["v1", "v2", "v9", "x"]},
        "keys": {"values": CONTEXT_KEYS},
        "depths": {"values": [1, 2, 3, 5, 10, 0, -1, 11, 1000, 2**31 - 1]},
        "pages": {"values": [0, 1, 2, 10, 100, 101, -1, 10**6, 2**31 - 1]},
    }
    bind = {
        "principals": ["principal", "from", "to", "caller", "requests[*].principal"],
        "arns": [
            "arn",
            "resourceOwner",
            "permissionsBoundary",
            "input.arn",
            "input.policyArn",
            "input.targetArn",
            "input.userArn",
            "input.groupArn",
            "input.roleArn",
            "input.permissionsBoundary",
        ],
        "names": ["name", "input.name", "input.policyName", "pathPrefix"],
        "accounts": ["account", "input.account"],
        "actions": ["action", "actions[*]", "requests[*].action"],
        "resources": ["resource", "resources[*]", "requests[*].resource"],
        "versions": ["input.versionId"],
        "keys": ["context[*].key", "requests[*].context[*].key"],
        "depths": ["maxDepth"],
        "pages": ["first", "limit"],
    }
    parameters = {
        f"*.*.{arg}": {"dictionary": d, "probability": 0.7} for d, args in bind.items() for arg in args
    }
    return schemathesis.config.SchemathesisConfig.from_dict(
        {"dictionaries": dictionaries, "parameters": parameters}
    )


# JSON arguments: policy documents (as objects where every key is a GraphQL name, else as JSON text, which the
# engine accepts too), exports derived from the partner account's, and arbitrary JSON values.
_text = st.text(max_size=12)
_condition = st.dictionaries(
    st.sampled_from(
        [
            "StringEquals",
            "StringLike",
            "ArnLike",
            "Bool",
            "IpAddress",
            "ForAnyValue:StringEquals",
            "NumericLessThan",
            "Null",
            "Bogus",
        ]
    ),
    st.dictionaries(
        st.sampled_from(
            [
                "aws:username",
                "aws:PrincipalTag/team",
                "sts:ExternalId",
                "aws:SourceIp",
                "aws:MultiFactorAuthPresent",
                "x",
            ]
        ),
        st.one_of(_text, st.lists(_text, max_size=3), st.booleans()),
        max_size=2,
    ),
    max_size=2,
)
_statement = st.fixed_dictionaries(
    {"Effect": st.sampled_from(["Allow", "Deny", "allow", ""])},
    optional={
        "Sid": _text,
        "Action": st.one_of(st.sampled_from(ACTIONS), st.lists(st.sampled_from(ACTIONS), max_size=3)),
        "NotAction": st.sampled_from(ACTIONS),
        "Resource": st.one_of(st.sampled_from(RESOURCES), st.lists(st.sampled_from(RESOURCES), max_size=3)),
        "NotResource": st.sampled_from(RESOURCES),
        "Principal": st.one_of(
            st.just("*"),
            st.fixed_dictionaries({"AWS": st.sampled_from(PRINCIPAL_EXTRA)}),
            st.fixed_dictionaries({"Service": st.sampled_from(PRINCIPAL_EXTRA[:2])}),
        ),
        "Condition": _condition,
    },
)
_policy = st.fixed_dictionaries(
    {
        "Version": st.sampled_from(["2012-10-17", "2008-10-17", "2020-01-01"]),
        "Statement": st.one_of(_statement, st.lists(_statement, max_size=3)),
    },
    optional={"Id": _text},
)
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | _text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
    max_leaves=8,
)


_PARTNER = (SEEDS / "partner-account.json").read_text()


@st.composite
def _export(draw: st.DrawFn) -> dict[str, Any]:
    """The partner account's export with one part dropped or replaced (a list, an entry, a field)."""
    doc: dict[str, Any] = json.loads(_PARTNER)
    key = draw(st.sampled_from(sorted(doc)))
    how = draw(st.sampled_from(["field", "entry", "list", "drop"]))
    if how == "drop":
        del doc[key]
    elif how == "list":
        doc[key] = draw(_json)
    elif how in ("entry", "field") and doc[key]:
        i = draw(st.integers(0, len(doc[key]) - 1))
        if how == "entry":
            doc[key][i] = draw(_json)
        else:
            doc[key][i][draw(st.sampled_from(sorted(doc[key][i])))] = draw(
                st.one_of(st.none(), _json, _policy)
            )
    return doc


def _is_name(key: str) -> bool:
    return key.isidentifier() and key.isascii()


def _node(value: Any) -> Any:
    """A Python JSON value as a GraphQL literal; an object with a key that is not a GraphQL name becomes JSON
    text."""
    if value is None:
        return nodes.Null
    if isinstance(value, bool):
        return nodes.Boolean(value)
    if isinstance(value, int):
        return nodes.Int(value)
    if isinstance(value, float):
        return nodes.Float(value)
    if isinstance(value, str):
        return nodes.String(value)
    if isinstance(value, list):
        return nodes.List([_node(v) for v in value])
    if all(_is_name(k) for k in value):
        return nodes.Object(
            [ObjectFieldNode(name=NameNode(value=k), value=_node(v)) for k, v in value.items()]
        )
    return nodes.String(json.dumps(value))


# Broken policy documents: a policy that is wrong in one way, as a client might send by mistake or on purpose:
# a field of the wrong type, a required one missing, an unknown key, nesting past the limit (64), strings past
# AWS's sizes, JSON text cut short or with a key twice.
_WRONG = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["", " ", "\x00", "Allow\n", "*" * 3]),
    st.lists(st.one_of(st.integers(), st.none()), max_size=2),
    st.dictionaries(_text, _text, max_size=2),
)
BROKEN_KINDS = ("type", "missing", "key", "deep", "deep-text", "long", "cut", "twice", "shape")


def _deep(depth: int, leaf: Any) -> Any:
    """`leaf` inside `depth` levels of alternating lists and objects (built without recursion)."""
    value = leaf
    for i in range(depth):
        value = [value] if i % 2 else {"a": value}
    return value


@st.composite
def _broken_policy(draw: st.DrawFn, kind: str | None = None) -> Any:
    """A policy document broken one way (`kind`, else one drawn from BROKEN_KINDS): a dict, or JSON text."""
    doc: dict[str, Any] = draw(_policy)
    statements = doc["Statement"] if isinstance(doc["Statement"], list) else [doc["Statement"]]
    if not statements:
        statements = doc["Statement"] = [{"Effect": "Allow", "Action": "*", "Resource": "*"}]
    statement = statements[0]
    kind = kind or draw(st.sampled_from(BROKEN_KINDS))
    if kind == "type":
        where = draw(
            st.sampled_from(
                ["Version", "Statement", "Effect", "Action", "Resource", "Principal", "Condition", "Sid"]
            )
        )
        (doc if where in ("Version", "Statement") else statement)[where] = draw(_WRONG)
    elif kind == "missing":
        where = draw(st.sampled_from(["Statement", "Effect"]))
        if where == "Statement":
            del doc["Statement"]
        else:
            for st_ in statements:
                st_.pop("Effect", None)
    elif kind == "key":
        (doc if draw(st.booleans()) else statement)[
            draw(st.sampled_from(["Statment", "effect", "", "$x", "a b"]))
        ] = "x"
    elif kind == "deep":  # as an object (a GraphQL literal or JSON text) past the 64-level limit
        statement["Condition"] = {
            "StringEquals": {"aws:username": _deep(draw(st.sampled_from([63, 65, 100])), "x")}
        }
    elif kind == "deep-text":  # deeper than a Python recursion limit: only ever as text
        depth = draw(st.sampled_from([500, 5_000, 50_000]))
        return '{"Version":"2012-10-17","Statement":' + "[" * depth + "]" * depth + "}"
    elif kind == "long":  # AWS allows 2,048 to 10,240 characters per policy (whitespace not counted)
        size = draw(st.sampled_from([2_049, 10_241, 200_000]))
        statement["Action"] = ["s3:" + "A" * size]
    elif kind == "cut":
        text = json.dumps(doc)
        return text[: draw(st.integers(0, len(text) - 1))]
    elif kind == "twice":
        return '{"Version":"2012-10-17","Version":"2008-10-17",' + json.dumps(doc)[1:]
    elif kind == "shape":
        return draw(st.sampled_from([[doc], "Allow", 17, None, [], {}]))
    return doc


_document = st.one_of(_export(), _policy, _broken_policy(), _json)
JSON_SCALAR = st.one_of(_document.map(_node), _document.map(json.dumps).map(nodes.String))


def _problems(schema: Any, case: Any, response: Any) -> list[str]:
    """What is wrong with one answer (empty: fine)."""
    if response.status_code >= 500:
        return [f"HTTP {response.status_code}: {response.text[:300]}"]
    try:
        schema.validate_response(
            case.operation, response, case=case
        )  # JSON object; no null in a non-null field
    except Failure as failure:
        return [f"{type(failure).__name__}: {failure.message}"]
    if response.status_code != 200:
        return []
    out = []
    for error in response.json().get("errors") or ():
        code = (error.get("extensions") or {}).get("code")
        if code == "INTERNAL":
            error_id = error["extensions"].get("errorId")
            out.append(f"INTERNAL error id {error_id} at {error.get('path')}: {error['message']}")
        elif (
            code == "TIMEOUT"
        ):  # not refused cheaply: the server worked until its time limit (and may still be)
            out.append(f"TIMEOUT at {error.get('path')}: {error['message']}")
    return out


def _fuzz(schema: Any, operation: Any, headers: dict[str, str], found: list[str], seen: Counter[str]) -> None:
    for mode, examples in ((GenerationMode.POSITIVE, EXAMPLES), (GenerationMode.NEGATIVE, NEGATIVE)):
        _fuzz_mode(schema, operation, headers, found, seen, mode, examples)


def _fuzz_mode(
    schema: Any,
    operation: Any,
    headers: dict[str, str],
    found: list[str],
    seen: Counter[str],
    mode: GenerationMode,
    examples: int,
) -> None:

    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        if any("TIMEOUT" in f for f in found):  # the server is busy with a runaway query: the rest is noise
            return
        response = case.call(headers=headers, timeout=60)
        seen[f"{mode.value} {response.status_code}"] += 1
        try:
            body = response.json()
        except ValueError:
            body = None
        for error in (body.get("errors") or ()) if isinstance(body, dict) else ():
            seen[str((error.get("extensions") or {}).get("code", "no code"))] += 1
        for problem in _problems(schema, case, response):
            found.append(f"{operation.label} ({mode.value}): {problem}\n    query: {case.body}")

    run()


def test_schemathesis_finds_no_server_error_in_any_operation(tmp_path):
    db, log = tmp_path / "db", tmp_path / "server.log"
    made = subprocess.run(
        [
            sys.executable,
            "-m",
            "graphiam.cli",
            "token",
            "create",
            "--role",
            "admin",
            "--name",
            "fuzz",
            "--db",
            str(db),
        ],
        env=os.environ,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert made.returncode == 0, made.stderr
    headers = {"Authorization": f"Bearer {made.stdout.split()[0]}"}
    port = free_port()
    url = f"http://127.0.0.1:{port}/graphql"
    proc = _serve(db, port, log)  # an empty database: the demo organisation is loaded
    try:
        schemathesis.graphql.scalar("JSON", JSON_SCALAR)
        schema = schemathesis.graphql.from_url(
            url, config=_config(_stored_names(url, headers)), headers=headers, timeout=30
        )
        operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
        labels = {op.label for op in operations}
        assert {"Query.simulate", "Query.whoCan", "Mutation.putUserPolicy", "Mutation.applyChanges"} <= labels
        found: list[str] = []
        seen: Counter[str] = Counter()
        # queries first: mutations (committed ones too) change the graph the later cases see
        for operation in sorted(operations, key=lambda op: (op.label.startswith("Mutation"), op.label)):
            _fuzz(schema, operation, headers, found, seen)
        print(f"{len(operations)} operations; answers: {dict(sorted(seen.items()))}")
        assert proc.poll() is None, "the server died"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:  # a worker thread still busy with a query: do not leave it running
            proc.kill()
            proc.wait(timeout=30)
    server_log = log.read_text()
    assert not found, "\n".join(found) + "\n--- server log ---\n" + server_log[-20000:]
    assert seen["positive 200"] >= EXAMPLES * len(operations) // 2, seen  # the cases reached the resolvers


@pytest.mark.parametrize("depth", [0, -1, 11, 354289])
def test_escalation_summary_refuses_a_depth_out_of_bounds(gql, depth):
    """Found by the fuzzer: `escalationSummary(maxDepth: 354289)` enumerated paths past the time limit."""
    body = gql(SEEDS / "demo-org.json").raw(
        "query($d: Int!) { escalationSummary(maxDepth: $d) { firstTechnique } }", {"d": depth}
    )
    assert body["data"] is None
    assert [e["message"] for e in body["errors"]] == [f"`maxDepth`: {depth} is not from 1 to 10"]


REFUSED_KINDS = {"missing", "deep", "deep-text", "cut", "shape"}  # no reading of these is a policy


@pytest.mark.parametrize("kind", BROKEN_KINDS)
def test_broken_policy_documents_are_answered_never_internal(gql, kind):
    """Each way of breaking a policy document, sent as JSON text (a variable nested past 64 levels is the body
    check's, tested in test_bad_bodies) to a mutation and to a query: a typed refusal or an answer, never a
    5xx or `INTERNAL`; the kinds no reading can make a policy of are refused."""
    client = gql(SEEDS / "demo-org.json")
    bob = "arn:aws:iam::111111111111:user/engineering/bob"
    put = (
        'mutation($d: JSON!) { putUserPolicy(input: {arn: $a, policyName: "p", document: $d}) '
        "{ ok errors { code message } } }"
    ).replace("$a", json.dumps(bob))
    ask = (
        'query($d: JSON!) { simulate(principal: $a, action: "s3:GetObject", extraPolicies: [$d]) '
        "{ decision } }"
    ).replace("$a", json.dumps(bob))

    @settings(max_examples=6, deadline=None, derandomize=True, database=None, phases=[Phase.generate])
    @given(doc=_broken_policy(kind))
    def run(doc: Any) -> None:
        text = doc if isinstance(doc, str) else json.dumps(doc)
        body = client.raw(put, {"d": text})
        codes = [(e.get("extensions") or {}).get("code") for e in body.get("errors") or ()]
        assert "INTERNAL" not in codes, body
        answer = (body.get("data") or {}).get("putUserPolicy")
        if kind in REFUSED_KINDS:
            assert answer is not None and answer["ok"] is False, (text[:200], body)
            assert {e["code"] for e in answer["errors"]} <= {"INVALID_POLICY", "INVALID_INPUT"}, answer
        asked = client.raw(ask, {"d": text})
        codes = [(e.get("extensions") or {}).get("code") for e in asked.get("errors") or ()]
        assert "INTERNAL" not in codes, asked
        if kind in REFUSED_KINDS:
            assert asked["data"] is None and codes and set(codes) <= {"INVALID_POLICY", "INVALID_INPUT"}, (
                asked
            )

    run()
