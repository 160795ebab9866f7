// Small DOM helpers: element building, formatting, panels that show the query behind them, tables that page
// through the API and export CSV/JSON, and bar charts.

import { gql, allPages } from "./api.js";

/** h("a", {href: "#"}, "text", child…): an element; attributes starting with "on" are listeners. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2).toLowerCase(), v);
    else if (k === "class") el.className = v;
    else if (k === "dataset") Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  append(el, children);
  return el;
}

/** el.append(…children), leaving out null, undefined and false (and flattening arrays). */
export function put(el, ...children) {
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export const fmt = (n) => (typeof n === "number" ? n.toLocaleString("en-US") : String(n ?? "—"));

/** The last part of an ARN (a name to show), the whole string otherwise. */
export function shortName(arn) {
  if (!arn) return "";
  const hash = arn.indexOf("#");
  if (hash > 0) return `${shortName(arn.slice(0, hash))}#${arn.slice(hash + 1)}`;
  const slash = arn.lastIndexOf("/");
  return slash >= 0 ? arn.slice(slash + 1) : arn.split(":").pop() || arn;
}

/** What an ARN (or service name) is: user, role, group, policy, service, external. */
export function kindOf(arn) {
  if (!arn) return "external";
  if (arn.includes("#")) return "policy";
  if (/^arn:aws[\w-]*:iam::[^:]*:user\//.test(arn)) return "user";
  if (/^arn:aws[\w-]*:iam::[^:]*:role\//.test(arn)) return "role";
  if (/^arn:aws[\w-]*:iam::[^:]*:group\//.test(arn)) return "group";
  if (/^arn:aws[\w-]*:iam::[^:]*:policy\//.test(arn)) return "policy";
  if (/^arn:aws[\w-]*:iam::[^:]*:instance-profile\//.test(arn)) return "instance-profile";
  if (/\.amazonaws\.com(\.cn)?$/.test(arn)) return "service";
  return "external";
}

/** The dashboard route of an entity, or null when it has no page (services, outside principals). */
export function routeOf(arn, kind = kindOf(arn)) {
  const page = { user: "user", role: "role", group: "group", policy: "policy" }[String(kind).toLowerCase()];
  return page ? `#/${page}/${encodeURIComponent(arn)}` : null;
}

/** A link to an entity's page (plain text when it has none), showing its short name with the ARN as title. */
export function entity(arn, { kind, label } = {}) {
  const href = routeOf(arn, kind || kindOf(arn));
  const text = label || shortName(arn);
  return href ? h("a", { href, title: arn, class: "entity" }, text) : h("span", { title: arn }, text);
}

export function badge(text, cls = "") {
  return h("span", { class: `badge ${cls}` }, text);
}

export function errorBox(err) {
  const msg = err && err.message ? err.message : String(err);
  return h("div", { class: "error", role: "alert" }, msg);
}

// ---- the page's pending requests: `main[data-state]` is "ready" once every panel has its answer ----------

let pending = 0;
let settleTimer = null;
export function track(promise) {
  const main = document.getElementById("main");
  pending += 1;
  main.dataset.state = "loading";
  const done = () => {
    pending -= 1;
    if (pending === 0) {
      clearTimeout(settleTimer);
      settleTimer = setTimeout(() => {
        if (pending === 0) {
          main.dataset.state = "ready";
          main.dataset.readyMs = String(Math.round(performance.now())); // since the page's navigation began
        }
      }, 0);
    }
  };
  promise.then(done, done);
  return promise;
}

// ---- "show query": every panel says which GraphQL operation its numbers come from ------------------------

export function queryDetails(query, variables) {
  const vars = variables && Object.keys(variables).length ? JSON.stringify(variables, null, 2) : "";
  const params = new URLSearchParams({ query });
  if (vars) params.set("variables", vars);
  const copy = h("button", { type: "button", class: "small" }, "Copy");
  copy.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(vars ? `${query}\n# variables: ${vars}` : query);
      copy.textContent = "Copied";
    } catch {
      copy.textContent = "Copy refused";
    }
  });
  return h(
    "details",
    { class: "query" },
    h("summary", {}, "Show query"),
    h("pre", { class: "code" }, h("code", {}, query)),
    vars ? h("pre", { class: "code" }, h("code", {}, `variables: ${vars}`)) : null,
    h("p", {}, h("a", { href: `../graphql#${params}` }, "Open in GraphiQL"), " ", copy)
  );
}

export const RETRIES = 6;

/**
 * `gql`, asked again (up to RETRIES times) when the server stops the operation at its time limit: on a big
 * graph the first questions after a change build the server's indexes, which it keeps building and then
 * reuses. `status` (an element) says so meanwhile.
 */
export async function askPatiently(query, variables, status = null) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await gql(query, variables);
    } catch (e) {
      if (e.code !== "TIMEOUT" || attempt >= RETRIES) throw e;
      if (status) {
        status.replaceChildren(
          h("p", { class: "loading" }, `Still computing (the server builds its indexes once after each change; try ${attempt + 1} of ${RETRIES})…`)
        );
      }
    }
  }
}

