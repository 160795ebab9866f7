// A user or a role: who it is, whether it is (or can become) administrator, its groups and policies (how each
// applies), its effective permissions by service and access level, the roles it can assume and its
// escalation paths drawn as one graph, its neighbourhood; for a role also its trust policy and who can
// assume it (directly and through chains), drawn.

import { gql } from "../api.js";
import { h, put, panel, queryDetails, table, entity, fmt, badge, kindOf, shortName, stat, jsonBlock, errorBox, bars, track } from "../dom.js";
import { drawGraph, fromPaths, fromIamGraph } from "../graph.js";

// The administrator facts asked of a principal. When the API has `canBecomeAdmin` (issue 12), add it here:
// `adminFacts` shows it as soon as the answer carries it (until then the escalation paths answer it).
export const ADMIN_FIELDS = "isAdmin adminReason";

const PRINCIPAL = `query Principal($arn: String!) {
  principal(arn: $arn) {
    __typename arn name account path createDate ${ADMIN_FIELDS}
    tags { key value }
    permissionsBoundary { arn name missingDocument }
    policies { attachedAs via group { arn name } policy { arn name kind missingDocument } }
    ... on User { groups { arn name } mfaActive passwordEnabled accessKeysActive hasCredentialReport }
    ... on Role { description maxSessionDuration lastUsed trustPolicy instanceProfiles { arn name } }
  }
}`;
const EFFECTIVE = `query Effective($arn: String!) {
  effectivePermissions(principal: $arn) {
    isAdmin actionCount blockedActionCount permissionsBoundary
    byAccessLevel { accessLevel count } summary { service accessLevel count }
    warnings
  }
}`;
const ACCESS_GRAPH = `query AccessGraph($arn: String!, $limit: Int!, $first: Int!) {
  escalationPaths(from: $arn, limit: $limit) {
    length reachesAdmin conditions
    steps { from to technique techniqueName conditions assumptions makesAdmin }
  }
  assumptionChainPage(from: $arn, first: $first) {
    totalCount truncated hasNextPage
    graph { nodes { id label type } edges { source target label needsConditions } }
  }
}`;
export const ADMINS_AMONG = `query AdministratorsAmong($arns: [String!]!) { administrators(arns: $arns) { arn } }`;
const ASSUMABLE = `query Assumable($arn: String!) {
  principal(arn: $arn) { assumableRoles(maxDepth: 5) { arn depth needsConditions } }
}`;
const WHO_ASSUMES = `query WhoCanAssume($arn: String!) {
  role(arn: $arn) { assumableBy(maxDepth: 5) { id type depth needsConditions } }
  graph(around: [$arn], depth: 3, edgeKinds: [CAN_ASSUME], maxNodes: 120) {
    truncated nodes { id kind label account isAdmin } edges { id from to kind label properties }
  }
}`;
export const NEIGHBOURHOOD = `query Neighbourhood($around: [String!]!, $depth: Int!, $maxNodes: Int!, $maxEdges: Int!, $edgeKinds: [GraphEdgeKind!]) {
  graph(around: $around, depth: $depth, maxNodes: $maxNodes, maxEdges: $maxEdges, edgeKinds: $edgeKinds) {
    truncated nodes { id kind label account isAdmin } edges { id from to kind label properties }
  }
}`;

// The escalation paths drawn first: the shortest few (a principal that can escalate through a common fan-out
// has hundreds, each a drawing of its own); "more" asks again with MORE_PATHS (the URL's `paths=`).
export const PATH_LIMIT = 10;
export const MORE_PATHS = 50;
const CHAIN_PAGE = 50;
const LEVELS = ["LIST", "READ", "WRITE", "TAGGING", "PERMISSIONS_MANAGEMENT"];

function adminFacts(p, canBecome) {
  const facts = [
    h("dt", {}, "Administrator"),
    h("dd", { dataset: { fact: "isAdmin" } }, p.isAdmin ? badge("yes", "admin") : "no", " ", h("span", { class: "muted" }, p.adminReason)),
  ];
  if ("canBecomeAdmin" in p) {
    facts.push(h("dt", {}, "Can become administrator"), h("dd", { dataset: { fact: "canBecomeAdmin" } }, p.canBecomeAdmin === null ? "unknown" : p.canBecomeAdmin ? badge("yes", "danger") : "no"));
  } else if (canBecome) {
    facts.push(h("dt", {}, "Can become administrator"), canBecome);
  }
  return facts;
}

