// The dashboard: hash routes (every view has a shareable URL), the search box, the token dialog.
//
// Routes: #/ overview · #/search?q= · #/user/ARN · #/role/ARN · #/group/ARN · #/policy/ARN ·
// #/browse/users|groups|roles|policies · #/simulate?principal=&action=&resource=&context= ·
// #/paths?from=&to= · #/whatif?op=&… — ARNs are URI-encoded.

import { gql, getToken, setToken, onAuthProblem, onTokenChange } from "./api.js";
import { h, kindOf, routeOf, shortName, badge } from "./dom.js";
import { overview } from "./pages/overview.js";
import { searchPage } from "./pages/search.js";
import { principalPage } from "./pages/principal.js";
import { groupPage } from "./pages/group.js";
import { policyPage } from "./pages/policy.js";
import { browsePage } from "./pages/browse.js";
import { simulatorPage } from "./pages/simulator.js";
import { pathsPage } from "./pages/paths.js";
import { whatIfPage } from "./pages/whatif.js";

const NAV = [
  ["#/", "Overview"],
  ["#/search", "Search"],
  ["#/browse/users", "Browse"],
  ["#/simulate", "Simulator"],
  ["#/paths", "Path finder"],
  ["#/whatif", "What-if"],
  ["../graphql", "GraphiQL"],
];

const ROUTES = {
  "": overview,
  search: searchPage,
  user: principalPage,
  role: principalPage,
  group: groupPage,
  policy: policyPage,
  browse: browsePage,
  simulate: simulatorPage,
  paths: pathsPage,
  whatif: whatIfPage,
};

/** The current route: {name, arg, params}: `#/role/<arn>?x=1` → {name: "role", arg: arn, params}. */
export function currentRoute() {
  const raw = window.location.hash.replace(/^#\/?/, "");
  const q = raw.indexOf("?");
  const path = q >= 0 ? raw.slice(0, q) : raw;
  const params = new URLSearchParams(q >= 0 ? raw.slice(q + 1) : "");
  const slash = path.indexOf("/");
  const name = slash >= 0 ? path.slice(0, slash) : path;
  const arg = slash >= 0 ? decodeURIComponent(path.slice(slash + 1)) : "";
  return { name, arg, params };
}

/** Sets the URL's parameters of the current view without reloading it (shareable state). */
export function setParams(params) {
  const { name, arg } = currentRoute();
  const base = `#/${name}${arg ? `/${encodeURIComponent(arg)}` : ""}`;
  const qs = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== "" && v !== null && v !== undefined));
  const next = qs.toString() ? `${base}?${qs}` : base;
  if (next !== window.location.hash) {
    window.history.replaceState(null, "", next);
  }
}

