"""`graph`: the IAM graph as nodes and edges (graphiam.queries.graph_view), for dashboards and drawing tools;
`IamGraph.export(format:)` renders the same view as DOT, GraphML, Cytoscape.js JSON or JSON
(graphiam.queries.graph_formats).
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated, cast

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from graphiam.api.context import Context
from graphiam.api.fields import field
from graphiam.queries import graph_formats as F
from graphiam.queries import graph_view as G


@strawberry.enum(description="What a node of `graph` is.")
class GraphNodeKind(Enum):
    USER = "USER"
    GROUP = "GROUP"
    ROLE = "ROLE"
    POLICY = "POLICY"
    INSTANCE_PROFILE = "INSTANCE_PROFILE"
    SERVICE_PRINCIPAL = "SERVICE_PRINCIPAL"
    EXTERNAL_PRINCIPAL = "EXTERNAL_PRINCIPAL"


@strawberry.enum(description="What an edge of `graph` is.")
class GraphEdgeKind(Enum):
    MEMBER_OF = strawberry.enum_value("MEMBER_OF", description="user → group")
    ATTACHED = strawberry.enum_value(
        "ATTACHED", description="policy → user, group or role; `properties.how`: identity, inline or boundary"
    )
    CAN_ASSUME = strawberry.enum_value(
        "CAN_ASSUME",
        description="principal (user, role, service, external) → role; "
        "`properties`: action, conditions the hop needs",
    )
    ESCALATES_TO = strawberry.enum_value(
        "ESCALATES_TO",
        description="principal → principal by a privilege-"
        "escalation technique (`properties.technique`); "
        "a self-loop: it can make itself administrator",
    )
    HAS_ROLE = strawberry.enum_value("HAS_ROLE", description="instance profile → role")


@strawberry.enum(description="A file format for `IamGraph.export`.")
class GraphFormat(Enum):
    DOT = "dot"
    GRAPHML = "graphml"
    JSON = "json"
    CYTOSCAPE = "cytoscape"


@strawberry.type(description="A user, group, role, policy, instance profile, service or external principal.")
class IamNode:
    id: str = strawberry.field(description="The ARN (a service principal's name, e.g. `ec2.amazonaws.com`).")
    kind: GraphNodeKind
    label: str = strawberry.field(description="A short name to draw.")
    account: str | None = strawberry.field(
        description="The account id; `aws` for AWS-managed policies; null for service principals."
    )
    is_admin: bool | None = strawberry.field(
        description="`Principal.isAdmin` (administrator now; null: unknown, see `properties.incomplete`); "
        "false for what is not a user or role."
    )
    can_become_admin: bool | None = strawberry.field(
        description="`Principal.canBecomeAdmin` (an escalation path leads to administrator; null: unknown); "
        "false for what is not a user or role."
    )
    properties: JSON = strawberry.field(
        description="path, boundaryArn, policyKind, missingDocument, externalKind, "
        "adminConditions (`Principal.adminConditions`), incomplete (`Principal.incomplete`), distance (hops "
        "from `around`), as they apply."
    )


@strawberry.type(description="A directed edge between two nodes of the same `graph` answer.")
class IamEdge:
    id: str = strawberry.field(description="`KIND:from->to#what`: stable across calls.")
    from_: str = strawberry.field(name="from")
    to: str
    kind: GraphEdgeKind
    label: str
    properties: JSON = strawberry.field(
        description="ATTACHED: how; CAN_ASSUME: action, conditions, "
        "needsConditions; ESCALATES_TO: technique, conditions, makesAdmin."
    )


@strawberry.type(
    description="Nodes and the edges between them; `truncated` when `maxNodes`/`maxEdges` cut it."
)
class IamGraph:
    nodes: list[IamNode]
    edges: list[IamEdge]
    truncated: bool
    view: strawberry.Private[G.GraphView]

    @field(
        description="The same graph as a file: DOT (Graphviz), GraphML (Gephi, yEd), Cytoscape.js "
        "elements JSON or this JSON shape."
    )
    def export(self, format: GraphFormat) -> str:
        return F.render(self.view, format.value)


def to_graph(view: G.GraphView) -> IamGraph:
    return IamGraph(
        nodes=[
            IamNode(
                id=n.id,
                kind=GraphNodeKind(n.kind),
                label=n.label,
                account=n.account,
                is_admin=n.is_admin,
                can_become_admin=n.can_become_admin,
                properties=cast(JSON, n.properties),
            )
            for n in view.nodes
        ],
        edges=[
            IamEdge(
                id=e.id,
                from_=e.source,
                to=e.target,
                kind=GraphEdgeKind(e.kind),
                label=e.label,
                properties=cast(JSON, e.properties),
            )
            for e in view.edges
        ],
        truncated=view.truncated,
        view=view,
    )


@strawberry.type
class GraphQuery:
    @field(
        description="The neighbourhood of `around` (users, groups, roles, policies, instance profiles, "
        "service or external principals) within `depth` hops over `edgeKinds` (all when "
        "omitted), breadth-first in both directions; without `around`, every node of "
        "`account` (every account when omitted) and the nodes one edge away. `account` "
        "with `around` keeps the search in that account. Cut at `maxNodes` (nearest "
        "first) and `maxEdges`; deterministic order."
    )
    async def graph(
        self,
        info: Info[Context, None],
        around: Annotated[
            list[str] | None,
            strawberry.argument(
                description=f"ARNs (or service names) to start from; at most {G.MAX_AROUND}."
            ),
        ] = None,
        depth: Annotated[
            int, strawberry.argument(description=f"Hops from `around`, 1 to {G.MAX_DEPTH}.")
        ] = G.DEFAULT_DEPTH,
        edge_kinds: list[GraphEdgeKind] | None = None,
        account: str | None = None,
        max_nodes: Annotated[
            int, strawberry.argument(description=f"1 to {G.MAX_NODES}.")
        ] = G.DEFAULT_MAX_NODES,
        max_edges: Annotated[
            int, strawberry.argument(description=f"1 to {G.MAX_EDGES}.")
        ] = G.DEFAULT_MAX_EDGES,
    ) -> IamGraph:
        services = info.context.services
        snap, index = await services.escalation_index()
        kinds = None if edge_kinds is None else [k.name for k in edge_kinds]  # names are the values
        key = (
            None if around is None else tuple(sorted(set(around))),
            depth,
            None if kinds is None else tuple(sorted(set(kinds))),
            account,
            max_nodes,
            max_edges,
        )
        view = await info.context.heavy_answer(
            "graph_view",
            snap.generation,
            key,
            lambda cancel: G.graph_view(
                services.db,
                index,
                around=around,
                depth=depth,
                edge_kinds=kinds,
                account=account,
                max_nodes=max_nodes,
                max_edges=max_edges,
                cancel=cancel,
            ),
        )
        return to_graph(view)
