// The "checks in progress" pages of identity verification: asks the status endpoint
// every two seconds and, once the check has ended, reloads the page, which shows the
// result or goes on to the next step. Without this file a meta refresh in <noscript>
// does the same every few seconds. Loaded with `defer` and the page's CSP nonce.
(function () {
  "use strict";
  var box = document.querySelector("[data-verify-poll]");
  if (!box) return;
  var statusUrl = box.getAttribute("data-status-url");
  var next = box.getAttribute("data-next-url");
  var delay = 2000;

  function go() {
    window.location.replace(next);
  }

  function poll() {
    fetch(statusUrl, {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
      cache: "no-store"
    })
      .then(function (response) {
        if (!response.ok) throw new Error("status " + response.status);
        return response.json();
      })
      .then(function (status) {
        if (status && status.done) {
          go();
        } else {
          window.setTimeout(poll, delay);
        }
      })
      .catch(function () {
        // Signed out, or the network: the page itself says what happened.
        go();
      });
  }

  window.setTimeout(poll, delay);
})();