/**
 * A titled section whose body comes from one GraphQL operation: "Loading…" until it answers, then
 * `render(body, data)`; an error shows the server's message. Returns {section, body, result} (result: a
 * promise of data).
 */
export function panel(parent, { title, query, variables = {}, render, id, wide = false, help = null }) {
  const hid = `h-${id || Math.random().toString(36).slice(2)}`;
  const body = h("div", { class: "panel-body", "aria-busy": "true" }, h("p", { class: "loading" }, "Loading…"));
  const section = h(
    "section",
    { class: `panel${wide ? " wide" : ""}`, "aria-labelledby": hid, dataset: { panel: id || "" } },
    h("h2", { id: hid }, title),
    help ? h("p", { class: "help" }, help) : null,
    body,
    queryDetails(query, variables)
  );
  parent.append(section);
  const started = performance.now();
  const result = track(
    askPatiently(query, variables, body).then(
      (data) => {
        section.dataset.answerMs = String(Math.round(performance.now() - started)); // the API's answer
        body.replaceChildren();
        body.removeAttribute("aria-busy");
        try {
          render(body, data);
        } catch (e) {
          body.append(errorBox(e));
          console.warn(e);
        }
        section.dataset.ms = String(Math.round(performance.now() - started)); // answered and drawn
        return data;
      },
      (err) => {
        body.removeAttribute("aria-busy");
        body.replaceChildren(errorBox(err));
        return null;
      }
    )
  );
  return { section, body, result };
}

// ---- exports ------------------------------------------------------------------------------------------------

