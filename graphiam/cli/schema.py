"""`graphiam export-schema`: the GraphQL SDL (what `schema/schema.graphql` holds)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def cmd_export_schema(args: argparse.Namespace) -> int:
    # strawberry loads here, not at import: it would slow the start of every command
    from graphiam.api.schema import sdl

    text = sdl()
    if args.output:
        Path(args.output).write_text(text)
    else:
        sys.stdout.write(text)
    return 0


def add(sub: Any) -> None:
    ep = sub.add_parser("export-schema", help="print the GraphQL SDL")
    ep.add_argument("-o", "--output")
    ep.set_defaults(func=cmd_export_schema)
