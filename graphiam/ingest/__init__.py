"""Ingest: files in AWS's formats → model objects. Pure: no kuzu, no network."""

from graphiam.ingest.gaad import parse_gaad, read_gaad_file

__all__ = ["parse_gaad", "read_gaad_file"]
