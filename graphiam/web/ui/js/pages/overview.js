// Overview: what is loaded, who is administrator or can become one, who outside can get in, and the risk
// report by category — each panel one GraphQL query (see "Show query").

import { gql } from "../api.js";
import { h, put, panel, pagedTable, bars, stat, table, entity, fmt, badge, shortName, track } from "../dom.js";

const COUNTS = `query OverviewCounts {
  accounts { id source loadedAt }
  users(first: 0) { totalCount }
  groups(first: 0) { totalCount }
  roles(first: 0) { totalCount }
  policies(first: 0, kinds: [AWS_MANAGED, CUSTOMER_MANAGED, INLINE]) { totalCount }
}`;
const ADMINS = `query Administrators {
  adminSummary { administrators allowedEverythingNow byAccount { account administrators } }
  administrators(first: 50) { arn account kind now }
}`;
const ALL_ADMINS = `query AllAdministrators { administrators { arn account kind now } }`;
const CAN_BECOME = `query CanBecomeAdmin {
  adminSummary { canBecomeAdmin byPathLength { length principals } }
  escalationSummary(first: 10) { arn shortestPathLength firstTechnique selfEscalation }
}`;
const ALL_CAN_BECOME = `query AllCanBecomeAdmin { escalationSummary { arn shortestPathLength firstTechnique selfEscalation } }`;
const EXTERNAL = `query ExternalAccess {
  externalAccess(targets: [ROLE]) { role account principal principalKind outsideOrganization unconditional }
}`;
const FINDINGS = `query FindingsSummary {
  policyFindings(first: 0) { totalCount policiesAnalysed summary { category severity policies actions principals } }
}`;
const FINDINGS_PAGE = `query Findings($first: Int, $after: String) {
  policyFindings(first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    nodes { policyArn policyName policyKind account reachesAdmin
            findings { category severity actionCount conditional } principals { arn } }
  }
}`;

const SEVERITY_ORDER = { high: 0, medium: 1, low: 2 };
const label = (cat) => cat.toLowerCase().replace(/_/g, " ");

function perAccountQuery(ids) {
  const vars = ids.map((_, i) => `$a${i}: String!`).join(", ");
  const fields = ids
    .map((_, i) => `a${i}_users: users(account: $a${i}, first: 0) { totalCount } a${i}_roles: roles(account: $a${i}, first: 0) { totalCount }`)
    .join("\n  ");
  return `query PrincipalsByAccount(${vars}) {\n  ${fields}\n}`;
}

