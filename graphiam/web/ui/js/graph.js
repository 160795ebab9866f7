// Drawing the IAM graph with cytoscape.js and the dagre layout (both vendored: ../vendor/).
//
// Nodes are coloured and shaped by kind; administrators get a thick red border and a ★; every edge carries
// its reason as a label (the technique, the assume action, how a policy is attached); edges that need a
// condition are dashed. Click a node to go to its page; shift-click (or its "Expand" button in the table
// below the drawing) asks the API for its neighbours and adds them. Each drawing has a table of its edges
// beside it for keyboards and screen readers, and says when the API cut the graph (`truncated`).

import cytoscape from "../vendor/cytoscape/cytoscape.esm.min.js";
import dagre from "../vendor/cytoscape-dagre/cytoscape-dagre.min.js";
import { h, kindOf, routeOf, shortName, fmt } from "./dom.js";

cytoscape.use(dagre);

export const KIND_STYLE = {
  user: { color: "#1d4ed8", shape: "ellipse", label: "user" },
  role: { color: "#6d28d9", shape: "round-rectangle", label: "role" },
  group: { color: "#047857", shape: "hexagon", label: "group" },
  policy: { color: "#b45309", shape: "rectangle", label: "policy" },
  "instance-profile": { color: "#0e7490", shape: "barrel", label: "instance profile" },
  service: { color: "#475569", shape: "diamond", label: "service principal" },
  external: { color: "#be185d", shape: "triangle", label: "outside principal" },
};
export const EDGE_STYLE = {
  CAN_ASSUME: { color: "#6d28d9", label: "can assume" },
  ESCALATES_TO: { color: "#b91c1c", label: "escalates to" },
  MEMBER_OF: { color: "#047857", label: "member of" },
  ATTACHED: { color: "#b45309", label: "attached to" },
  HAS_ROLE: { color: "#0e7490", label: "has role" },
  ADDED: { color: "#15803d", label: "added" },
  REMOVED: { color: "#b91c1c", label: "removed" },
};

/**
 * dagre (layered, left to right: paths read as paths) for graphs of up to BIG_EDGES edges; beyond, a
 * concentric layout (the focus in the middle, then by degree), which stays quick on a few hundred edges.
 */
const BIG_EDGES = 160;
function layoutFor(cy, opts) {
  if (cy.edges().length <= BIG_EDGES && cy.nodes().length <= 80) {
    return { name: "dagre", rankDir: opts.rankDir || "LR", nodeSep: 30, rankSep: 150, edgeSep: 14, padding: 16, animate: false };
  }
  return {
    name: "concentric",
    concentric: (n) => (n.data("focus") ? 1e6 : n.degree()),
    levelWidth: () => 4,
    minNodeSpacing: 24,
    padding: 16,
    animate: false,
  };
}

/** The graph API's node kinds (USER, SERVICE_PRINCIPAL …) as the dashboard's. */
export function nodeKind(apiKind, id) {
  const k = String(apiKind || "").toLowerCase();
  return (
    { user: "user", role: "role", group: "group", policy: "policy", instance_profile: "instance-profile",
      service_principal: "service", external_principal: "external" }[k] || kindOf(id)
  );
}

