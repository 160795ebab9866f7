"""`assumptionChains`, `assumptionChainPage` and `assumableRoles`, over the derived CAN_ASSUME edges
(graphiam.queries.chains); the reachability fields `Principal.assumableRoles` / `Role.assumableBy` and their
types are in graphiam.api.types."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from graphiam.api import pagination as pg
from graphiam.api.conditions import HopCondition, hop_conditions
from graphiam.api.context import Context
from graphiam.api.fields import field
from graphiam.api.types import AssumableRole, assumable_roles
from graphiam.errors import InputError
from graphiam.queries import chains as P


@strawberry.type(
    description="A statement that decided a hop: from the target's trust policy, the source's identity "
    "policies (via user, group or role) or its permissions boundary."
)
class HopStatement:
    policy_arn: str = strawberry.field(
        description="`<role ARN>#trust` for a trust policy; inline: `<owner>#<name>`."
    )
    statement_index: int
    effect: str
    sid: str | None
    applies_via: str = strawberry.field(description="trust | user | group | role | boundary | custom")


@strawberry.type(description="One assume-role step: `from` may assume the role `to`.")
class AssumptionHop:
    from_: str = strawberry.field(
        name="from", description="ARN, service principal name or external principal."
    )
    to: str = strawberry.field(description="The role's ARN.")
    action: str = strawberry.field(
        description="sts:AssumeRole, sts:AssumeRoleWithSAML or sts:AssumeRoleWithWebIdentity."
    )
    statements: list[HopStatement] = strawberry.field(description="Why: the statements that allowed the hop.")
    required_conditions: list[HopCondition]
    needs_conditions: bool = strawberry.field(
        description="True when the hop only works under some request context (it is still a hop)."
    )


@strawberry.type(description="A simple chain of role assumptions (no principal repeated).")
class AssumptionChain:
    cursor: str
    hops: list[AssumptionHop]
    incomplete: list[str] = strawberry.field(
        default_factory=list,
        description="Policies without a document in the graph (an export named them and omitted them) held "
        "by a hop's source: the hop rests on them (one may deny it). Empty when every hop is complete.",
    )

    @field(description="Number of hops.")
    def length(self) -> int:
        return len(self.hops)

    @field(description="True when some hop needs a condition.")
    def needs_conditions(self) -> bool:
        return any(h.needs_conditions for h in self.hops)


@strawberry.type(description="A node for graph-drawing libraries (id = ARN or service principal name).")
class GraphNode:
    id: str
    label: str
    type: str = strawberry.field(description="User | Role | ServicePrincipal | ExternalPrincipal")


@strawberry.type(description="An edge for graph-drawing libraries: `source` may assume `target`.")
class GraphEdge:
    source: str
    target: str
    label: str
    needs_conditions: bool


@strawberry.type
class ChainGraph:
    nodes: list[GraphNode]
    edges: list[GraphEdge]


@strawberry.type(
    description="A page of assumption chains, with the whole set's size and a drawable graph of it."
)
class AssumptionChainPage:
    chains: list[AssumptionChain]
    total_count: int = strawberry.field(description=f"Chains found, at most {P.MAX_PATHS}.")
    truncated: bool = strawberry.field(
        description=f"True when there were more than {P.MAX_PATHS} chains (the shortest are kept)."
    )
    has_next_page: bool
    end_cursor: str | None
    graph: ChainGraph = strawberry.field(description="Nodes and edges of the chains on this page.")
    warnings: list[str] = strawberry.field(
        default_factory=list,
        description="`from` and the principals of this page's chains whose policies lack a document: hops "
        "from them rest on those documents, and chains they would allow may be missing.",
    )


def hop(h: P.ChainHop) -> AssumptionHop:
    """A hop of `graphiam.queries.chains` as its GraphQL type."""
    return AssumptionHop(
        from_=h.source,
        to=h.target,
        action=h.action,
        needs_conditions=h.needs_conditions,
        statements=[
            HopStatement(
                policy_arn=s.policy_arn,
                statement_index=s.statement_index,
                effect=s.effect,
                sid=s.sid,
                applies_via=s.applies_via,
            )
            for s in h.statements
        ],
        required_conditions=hop_conditions(h.conditions),
    )


def _offset(after: str | None) -> int:
    key = pg.decode_cursor(after)
    if key is None:
        return 0
    if not key.isdigit():
        raise InputError(f"`after`: `{after}` is not a cursor this API returned")
    return int(key) + 1


async def chain_page(
    info: Info[Context, None],
    source: str,
    to: str | None,
    max_depth: int,
    first: int | None,
    after: str | None,
) -> AssumptionChainPage:
    n = pg.check_first(first)
    start = _offset(after)
    services = info.context.services
    snap = await services.snapshot()
    found = await info.context.heavy_answer(
        "chain_paths",
        snap.generation,
        (source, to, max_depth),
        lambda cancel: P.chain_paths(services.db, source, to=to, max_depth=max_depth, cancel=cancel),
    )
    page = await services.run(P.describe, services.db, found.source_type, found.paths[start : start + n])
    chains = [
        AssumptionChain(
            cursor=pg.encode_cursor(str(start + i)),
            hops=[hop(h) for h in c],
            incomplete=list(P.missing_documents(snap, (h.source for h in c))),
        )
        for i, c in enumerate(page)
    ]
    types = {source: found.source_type}
    nodes, edges = P.graph_of(page, types)
    return AssumptionChainPage(
        chains=chains,
        total_count=len(found.paths),
        truncated=found.truncated,
        has_next_page=start + n < len(found.paths),
        end_cursor=chains[-1].cursor if chains else None,
        graph=ChainGraph(nodes=[GraphNode(**x) for x in nodes], edges=[GraphEdge(**x) for x in edges]),
        warnings=P.missing_warnings(snap, [source, *(h.source for c in page for h in c)]),
    )


_FROM = "A user or role ARN, a service principal (`ec2.amazonaws.com`) or an external principal ARN."


@strawberry.type
class AssumeQuery:
    @field(
        description="Every simple chain of role assumptions from `from` (optionally ending at the "
        "role `to`), shortest first, each hop with its reasons and the conditions it "
        f"needs. At most {P.MAX_PATHS} chains are found; `first`/`after` page through "
        "them (see `assumptionChainPage` for the total and `truncated`)."
    )
    async def assumption_chains(
        self,
        info: Info[Context, None],
        from_: Annotated[str, strawberry.argument(name="from", description=_FROM)],
        to: str | None = None,
        max_depth: int = 5,
        first: int | None = pg.DEFAULT_PAGE,
        after: str | None = None,
    ) -> list[AssumptionChain]:
        return (await chain_page(info, from_, to, max_depth, first, after)).chains

    @field(
        description="`assumptionChains` with the total count, `truncated`, paging and a graph "
        "(nodes and edges) ready to draw."
    )
    async def assumption_chain_page(
        self,
        info: Info[Context, None],
        from_: Annotated[str, strawberry.argument(name="from", description=_FROM)],
        to: str | None = None,
        max_depth: int = 5,
        first: int | None = pg.DEFAULT_PAGE,
        after: str | None = None,
    ) -> AssumptionChainPage:
        return await chain_page(info, from_, to, max_depth, first, after)

    @field(
        description="Roles reachable from `from` (any principal, including service and external "
        "principals) within `maxDepth` hops, each once at its fewest hops."
    )
    async def assumable_roles(
        self,
        info: Info[Context, None],
        from_: Annotated[str, strawberry.argument(name="from", description=_FROM)],
        max_depth: int = 5,
    ) -> list[AssumableRole]:
        return await assumable_roles(info, from_, max_depth)
