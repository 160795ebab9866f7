"""IpAddress / NotIpAddress with IPv6 (IAM User Guide "IAM JSON policy elements: Condition operators", IP
address condition operators: the values are IPv4 or IPv6 CIDR blocks). An address matches a block of its own
family only: an IPv4 request never falls in an IPv6 block nor the reverse; the written form of an IPv6 address
does not matter (case, zeros compressed or not). NotIpAddress is the negation, and like every negated operator
it holds when the key is absent.

Every case is decided twice (the `decide` fixture): by the policy engine's public API and by GraphQL
simulateCustom."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers import allow, deny, doc

ACTION, RESOURCE = "s3:GetObject", "arn:aws:s3:::b/k"
CORPORATE = ["203.0.113.0/24", "2001:db8::/32"]  # one IPv4 and one IPv6 block

# (CIDR values, request aws:SourceIp, in one of the blocks)
CASES = [
    ("::1/128", "::1", True),
    ("::1/128", "0:0:0:0:0:0:0:1", True),  # the same address written out
    ("::1/128", "::2", False),
    ("::1/128", "127.0.0.1", False),  # IPv4 loopback is not IPv6 loopback
    ("2001:db8::/32", "2001:db8::1", True),
    ("2001:db8::/32", "2001:DB8:0:0:1::5", True),  # hex digits in either case
    ("2001:db8::/32", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", True),  # last address of the block
    ("2001:db8::/32", "2001:db9::1", False),  # the next /32
    ("2001:db8::/32", "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", False),  # the address before the block
    ("2001:db8::/32", "10.0.0.1", False),  # an IPv4 request against an IPv6 block
    ("2001:db8::/32", "32.1.13.184", False),  # IPv4 whose bits equal the block's first 32
    ("::/0", "2001:db8::1", True),  # every IPv6 address
    ("::/0", "10.0.0.1", False),  # … but no IPv4 one
    ("10.0.0.0/8", "2001:db8::1", False),  # an IPv6 request against an IPv4 block
    ("0.0.0.0/0", "::1", False),
    ("2001:db8:a::/48", "2001:db8:a:1::1", True),
    ("2001:db8:a::/48", "2001:db8:b::1", False),
    (CORPORATE, "2001:db8::42", True),  # any value of the condition may match
    (CORPORATE, "203.0.113.9", True),
    (CORPORATE, "198.51.100.1", False),
    (CORPORATE, "2001:db80::1", False),
]
IDS = [f"{'+'.join(c) if isinstance(c, list) else c}~{ip}" for c, ip, _ in CASES]


def source_ip(operator: str, cidrs: Any) -> dict[str, Any]:
    return {operator: {"aws:SourceIp": cidrs}}


@pytest.mark.parametrize(("cidrs", "ip", "inside"), CASES, ids=IDS)
def test_ip_address_allows_only_from_inside_the_block(decide, cidrs, ip, inside):
    policy = doc(allow(ACTION, Condition=source_ip("IpAddress", cidrs)))
    got = decide([policy], ACTION, RESOURCE, context={"aws:SourceIp": ip})
    assert got["decision"] == ("ALLOWED" if inside else "IMPLICIT_DENY")


@pytest.mark.parametrize(("cidrs", "ip", "inside"), CASES, ids=IDS)
def test_not_ip_address_allows_only_from_outside_the_block(decide, cidrs, ip, inside):
    policy = doc(allow(ACTION, Condition=source_ip("NotIpAddress", cidrs)))
    got = decide([policy], ACTION, RESOURCE, context={"aws:SourceIp": ip})
    assert got["decision"] == ("IMPLICIT_DENY" if inside else "ALLOWED")


@pytest.mark.parametrize(("cidrs", "ip", "inside"), CASES, ids=IDS)
def test_a_deny_outside_the_block_leaves_only_the_block(decide, cidrs, ip, inside):
    # the usual guard: allow everything, deny every request that does not come from the given networks
    policy = doc(allow("*"), deny("*", Condition=source_ip("NotIpAddress", cidrs)))
    got = decide([policy], ACTION, RESOURCE, context={"aws:SourceIp": ip})
    assert got["decision"] == ("ALLOWED" if inside else "EXPLICIT_DENY")
    assert got["matched"] == ([("policies[0]", 0, "Allow")] if inside else [("policies[0]", 1, "Deny")])


@pytest.mark.parametrize(
    ("operator", "decision"),
    [("IpAddress", "IMPLICIT_DENY"), ("NotIpAddress", "ALLOWED"), ("IpAddressIfExists", "ALLOWED")],
)
def test_an_absent_source_ip(decide, operator, decision):
    policy = doc(allow(ACTION, Condition=source_ip(operator, "2001:db8::/32")))
    assert decide([policy], ACTION, RESOURCE)["decision"] == decision


@pytest.mark.parametrize(("ip", "decision"), [("2001:db8::5", "EXPLICIT_DENY"), ("2001:db9::5", "ALLOWED")])
def test_an_ipv6_deny_in_another_policy_wins(decide, ip, decision):
    blocked = doc(deny("s3:*", Condition=source_ip("IpAddress", "2001:db8::/32")))
    got = decide([doc(allow("*")), blocked], ACTION, RESOURCE, context={"aws:SourceIp": ip})
    assert got["decision"] == decision