export async function principalPage(main, route) {
  const arn = route.arg;
  const isRole = route.name === "role" || kindOf(arn) === "role";
  const title = h("h1", {}, shortName(arn));
  put(main, 
    h("p", { class: "crumbs" }, h("a", { href: "#/" }, "Overview"), " › ", isRole ? "role" : "user"),
    title,
    h("p", { class: "arn" }, h("code", {}, arn))
  );
  const grid = h("div", { class: "grid" });
  put(main, grid);
  const vars = { arn };
  const canBecome = h("dd", { dataset: { fact: "canBecomeAdmin" } }, "…");

  panel(grid, {
    title: "Who",
    id: "who",
    query: PRINCIPAL,
    variables: vars,
    render(body, d) {
      const p = d.principal;
      if (!p) {
        put(body, errorBox(`No user or role ${arn} in the graph.`));
        return;
      }
      title.textContent = p.name;
      const dl = h(
        "dl",
        { class: "facts" },
        h("dt", {}, "Kind"), h("dd", {}, p.__typename.toLowerCase()),
        h("dt", {}, "Account"), h("dd", {}, p.account),
        h("dt", {}, "Path"), h("dd", {}, p.path || "/"),
        adminFacts(p, canBecome),
        h("dt", {}, "Permissions boundary"),
        h("dd", {}, p.permissionsBoundary ? [entity(p.permissionsBoundary.arn, { kind: "policy" }), p.permissionsBoundary.missingDocument ? badge("document missing", "warn") : null] : "none"),
        p.createDate ? [h("dt", {}, "Created"), h("dd", {}, p.createDate)] : null,
        p.__typename === "User" && p.hasCredentialReport
          ? [h("dt", {}, "Credentials"), h("dd", {}, `console password: ${p.passwordEnabled ? "yes" : "no"}; MFA: ${p.mfaActive ? "yes" : "no"}; active access keys: ${fmt(p.accessKeysActive)}`)]
          : null,
        p.__typename === "Role" && p.description ? [h("dt", {}, "Description"), h("dd", {}, p.description)] : null,
        p.tags.length ? [h("dt", {}, "Tags"), h("dd", {}, p.tags.map((t) => badge(`${t.key}=${t.value}`)))] : null
      );
      put(body, dl);
      if (p.__typename === "User") {
        put(body, h("h3", {}, "Groups"), p.groups.length ? h("ul", { class: "inline" }, p.groups.map((g) => h("li", {}, entity(g.arn, { kind: "group" })))) : h("p", { class: "empty" }, "None."));
      }
      put(body, 
        h("h3", {}, "Policies and how each applies"),
        table({
          name: `policies-${p.name}`,
          testid: "policies",
          rows: p.policies,
          columns: [
            { key: "policy", label: "Policy", value: (r) => r.policy.arn, cell: (r) => [entity(r.policy.arn, { kind: "policy", label: r.policy.name }), r.policy.missingDocument ? badge("document missing", "warn") : null] },
            { key: "kind", label: "Kind", value: (r) => r.policy.kind.toLowerCase().replace("_", "-") },
            { key: "attachedAs", label: "Attached as", value: (r) => r.attachedAs.toLowerCase() },
            { key: "via", label: "Via", value: (r) => (r.group ? `group ${r.group.name}` : "directly"), cell: (r) => (r.group ? ["group ", entity(r.group.arn, { kind: "group" })] : "directly") },
          ],
        })
      );
      if (p.__typename === "Role") {
        put(body, 
          h("h3", {}, "Trust policy"),
          p.trustPolicy ? jsonBlock(p.trustPolicy, { label: "trust policy", highlight: (l) => /"(Principal|Condition|AWS|Service|Federated)"/.test(l) }) : h("p", { class: "empty" }, "None."),
          p.instanceProfiles.length ? [h("h3", {}, "Instance profiles"), h("ul", {}, p.instanceProfiles.map((ip) => h("li", {}, ip.name)))] : null
        );
      }
    },
  });

  panel(grid, {
    title: "Effective permissions",
    id: "effective",
    query: EFFECTIVE,
    variables: vars,
    help: "Identity policies expanded against AWS's action catalogue, capped by the boundary and SCPs, after denies.",
    render(body, d) {
      const e = d.effectivePermissions;
      put(body, 
        h("div", { class: "stats" },
          stat("actions allowed", e.actionCount, { stat: "actions" }),
          stat("removed by boundary, SCPs or denies", e.blockedActionCount, { stat: "blocked" })),
        h("h3", {}, "By access level"),
        bars(LEVELS.map((l) => ({ key: l, label: l.toLowerCase().replace("_", " "), value: (e.byAccessLevel.find((x) => x.accessLevel === l) || { count: 0 }).count, cls: l === "PERMISSIONS_MANAGEMENT" ? "danger" : l === "WRITE" ? "warn" : "" })), { testid: "levels" })
      );
      const services = [...new Set(e.summary.map((s) => s.service))];
      const rows = services.map((s) => {
        const row = { service: s, total: 0 };
        for (const l of LEVELS) {
          const c = (e.summary.find((x) => x.service === s && x.accessLevel === l) || { count: 0 }).count;
          row[l] = c;
          row.total += c;
        }
        return row;
      }).sort((a, b) => b.PERMISSIONS_MANAGEMENT - a.PERMISSIONS_MANAGEMENT || b.total - a.total);
      put(body, 
        h("h3", {}, `By service (${fmt(services.length)})`),
        table({
          name: "effective-permissions",
          testid: "by-service",
          rows,
          columns: [
            { key: "service", label: "Service", cell: (r) => h("a", { href: `#/simulate?principal=${encodeURIComponent(arn)}&action=${encodeURIComponent(`${r.service}:*`)}` }, r.service) },
            ...LEVELS.map((l) => ({ key: l, label: l === "PERMISSIONS_MANAGEMENT" ? "perm. mgmt" : l.toLowerCase() })),
            { key: "total", label: "Total" },
          ],
        })
      );
      if (e.warnings.length) put(body, h("ul", { class: "warnings" }, e.warnings.map((w) => h("li", {}, w))));
    },
  });

  const pathLimit = Math.min(1000, Math.max(1, Number(route.params.get("paths")) || PATH_LIMIT));
  const graphPanel = panel(grid, {
    title: "Roles it can assume and escalation paths",
    id: "access-graph",
    wide: true,
    query: ACCESS_GRAPH,
    variables: { arn, limit: pathLimit, first: CHAIN_PAGE },
    help: "Every escalation path to administrator (each step proven by the engine) and every chain of role assumptions, drawn as one graph.",
    render(body, d) {
      const paths = d.escalationPaths;
      const chains = d.assumptionChainPage;
      const g = fromPaths({ paths, chains: chains.graph, focus: [arn] });
      if (!g.nodes.length) g.nodes.push({ id: arn, kind: kindOf(arn), focus: true });
      canBecome.replaceChildren();
      put(canBecome, paths.some((p) => p.reachesAdmin) ? [badge("yes", "danger"), ` ${fmt(paths.filter((p) => p.reachesAdmin).length)} path(s) below`] : "no path found (or already administrator)");
      const notes = [];
      if (paths.length >= pathLimit) notes.push(`The ${fmt(pathLimit)} shortest escalation paths are drawn.`);
      if (chains.hasNextPage || chains.truncated) notes.push(`${fmt(Math.min(CHAIN_PAGE, chains.totalCount))} of ${fmt(chains.totalCount)}${chains.truncated ? "+" : ""} assumption chains are drawn.`);
      const drawing = drawGraph(body, g, { title: "Access graph", testid: "access", note: notes.join(" "), truncated: chains.truncated, limitText: "1,000 chains" });
      markAdministrators(drawing, g.nodes.map((n) => n.id), body);
      put(body,
        h("h3", {}, `Escalation paths (${fmt(paths.length)}${paths.length >= pathLimit ? ", the shortest" : ""})`),
        paths.length >= pathLimit && pathLimit < MORE_PATHS
          ? h("p", {}, h("a", { href: hrefWith({ paths: MORE_PATHS }), dataset: { more: "paths" } }, `Show up to ${fmt(MORE_PATHS)} paths`))
          : null,
        paths.length
          ? h("ol", { class: "paths", dataset: { list: "paths" } }, paths.map((p) =>
              h("li", {},
                p.steps.map((s, i) => [
                  i === 0 ? entity(s.from) : null,
                  h("span", { class: "step", title: (s.assumptions || []).join("; ") }, ` —${s.technique}${s.techniqueName ? ` (${s.techniqueName})` : ""}${s.conditions.length ? ` [needs ${s.conditions.join(", ")}]` : ""}→ `),
                  entity(s.to),
                ]),
                p.reachesAdmin ? [" ", badge("administrator", "admin")] : null)))
          : h("p", { class: "empty" }, "No escalation path to administrator.")
      );
    },
  });
  void graphPanel;

  panel(grid, {
    title: "Roles it can assume",
    id: "assumable",
    query: ASSUMABLE,
    variables: vars,
    render(body, d) {
      const rows = d.principal ? d.principal.assumableRoles : [];
      put(body, 
        table({
          name: "assumable-roles",
          testid: "assumable",
          rows,
          empty: "It can assume no role.",
          columns: [
            { key: "arn", label: "Role", cell: (r) => entity(r.arn, { kind: "role" }) },
            { key: "depth", label: "Hops" },
            { key: "needsConditions", label: "Needs a condition", value: (r) => (r.needsConditions ? "yes" : "no") },
            { key: "path", label: "", value: () => "", cell: (r) => h("a", { href: `#/paths?from=${encodeURIComponent(arn)}&to=${encodeURIComponent(r.arn)}` }, "chains") },
          ],
        })
      );
    },
  });

  if (isRole) {
    panel(grid, {
      title: "Who can assume it",
      id: "assumed-by",
      wide: true,
      query: WHO_ASSUMES,
      variables: vars,
      help: "Users, roles, services and outside principals that reach this role, directly or through chains.",
      render(body, d) {
        drawGraph(body, fromIamGraph(d.graph, [arn]), { title: "Who can assume it", testid: "assumed-by", truncated: d.graph.truncated, limitText: "maxNodes 120" });
        put(body, 
          table({
            name: "assumable-by",
            testid: "assumable-by",
            rows: d.role ? d.role.assumableBy : [],
            empty: "Nobody can assume it.",
            columns: [
              { key: "id", label: "Principal", cell: (r) => entity(r.id) },
              { key: "type", label: "Kind" },
              { key: "depth", label: "Hops" },
              { key: "needsConditions", label: "Needs a condition", value: (r) => (r.needsConditions ? "yes" : "no") },
            ],
          })
        );
      },
    });
  }

  neighbourhood(grid, [arn], { escalations: route.params.get("hood") === "all" });
}

