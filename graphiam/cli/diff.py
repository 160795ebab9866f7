"""`graphiam diff OLD NEW` and `graphiam diff --since PREVIOUS|ID`: what changed between two states of the
graph, in meaning as well as in text (`graphiam.queries.drift`).

A side is a graphiam database (its state now), an input file `graphiam load` reads (.json, .csv), or a
directory of them (with `--old FILE`/`--new FILE`, repeatable, naming the files of a side one by one); input
files are loaded into a temporary database, all or nothing, and thrown away. `--since REF` compares import
REF of `--db` (an id, PREVIOUS: the one before the newest, LATEST) with the database now.

Exit status: 0 clean (nothing changed, or nothing the gates name), 1 changes (any, or with `--fail-on` /
`--fail-on-severity` those they name), 2 a usage or input error (one line on stderr).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from graphiam import service
from graphiam.changes.load import load_files, seed_files
from graphiam.cli.common import ProgressBar, db_arg, db_path
from graphiam.cli.load import LOAD_BUFFER_POOL_MB
from graphiam.errors import GraphiamError, InputError
from graphiam.queries import history
from graphiam.queries.drift import (
    CATEGORIES,
    SEVERITIES,
    Drift,
    Side,
    as_json,
    check_severity,
    compare,
    failing,
    parse_categories,
)
from graphiam.queries.drift_formats import PER_CATEGORY, sarif, text_lines
from graphiam.queries.summary import DEFAULT_SENSITIVE, SensitiveSpec, Summary, read_sensitive

INPUT_SUFFIXES = (".json", ".csv")


def _files_side(
    files: Sequence[Path], name: str, args: argparse.Namespace, specs: Sequence[SensitiveSpec], reuse: Any
) -> tuple[Summary, Side]:
    for f in files:
        if not f.is_file():
            raise InputError(f"{f}: no such file")
    big = sum(f.stat().st_size for f in files) > (1 << 20)
    bar = ProgressBar(enabled=sys.stderr.isatty() or big or args.progress)
    with tempfile.TemporaryDirectory(prefix="graphiam-diff-") as tmp:
        db = service.open_database(Path(tmp) / "db", buffer_pool_mb=args.buffer_pool_mb, engine=args.engine)
        try:
            load_files(db, list(files), progress=bar, reuse=reuse)
            summary, _ = history.current_summary(db, sensitive=specs)
        finally:
            db.close()
    return summary, Side(kind="files", name=name)


def _database_side(
    path: Path, args: argparse.Namespace, specs: Sequence[SensitiveSpec]
) -> tuple[Summary, Side]:
    db = service.open_database(path, read_only=True, engine=args.engine)
    try:
        summary, imp = history.current_summary(db, sensitive=specs)
    finally:
        db.close()
    return summary, Side(
        kind="database", name=str(path), import_id=imp.id if imp else None, at=imp.at if imp else None
    )


def _side(
    path: str | None,
    files: Sequence[str] | None,
    which: str,
    args: argparse.Namespace,
    specs: Sequence[SensitiveSpec],
    reuse: Any = None,
) -> tuple[Summary, Side]:
    if files:
        if path is not None:
            raise InputError(f"name the {which} side once: as {which.upper()} or with --{which} FILE")
        return _files_side([Path(f) for f in files], ", ".join(files), args, specs, reuse)
    if path is None:
        raise InputError(f"no {which} side: give OLD and NEW, --{which} FILE, or --since PREVIOUS|ID")
    p = Path(path)
    if p.is_dir():
        found = seed_files(p)
        found = [f for f in found if f.suffix.lower() in INPUT_SUFFIXES]
        if not found:
            raise InputError(f"{p}: a directory without input files (.json, .csv)")
        return _files_side(found, str(p), args, specs, reuse)
    if p.suffix.lower() in INPUT_SUFFIXES:
        return _files_side([p], str(p), args, specs, reuse)
    if not p.exists():
        raise InputError(f"{p}: no such database, input file or directory")
    return _database_side(p, args, specs)


def _since(args: argparse.Namespace, specs: Sequence[SensitiveSpec]) -> Drift:
    db = service.open_database(db_path(args, must_exist=True), read_only=True, engine=args.engine)
    try:
        return history.changes_since(db, args.since, sensitive=specs)
    finally:
        db.close()


def drift_of(args: argparse.Namespace) -> Drift:
    specs = read_sensitive(args.sensitive_actions) if args.sensitive_actions else DEFAULT_SENSITIVE
    if args.since is not None:
        if args.old or args.new or args.old_files or args.new_files:
            raise InputError("--since compares an import with the database now: give no OLD or NEW")
        return _since(args, specs)
    old, old_side = _side(args.old, args.old_files, "old", args, specs)
    new, new_side = _side(args.new, args.new_files, "new", args, specs, reuse=old)
    return compare(old, new, old_side=old_side, new_side=new_side)


def _write(text: str, output: str | None) -> None:
    if output is None:
        sys.stdout.write(text)
        return
    try:
        Path(output).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{output}: cannot write: {exc}") from None


def cmd_diff(args: argparse.Namespace) -> int:
    try:
        categories = parse_categories(args.fail_on or ())
        severity = check_severity(args.fail_on_severity) if args.fail_on_severity else None
        drift = drift_of(args)
        if args.json:
            _write(json.dumps(as_json(drift), indent=2) + "\n", args.output)
        elif args.sarif:
            _write(json.dumps(sarif(drift), indent=2) + "\n", args.output)
        else:
            text = text_lines(drift, details=not args.brief, per_category=args.limit)
            _write("\n".join(text) + "\n", args.output)
    except GraphiamError as exc:
        print(f"graphiam: error: {exc}", file=sys.stderr)
        return 2
    if categories or severity:
        hits = failing(drift.items, categories=categories, severity=severity)
        if hits:
            gate = ", ".join([*categories, *([f"severity {severity} or more"] if severity else [])])
            print(f"graphiam: {len(hits)} change(s) match the gate ({gate})", file=sys.stderr)
        return 1 if hits else 0
    return 0 if drift.clean else 1


def add(sub: Any) -> None:
    dp = sub.add_parser(
        "diff",
        help="what changed between two imports: entities, administrators, escalation paths, assume-role "
        "edges, external and public access, findings, sensitive actions",
        description="Compare two states of the graph. A side is a graphiam database, an input file or a "
        "directory of input files; --since compares a recorded import with the database now. Exit status: "
        "0 clean, 1 changes (or, with --fail-on/--fail-on-severity, changes they name), 2 usage or input "
        "error.",
    )
    dp.add_argument("old", nargs="?", help="database, input file or directory of input files")
    dp.add_argument("new", nargs="?", help="database, input file or directory of input files")
    dp.add_argument(
        "--old", dest="old_files", action="append", metavar="FILE", help="an input file of the old side"
    )
    dp.add_argument(
        "--new", dest="new_files", action="append", metavar="FILE", help="an input file of the new side"
    )
    dp.add_argument(
        "--since",
        metavar="PREVIOUS|ID",
        help="compare import ID of --db (PREVIOUS: the one before the newest; LATEST) with the database now",
    )
    out = dp.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="JSON (schema/diff.schema.json)")
    out.add_argument("--sarif", action="store_true", help="SARIF 2.1.0, for code-scanning tools")
    dp.add_argument("-o", "--output", metavar="FILE", help="write the report here instead of stdout")
    dp.add_argument("--brief", action="store_true", help="text: one line per change, without the details")
    dp.add_argument(
        "--limit",
        type=int,
        default=PER_CATEGORY,
        metavar="N",
        help=f"text: at most N changes of a category (default {PER_CATEGORY}; 0: all)",
    )
    dp.add_argument(
        "--fail-on",
        action="append",
        metavar="CATEGORY[,...]",
        help="exit 1 only when a change of these categories is found: "
        + ", ".join(c.name for c in CATEGORIES),
    )
    dp.add_argument(
        "--fail-on-severity",
        metavar="LEVEL",
        help=f"exit 1 only when a change of this severity or more is found ({', '.join(SEVERITIES)})",
    )
    dp.add_argument(
        "--sensitive-actions",
        metavar="FILE",
        help="the sensitive actions to compare (JSON or YAML list of action patterns or "
        "{action, access-levels}); default: IAM and S3 writes, sts:AssumeRole, kms:Decrypt on `*`",
    )
    dp.add_argument("--buffer-pool-mb", type=int, default=LOAD_BUFFER_POOL_MB, help="for loading input files")
    dp.add_argument("--progress", action="store_true", help="always draw the progress bar while loading")
    db_arg(dp)
    dp.set_defaults(func=cmd_diff)
