"""The command line: one module per command (`graphiam.cli.<command>`), `main` dispatches."""

from graphiam.cli.main import main

__all__ = ["main"]
