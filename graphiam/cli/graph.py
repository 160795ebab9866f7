"""`graphiam graph [--around ARN ...] [--depth N] [--account ID] [--format dot|graphml|json|cytoscape]
[-o FILE]`: the IAM graph (a neighbourhood, or a whole account) for Graphviz, Gephi/yEd, Cytoscape.js or a
script.

    graphiam graph --around arn:aws:iam::111111111111:user/engineering/bob | dot -Tsvg > bob.svg
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from graphiam import service
from graphiam.cli.common import db_arg, db_path, open_database
from graphiam.cli.served import Server, server_for, url_arg
from graphiam.errors import InputError
from graphiam.queries import graph_formats as F
from graphiam.queries import graph_view as G
from graphiam.queries.escalation_paths import build_index

GRAPH_QUERY = """query ($around: [String!], $depth: Int!, $edgeKinds: [GraphEdgeKind!], $account: String,
  $maxNodes: Int!, $maxEdges: Int!, $format: GraphFormat!) {
  graph(around: $around, depth: $depth, edgeKinds: $edgeKinds, account: $account, maxNodes: $maxNodes,
        maxEdges: $maxEdges) { truncated nodes { id } edges { id } export(format: $format) } }"""


def _local(args: argparse.Namespace, path: Path) -> tuple[str, int, int, bool]:
    db = open_database(path, engine=args.engine)
    try:
        index = build_index(db, service.build_snapshot(db))
        view = G.graph_view(
            db,
            index,
            around=args.around,
            depth=args.depth,
            edge_kinds=args.edge_kind,
            account=args.account,
            max_nodes=args.max_nodes,
            max_edges=args.max_edges,
        )
    finally:
        db.close()
    return F.render(view, args.format), len(view.nodes), len(view.edges), view.truncated


def _remote(args: argparse.Namespace, server: Server) -> tuple[str, int, int, bool]:
    g = server.query(
        GRAPH_QUERY,
        {
            "around": args.around,
            "depth": args.depth,
            "edgeKinds": args.edge_kind,
            "account": args.account,
            "maxNodes": args.max_nodes,
            "maxEdges": args.max_edges,
            "format": args.format.upper(),
        },
    )["graph"]
    return g["export"], len(g["nodes"]), len(g["edges"]), bool(g["truncated"])


def cmd_graph(args: argparse.Namespace) -> int:
    if args.output and not Path(args.output).parent.is_dir():
        raise InputError(f"-o: `{Path(args.output).parent}` is not a directory")
    path = db_path(args, must_exist=not args.url)
    server = server_for(args, path)
    text, nodes, edges, truncated = _remote(args, server) if server else _local(args, path)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    cut = (
        f" shown: the graph was cut at --max-nodes {args.max_nodes} / --max-edges {args.max_edges} (and "
        f"has more); raise them (at most {G.MAX_NODES} / {G.MAX_EDGES}) or narrow --around/--depth to see "
        "the rest"
        if truncated
        else ""
    )
    print(f"graphiam: {nodes} nodes, {edges} edges{cut}", file=sys.stderr)
    return 0


def add(sub: Any) -> None:
    gp = sub.add_parser(
        "graph",
        help="the IAM graph around some ARNs, or a whole account, as DOT, GraphML, Cytoscape.js JSON or JSON",
    )
    gp.add_argument(
        "--around",
        nargs="+",
        action="extend",
        metavar="ARN",
        help="start from these users, groups, roles, policies, instance profiles or service principals "
        "(repeatable); omitted: the whole account (--account) or every account",
    )
    gp.add_argument(
        "--depth",
        type=int,
        default=G.DEFAULT_DEPTH,
        help=f"hops from --around, 1-{G.MAX_DEPTH} (default {G.DEFAULT_DEPTH})",
    )
    gp.add_argument("--account", metavar="ID", help="only this account's nodes (with --around: stay in it)")
    gp.add_argument(
        "--edge-kind",
        action="append",
        choices=G.EDGE_KINDS,
        metavar="KIND",
        help=f"follow only these edge kinds (repeatable): {', '.join(G.EDGE_KINDS)}",
    )
    gp.add_argument(
        "--max-nodes",
        type=int,
        default=G.DEFAULT_MAX_NODES,
        help=f"at most this many nodes, nearest first (1-{G.MAX_NODES}, default {G.DEFAULT_MAX_NODES})",
    )
    gp.add_argument(
        "--max-edges",
        type=int,
        default=G.DEFAULT_MAX_EDGES,
        help=f"at most this many edges (1-{G.MAX_EDGES}, default {G.DEFAULT_MAX_EDGES})",
    )
    gp.add_argument(
        "--format",
        choices=F.FORMATS,
        default="dot",
        help="dot (Graphviz, default), graphml (Gephi, yEd), json, cytoscape (Cytoscape.js elements)",
    )
    gp.add_argument("-o", "--output", metavar="FILE", help="write here instead of standard output")
    db_arg(gp)
    url_arg(gp)
    gp.set_defaults(func=cmd_graph)