/** The current view's URL with `params` set (null: removed), the others kept: a shareable link. */
export function hrefWith(params) {
  const hash = window.location.hash || "#/";
  const q = hash.indexOf("?");
  const kept = new URLSearchParams(q >= 0 ? hash.slice(q + 1) : "");
  for (const [k, v] of Object.entries(params)) {
    if (v === null || v === undefined) kept.delete(k);
    else kept.set(k, String(v));
  }
  const base = q >= 0 ? hash.slice(0, q) : hash;
  return kept.toString() ? `${base}?${kept}` : base;
}

/** Rings the drawn administrators: which of the drawing's nodes are, asked of the API (its query shown). */
export function markAdministrators(drawing, ids, body) {
  if (!drawing.cy || !ids.length) return;
  body.append(queryDetails(ADMINS_AMONG, { arns: ids }));
  track(gql(ADMINS_AMONG, { arns: ids }).then(
    (d) => drawing.markAdmins(new Set(d.administrators.map((a) => a.arn))),
    (e) => console.warn(e)
  ));
}

// The neighbourhood's edges unless asked for every kind: escalation edges are the access graph's (above), and
// a principal that can escalate to thousands of others would fill the drawing with them.
const STRUCTURE = ["MEMBER_OF", "ATTACHED", "CAN_ASSUME", "HAS_ROLE"];

