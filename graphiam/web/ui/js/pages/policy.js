// A policy: its document with the statements that matter highlighted (those the risk report names, and
// every Allow of `*` or with NotAction/NotResource), where it is attached, its findings, its versions.

import { h, put, panel, table, entity, badge, shortName, fmt, jsonBlock } from "../dom.js";
import { neighbourhood } from "./principal.js";

const POLICY = `query Policy($arn: String!) {
  policy(arn: $arn) {
    arn name kind account path defaultVersionId document missingDocument ownerArn attachmentCount
    createDate updateDate
    versions { versionId isDefault createDate }
    attachments { targetArn targetType attachedAs }
  }
  policyFindings(policies: [$arn], first: 1) {
    nodes { reachesAdmin boundaryOf
      findings { category severity actions actionCount techniques statements conditional conditions }
      principals { arn kind via isAdmin } }
  }
}`;

const label = (cat) => cat.toLowerCase().replace(/_/g, " ");

/** The statements of `doc` (index → {risky reasons}) the page highlights. */
function riskyStatements(doc, findings) {
  const marks = new Map();
  const add = (i, why) => marks.set(i, [...(marks.get(i) || []), why]);
  const statements = doc && doc.Statement ? (Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement]) : [];
  statements.forEach((s, i) => {
    const list = (v) => (Array.isArray(v) ? v : v === undefined ? [] : [v]);
    if (s.Effect === "Allow" && list(s.Action).some((a) => a === "*" || /:\*$/.test(a))) add(i, "allows a wildcard action");
    if (s.Effect === "Allow" && s.NotAction !== undefined) add(i, "Allow with NotAction");
    if (s.Effect === "Allow" && s.NotResource !== undefined) add(i, "Allow with NotResource");
  });
  for (const f of findings) {
    for (const ref of f.statements) {
      const m = /#(\d+)/.exec(ref);
      if (m) add(Number(m[1]), label(f.category));
    }
  }
  return { statements, marks };
}

export async function policyPage(main, route) {
  const arn = route.arg;
  const title = h("h1", {}, shortName(arn));
  put(main, h("p", { class: "crumbs" }, h("a", { href: "#/" }, "Overview"), " › policy"), title, h("p", { class: "arn" }, h("code", {}, arn)));
  const grid = h("div", { class: "grid" });
  put(main, grid);
  panel(grid, {
    title: "Document, attachments and findings",
    id: "policy",
    wide: true,
    query: POLICY,
    variables: { arn },
    render(body, d) {
      const p = d.policy;
      if (!p) {
        put(body, h("p", { class: "error" }, `No policy ${arn} in the graph.`));
        return;
      }
      title.textContent = p.name;
      const entry = d.policyFindings.nodes[0] || null;
      const findings = entry ? entry.findings : [];
      const { statements, marks } = riskyStatements(p.document, findings);
      const columns = h("div", { class: "columns" });
      const left = h("div");
      const right = h("div");
      columns.append(left, right);
      put(body, columns);
      put(left, 
        h("dl", { class: "facts" },
          h("dt", {}, "Kind"), h("dd", {}, p.kind.toLowerCase().replace("_", "-")),
          h("dt", {}, "Account"), h("dd", {}, p.account),
          p.ownerArn ? [h("dt", {}, "Inline in"), h("dd", {}, entity(p.ownerArn))] : null,
          p.defaultVersionId ? [h("dt", {}, "Default version"), h("dd", {}, p.defaultVersionId)] : null,
          h("dt", {}, "Attached to"), h("dd", {}, fmt(p.attachments.length))),
        h("h3", {}, "Document"),
        p.missingDocument
          ? h("p", { class: "warn" }, "The export named this policy but did not include its document: it grants nothing here.")
          : statements.length
            ? h("ol", { class: "statements", start: "0" }, statements.map((s, i) =>
                h("li", { class: marks.has(i) ? "risky" : "", dataset: { statement: String(i) } },
                  h("p", { class: "statement-head" }, `Statement ${i}${s.Sid ? ` (${s.Sid})` : ""}: ${s.Effect}`, marks.has(i) ? [" ", ...marks.get(i).map((m) => badge(m, "danger"))] : null),
                  jsonBlock(s, { label: `statement ${i}`, highlight: (l) => /"Condition"/.test(l) }))))
            : jsonBlock(p.document || {}, { label: "document" })
      );
      put(right, 
        h("h3", {}, "Attachments"),
        table({
          name: `attachments-${p.name}`,
          testid: "attachments",
          rows: p.attachments,
          empty: p.kind === "INLINE" ? "Inline: part of its owner." : "Attached to nothing.",
          columns: [
            { key: "targetArn", label: "Attached to", cell: (r) => entity(r.targetArn, { kind: r.targetType }) },
            { key: "targetType", label: "Kind", value: (r) => r.targetType.toLowerCase() },
            { key: "attachedAs", label: "As", value: (r) => r.attachedAs.toLowerCase() },
          ],
        }),
        h("h3", {}, "Findings"),
        findings.length
          ? h("ul", { class: "findings", dataset: { list: "findings" } }, findings.map((f) =>
              h("li", {}, badge(f.severity, `sev-${f.severity}`), " ", h("strong", {}, label(f.category)), `: ${fmt(f.actionCount)} action(s)${f.conditional ? ", only under conditions" : ""}`,
                f.techniques.length ? h("p", {}, "Escalation techniques: ", f.techniques.join(", ")) : null,
                h("details", {}, h("summary", {}, "Actions"), h("p", { class: "actions" }, f.actions.join(", "))))))
          : h("p", { class: "empty" }, "No finding."),
        entry ? [h("h3", {}, `Reaches (${fmt(entry.principals.length)})`), table({
          name: `reach-${p.name}`,
          rows: entry.principals,
          columns: [
            { key: "arn", label: "Principal", cell: (r) => entity(r.arn, { kind: r.kind }) },
            { key: "via", label: "Via", value: (r) => r.via || "directly", cell: (r) => (r.via ? entity(r.via, { kind: "group" }) : "directly") },
            { key: "isAdmin", label: "Administrator", value: (r) => (r.isAdmin === null ? "" : r.isAdmin ? "yes" : "no") },
          ],
        })] : null,
        p.versions.length > 1 ? [h("h3", {}, "Versions"), h("ul", {}, p.versions.map((v) => h("li", {}, `${v.versionId}${v.isDefault ? " (default)" : ""}${v.createDate ? ` ${v.createDate}` : ""}`)))] : null
      );
    },
  });
  neighbourhood(grid, [arn], { depth: 2, escalations: route.params.get("hood") === "all" });
}