function style() {
  const s = [
    {
      selector: "node",
      style: {
        label: "data(label)",
        "font-size": 11,
        "font-family": "system-ui, sans-serif",
        color: "#111827",
        "text-valign": "bottom",
        "text-margin-y": 4,
        "text-wrap": "ellipsis",
        "text-max-width": "180px",
        "text-background-color": "#ffffff",
        "text-background-opacity": 0.85,
        "text-background-padding": "1px",
        width: 26,
        height: 26,
        "border-width": 2,
        "border-color": "#ffffff",
      },
    },
    {
      selector: "node[?admin]",
      style: { "border-width": 5, "border-color": "#dc2626", "font-weight": "bold" },
    },
    { selector: "node[?focus]", style: { width: 38, height: 38, "font-size": 13, "font-weight": "bold" } },
    { selector: "node[?expanded]", style: { "border-style": "double" } },
    {
      selector: "edge",
      style: {
        width: 2,
        "curve-style": "bezier",
        "target-arrow-shape": "triangle",
        "arrow-scale": 1.1,
        label: "data(label)",
        "font-size": 9,
        "min-zoomed-font-size": 7, // zoomed out, a big graph draws no edge labels (zoom in to read them)
        color: "#1f2937",
        "text-rotation": "autorotate",
        "text-background-color": "#ffffff",
        "text-background-opacity": 0.9,
        "text-background-padding": "1px",
        "line-color": "#6b7280",
        "target-arrow-color": "#6b7280",
      },
    },
    { selector: "edge[?conditional]", style: { "line-style": "dashed" } },
    // ghost edges shape the layout (so before/after drawings put every node in the same place) but are not drawn
    { selector: "edge[?changed]", style: { width: 5 } },
    { selector: "edge[?ghost]", style: { visibility: "hidden", label: "" } },
    { selector: "edge:loop", style: { "loop-direction": "-45deg", "loop-sweep": "60deg" } },
  ];
  for (const [kind, v] of Object.entries(KIND_STYLE)) {
    s.splice(1, 0, { selector: `node[kind = "${kind}"]`, style: { "background-color": v.color, shape: v.shape } });
  }
  for (const [kind, v] of Object.entries(EDGE_STYLE)) {
    s.push({ selector: `edge[kind = "${kind}"]`, style: { "line-color": v.color, "target-arrow-color": v.color } });
  }
  return s;
}

function legend(kinds, edgeKinds) {
  return h(
    "ul",
    { class: "legend", "aria-label": "Legend" },
    [...kinds].map((k) =>
      h("li", {}, h("span", { class: `swatch node-${k}`, "aria-hidden": "true" }), (KIND_STYLE[k] || { label: k }).label)
    ),
    [...edgeKinds].map((k) =>
      h("li", {}, h("span", { class: `swatch edge-${k}`, "aria-hidden": "true" }), (EDGE_STYLE[k] || { label: k }).label)
    ),
    h("li", {}, h("span", { class: "swatch admin", "aria-hidden": "true" }), "★ administrator"),
    h("li", {}, h("span", { class: "swatch dashed", "aria-hidden": "true" }), "needs a condition")
  );
}

/**
 * A drawing of `{nodes, edges}` in `parent`.
 * nodes: [{id, label?, kind?, admin?, focus?}]; edges: [{id?, source, target, label, kind, conditional?}].
 * opts: {title, testid, truncated (bool), note (text), expand(nodeId) → Promise<{nodes, edges, truncated}>,
 *        height}. Returns {cy, add(graph)}.
 */