/**
 * The `graph` around `around` (`depth` hops) with "expand" on any node (one more hop around it); escalation
 * edges only with `escalations` (the URL's `hood=all`, which a button sets).
 */
export function neighbourhood(parent, around, { maxNodes = 80, depth = 1, maxEdges = 600, escalations = false } = {}) {
  const edgeKinds = escalations ? null : STRUCTURE;
  const vars = { around, depth, maxNodes, maxEdges, edgeKinds };
  panel(parent, {
    title: "Neighbourhood",
    id: "neighbourhood",
    wide: true,
    query: NEIGHBOURHOOD,
    variables: vars,
    help: `Groups, policies (with how they are attached), roles${escalations ? " and escalations" : ""} ${depth === 1 ? "one edge" : `${depth} edges`} away. Expand a node to go further.`,
    render(body, d) {
      put(body, h("p", {}, escalations
        ? h("a", { href: hrefWith({ hood: null }) }, "Leave out escalation edges")
        : h("a", { href: hrefWith({ hood: "all" }) }, "Also draw escalation edges")));
      drawGraph(body, fromIamGraph(d.graph, around), {
        title: "Neighbourhood",
        testid: "neighbourhood",
        truncated: d.graph.truncated,
        limitText: `maxNodes ${maxNodes}, maxEdges ${maxEdges}`,
        note: "Parallel edges of one kind are drawn once (“+N”: N more reasons).",
        expand: (id) =>
          track(gql(NEIGHBOURHOOD, { ...vars, around: [id], depth: 1 })).then((x) => fromIamGraph(x.graph)),
      });
    },
  });
}
