// Browse: users, groups, roles or policies of every account (or one), a page at a time from the API, with
// exports of a page or of every page.

import { h, put, pagedTable, entity, badge } from "../dom.js";

const LISTS = {
  users: {
    title: "Users",
    query: `query Users($first: Int, $after: String, $account: String) {
  users(first: $first, after: $after, account: $account) {
    totalCount pageInfo { hasNextPage endCursor }
    nodes { arn name account path isAdmin mfaActive groups { name } }
  }
}`,
    field: "users",
    columns: [
      { key: "name", label: "User", value: (r) => r.arn, cell: (r) => entity(r.arn, { kind: "user", label: r.name }) },
      { key: "account", label: "Account" },
      { key: "path", label: "Path" },
      { key: "groups", label: "Groups", value: (r) => r.groups.map((g) => g.name).join(" ") },
      { key: "mfaActive", label: "MFA", value: (r) => (r.mfaActive === null ? "" : r.mfaActive ? "yes" : "no") },
      { key: "isAdmin", label: "Administrator", value: (r) => (r.isAdmin ? "yes" : "no"), cell: (r) => (r.isAdmin ? badge("yes", "admin") : "no") },
    ],
  },
  roles: {
    title: "Roles",
    query: `query Roles($first: Int, $after: String, $account: String) {
  roles(first: $first, after: $after, account: $account) {
    totalCount pageInfo { hasNextPage endCursor }
    nodes { arn name account path isAdmin description }
  }
}`,
    field: "roles",
    columns: [
      { key: "name", label: "Role", value: (r) => r.arn, cell: (r) => entity(r.arn, { kind: "role", label: r.name }) },
      { key: "account", label: "Account" },
      { key: "path", label: "Path" },
      { key: "isAdmin", label: "Administrator", value: (r) => (r.isAdmin ? "yes" : "no"), cell: (r) => (r.isAdmin ? badge("yes", "admin") : "no") },
      { key: "description", label: "Description" },
    ],
  },
  groups: {
    title: "Groups",
    query: `query Groups($first: Int, $after: String, $account: String) {
  groups(first: $first, after: $after, account: $account) {
    totalCount pageInfo { hasNextPage endCursor }
    nodes { arn name account path members { arn } }
  }
}`,
    field: "groups",
    columns: [
      { key: "name", label: "Group", value: (r) => r.arn, cell: (r) => entity(r.arn, { kind: "group", label: r.name }) },
      { key: "account", label: "Account" },
      { key: "path", label: "Path" },
      { key: "members", label: "Members", value: (r) => r.members.length },
    ],
  },
  policies: {
    title: "Policies",
    query: `query Policies($first: Int, $after: String, $account: String) {
  policies(first: $first, after: $after, account: $account, kinds: [AWS_MANAGED, CUSTOMER_MANAGED, INLINE]) {
    totalCount pageInfo { hasNextPage endCursor }
    nodes { arn name kind account attachmentCount ownerArn }
  }
}`,
    field: "policies",
    columns: [
      { key: "name", label: "Policy", value: (r) => r.arn, cell: (r) => entity(r.arn, { kind: "policy", label: r.name }) },
      { key: "kind", label: "Kind", value: (r) => r.kind.toLowerCase().replace("_", "-") },
      { key: "account", label: "Account" },
      { key: "attachmentCount", label: "Attachments", value: (r) => (r.attachmentCount === null ? "" : r.attachmentCount) },
      { key: "ownerArn", label: "Inline in", value: (r) => r.ownerArn || "", cell: (r) => (r.ownerArn ? entity(r.ownerArn) : "") },
    ],
  },
};

export async function browsePage(main, route, { setParams }) {
  const which = LISTS[route.arg] ? route.arg : "users";
  const account = route.params.get("account") || "";
  const list = LISTS[which];
  const size = Math.min(100, Math.max(1, Number(route.params.get("size")) || 50));
  put(main, 
    h("h1", {}, list.title),
    h("nav", { class: "tabs", "aria-label": "What to browse" },
      Object.entries(LISTS).map(([k, v]) => h("a", { href: `#/browse/${k}${account ? `?account=${account}` : ""}`, "aria-current": k === which ? "page" : null }, v.title)))
  );
  const input = h("input", { id: "browse-account", value: account, placeholder: "every account", inputmode: "numeric" });
  const form = h("form", { class: "inline-form" }, h("label", { for: "browse-account" }, "Account"), input, h("button", { type: "submit" }, "Filter"));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    window.location.hash = `/browse/${which}${input.value.trim() ? `?account=${encodeURIComponent(input.value.trim())}` : ""}`;
  });
  put(main, form);
  if (account || route.params.get("size")) setParams({ account, size: route.params.get("size") || "" });
  pagedTable(main, {
    title: `${list.title}${account ? ` of ${account}` : ""}`,
    id: `browse-${which}`,
    name: which,
    query: list.query,
    variables: { account: account || null },
    pageSize: size,
    pick: (d) => ({
      total: d[list.field].totalCount,
      rows: d[list.field].nodes,
      endCursor: d[list.field].pageInfo.endCursor,
      hasNext: d[list.field].pageInfo.hasNextPage,
    }),
    columns: list.columns,
  });
}
