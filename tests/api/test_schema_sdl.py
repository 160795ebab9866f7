"""schema/schema.graphql is the exported SDL: this fails when the code and the file drift apart."""

from graphiam.api.schema import sdl
from tests.helpers import ROOT


def test_checked_in_sdl_matches_the_code():
    checked_in = (ROOT / "schema" / "schema.graphql").read_text()
    assert checked_in == sdl(), "run `graphiam export-schema -o schema/schema.graphql` and commit it"


def test_graph_ddl_is_in_schema_dir():
    text = (ROOT / "schema" / "graph.cypher").read_text()
    assert "schema_version:" in text and "CREATE NODE TABLE IF NOT EXISTS User" in text