export function drawGraph(parent, graph, opts = {}) {
  const box = h("div", {
    class: "graph",
    role: "img",
    "aria-label": `${opts.title || "Graph"}: drawing; the table below lists the same edges`,
    dataset: { graph: opts.testid || "" },
    style: `height: ${opts.height || (graph.nodes.length <= 4 ? 260 : graph.nodes.length <= 12 ? 380 : 520)}px`,
  });
  const notes = h("p", { class: "graph-note", role: "status" });
  const legendBox = h("div");
  const tableBox = h("div");
  const wrap = h(
    "figure",
    { class: "graph-figure" },
    notes,
    box,
    legendBox,
    h(
      "details",
      { class: "graph-table" },
      h("summary", {}, "The drawing as a table"),
      tableBox
    )
  );
  parent.append(wrap);
  if (!graph.nodes.length) {
    box.replaceWith(h("p", { class: "empty" }, opts.empty || "Nothing to draw."));
    return { cy: null, add() {} };
  }

  const cy = cytoscape({
    container: box,
    elements: [],
    style: style(),
    minZoom: 0.15,
    maxZoom: 3,
    boxSelectionEnabled: false,
    autoungrabify: false,
  });
  box.cy = cy; // for tests and the benchmark: the drawing's elements
  const seen = { truncated: !!opts.truncated, expanded: new Set() };

  function add(g) {
    const els = [];
    for (const n of g.nodes) {
      if (cy.getElementById(n.id).nonempty()) {
        if (n.admin) cy.getElementById(n.id).data("admin", true);
        continue;
      }
      const kind = n.kind || kindOf(n.id);
      els.push({
        group: "nodes",
        data: { id: n.id, label: `${n.admin ? "★ " : ""}${n.label || shortName(n.id)}`, kind, admin: !!n.admin, focus: !!n.focus },
      });
    }
    for (const e of g.edges) {
      const id = e.id || `${e.kind}:${e.source}->${e.target}#${e.label}`;
      if (cy.getElementById(id).nonempty()) continue;
      els.push({
        group: "edges",
        data: { id, source: e.source, target: e.target, label: e.label || "", kind: e.kind, conditional: !!e.conditional, ghost: !!e.ghost, changed: !!e.changed },
      });
    }
    cy.add(els);
    if (g.truncated) seen.truncated = true;
    cy.layout(layoutFor(cy, opts)).run();
    cy.fit(undefined, 24);
    if (cy.zoom() > 1.25) {
      cy.zoom(1.25);
      cy.center();
    }
    refresh();
  }

  function refresh() {
    const n = cy.nodes().length;
    const m = cy.edges().filter((e) => !e.data("ghost")).length;
    box.dataset.nodes = String(n);
    box.dataset.edges = String(m);
    const parts = [`${fmt(n)} nodes, ${fmt(m)} edges.`];
    if (seen.truncated) parts.push(`The API cut this graph at its limit (${opts.limitText || "maxNodes"}): not everything is shown.`);
    if (opts.note) parts.push(opts.note);
    if (opts.expand) parts.push("Click a node to open it; shift-click (or Expand below) to add its neighbours.");
    else parts.push("Click a node to open it.");
    notes.textContent = parts.join(" ");
    notes.classList.toggle("warn", seen.truncated);
    legendBox.replaceChildren(
      legend(new Set(cy.nodes().map((x) => x.data("kind"))), new Set(cy.edges().filter((x) => !x.data("ghost")).map((x) => x.data("kind"))))
    );
    tableBox.replaceChildren(edgeTable(cy, opts, expandNode));
  }

  async function expandNode(id) {
    if (!opts.expand || seen.expanded.has(id)) return;
    seen.expanded.add(id);
    notes.textContent = `Expanding ${shortName(id)}…`;
    try {
      const more = await opts.expand(id);
      cy.getElementById(id).data("expanded", true);
      add(more);
    } catch (e) {
      notes.textContent = `Could not expand ${shortName(id)}: ${e.message}`;
    }
  }

  cy.on("tap", "node", (evt) => {
    const id = evt.target.id();
    if (evt.originalEvent && evt.originalEvent.shiftKey && opts.expand) {
      expandNode(id);
      return;
    }
    const href = routeOf(id, evt.target.data("kind"));
    if (href) window.location.hash = href.slice(1);
  });
  cy.on("mouseover", "node", (evt) => {
    box.title = evt.target.id();
    box.style.cursor = routeOf(evt.target.id(), evt.target.data("kind")) ? "pointer" : "default";
  });
  cy.on("mouseout", "node", () => {
    box.title = "";
    box.style.cursor = "default";
  });

  /** Marks the nodes of `admins` (a Set of ids) as administrators. */
  function markAdmins(admins) {
    cy.nodes().forEach((n) => {
      if (admins.has(n.id()) && !n.data("admin")) {
        n.data("admin", true);
        n.data("label", `★ ${n.data("label")}`);
      }
    });
    refresh();
  }

  add(graph);
  return { cy, add, markAdmins };
}

function edgeTable(cy, opts, expandNode) {
  const rows = cy.edges().filter((e) => !e.data("ghost")).map((e) => ({
    source: e.data("source"),
    target: e.data("target"),
    label: e.data("label"),
    kind: e.data("kind"),
    conditional: e.data("conditional"),
  }));
  const cell = (id) => {
    const href = routeOf(id, cy.getElementById(id).data("kind"));
    const text = cy.getElementById(id).data("label") || shortName(id);
    return h("td", { title: id }, href ? h("a", { href }, text) : text);
  };
  const nodeList = opts.expand
    ? h(
        "ul",
        { class: "expand-list" },
        cy
          .nodes()
          .filter((n) => !n.data("expanded"))
          .map((n) =>
            h(
              "li",
              {},
              h("button", { type: "button", class: "small", onclick: () => expandNode(n.id()) }, `Expand ${n.data("label")}`)
            )
          )
      )
    : null;
  return h(
    "div",
    {},
    h(
      "table",
      { dataset: { edges: opts.testid || "" } },
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "From"), h("th", { scope: "col" }, "Edge"), h("th", { scope: "col" }, "To"))),
      h(
        "tbody",
        {},
        rows.map((r) =>
          h(
            "tr",
            { dataset: { source: r.source, target: r.target, kind: r.kind } },
            cell(r.source),
            h("td", {}, `${(EDGE_STYLE[r.kind] || { label: r.kind }).label}${r.label ? `: ${r.label}` : ""}${r.conditional ? " (needs a condition)" : ""}`),
            cell(r.target)
          )
        )
      )
    ),
    nodeList
  );
}

