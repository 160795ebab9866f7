// GraphiQL as graphiam serves it: every script from this server, the README's example queries in an
// "Examples" panel (each opens in a new tab), the dashboard's token (sessionStorage) sent by default, and a
// query handed over in the URL fragment (`#query=…&variables=…`, the dashboard's "open in GraphiQL") opened
// in a tab of its own (GraphiQL's `query` prop adds a tab unless one holds that query). The fragment never
// reaches the server and is cleared once read.
(function () {
  "use strict";
  var h = React.createElement;
  var TOKEN_KEY = "graphiam.token";
  var WELCOME =
    "# graphiam's GraphQL API. The Examples panel (left) holds\n" +
    "# the README's questions; Docs, the schema. Ctrl-Enter runs.\n" +
    "# A token goes in Headers (below):\n" +
    "#   {\"Authorization\": \"Bearer <token>\"}\n" +
    "{ accounts { id } viewer { role name } }\n";

  var token = null;
  try {
    token = window.sessionStorage.getItem(TOKEN_KEY);
  } catch (e) {
    token = null;
  }
  var fetcher = GraphiQL.createFetcher({
    url: window.location.pathname,
    headers: token ? { Authorization: "Bearer " + token } : {},
  });

  var handed = new URLSearchParams(window.location.hash.slice(1));
  var handedQuery = handed.get("query");
  var handedVariables = handed.get("variables");
  if (handedQuery !== null) {
    window.history.replaceState(null, "", window.location.pathname + window.location.search);
  }

  function ListIcon() {
    return h(
      "svg",
      { viewBox: "0 0 24 24", width: "1em", height: "1em", fill: "none", stroke: "currentColor",
        strokeWidth: 1.5, "aria-hidden": "true" },
      h("path", { d: "M8 6h13M8 12h13M8 18h13M3.5 6h.01M3.5 12h.01M3.5 18h.01", strokeLinecap: "round" })
    );
  }

  function openInNewTab(editor, query, variables) {
    editor.addTab();
    // the new tab becomes active on the next render; then its editors take the example
    window.setTimeout(function () {
      if (editor.queryEditor) editor.queryEditor.setValue(query);
      if (editor.variableEditor) editor.variableEditor.setValue(variables || "");
    }, 0);
  }

  function examplesPlugin(examples) {
    function ExamplesPanel() {
      var editor = GraphiQL.React.useEditorContext({ nonNull: true });
      return h(
        "section",
        { className: "graphiam-examples", "aria-label": "Example queries" },
        h("h2", null, "Examples"),
        h("p", null, "The questions of graphiam's README. Each opens in a new tab."),
        h(
          "ol",
          null,
          examples.map(function (ex, i) {
            return h(
              "li",
              { key: i },
              h(
                "button",
                { type: "button", "data-example": String(i), title: ex.query,
                  onClick: function () { openInNewTab(editor, ex.query, ""); } },
                ex.title
              )
            );
          })
        ),
        h("p", null, h("a", { href: "ui/" }, "← the dashboard"))
      );
    }
    return { title: "Examples", icon: ListIcon, content: ExamplesPanel };
  }

  function render(examples) {
    var plugin = examplesPlugin(examples);
    var root = ReactDOM.createRoot(document.getElementById("graphiql"));
    root.render(
      h(
        GraphiQL,
        {
          fetcher: fetcher,
          defaultQuery: WELCOME,
          plugins: [plugin],
          query: handedQuery === null ? undefined : handedQuery,
          variables: handedVariables === null ? undefined : handedVariables,
          isHeadersEditorEnabled: true,
          shouldPersistHeaders: true,
          inputValueDeprecation: true,
        }
      )
    );
    if (handedQuery === null) showExamples(Date.now());
  }

  function showExamples(started) {
    // open the Examples panel through its sidebar button once GraphiQL has drawn it (GraphiQL 4 sizes the
    // panel only when the button is clicked; its `visiblePlugin` prop marks it visible but leaves it shut)
    var show = document.querySelector('.graphiql-sidebar button[aria-label="Show Examples"]');
    if (show) show.click();
    else if (Date.now() - started < 5000) window.requestAnimationFrame(function () { showExamples(started); });
  }

  fetch("ui/graphiql/examples.json", { headers: { Accept: "application/json" } })
    .then(function (r) { return r.ok ? r.json() : []; })
    .catch(function () { return []; })
    .then(render);
})();
