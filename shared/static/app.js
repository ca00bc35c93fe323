// Passerelle's progressive enhancement. Every page works without this file; features
// attach to elements that opt in with a data attribute. Loaded with `defer` and the
// page's CSP nonce.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  // "Print the codes" buttons exist only where printing makes sense (backup codes);
  // hidden without script, since only script can print.
  Array.prototype.forEach.call(document.querySelectorAll("[data-print]"), function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      window.print();
    });
  });

  // The idle-session warning (ACC-3): shown `data-warn-after` seconds after the page
  // loaded, counting down to `data-expires-after`; "stay signed in" posts the keep-alive
  // form in the background and starts the count again; at zero the browser goes to the
  // timeout page by posting its hidden form (with the CSRF token: a plain GET of that
  // page ends nothing), which ends the session and says so.
  var box = document.getElementById("session-timeout");
  if (!box) return;
  var warnAfter = Number(box.getAttribute("data-warn-after")) * 1000;
  var expiresAfter = Number(box.getAttribute("data-expires-after")) * 1000;
  var timeoutForm = box.querySelector("form[data-timeout]");
  var countdown = box.querySelector("[data-countdown]");
  var form = box.querySelector("form[data-keep-alive]");
  var deadline, warnTimer, tick, lastFocus;

  function format(ms) {
    var total = Math.max(0, Math.ceil(ms / 1000));
    var m = Math.floor(total / 60);
    var s = total % 60;
    return m + ":" + (s < 10 ? "0" : "") + s;
  }

  function update() {
    var left = deadline - Date.now();
    if (left <= 0) {
      window.clearInterval(tick);
      timeoutForm.submit();
      return;
    }
    countdown.textContent = format(left);
  }

  function show() {
    lastFocus = document.activeElement;
    box.hidden = false;
    update();
    tick = window.setInterval(update, 1000);
    var button = form.querySelector("button");
    if (button) button.focus();
  }

  function start(expiresInMs, warnInMs) {
    window.clearTimeout(warnTimer);
    window.clearInterval(tick);
    box.hidden = true;
    deadline = Date.now() + expiresInMs;
    warnTimer = window.setTimeout(show, Math.max(0, warnInMs));
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    fetch(form.action, {
      method: "POST",
      body: new URLSearchParams(new FormData(form)),
      credentials: "same-origin",
    }).then(function (response) {
      if (response.ok) {
        start(expiresAfter, warnAfter);
        if (lastFocus && lastFocus.focus) lastFocus.focus();
      } else {
        timeoutForm.submit();
      }
    });
  });

  start(expiresAfter, warnAfter);
})();
