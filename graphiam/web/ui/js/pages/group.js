// A group: its members and its policies (what every member inherits), and its neighbourhood.

import { h, put, panel, table, entity, badge, shortName, fmt } from "../dom.js";
import { neighbourhood } from "./principal.js";

const GROUP = `query Group($arn: String!) {
  group(arn: $arn) {
    arn name account path createDate
    members { arn name isAdmin }
    policies { attachedAs via policy { arn name kind missingDocument } }
  }
}`;

export async function groupPage(main, route) {
  const arn = route.arg;
  const title = h("h1", {}, shortName(arn));
  put(main, h("p", { class: "crumbs" }, h("a", { href: "#/" }, "Overview"), " › group"), title, h("p", { class: "arn" }, h("code", {}, arn)));
  const grid = h("div", { class: "grid" });
  put(main, grid);
  panel(grid, {
    title: "Members and policies",
    id: "group",
    query: GROUP,
    variables: { arn },
    render(body, d) {
      const g = d.group;
      if (!g) {
        put(body, h("p", { class: "error" }, `No group ${arn} in the graph.`));
        return;
      }
      title.textContent = g.name;
      put(body, 
        h("dl", { class: "facts" }, h("dt", {}, "Account"), h("dd", {}, g.account), h("dt", {}, "Path"), h("dd", {}, g.path || "/"), h("dt", {}, "Members"), h("dd", {}, fmt(g.members.length))),
        h("h3", {}, "Members"),
        table({
          name: `members-${g.name}`,
          testid: "members",
          rows: g.members,
          empty: "No members.",
          columns: [
            { key: "arn", label: "User", cell: (r) => entity(r.arn, { kind: "user" }) },
            { key: "isAdmin", label: "Administrator", value: (r) => (r.isAdmin ? "yes" : "no"), cell: (r) => (r.isAdmin ? badge("yes", "admin") : "no") },
          ],
        }),
        h("h3", {}, "Policies (every member gets them)"),
        table({
          name: `group-policies-${g.name}`,
          rows: g.policies,
          columns: [
            { key: "policy", label: "Policy", value: (r) => r.policy.arn, cell: (r) => entity(r.policy.arn, { kind: "policy", label: r.policy.name }) },
            { key: "kind", label: "Kind", value: (r) => r.policy.kind.toLowerCase().replace("_", "-") },
            { key: "attachedAs", label: "Attached as", value: (r) => r.attachedAs.toLowerCase() },
          ],
        })
      );
    },
  });
  neighbourhood(grid, [arn], { depth: 2, escalations: route.params.get("hood") === "all" });
}
