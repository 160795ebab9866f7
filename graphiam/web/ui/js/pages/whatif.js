// What-if: a change tried as a dry run (nothing is written; mutations need an admin token) and what it
// opens or closes: administrators, escalation paths, assume-role and escalation edges, drawn before and after.

import { gql } from "../api.js";
import { h, put, panel, field, entity, stat, badge, fmt, shortName, kindOf } from "../dom.js";
import { drawGraph } from "../graph.js";

const CHANGES = `changes {
      canAssumeAdded { from to action conditionKeys } canAssumeRemoved { from to action conditionKeys }
      escalationsAdded { from to technique } escalationsRemoved { from to technique }
      adminsAdded adminsRemoved
      escalationPathsOpened { principal needs steps { from to technique } }
      escalationPathsClosed { principal needs steps { from to technique } }
      warnings
    }`;

const OPS = {
  attachPolicy: { label: "Attach a managed policy", type: "AttachPolicyInput", fields: [["policyArn", "Policy ARN"], ["targetArn", "User, group or role ARN"]] },
  detachPolicy: { label: "Detach a managed policy", type: "AttachPolicyInput", fields: [["policyArn", "Policy ARN"], ["targetArn", "User, group or role ARN"]] },
  addUserToGroup: { label: "Add a user to a group", type: "GroupMembershipInput", fields: [["userArn", "User ARN"], ["groupArn", "Group ARN"]] },
  removeUserFromGroup: { label: "Remove a user from a group", type: "GroupMembershipInput", fields: [["userArn", "User ARN"], ["groupArn", "Group ARN"]] },
  updateAssumeRolePolicy: { label: "Replace a role's trust policy", type: "UpdateAssumeRolePolicyInput", fields: [["roleArn", "Role ARN"], ["document", "Trust policy (JSON)", "json"]] },
};

function mutation(op) {
  return `mutation WhatIf($input: ${OPS[op].type}!) {
  ${op}(dryRun: true, input: $input) {
    ok dryRun errors { code message path jsonPath }
    ${CHANGES}
  }
}`;
}

function edgesOf(list, kind) {
  return list.map((e) => ({
    source: e.from,
    target: e.to,
    kind,
    label: kind === "CAN_ASSUME" ? String(e.action || "AssumeRole").replace(/^sts:/, "") : e.technique,
    conditional: (e.conditionKeys || []).length > 0,
  }));
}

function pathEdges(paths) {
  return paths.flatMap((p) =>
    p.steps.map((s) => ({ source: s.from, target: s.to, kind: s.technique === "sts-001" ? "CAN_ASSUME" : "ESCALATES_TO", label: s.technique === "sts-001" ? "AssumeRole" : s.technique }))
  );
}

const keyOf = (e) => `${e.kind}|${e.source}|${e.target}|${e.label}`;

/** One side of the before/after pair: every edge of `union` (same order on both sides, so the layout puts
 * every node in the same place), those not in `shown` as ghosts; `changed` edges drawn thick. */
function graphOf(union, shown, changed, nodesAll, admins) {
  const visible = new Set(shown.map(keyOf));
  const thick = new Set(changed.map(keyOf));
  return {
    nodes: [...nodesAll].sort().map((id) => ({ id, kind: kindOf(id), admin: admins.has(id) })),
    edges: union.map((e) => ({ ...e, ghost: !visible.has(keyOf(e)), changed: thick.has(keyOf(e)) })),
  };
}

