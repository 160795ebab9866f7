// Simulator: can a principal do an action on a resource under a request context? The decision, the
// statements that decided it (highlighted), each policy type's verdict, and the context keys a statement
// needed but the request lacked: the conditions that would change the answer.

import { h, put, panel, table, badge, field, entity, jsonBlock } from "../dom.js";

const SIMULATE = `query Simulate($principal: String!, $action: String!, $resource: String!, $context: [ContextEntryInput!]) {
  simulate(principal: $principal, action: $action, resource: $resource, context: $context) {
    decision identityDecision boundaryDecision resourcePolicyDecision resourcePolicySource scpDecision
    missingContextKeys warnings
    matchedStatements { policyArn policyName kind appliesVia viaName statementIndex sid effect statement }
    context { key values }
  }
}`;

const DECISION_CLASS = { ALLOWED: "allowed", EXPLICIT_DENY: "denied", IMPLICIT_DENY: "implicit" };
const words = (d) => (d ? d.toLowerCase().replace("_", " ") : "—");

/** `key=v1,v2` lines (or `;`-separated) → ContextEntryInput list. */
export function parseContext(text) {
  return text
    .split(/[\n;]/)
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => {
      const eq = l.indexOf("=");
      if (eq <= 0) throw new Error(`context entry \`${l}\`: write key=value`);
      return { key: l.slice(0, eq).trim(), values: l.slice(eq + 1).split(",").map((v) => v.trim()) };
    });
}

export async function simulatorPage(main, route, { setParams }) {
  const p = route.params;
  put(main, 
    h("h1", {}, "Simulator"),
    h("p", { class: "lede" }, "Can a principal do an action on a resource, under this request context? Which statements decided it, and what would change it?")
  );
  const principal = h("input", { name: "principal", value: p.get("principal") || "", required: true, spellcheck: "false", placeholder: "arn:aws:iam::111111111111:user/…" });
  const action = h("input", { name: "action", value: p.get("action") || "", required: true, spellcheck: "false", placeholder: "s3:GetObject" });
  const resource = h("input", { name: "resource", value: p.get("resource") || "*", spellcheck: "false" });
  const context = h("textarea", { name: "context", rows: "3", spellcheck: "false", placeholder: "aws:MultiFactorAuthPresent=true\naws:SourceIp=203.0.113.7" }, (p.getAll("ctx") || []).join("\n"));
  const form = h(
    "form",
    { class: "sim-form", id: "simulate-form" },
    field("Principal (user or role ARN)", principal),
    field("Action", action),
    field("Resource", resource, "an ARN, or * for any"),
    field("Context entries", context, "one key=value per line; several values: key=v1,v2"),
    h("div", { class: "buttons" }, h("button", { type: "submit" }, "Decide"))
  );
  put(main, form);
  const out = h("div", { class: "grid" });
  put(main, out);

  function run() {
    out.replaceChildren();
    let ctx;
    try {
      ctx = parseContext(context.value);
    } catch (e) {
      put(out, h("p", { class: "error", role: "alert" }, e.message));
      return;
    }
    const params = { principal: principal.value.trim(), action: action.value.trim(), resource: resource.value.trim() || "*" };
    const qs = new URLSearchParams(params);
    ctx.forEach((c) => qs.append("ctx", `${c.key}=${c.values.join(",")}`));
    window.history.replaceState(null, "", `#/simulate?${qs}`);
    panel(out, {
      title: "Decision",
      id: "decision",
      wide: true,
      query: SIMULATE,
      variables: { ...params, context: ctx.length ? ctx : null },
      render(body, d) {
        const s = d.simulate;
        put(body, 
          h("p", { class: `decision ${DECISION_CLASS[s.decision]}`, dataset: { decision: s.decision }, role: "status" }, words(s.decision)),
          h("dl", { class: "facts" },
            h("dt", {}, "Identity policies"), h("dd", {}, words(s.identityDecision)),
            h("dt", {}, "Permissions boundary"), h("dd", {}, s.boundaryDecision ? words(s.boundaryDecision) : "none"),
            h("dt", {}, "Resource policy"), h("dd", {}, s.resourcePolicyDecision ? `${words(s.resourcePolicyDecision)} (${s.resourcePolicySource})` : "none"),
            h("dt", {}, "Service control policies"), h("dd", {}, s.scpDecision ? words(s.scpDecision) : "none apply")),
          s.warnings.length ? h("ul", { class: "warnings" }, s.warnings.map((w) => h("li", {}, w))) : null,
          h("h3", {}, "What would change it"),
          s.missingContextKeys.length
            ? h("ul", { class: "missing", dataset: { list: "missing" } }, s.missingContextKeys.map((k) =>
                h("li", {}, h("code", {}, k), " — a statement that otherwise matches needs it. ",
                  h("button", { type: "button", class: "small", onclick: () => { context.value = `${context.value.trim()}\n${k}=`.trim(); context.focus(); } }, "Add to the context"))))
            : h("p", { class: "empty" }, "No statement waits on a context key the request lacks."),
          h("h3", {}, "Deciding statements"),
          s.matchedStatements.length
            ? h("ol", { class: "statements", dataset: { list: "matched" } }, s.matchedStatements.map((m) =>
                h("li", { class: m.effect === "DENY" ? "deny" : "allow" },
                  h("p", { class: "statement-head" }, badge(m.effect.toLowerCase(), m.effect === "DENY" ? "danger" : "ok"), " ",
                    entity(m.policyArn, { kind: "policy", label: m.policyName }),
                    ` statement ${m.statementIndex}${m.sid ? ` (${m.sid})` : ""} — ${m.kind.toLowerCase().replace("_", "-")}, via ${m.appliesVia.toLowerCase()}${m.viaName ? ` ${m.viaName}` : ""}`),
                  m.statement ? jsonBlock(m.statement, { label: `statement ${m.statementIndex}`, highlight: (l) => /"Condition"|"(String|Bool|IpAddress|Date|Numeric|Arn|Null)/.test(l) }) : null)))
            : h("p", { class: "empty" }, "No statement matched: nothing allows it."),
          h("details", {}, h("summary", {}, "The request context the engine saw"),
            table({ name: "context", rows: s.context, columns: [{ key: "key", label: "Key" }, { key: "values", label: "Values", value: (r) => r.values.join(", ") }] }))
        );
      },
    });
  }
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    run();
  });
  if (principal.value && action.value) run();
  else put(main, h("p", { class: "help" }, "Try: ", h("a", { href: "#/simulate?principal=arn%3Aaws%3Aiam%3A%3A111111111111%3Auser%2Fengineering%2Falice&action=sts%3AAssumeRole&resource=arn%3Aaws%3Aiam%3A%3A111111111111%3Arole%2FPlatformEngineerRole&ctx=aws%3AMultiFactorAuthPresent%3Dtrue" }, "may alice assume PlatformEngineerRole with MFA?"), " (the demo organisation)"));
  void setParams;
}
