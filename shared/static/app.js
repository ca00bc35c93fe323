// Passerelle's progressive enhancement hook. Every page works without this file; later
// features (WebAuthn, the session-timeout warning) attach here to elements that opt in
// with a data attribute. Loaded with `defer` and the page's CSP nonce.
(function () {
  "use strict";
  document.documentElement.classList.add("js");
})();
