// Asks for the API key before GraphiQL fetches the schema, keeps it for
// the browser session (sessionStorage), and sends it as X-API-Key.
(function () {
  "use strict";
  var STORED = "billgraph.apiKey";
  var endpoint = document.body.dataset.endpoint;
  var form = document.getElementById("key-form");
  var input = document.getElementById("api-key");
  var problem = document.getElementById("key-problem");

  if (typeof window.GraphiQL === "undefined" || typeof window.ReactDOM === "undefined") {
    problem.textContent = "GraphiQL's scripts did not load from this server; the /graphql endpoint still answers POST requests.";
    return;
  }

  function open(key) {
    document.getElementById("key-prompt").hidden = true;
    document.getElementById("graphiql").hidden = false;
    var fetcher = GraphiQL.createFetcher({ url: endpoint, headers: { "X-API-Key": key } });
    var forget = React.createElement(
      "button",
      {
        type: "button",
        className: "billgraph-forget-key",
        title: "Forget the API key for this browser session",
        onClick: function () {
          sessionStorage.removeItem(STORED);
          location.reload();
        },
      },
      "Change key"
    );
    ReactDOM.createRoot(document.getElementById("graphiql")).render(
      React.createElement(
        GraphiQL,
        { fetcher: fetcher, defaultEditorToolsVisibility: true },
        React.createElement(GraphiQL.Logo, null, "billgraph ", forget)
      )
    );
  }

  // One cheap request tells a wrong key from a right one before GraphiQL
  // starts, so the first thing shown is never an UNAUTHENTICATED error.
  function check(key) {
    return fetch(endpoint, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-API-Key": key },
      body: JSON.stringify({ query: "{ __typename }" }),
    }).then(function (response) {
      if (response.ok) return null;
      return response.json().then(
        function (body) { return (body.errors && body.errors[0] && body.errors[0].message) || "HTTP " + response.status; },
        function () { return "HTTP " + response.status; }
      );
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var key = input.value.trim();
    if (!key) return;
    problem.textContent = "";
    check(key).then(
      function (refused) {
        if (refused) {
          problem.textContent = "The key was refused: " + refused;
          return;
        }
        sessionStorage.setItem(STORED, key);
        open(key);
      },
      function () { problem.textContent = "The server could not be reached."; }
    );
  });

  var stored = sessionStorage.getItem(STORED);
  if (stored) {
    open(stored);
  } else {
    input.value = document.body.dataset.devKey || "";
    input.focus();
  }
})();
