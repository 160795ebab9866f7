// Path finder: from a principal to a role (or to administrator): every chain of role assumptions and every
// escalation path, drawn, with the conditions each hop needs.

import { h, put, panel, field, entity, badge, fmt, kindOf } from "../dom.js";
import { drawGraph, fromPaths } from "../graph.js";
import { markAdministrators } from "./principal.js";

const PATHS = `query Paths($from: String!, $to: String, $maxDepth: Int!) {
  escalationPaths(from: $from, to: $to, maxDepth: $maxDepth, limit: 50) {
    length reachesAdmin conditions
    steps { from to technique techniqueName conditions assumptions makesAdmin }
  }
  assumptionChainPage(from: $from, to: $to, maxDepth: $maxDepth, first: 50) {
    totalCount truncated hasNextPage
    chains { length needsConditions hops { from to action needsConditions requiredConditions { key operator values role } } }
    graph { nodes { id label type } edges { source target label needsConditions } }
  }
}`;

function hopConditions(hop) {
  if (!hop.requiredConditions.length) return null;
  return h("span", { class: "needs" }, ` [if ${hop.requiredConditions.map((c) =>
    `${c.role === "AVOIDED" ? "not " : ""}${c.operator} ${c.key} ${c.values.join(", ")}`).join("; ")}]`);
}

export async function pathsPage(main, route) {
  const p = route.params;
  put(main, h("h1", {}, "Path finder"), h("p", { class: "lede" }, "From a principal to a role, or to administrator: every chain of role assumptions and every escalation path, with the conditions each hop needs."));
  const from = h("input", { value: p.get("from") || "", required: true, spellcheck: "false", placeholder: "a user or role ARN, or a service (ec2.amazonaws.com)" });
  const to = h("input", { value: p.get("to") || "", spellcheck: "false", placeholder: "empty: to administrator" });
  const depth = h("input", { type: "number", min: "1", max: "6", value: p.get("depth") || "5" });
  const form = h("form", { class: "sim-form" }, field("From", from), field("To (a role ARN)", to, "empty: paths to administrator"), field("At most hops", depth), h("div", { class: "buttons" }, h("button", { type: "submit" }, "Find paths")));
  put(main, form);
  const out = h("div", { class: "grid" });
  put(main, out);

  function run() {
    out.replaceChildren();
    const vars = { from: from.value.trim(), to: to.value.trim() || null, maxDepth: Number(depth.value) || 5 };
    const qs = new URLSearchParams({ from: vars.from });
    if (vars.to) qs.set("to", vars.to);
    if (vars.maxDepth !== 5) qs.set("depth", String(vars.maxDepth));
    window.history.replaceState(null, "", `#/paths?${qs}`);
    panel(out, {
      title: vars.to ? "Paths" : "Paths to administrator",
      id: "paths",
      wide: true,
      query: PATHS,
      variables: vars,
      render(body, d) {
        const chains = d.assumptionChainPage;
        const g = fromPaths({ paths: d.escalationPaths, chains: chains.graph, focus: [vars.from, vars.to].filter(Boolean) });
        if (!g.nodes.length) g.nodes.push({ id: vars.from, kind: kindOf(vars.from), focus: true });
        const drawing = drawGraph(body, g, { title: "Paths", testid: "paths", truncated: chains.truncated, limitText: "1,000 chains",
          note: chains.hasNextPage ? `The first 50 of ${fmt(chains.totalCount)} chains are drawn.` : "" });
        markAdministrators(drawing, g.nodes.map((n) => n.id), body);
        put(body, 
          h("h3", {}, `Escalation paths (${fmt(d.escalationPaths.length)})`),
          d.escalationPaths.length
            ? h("ol", { class: "paths", dataset: { list: "escalation" } }, d.escalationPaths.map((path) =>
                h("li", {}, path.steps.map((s, i) => [
                  i === 0 ? entity(s.from) : null,
                  h("span", { class: "step" }, ` —${s.technique}${s.techniqueName ? ` (${s.techniqueName})` : ""}→ `),
                  entity(s.to),
                  s.conditions.length ? h("span", { class: "needs" }, ` [needs ${s.conditions.join(", ")}]`) : null,
                  s.assumptions.length ? h("span", { class: "muted" }, ` [assumes ${s.assumptions.join("; ")}]`) : null,
                ]), path.reachesAdmin ? [" ", badge("administrator", "admin")] : null)))
            : h("p", { class: "empty" }, "None."),
          h("h3", {}, `Chains of role assumptions (${fmt(chains.totalCount)}${chains.truncated ? "+" : ""})`),
          chains.chains.length
            ? h("ol", { class: "paths", dataset: { list: "chains" } }, chains.chains.map((c) =>
                h("li", {}, c.hops.map((hop, i) => [
                  i === 0 ? entity(hop.from) : null,
                  h("span", { class: "step" }, ` —${hop.action.replace(/^sts:/, "")}${hop.needsConditions ? " (if)" : ""}→ `),
                  entity(hop.to, { kind: "role" }),
                  hopConditions(hop),
                ]))))
            : h("p", { class: "empty" }, "None.")
        );
      },
    });
  }
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    run();
  });
  if (from.value) run();
  else put(main, h("p", { class: "help" }, "Try: ", h("a", { href: "#/paths?from=arn%3Aaws%3Aiam%3A%3A111111111111%3Auser%2Fengineering%2Fbob" }, "bob to administrator"), " (the demo organisation)."));
}
