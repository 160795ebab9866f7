"""Hostile-query limits, checked while the document is validated (before anything runs).

One walk over the operation measures what strawberry's separate limiters would, plus a cost estimate:
- depth (introspection fields counted too, with their own, higher bound: strawberry's QueryDepthLimiter
  skips them, so `__type { ofType { ofType ... } } }` would otherwise be unbounded);
- aliases (1,000 aliases of one field make 1,000 resolver calls out of a small document);
- page size: a literal `first` above the maximum page is refused here (a variable is checked by the
  resolver, `graphiam.api.pagination.check_first`);
- cost: the number of objects the answer may hold. An object field costs the product of the list sizes
  above it (leaves are free: aliases bound those):
  `first` (a variable counts as the maximum page, absent as the default page) for a field that takes it,
  `LIST_FACTOR` for another list field, nothing more for `edges`/`nodes` of a connection already counted;
- work: what the operation will compute. The fields that compute their answer rather than read it (whoCan,
  effectivePermissions, escalation paths, findings, graph views, assumption chains: `WORK`) cost work units
  (one unit is about 0.1 s of one worker on a graph of 3,000 principals), times the list sizes above them as
  for `cost`; whoCan `viaChains` adds `CHAIN_WORK_PER_HOP` per hop of `maxDepth`. An argument given as a
  variable counts at its worst (the validation does not see variables). Over `Bounds.work` the operation is
  refused before anything runs: a few such requests would otherwise hold the heavy workers for minutes.

`LimitsRule` is built once per set of bounds: a rule class made per request would make every
`ValidationCache` key new (the cache keys on the rule classes) and defeat it. Fragments are measured once
each and scaled by their uses, so a "fragment bomb" costs the walk linear time; cycles are left to
graphql-core's NoFragmentCycles rule.
"""

from __future__ import annotations

import functools
from collections import Counter
from dataclasses import dataclass, field

from graphql import (
    BooleanValueNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    VariableNode,
)
from graphql.type.introspection import SchemaMetaFieldDef, TypeMetaFieldDef, TypeNameMetaFieldDef

from graphiam.api.pagination import DEFAULT_PAGE, MAX_PAGE

LIST_FACTOR = 10

# Work units of one call of the fields that compute their answer, by (type, field) (the type as it appears in
# the query: an interface's field is listed under the interface and each type implementing it).
WORK: dict[tuple[str, str], int] = {
    ("Query", "whoCan"): 2,
    ("Query", "whoCanSummary"): 2,
    ("Query", "effectivePermissions"): 5,
    ("Query", "escalationPaths"): 2,
    ("Query", "escalationPathsTo"): 2,
    ("Query", "escalationSummary"): 10,
    ("Query", "policyFindings"): 5,
    ("Query", "graph"): 3,
    ("Query", "assumptionChains"): 2,
    ("Query", "assumptionChainPage"): 2,
    ("Query", "assumableRoles"): 1,
    ("Principal", "assumableRoles"): 1,
    ("User", "assumableRoles"): 1,
    ("Role", "assumableRoles"): 1,
    ("Role", "assumableBy"): 1,
}
CHAIN_FIELDS = frozenset({"whoCan", "whoCanSummary"})  # take viaChains / maxDepth
CHAIN_WORK_PER_HOP = 2
DEFAULT_CHAIN_DEPTH = (
    5  # graphiam.queries.who_can.DEFAULT_CHAIN_DEPTH (api/ reads queries only through service)
)
MAX_CHAIN_DEPTH = 10  # a variable `maxDepth` counts as this (the store's bound)


@dataclass(frozen=True, kw_only=True)
class Bounds:
    depth: int = 12
    introspection_depth: int = 20
    aliases: int = 50
    cost: int = 50_000
    page: int = MAX_PAGE
    work: int = 100


@dataclass
class _Measure:
    depth: int = 0
    introspection_depth: int = 0
    aliases: int = 0
    cost: int = 0
    big_pages: list[int] = field(default_factory=list)
    work: int = 0
    work_by: Counter[str] = field(default_factory=Counter)  # work per field kind (`whoCan (viaChains …)`)