export async function overview(main) {
  put(main, 
    h("h1", {}, "Overview"),
    h("p", { class: "lede" }, "What is loaded, who is administrator or can become one, who outside the accounts can get in, and which policies carry risk.")
  );
  const grid = h("div", { class: "grid" });
  put(main, grid);

  panel(grid, {
    title: "Accounts and principals",
    id: "counts",
    query: COUNTS,
    render(body, d) {
      put(body, 
        h(
          "div",
          { class: "stats" },
          stat("accounts", d.accounts.length, { stat: "accounts" }),
          stat("users", d.users.totalCount, { stat: "users", href: "#/browse/users" }),
          stat("groups", d.groups.totalCount, { stat: "groups", href: "#/browse/groups" }),
          stat("roles", d.roles.totalCount, { stat: "roles", href: "#/browse/roles" }),
          stat("policies", d.policies.totalCount, { stat: "policies", href: "#/browse/policies" })
        )
      );
      const ids = d.accounts.map((a) => a.id).slice(0, 25);
      if (!ids.length) return;
      const chart = h("div", { class: "chart" }, h("p", { class: "loading" }, "Loading…"));
      put(body, h("h3", {}, "Users and roles by account"), chart);
      const vars = Object.fromEntries(ids.map((id, i) => [`a${i}`, id]));
      const q = perAccountQuery(ids);
      track(
        gql(q, vars).then(
          (p) => {
            chart.replaceChildren(
              bars(
                ids.map((id, i) => ({
                  key: id,
                  label: id,
                  value: p[`a${i}_users`].totalCount + p[`a${i}_roles`].totalCount,
                  parts: [
                    { value: p[`a${i}_users`].totalCount, cls: "users", label: "users" },
                    { value: p[`a${i}_roles`].totalCount, cls: "roles", label: "roles" },
                  ],
                })),
                { testid: "by-account" }
              ),
              h("p", { class: "chart-key" }, h("span", { class: "key users" }), " users ", h("span", { class: "key roles" }), " roles"),
              h("details", { class: "query" }, h("summary", {}, "Show query (by account)"), h("pre", { class: "code" }, h("code", {}, q)), h("pre", { class: "code" }, h("code", {}, JSON.stringify(vars, null, 2))))
            );
          },
          (e) => chart.replaceChildren(h("p", { class: "error" }, e.message))
        )
      );
      // what the loader warned about: asked only when wanted (a big export has thousands of lines)
      const warnings = h("div", {});
      const ask = h("button", { type: "button", class: "small" }, "Show the load warnings");
      ask.addEventListener("click", () => {
        ask.disabled = true;
        gql("{ accounts { id warnings } }").then(
          (w) => {
            const lines = w.accounts.flatMap((a) => a.warnings.map((x) => `${a.id}: ${x}`));
            warnings.replaceChildren(
              lines.length
                ? table({ name: "load-warnings", rows: lines.map((l) => ({ l })), columns: [{ key: "l", label: `Load warnings (${fmt(lines.length)})` }] })
                : h("p", { class: "empty" }, "No load warnings.")
            );
          },
          (e) => warnings.replaceChildren(h("p", { class: "error" }, e.message))
        );
      });
      put(body, h("p", {}, ask), warnings);
    },
  });

  panel(grid, {
    title: "Administrators",
    id: "admins",
    query: ADMINS,
    help: "Allowed every action on * now (isAdmin: identity policies, boundary, denies and SCPs applied). One that can make itself administrator is under “Can become administrator”.",
    render(body, d) {
      const c = d.adminSummary;
      put(body,
        h("div", { class: "stats" },
          stat("administrators", c.administrators, { stat: "admins" }),
          stat("allowed * now", c.allowedEverythingNow, { stat: "admins-now" })),
        c.byAccount.length > 1 ? bars(c.byAccount.map((a) => ({ key: a.account, label: a.account, value: a.administrators, cls: "danger" })), { testid: "admins-by-account" }) : null,
        table({
          name: "administrators",
          testid: "admins",
          total: c.administrators,
          fetchAll: () => gql(ALL_ADMINS).then((x) => x.administrators),
          rows: d.administrators,
          columns: [
            { key: "arn", label: "Principal", cell: (r) => entity(r.arn) },
            { key: "kind", label: "Kind", value: (r) => r.kind.toLowerCase() },
            { key: "account", label: "Account" },
          ],
        })
      );
    },
  });

  panel(grid, {
    title: "Can become administrator",
    id: "can-become",
    query: CAN_BECOME,
    help: "Principals not allowed everything now with an escalation path to administrator (escalationPaths shows each).",
    render(body, d) {
      const c = d.adminSummary;
      put(body,
        h("div", { class: "stats" }, stat("can become administrator", c.canBecomeAdmin, { stat: "can-become-admin" })),
        c.byPathLength.length ? h("h3", {}, "By shortest path length") : null,
        c.byPathLength.length
          ? bars(c.byPathLength.map((x) => ({ key: String(x.length), label: `${x.length} step${x.length > 1 ? "s" : ""}`, value: x.principals, cls: "danger" })), { testid: "path-lengths" })
          : null,
        h("h3", {}, "The nearest"),
        table({
          name: "can-become-administrator",
          testid: "can-become",
          rows: d.escalationSummary,
          total: c.canBecomeAdmin,
          fetchAll: () => gql(ALL_CAN_BECOME).then((x) => x.escalationSummary),
          columns: [
            { key: "arn", label: "Principal", cell: (r) => h("a", { href: `#/paths?from=${encodeURIComponent(r.arn)}`, title: r.arn }, shortName(r.arn)) },
            { key: "shortestPathLength", label: "Steps" },
            { key: "firstTechnique", label: "First technique" },
          ],
        })
      );
    },
  });

  panel(grid, {
    title: "External and public access",
    id: "external",
    query: EXTERNAL,
    help: "Roles that principals outside the loaded accounts can assume.",
    render(body, d) {
      const rows = d.externalAccess;
      const roles = new Set(rows.map((r) => r.role));
      const everyone = rows.filter((r) => r.principalKind === "EVERYONE");
      const unconditional = rows.filter((r) => r.unconditional);
      const kinds = new Map();
      rows.forEach((r) => kinds.set(r.principalKind, (kinds.get(r.principalKind) || 0) + 1));
      put(body, 
        h("div", { class: "stats" },
          stat("roles reachable from outside", roles.size, { stat: "external-roles" }),
          stat("trust entries", rows.length, { stat: "external-entries" }),
          stat("without a condition", unconditional.length, { stat: "external-unconditional" }),
          stat("open to anyone (*)", everyone.length, { stat: "public" })),
        rows.length ? bars([...kinds.entries()].map(([k, c]) => ({ key: k, label: k.toLowerCase(), value: c, cls: k === "EVERYONE" ? "danger" : "" })), { testid: "external-kinds" }) : null,
        table({
          name: "external-access",
          testid: "external",
          limit: 50,
          rows,
          columns: [
            { key: "role", label: "Role", cell: (r) => entity(r.role) },
            { key: "principal", label: "Outside principal", cell: (r) => h("span", { title: r.principal }, shortName(r.principal) || r.principal) },
            { key: "principalKind", label: "Kind", value: (r) => r.principalKind.toLowerCase() },
            { key: "unconditional", label: "Condition", value: (r) => (r.unconditional ? "none" : "guarded") },
          ],
        })
      );
    },
  });

  panel(grid, {
    title: "Policy findings by category",
    id: "findings",
    query: FINDINGS,
    help: "Cloudsplaining's categories: actions a policy allows without resource constraints.",
    render(body, d) {
      const f = d.policyFindings;
      const rows = [...f.summary].sort((a, b) => SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] || b.policies - a.policies);
      put(body, 
        h("div", { class: "stats" },
          stat("policies with findings", f.totalCount, { stat: "finding-policies" }),
          stat("policies analysed", f.policiesAnalysed, { stat: "policies-analysed" })),
        bars(rows.map((s) => ({ key: s.category, label: `${label(s.category)} (${s.severity})`, value: s.policies, cls: `sev-${s.severity}` })), { testid: "findings", unit: " policies" }),
        table({
          name: "findings-summary",
          rows,
          columns: [
            { key: "category", label: "Category", value: (r) => label(r.category) },
            { key: "severity", label: "Severity", cell: (r) => badge(r.severity, `sev-${r.severity}`) },
            { key: "policies", label: "Policies" },
            { key: "actions", label: "Actions" },
            { key: "principals", label: "Principals reached" },
          ],
        })
      );
    },
  });

  pagedTable(main, {
    title: "Policies with findings",
    id: "finding-list",
    name: "policy-findings",
    query: FINDINGS_PAGE,
    pageSize: 20,
    pick: (d) => ({
      total: d.policyFindings.totalCount,
      rows: d.policyFindings.nodes,
      endCursor: d.policyFindings.pageInfo.endCursor,
      hasNext: d.policyFindings.pageInfo.hasNextPage,
    }),
    columns: [
      { key: "policyArn", label: "Policy", cell: (r) => entity(r.policyArn, { kind: "policy", label: r.policyName }) },
      { key: "policyKind", label: "Kind", value: (r) => r.policyKind.toLowerCase().replace("_", "-") },
      { key: "account", label: "Account" },
      {
        key: "findings",
        label: "Findings",
        value: (r) => r.findings.map((x) => `${label(x.category)}: ${x.actionCount}`).join("; "),
        cell: (r) => h("span", {}, r.findings.map((x) => badge(`${label(x.category)} ${x.actionCount}${x.conditional ? " (if)" : ""}`, `sev-${x.severity}`))),
      },
      { key: "principals", label: "Principals", value: (r) => r.principals.length },
      { key: "reachesAdmin", label: "Reaches an administrator", value: (r) => (r.reachesAdmin ? "yes" : "no") },
    ],
  });
}
