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
  `LIST_FACTOR` for another list field, nothing more for `edges`/`nodes` of a connection already counted.

`LimitsRule` is built once per set of bounds: a rule class made per request would make every
`ValidationCache` key new (the cache keys on the rule classes) and defeat it. Fragments are measured once
each and scaled by their uses, so a "fragment bomb" costs the walk linear time; cycles are left to
graphql-core's NoFragmentCycles rule.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from graphql import (
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


@dataclass(frozen=True, kw_only=True)
class Bounds:
    depth: int = 12
    introspection_depth: int = 20
    aliases: int = 50
    cost: int = 50_000
    page: int = MAX_PAGE


@dataclass
class _Measure:
    depth: int = 0
    introspection_depth: int = 0
    aliases: int = 0
    cost: int = 0
    big_pages: list[int] = field(default_factory=list)


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
                )
            else:  # pragma: no cover - graphql-core has no other selection kinds
                continue
            total.depth = max(total.depth, m.depth)
            total.introspection_depth = max(total.introspection_depth, m.introspection_depth)
            total.aliases += m.aliases
            total.cost = min(self.cap, total.cost + m.cost)
            total.big_pages.extend(m.big_pages)
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
        return m


def measure(ctx: ValidationContext, op: OperationDefinitionNode, bounds: Bounds) -> _Measure:
    root = ctx.schema.get_root_type(op.operation)
    return _Walker(ctx, bounds).selections(op.selection_set, root, 0, False)


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
            for code, message in problems:
                self.report_error(GraphQLError(message, nodes=[node], extensions={"code": code}))

    return LimitsRule