export async function whatIfPage(main, route) {
  const p = route.params;
  const op = OPS[p.get("op")] ? p.get("op") : "attachPolicy";
  put(main, 
    h("h1", {}, "What-if"),
    h("p", { class: "lede" }, "Try a change as a dry run — nothing is written — and see what it opens or closes. The API runs mutations, dry runs included, for admin tokens only.")
  );
  const viewer = h("p", { class: "help", role: "status" });
  put(main, viewer);
  gql("{ viewer { role name } }").then(
    (d) => {
      viewer.replaceChildren(d.viewer.role === "ADMIN" ? `Acting as ${d.viewer.name} (admin).` : h("span", { class: "warn" }, `Acting as ${d.viewer.name} (${d.viewer.role.toLowerCase()}): a dry run needs an admin token (Token, top right).`));
    },
    (e) => viewer.replaceChildren(e.message)
  );
  const select = h("select", {}, Object.entries(OPS).map(([k, v]) => h("option", { value: k, selected: k === op }, v.label)));
  const inputs = {};
  const fieldBox = h("div", { class: "contents" });
  function drawFields(which) {
    fieldBox.replaceChildren();
    for (const [name, label, type] of OPS[which].fields) {
      const input = type === "json"
        ? h("textarea", { rows: "8", spellcheck: "false" }, p.get(name) || "")
        : h("input", { value: p.get(name) || "", spellcheck: "false", required: true });
      inputs[name] = input;
      fieldBox.append(field(label, input));
      if (type === "json") {
        const load = h("button", { type: "button", class: "small" }, "Load the current trust policy");
        load.addEventListener("click", async () => {
          try {
            const d = await gql("query Trust($arn: String!) { role(arn: $arn) { trustPolicy } }", { arn: inputs.roleArn.value.trim() });
            input.value = JSON.stringify(d.role ? d.role.trustPolicy : null, null, 2);
          } catch (e) {
            input.value = `// ${e.message}`;
          }
        });
        fieldBox.append(load);
      }
    }
  }
  select.addEventListener("change", () => drawFields(select.value));
  drawFields(op);
  const form = h("form", { class: "sim-form" }, field("Change", select), fieldBox, h("div", { class: "buttons" }, h("button", { type: "submit" }, "Dry run")));
  put(main, form);
  const out = h("div", { class: "grid" });
  put(main, out);

  function run() {
    out.replaceChildren();
    const which = select.value;
    const input = {};
    const qs = new URLSearchParams({ op: which });
    for (const [name, , type] of OPS[which].fields) {
      const raw = inputs[name].value.trim();
      qs.set(name, raw);
      if (type === "json") {
        try {
          input[name] = JSON.parse(raw);
        } catch (e) {
          put(out, h("p", { class: "error", role: "alert" }, `${name}: not JSON (${e.message})`));
          return;
        }
      } else input[name] = raw;
    }
    window.history.replaceState(null, "", `#/whatif?${qs}`);
    panel(out, {
      title: "What it would change",
      id: "whatif",
      wide: true,
      query: mutation(which),
      variables: { input },
      render(body, d) {
        const r = d[which];
        if (!r.ok) {
          put(body, h("ul", { class: "error", role: "alert" }, r.errors.map((e) => h("li", {}, `${e.code}: ${e.message}`))));
          return;
        }
        const c = r.changes;
        put(body, 
          h("div", { class: "stats" },
            stat("administrators gained", c.adminsAdded.length, { stat: "admins-added" }),
            stat("administrators lost", c.adminsRemoved.length, { stat: "admins-removed" }),
            stat("escalation paths opened", c.escalationPathsOpened.length, { stat: "paths-opened" }),
            stat("escalation paths closed", c.escalationPathsClosed.length, { stat: "paths-closed" }),
            stat("assume edges added / removed", `${fmt(c.canAssumeAdded.length)} / ${fmt(c.canAssumeRemoved.length)}`),
            stat("escalation edges added / removed", `${fmt(c.escalationsAdded.length)} / ${fmt(c.escalationsRemoved.length)}`)),
          c.warnings.length ? h("ul", { class: "warnings" }, c.warnings.map((w) => h("li", {}, w))) : null
        );
        // removed edges exist before only, added ones after only; the other steps of the paths opened or
        // closed exist on both sides
        const removed = [...edgesOf(c.canAssumeRemoved, "CAN_ASSUME"), ...edgesOf(c.escalationsRemoved, "ESCALATES_TO")];
        const added = [...edgesOf(c.canAssumeAdded, "CAN_ASSUME"), ...edgesOf(c.escalationsAdded, "ESCALATES_TO")];
        const changedKeys = new Set([...removed, ...added].map(keyOf));
        const kept = [...pathEdges(c.escalationPathsOpened), ...pathEdges(c.escalationPathsClosed)].filter((e) => !changedKeys.has(keyOf(e)));
        const union = [...new Map([...removed, ...added, ...kept].map((e) => [keyOf(e), e])).values()];
        const beforeEdges = [...removed, ...kept];
        const afterEdges = [...added, ...kept];
        const nodes = new Set(union.flatMap((e) => [e.source, e.target]));
        [...c.adminsAdded, ...c.adminsRemoved].forEach((a) => nodes.add(a));
        if (!nodes.size) {
          put(body, h("p", { class: "empty", dataset: { result: "no-change" } }, "No change in who can assume what, who can escalate, or who is administrator."));
        } else {
          const columns = h("div", { class: "columns" });
          const before = h("div", {}, h("h3", {}, "Before"));
          const after = h("div", {}, h("h3", {}, "After"));
          columns.append(before, after);
          put(body, columns);
          drawGraph(before, graphOf(union, beforeEdges, removed, nodes, new Set(c.adminsRemoved)), { title: "Before", testid: "before", height: 340, note: "Thick: what the change removes." });
          drawGraph(after, graphOf(union, afterEdges, added, nodes, new Set(c.adminsAdded)), { title: "After", testid: "after", height: 340, note: "Thick: what the change adds." });
        }
        const list = (title, items, cls) => items.length ? [h("h3", {}, title), h("ul", {}, items.map((a) => h("li", {}, entity(a), " ", badge(cls === "admin" ? "administrator" : cls, cls))))] : null;
        put(body, 
          list("Become administrator", c.adminsAdded, "admin"),
          list("Stop being administrator", c.adminsRemoved, "ok"),
          c.escalationPathsOpened.length ? [h("h3", {}, "Escalation paths opened"), h("ol", { class: "paths" }, c.escalationPathsOpened.map((x) => h("li", {}, entity(x.principal), ": ", x.steps.map((s) => `${shortName(s.from)} —${s.technique}→ ${shortName(s.to)}`).join(", "), x.needs.length ? ` [needs ${x.needs.join(", ")}]` : "")))] : null,
          c.escalationPathsClosed.length ? [h("h3", {}, "Escalation paths closed"), h("ol", { class: "paths" }, c.escalationPathsClosed.map((x) => h("li", {}, entity(x.principal), ": ", x.steps.map((s) => `${shortName(s.from)} —${s.technique}→ ${shortName(s.to)}`).join(", "))))] : null
        );
      },
    });
  }
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    run();
  });
  if (p.get("op")) run();
  else put(main, h("p", { class: "help" }, "Try: ", h("a", { href: `#/whatif?op=attachPolicy&policyArn=${encodeURIComponent("arn:aws:iam::aws:policy/AdministratorAccess")}&targetArn=${encodeURIComponent("arn:aws:iam::111111111111:role/PartnerAuditRole")}` }, "attach AdministratorAccess to PartnerAuditRole"), " (the demo organisation)."));
}