function csvCell(v) {
  const s = v === null || v === undefined ? "" : typeof v === "object" ? JSON.stringify(v) : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function toCsv(columns, rows) {
  const head = columns.map((c) => csvCell(c.label)).join(",");
  const lines = rows.map((r) => columns.map((c) => csvCell(c.value ? c.value(r) : r[c.key])).join(","));
  return [head, ...lines].join("\r\n") + "\r\n";
}

export function download(name, text, type) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = h("a", { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function exportButtons(name, columns, getRows, label = "") {
  const csv = h("button", { type: "button", class: "small", title: `${name}.csv` }, `CSV${label}`);
  const json = h("button", { type: "button", class: "small", title: `${name}.json` }, `JSON${label}`);
  csv.addEventListener("click", async () => download(`${name}.csv`, toCsv(columns, await getRows()), "text/csv"));
  json.addEventListener("click", async () =>
    download(`${name}.json`, JSON.stringify(await getRows(), null, 2) + "\n", "application/json")
  );
  return [csv, json];
}

/**
 * A table of `rows` (objects); `columns`: [{key, label, value?(row) for exports, cell?(row) → node}].
 * At most `limit` rows are shown (a big answer stays quick to draw); the exports write every row: `rows`, or
 * what `fetchAll()` resolves to when the API sent only the first of `total` rows.
 */
export function table({ columns, rows, caption, name = "table", empty = "None.", testid = null, limit = 200, total = null, fetchAll = null }) {
  if (!rows.length) return h("p", { class: "empty" }, empty);
  const shown = rows.slice(0, limit);
  const all = total ?? rows.length;
  const cut = shown.length < all ? `The first ${fmt(shown.length)} of ${fmt(all)} (the exports hold all).` : null;
  const t = h(
    "table",
    { dataset: testid ? { table: testid } : {} },
    caption || cut ? h("caption", {}, [caption, cut].filter(Boolean).join(" ")) : null,
    h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col" }, c.label)))),
    h(
      "tbody",
      {},
      shown.map((r) =>
        h(
          "tr",
          {},
          columns.map((c) => h("td", {}, c.cell ? c.cell(r) : fmt(c.value ? c.value(r) : r[c.key])))
        )
      )
    )
  );
  return h(
    "div",
    { class: "table-wrap" },
    h("div", { class: "scroll" }, t),
    h("div", { class: "exports" }, "Export: ", exportButtons(name, columns, fetchAll || (async () => rows)))
  );
}

/**
 * A table that pages through a connection of the API: `query` takes `$first` and `$after`; `pick(data)`
 * gives {total, rows, endCursor, hasNext}. Previous/next pages, and exports of the page or of every page.
 */
export function pagedTable(parent, { title, id, query, variables = {}, pick, columns, pageSize = 25, name, help }) {
  const cursors = [null];
  let index = 0;
  const holder = h("div");
  const status = h("p", { class: "pager-status", role: "status" });
  const prev = h("button", { type: "button", class: "small" }, "← Previous");
  const next = h("button", { type: "button", class: "small" }, "Next →");
  const pager = h("div", { class: "pager" }, prev, status, next);
  const all = exportButtons(
    name || id,
    columns,
    () => allPages(query, variables, (d) => pick(d)),
    " (every page)"
  );
  const section = h(
    "section",
    { class: "panel wide", "aria-labelledby": `h-${id}`, dataset: { panel: id } },
    h("h2", { id: `h-${id}` }, title),
    help ? h("p", { class: "help" }, help) : null,
    holder,
    pager,
    h("div", { class: "exports" }, "Export all: ", all),
    queryDetails(query, { ...variables, first: pageSize, after: null })
  );
  parent.append(section);

  function load() {
    holder.replaceChildren(h("p", { class: "loading" }, "Loading…"));
    holder.setAttribute("aria-busy", "true");
    return track(
      askPatiently(query, { ...variables, first: pageSize, after: cursors[index] }, holder).then(
        (data) => {
          const page = pick(data);
          holder.removeAttribute("aria-busy");
          holder.replaceChildren(table({ columns, rows: page.rows, name: `${name || id}-page${index + 1}`, testid: id }));
          const from = index * pageSize + 1;
          status.textContent = page.rows.length
            ? `${fmt(from)}–${fmt(from + page.rows.length - 1)} of ${fmt(page.total)}`
            : `0 of ${fmt(page.total)}`;
          cursors[index + 1] = page.endCursor;
          prev.disabled = index === 0;
          next.disabled = !page.hasNext;
        },
        (err) => {
          holder.removeAttribute("aria-busy");
          holder.replaceChildren(errorBox(err));
        }
      )
    );
  }
  prev.addEventListener("click", () => {
    if (index > 0) {
      index -= 1;
      load();
    }
  });
  next.addEventListener("click", () => {
    index += 1;
    load();
  });
  load();
  return section;
}

// ---- charts: horizontal bars (values are also written as text) ------------------------------------------

/** items: [{label, value, cls?, href?, parts?: [{value, cls, label}]}]; each bar labelled with its number. */
export function bars(items, { unit = "", testid = null } = {}) {
  const max = Math.max(1, ...items.map((i) => i.value));
  return h(
    "ul",
    { class: "bars", dataset: testid ? { chart: testid } : {} },
    items.map((i) => {
      const parts = i.parts || [{ value: i.value, cls: i.cls || "" }];
      const track = h(
        "span",
        { class: "track", "aria-hidden": "true" },
        parts.map((p) =>
          h("span", {
            class: `fill ${p.cls || ""}`,
            style: `width: ${(100 * p.value) / max}%`,
            title: p.label ? `${p.label}: ${fmt(p.value)}` : null,
          })
        )
      );
      const label = i.href ? h("a", { href: i.href }, i.label) : i.label;
      return h(
        "li",
        { dataset: { label: i.key || i.label, value: String(i.value) } },
        h("span", { class: "bar-label" }, label),
        track,
        h("span", { class: "bar-value" }, `${fmt(i.value)}${unit}`)
      );
    })
  );
}

/** A big number with a label (`stat` is the data-stat attribute tests and scripts find it by). */
export function stat(label, value, { stat: key, href, note } = {}) {
  const number = h("span", { class: "stat-value", dataset: key ? { stat: key } : {} }, fmt(value));
  return h(
    "div",
    { class: "stat" },
    href ? h("a", { href }, number) : number,
    h("span", { class: "stat-label" }, label),
    note ? h("span", { class: "stat-note" }, note) : null
  );
}

/** A form field: label + input (or select) with an id. */
export function field(label, input, hint) {
  const id = input.id || `f-${Math.random().toString(36).slice(2)}`;
  input.id = id;
  return h(
    "div",
    { class: "field" },
    h("label", { for: id }, label),
    input,
    hint ? h("span", { class: "hint", id: `${id}-hint` }, hint) : null
  );
}

/** A JSON document, pretty-printed, with lines whose text matches `highlight(line)` marked. */
export function jsonBlock(value, { highlight = null, label = "document" } = {}) {
  const text = typeof value === "string" ? value : JSON.stringify(value, null, 2);
  const lines = (text || "").split("\n");
  return h(
    "pre",
    { class: "code json", tabindex: "0", "aria-label": label },
    h(
      "code",
      {},
      lines.map((line, i) =>
        h("span", { class: highlight && highlight(line, i) ? "line hl" : "line" }, line, i < lines.length - 1 ? "\n" : "")
      )
    )
  );
}
