"""`graphiam COMMAND`: every command is a module of `graphiam.cli` with `add(subparsers)`; `COMMANDS` lists
them."""

from __future__ import annotations

import argparse
import os
import sys

from graphiam.cli import (
    accounts,
    audit,
    diff,
    graph,
    history,
    load,
    migrate,
    paths,
    remove_account,
    report,
    schema,
    serve,
    simulate,
    snapshot,
    token,
)
from graphiam.errors import GraphiamError

COMMANDS = (
    load,
    accounts,
    remove_account,
    serve,
    schema,
    simulate,
    paths,
    report,
    graph,
    token,
    audit,
    migrate,
    diff,
    history,
    snapshot,
)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="graphiam", description="An AWS IAM graph you can ask questions of.")
    sub = p.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.add(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except GraphiamError as exc:
        print(f"graphiam: error: {exc}", file=sys.stderr)
        return exc.exit_status
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # the reader went away (`graphiam report | head`): stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the flush at exit does not raise again
        return 1


if __name__ == "__main__":
    sys.exit(main())
