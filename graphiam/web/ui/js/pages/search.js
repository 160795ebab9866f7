// Search: any ARN or name among users, groups, roles and policies (the box at the top does the same as you
// type; this page lists up to 100 hits and filters by kind).

import { h, put, panel, table, entity, badge, kindOf } from "../dom.js";

const SEARCH = `query Search($text: String!, $kinds: [SearchKind!], $first: Int) {
  search(text: $text, kinds: $kinds, first: $first) { kind arn name account path policyKind nameMatch }
}`;
const KINDS = ["USER", "GROUP", "ROLE", "POLICY"];

export async function searchPage(main, route, { setParams }) {
  const q = route.params.get("q") || "";
  const kind = route.params.get("kind") || "";
  put(main, h("h1", {}, "Search"));
  const input = h("input", { type: "search", id: "search-page-box", value: q, placeholder: "name or ARN", autofocus: true });
  const select = h("select", { id: "search-kind" }, h("option", { value: "" }, "everything"), KINDS.map((k) => h("option", { value: k, selected: k === kind }, k.toLowerCase() + "s")));
  const form = h(
    "form",
    { class: "inline-form", role: "search" },
    h("label", { for: "search-page-box" }, "Name or ARN"), input,
    h("label", { for: "search-kind" }, "Kind"), select,
    h("button", { type: "submit" }, "Search")
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    window.location.hash = `/search?q=${encodeURIComponent(input.value.trim())}${select.value ? `&kind=${select.value}` : ""}`;
  });
  put(main, form);
  if (!q) {
    put(main, h("p", { class: "help" }, "Type part of a name or ARN. Anywhere on the dashboard, press / to search; ↑ ↓ pick a hit, Enter opens it."));
    return;
  }
  setParams({ q, kind });
  panel(main, {
    title: "Hits",
    id: "search",
    wide: true,
    query: SEARCH,
    variables: { text: q, kinds: kind ? [kind] : null, first: 100 },
    render(body, d) {
      put(body, 
        table({
          name: `search-${q}`,
          testid: "search",
          rows: d.search,
          empty: "No user, group, role or policy matches.",
          columns: [
            { key: "name", label: "Name", cell: (r) => entity(r.arn, { kind: r.kind, label: r.name }) },
            { key: "kind", label: "Kind", cell: (r) => badge(r.kind.toLowerCase(), `kind-${kindOf(r.arn)}`), value: (r) => r.kind.toLowerCase() },
            { key: "account", label: "Account" },
            { key: "arn", label: "ARN", cell: (r) => h("code", {}, r.arn) },
          ],
        }),
        d.search.length === 100 ? h("p", { class: "help" }, "The first 100 hits: type more of the name.") : null
      );
    },
  });
}
