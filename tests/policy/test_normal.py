"""Statements in normal form: what is not a change of meaning compares equal, what is does not."""

from __future__ import annotations

import json
from urllib.parse import quote

from graphiam.policy.normal import display_form, normalised_statements, statement_digest, statements_of


def _doc(*statements):
    return {"Version": "2012-10-17", "Statement": list(statements)}


def test_key_order_lists_of_one_and_statement_order_are_not_changes():
    a = _doc(
        {"Sid": "A", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::x/*"},
        {"Effect": "Deny", "Action": ["ec2:RunInstances", "ec2:StopInstances"], "Resource": "*"},
    )
    b = {
        "Statement": [
            {"Resource": ["*"], "Action": ["ec2:StopInstances", "ec2:RunInstances"], "Effect": "Deny"},
            {"Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::x/*"], "Effect": "Allow", "Sid": "A"},
        ],
        "Version": "2012-10-17",
    }
    assert list(normalised_statements(a)) == list(normalised_statements(b))
    assert list(normalised_statements(json.dumps(a))) == list(normalised_statements(b))  # text, object alike
    assert list(normalised_statements(quote(json.dumps(a)))) == list(normalised_statements(b))  # URL-encoded


def test_a_lone_statement_object_is_a_list_of_one():
    st = {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}
    assert normalised_statements({"Version": "2012-10-17", "Statement": st}) == normalised_statements(
        _doc(st)
    )


def test_equivalent_spellings_compare_equal():
    base = {"Effect": "Allow", "Action": "sts:AssumeRole"}
    assert statement_digest({**base, "Principal": "*"}) == statement_digest(
        {**base, "Principal": {"AWS": "*"}}
    )
    assert statement_digest({**base, "Action": "STS:assumerole"}) == statement_digest(
        base
    )  # actions: no case
    bool_ = {**base, "Condition": {"Bool": {"aws:MultiFactorAuthPresent": True}}}
    text = {**base, "Condition": {"Bool": {"AWS:MultiFactorAuthPresent": ["true"]}}}
    assert statement_digest(bool_) == statement_digest(text)  # keys: no case; true == "true"


def test_changes_of_meaning_are_changes():
    base = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::x/*"}
    assert statement_digest(base) != statement_digest({**base, "Effect": "Deny"})
    assert statement_digest(base) != statement_digest({**base, "Resource": "arn:aws:s3:::X/*"})  # ARNs: case
    assert statement_digest(base) != statement_digest({**base, "Action": ["s3:GetObject", "s3:PutObject"]})
    assert statement_digest(base) != statement_digest({**base, "Sid": "Named"})
    assert statement_digest(base) != statement_digest(
        {**{k: v for k, v in base.items() if k != "Action"}, "NotAction": "s3:GetObject"}
    )


def test_display_form_keeps_spelling_and_sorts_lists():
    st = {"Effect": "Allow", "Action": ["s3:PutObject", "S3:GetObject"], "Resource": "*"}
    assert display_form(st) == {
        "Action": ["S3:GetObject", "s3:PutObject"],
        "Effect": "Allow",
        "Resource": ["*"],
    }


def test_documents_that_are_not_policies_have_no_statements():
    assert statements_of(None) == (None, [])
    assert statements_of("not json") == (None, [])
    assert statements_of(_doc({"Effect": "Allow", "Action": "*", "Resource": "*"}))[0] == "2012-10-17"