def field_work(parent: str, node: FieldNode) -> tuple[str, int] | None:
    """What one call of the field `node` of type `parent` costs in work units, and how it is named in a
    refusal; None for a field that reads rather than computes."""
    name = node.name.value
    base = WORK.get((parent, name))
    if base is None:
        return None
    if name not in CHAIN_FIELDS:
        return name, base
    args = {a.name.value: a.value for a in node.arguments or ()}
    chains = args.get("viaChains")
    if chains is None or (isinstance(chains, BooleanValueNode) and not chains.value):
        return name, base
    depth_arg = args.get("maxDepth")
    if depth_arg is None:
        depth = DEFAULT_CHAIN_DEPTH
    elif isinstance(depth_arg, IntValueNode):
        depth = max(1, min(MAX_CHAIN_DEPTH, int(depth_arg.value)))
    else:
        depth = MAX_CHAIN_DEPTH
    return f"{name} (viaChains, maxDepth {depth})", base + CHAIN_WORK_PER_HOP * depth


class _Walker:
    def __init__(self, ctx: ValidationContext, bounds: Bounds) -> None:
        self.schema = ctx.schema
        self.bounds = bounds
        self.fragments = {
            d.name.value: d for d in ctx.document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.memo: dict[str, _Measure] = {}
        self.active: set[str] = set()
        self.cap = bounds.cost * 10 + 1  # costs are clamped so a bomb does not build huge integers
        self.work_cap = bounds.work * 100 + 1
        self.depth_cap = max(bounds.depth, bounds.introspection_depth) + 1

    def fragment(self, name: str) -> _Measure:
        if name in self.memo:
            return self.memo[name]
        frag = self.fragments.get(name)
        if frag is None or name in self.active:
            return _Measure()
        self.active.add(name)
        parent = self.schema.get_type(frag.type_condition.name.value)
        m = self.selections(frag.selection_set, parent, 0, False)
        self.active.discard(name)
        self.memo[name] = m
        return m

    def selections(
        self, sel: SelectionSetNode, parent: GraphQLNamedType | None, depth: int, in_introspection: bool
    ) -> _Measure:
        """Measure of a selection set whose enclosing field is at `depth`, for one instance of it."""
        total = _Measure()
        if depth >= self.depth_cap:  # already too deep to be accepted: stop walking (and recursing)
            return total
        for s in sel.selections:
            if isinstance(s, FieldNode):
                m = self.field(s, parent, depth + 1, in_introspection)
            elif isinstance(s, InlineFragmentNode):
                cond = self.schema.get_type(s.type_condition.name.value) if s.type_condition else parent
                m = self.selections(s.selection_set, cond, depth, in_introspection)
            elif isinstance(s, FragmentSpreadNode):
                f = self.fragment(s.name.value)
                m = _Measure(
                    depth=f.depth + depth if f.depth else 0,
                    introspection_depth=f.introspection_depth + depth if f.introspection_depth else 0,
                    aliases=f.aliases,
                    cost=f.cost,
                    big_pages=f.big_pages,
                    work=f.work,
                    work_by=f.work_by,
                )
            else:  # pragma: no cover - graphql-core has no other selection kinds
                continue
            total.depth = max(total.depth, m.depth)
            total.introspection_depth = max(total.introspection_depth, m.introspection_depth)
            total.aliases += m.aliases
            total.cost = min(self.cap, total.cost + m.cost)
            total.big_pages.extend(m.big_pages)
            total.work = min(self.work_cap, total.work + m.work)
            total.work_by.update(m.work_by)
        return total

    def field(
        self, node: FieldNode, parent: GraphQLNamedType | None, depth: int, in_introspection: bool
    ) -> _Measure:
        name = node.name.value
        if name == "__schema":
            fdef = SchemaMetaFieldDef
        elif name == "__type":
            fdef = TypeMetaFieldDef
        elif name == "__typename":
            fdef = TypeNameMetaFieldDef
        elif isinstance(parent, (GraphQLObjectType, GraphQLInterfaceType)):
            fdef = parent.fields.get(name)
        else:
            fdef = None
        # fields of introspection types are introspection too (fragments on `__Type` are measured alone)
        in_introspection = (
            in_introspection or name.startswith("__") or (parent is not None and parent.name.startswith("__"))
        )
        factor, is_list, child = 1, False, None
        if fdef is not None:
            t = fdef.type
            while isinstance(t, (GraphQLNonNull, GraphQLList)):
                is_list = is_list or isinstance(t, GraphQLList)
                t = t.of_type
            child = t
        arg = next((a for a in node.arguments or () if a.name.value == "first"), None)
        if arg is not None or (fdef is not None and "first" in fdef.args):
            if arg is None:
                factor = DEFAULT_PAGE
            elif isinstance(arg.value, IntValueNode):
                factor = max(1, int(arg.value.value))
            elif isinstance(arg.value, VariableNode):
                factor = self.bounds.page
        elif is_list and not (parent is not None and parent.name.endswith("Connection")):
            factor = LIST_FACTOR
        m = _Measure(aliases=1 if node.alias else 0)  # a leaf costs nothing: its object was paid for
        own = field_work(parent.name, node) if parent is not None else None
        if own is not None:
            m.work = own[1]
            m.work_by[own[0]] = own[1]
        if in_introspection:
            m.introspection_depth = depth
        else:
            m.depth = depth
        if isinstance(arg.value if arg else None, IntValueNode) and factor > self.bounds.page:
            m.big_pages.append(factor)
        if node.selection_set is not None:
            inner = self.selections(node.selection_set, child, depth, in_introspection)
            m.depth = max(m.depth, inner.depth)
            m.introspection_depth = max(m.introspection_depth, inner.introspection_depth)
            m.aliases += inner.aliases
            m.cost = min(self.cap, 1 + factor * inner.cost)
            m.big_pages.extend(inner.big_pages)
            m.work = min(self.work_cap, m.work + factor * inner.work)
            for kind, units in inner.work_by.items():
                m.work_by[kind] += min(self.work_cap, factor * units)
        return m


def measure(ctx: ValidationContext, op: OperationDefinitionNode, bounds: Bounds) -> _Measure:
    root = ctx.schema.get_root_type(op.operation)
    return _Walker(ctx, bounds).selections(op.selection_set, root, 0, False)


def work_message(m: _Measure, bounds: Bounds) -> str:
    """The refusal of an operation over the work budget, naming the budget and what spends it."""
    shown = f"more than {bounds.work * 100}" if m.work >= bounds.work * 100 + 1 else str(m.work)
    top = ", ".join(f"{kind}: {units}" for kind, units in m.work_by.most_common(3))
    return (
        f"estimated work {shown} exceeds the per-request budget of {bounds.work} units ({top}); "
        "ask for fewer of these fields per request (fewer aliases, smaller maxDepth, smaller pages)"
    )


@functools.cache
def limits_rule(bounds: Bounds = Bounds()) -> type[ValidationRule]:
    """A validation rule refusing operations past `bounds`, each error with a stable `extensions.code`.
    Cached: the same bounds always give the same class (the validation cache keys on it)."""

    class LimitsRule(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_args: object) -> None:
            m = measure(self.context, node, bounds)
            problems: list[tuple[str, str]] = []
            cap = max(bounds.depth, bounds.introspection_depth) + 1  # the walk stops there

            def depth(d: int) -> str:
                return f"more than {cap - 1}" if d >= cap else str(d)

            if m.depth > bounds.depth:
                problems.append(
                    ("DEPTH_LIMIT", f"query depth {depth(m.depth)} exceeds the limit of {bounds.depth}")
                )
            if m.introspection_depth > bounds.introspection_depth:
                problems.append(
                    (
                        "DEPTH_LIMIT",
                        f"introspection depth {depth(m.introspection_depth)} exceeds the "
                        f"limit of {bounds.introspection_depth}",
                    )
                )
            if m.aliases > bounds.aliases:
                problems.append(("ALIAS_LIMIT", f"{m.aliases} aliases exceed the limit of {bounds.aliases}"))
            for page in m.big_pages[:3]:  # the resolver's message (pagination.check_first), caught earlier
                problems.append(("PAGE_LIMIT", f"`first` must be between 0 and {bounds.page}, got {page}"))
            if m.cost > bounds.cost and not m.big_pages:
                shown = f"more than {bounds.cost * 10}" if m.cost >= bounds.cost * 10 + 1 else str(m.cost)
                problems.append(
                    (
                        "COST_LIMIT",
                        f"estimated query cost {shown} exceeds the limit of {bounds.cost} "
                        "(ask for smaller pages or fewer nested lists)",
                    )
                )
            if m.work > bounds.work:
                problems.append(("WORK_LIMIT", work_message(m, bounds)))
            for code, message in problems:
                self.report_error(GraphQLError(message, nodes=[node], extensions={"code": code}))

    return LimitsRule