// ---- from API answers to drawings ---------------------------------------------------------------------------

/**
 * Parallel edges of one kind (a principal that can escalate to another by several techniques) as one edge
 * labelled with the first reason and how many more: a big neighbourhood stays drawable.
 */
export function mergeParallel(edges) {
  const groups = new Map();
  for (const e of edges) {
    const key = `${e.kind}|${e.source}|${e.target}`;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(e);
  }
  return [...groups.values()].map((list) => {
    if (list.length === 1) return list[0];
    const labels = [...new Set(list.map((e) => e.label).filter(Boolean))].sort();
    return {
      ...list[0],
      id: `${list[0].kind}:${list[0].source}->${list[0].target}#merged`,
      label: labels.length > 1 ? `${labels[0]} +${labels.length - 1}` : labels[0] || "",
      conditional: list.every((e) => e.conditional),
    };
  });
}

/** The `graph` field's answer ({nodes, edges, truncated}) as drawGraph takes it (parallel edges merged). */
export function fromIamGraph(g, focus = []) {
  const focusSet = new Set(focus);
  return {
    truncated: g.truncated,
    nodes: g.nodes.map((n) => ({
      id: n.id,
      label: n.label,
      kind: nodeKind(n.kind, n.id),
      admin: n.isAdmin,
      focus: focusSet.has(n.id),
    })),
    edges: mergeParallel(g.edges.map((e) => ({
      id: e.id,
      source: e.from,
      target: e.to,
      kind: e.kind,
      label: edgeLabel(e),
      conditional: !!(e.properties && (e.properties.needsConditions || (e.properties.conditions || []).length)),
    }))),
  };
}

function edgeLabel(e) {
  const p = e.properties || {};
  if (e.kind === "ATTACHED") return p.how || e.label;
  if (e.kind === "ESCALATES_TO") return p.technique || e.label;
  if (e.kind === "CAN_ASSUME") return (p.action || e.label || "").replace(/^sts:/, "");
  return e.label && e.label !== e.kind ? e.label : "";
}

/**
 * Escalation paths (escalationPaths' steps) and assumption chains (assumptionChainPage.graph) as one graph;
 * `admins` marks administrators (the last node of a path that reaches administrator is one anyway).
 */
export function fromPaths({ paths = [], chains = null, admins = new Set(), focus = [] }) {
  const nodes = new Map();
  const edges = [];
  const node = (id) => {
    if (!nodes.has(id)) nodes.set(id, { id, kind: kindOf(id), admin: admins.has(id), focus: focus.includes(id) });
  };
  for (const p of paths) {
    for (const s of p.steps) {
      node(s.from);
      node(s.to);
      if (s.makesAdmin || (p.reachesAdmin && s === p.steps[p.steps.length - 1])) nodes.get(s.to).admin = true;
      const assume = s.technique === "sts-001";
      edges.push({
        id: `P:${s.from}->${s.to}#${s.technique}`,
        source: s.from,
        target: s.to,
        kind: assume ? "CAN_ASSUME" : "ESCALATES_TO",
        label: assume ? "AssumeRole" : s.technique,
        conditional: (s.conditions || []).length > 0,
      });
    }
  }
  if (chains) {
    for (const n of chains.nodes) node(n.id);
    for (const e of chains.edges) {
      edges.push({
        id: `C:${e.source}->${e.target}#${e.label}`,
        source: e.source,
        target: e.target,
        kind: "CAN_ASSUME",
        label: String(e.label || "").replace(/^sts:/, ""),
        conditional: e.needsConditions,
      });
    }
  }
  // one edge per (source, target, kind, label)
  const unique = new Map(edges.map((e) => [`${e.kind}|${e.source}|${e.target}|${e.label}`, e]));
  return { nodes: [...nodes.values()], edges: [...unique.values()] };
}