function renderNav() {
  const nav = document.getElementById("nav");
  const { name } = currentRoute();
  nav.replaceChildren(
    h(
      "ul",
      {},
      NAV.map(([href, label]) => {
        const target = href.replace(/^#\/?/, "").split("/")[0];
        const here = target === name || (target === "" && name === "");
        return h("li", {}, h("a", { href, "aria-current": here ? "page" : null }, label));
      })
    )
  );
}

let generation = 0;
async function route() {
  generation += 1;
  const mine = generation;
  const main = document.getElementById("main");
  const r = currentRoute();
  const page = ROUTES[r.name];
  renderNav();
  main.dataset.state = "loading";
  main.dataset.route = r.name || "overview";
  main.replaceChildren();
  if (!page) {
    main.append(h("h1", {}, "Not found"), h("p", {}, "No such page. ", h("a", { href: "#/" }, "Overview")));
    main.dataset.state = "ready";
    return;
  }
  try {
    await page(main, r, { setParams, stillCurrent: () => mine === generation });
  } catch (e) {
    main.append(h("div", { class: "error", role: "alert" }, String(e.message || e)));
  }
  if (!main.querySelector('[aria-busy="true"]') && main.dataset.state === "loading") {
    setTimeout(() => {
      if (mine === generation && !main.querySelector('[aria-busy="true"]')) main.dataset.state = "ready";
    }, 0);
  }
  const title = main.querySelector("h1");
  document.title = title ? `${title.textContent} · graphiam` : "graphiam";
  if (document.activeElement === document.body || !document.activeElement) main.focus({ preventScroll: true });
}

// ---- the search box: keyboard first ("/" focuses it; arrows move; Enter opens; Escape closes) -------------

function searchBox() {
  const form = document.getElementById("search-form");
  const box = document.getElementById("search-box");
  const list = document.getElementById("search-results");
  let hits = [];
  let active = -1;
  let timer = null;
  let asked = 0;

  function close() {
    list.hidden = true;
    box.setAttribute("aria-expanded", "false");
    box.removeAttribute("aria-activedescendant");
    active = -1;
  }
  function mark() {
    [...list.children].forEach((li, i) => li.setAttribute("aria-selected", i === active ? "true" : "false"));
    if (active >= 0) box.setAttribute("aria-activedescendant", `hit-${active}`);
  }
  function open(hit) {
    close();
    box.value = "";
    window.location.hash = routeOf(hit.arn, hit.kind).slice(1);
  }
  async function ask(text) {
    const n = ++asked;
    if (!text.trim()) return close();
    try {
      const data = await gql(
        "query Search($text: String!) { search(text: $text, first: 12) { kind arn name account policyKind } }",
        { text }
      );
      if (n !== asked) return;
      hits = data.search;
      active = hits.length ? 0 : -1;
      list.replaceChildren(
        ...(hits.length
          ? hits.map((hit, i) =>
              h(
                "li",
                { id: `hit-${i}`, role: "option", onmousedown: (e) => { e.preventDefault(); open(hit); } },
                badge(hit.kind.toLowerCase(), `kind-${kindOf(hit.arn)}`),
                " ",
                h("span", { class: "hit-name" }, hit.name),
                " ",
                h("span", { class: "hit-arn" }, hit.arn)
              )
            )
          : [h("li", { class: "none", role: "option", "aria-disabled": "true" }, "No match")])
      );
      list.hidden = false;
      box.setAttribute("aria-expanded", "true");
      mark();
    } catch (e) {
      list.replaceChildren(h("li", { class: "none", role: "option" }, e.message));
      list.hidden = false;
    }
  }
  box.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => ask(box.value), 120);
  });
  box.addEventListener("keydown", (e) => {
    if (e.key === "ArrowDown" && hits.length) {
      active = (active + 1) % hits.length;
      mark();
      e.preventDefault();
    } else if (e.key === "ArrowUp" && hits.length) {
      active = (active - 1 + hits.length) % hits.length;
      mark();
      e.preventDefault();
    } else if (e.key === "Escape") {
      close();
    }
  });
  box.addEventListener("blur", () => setTimeout(close, 150));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    if (!list.hidden && active >= 0 && hits[active]) open(hits[active]);
    else if (box.value.trim()) {
      window.location.hash = `/search?q=${encodeURIComponent(box.value.trim())}`;
      close();
    }
  });
  document.addEventListener("keydown", (e) => {
    const typing = /^(INPUT|TEXTAREA|SELECT)$/.test(document.activeElement.tagName);
    if (e.key === "/" && !typing && !e.ctrlKey && !e.metaKey) {
      e.preventDefault();
      box.focus();
    }
  });
}

// ---- the token ----------------------------------------------------------------------------------------------

function tokenDialog() {
  const dialog = document.getElementById("token-dialog");
  const input = document.getElementById("token-input");
  const status = document.getElementById("token-status");
  const button = document.getElementById("token-button");
  async function describe() {
    try {
      const { viewer } = await gql("{ viewer { role name authenticated } }");
      button.textContent = viewer.authenticated ? `Token: ${viewer.name} (${viewer.role.toLowerCase()})` : `Anonymous (${viewer.role.toLowerCase()})`;
      button.dataset.role = viewer.role;
      status.textContent = "";
    } catch (e) {
      button.textContent = "Token needed";
      button.dataset.role = "";
      status.textContent = e.message;
    }
  }
  button.addEventListener("click", () => {
    input.value = getToken();
    dialog.showModal();
    input.focus();
  });
  dialog.addEventListener("close", () => {
    if (dialog.returnValue === "save") setToken(input.value.trim());
    else if (dialog.returnValue === "clear") setToken("");
    input.value = "";
  });
  onTokenChange(() => {
    describe();
    route();
  });
  onAuthProblem((err) => {
    status.textContent = err.message;
    button.classList.add("attention");
  });
  describe();
}

window.addEventListener("hashchange", route);
searchBox();
tokenDialog();
route();
