// The dashboard's GraphQL client: the same endpoint, token rules and limits as any other client.
// The token lives in this tab's sessionStorage (never in a URL); GraphiQL, on the same origin, reads it too.

const TOKEN_KEY = "graphiam.token";
export const ENDPOINT = new URL("../graphql", document.baseURI).pathname;

export class ApiError extends Error {
  constructor(message, { status = 200, code = null, data = null } = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.data = data;
  }
}

export function getToken() {
  try {
    return window.sessionStorage.getItem(TOKEN_KEY) || "";
  } catch {
    return "";
  }
}

export function setToken(token) {
  try {
    if (token) window.sessionStorage.setItem(TOKEN_KEY, token);
    else window.sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    /* storage refused (private mode): the token lasts until the page is left */
  }
  authListeners.forEach((fn) => fn(getToken()));
}

const authListeners = new Set();
export function onTokenChange(fn) {
  authListeners.add(fn);
}

const problemListeners = new Set();
/** `fn(error)` runs when a request is refused for want of a (better) token: 401, or an admin-only field. */
export function onAuthProblem(fn) {
  problemListeners.add(fn);
}

/** Runs one GraphQL operation; resolves to `data`, rejects with an ApiError carrying the server's message. */
export async function gql(query, variables = {}) {
  const headers = { "Content-Type": "application/json", Accept: "application/json" };
  const token = getToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(ENDPOINT, {
      method: "POST",
      headers,
      body: JSON.stringify({ query, variables }),
      credentials: "same-origin",
    });
  } catch (e) {
    throw new ApiError(`the server did not answer (${e.message})`, { status: 0 });
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (!response.ok && !(body && body.errors)) {
    const text = body ? JSON.stringify(body) : response.statusText;
    throw new ApiError(`HTTP ${response.status}: ${text}`, { status: response.status });
  }
  if (body.errors && body.errors.length) {
    const first = body.errors[0];
    const code = (first.extensions && first.extensions.code) || null;
    const err = new ApiError(body.errors.map((e) => e.message).join("; "), {
      status: response.status,
      code,
      data: body.data,
    });
    if (response.status === 401 || code === "UNAUTHENTICATED" || code === "FORBIDDEN") {
      problemListeners.forEach((fn) => fn(err));
    }
    throw err;
  }
  return body.data;
}

/** Every page of a connection field: `pick(data)` gives `{rows, endCursor, hasNext}`; at most `limit` rows. */
export async function allPages(query, variables, pick, limit = 100000) {
  const rows = [];
  let after = null;
  for (;;) {
    const data = await gql(query, { ...variables, first: 100, after });
    const page = pick(data);
    rows.push(...page.rows);
    if (!page.hasNext || rows.length >= limit) return rows.slice(0, limit);
    after = page.endCursor;
  }
}
