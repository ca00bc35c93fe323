// Security keys and face or touch unlock (MFA-1): the one script that talks to the
// authenticator. The page holds the server's options as JSON in `data-options` (binary
// fields in base64url) and the messages to show in `data-msg-*`; the button calls
// navigator.credentials.create ("create") or .get ("get"), and the answer goes back in
// the form's `credential` field, posted with the page's CSRF token. Nothing is sent
// when the person cancels: the page says what to do instead. Loaded with `defer` and the
// page's CSP nonce.
(function () {
  "use strict";
  var box = document.querySelector("[data-webauthn]");
  if (!box) return;
  var mode = box.getAttribute("data-webauthn");
  var form = box.querySelector("form");
  var button = box.querySelector("[data-webauthn-start]");
  var status = box.querySelector("[data-webauthn-status]");
  var field = form.querySelector("input[name=credential]");

  function say(key) {
    status.textContent = box.getAttribute("data-msg-" + key) || "";
  }

  if (!window.PublicKeyCredential || !navigator.credentials) {
    say("unsupported");
    return;
  }

  // base64url (no padding) <-> ArrayBuffer.
  function toBuffer(text) {
    var b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) b64 += "=";
    var binary = window.atob(b64);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes.buffer;
  }

  function toText(buffer) {
    var bytes = new Uint8Array(buffer);
    var binary = "";
    for (var i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
    return window.btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  var options;
  try {
    options = JSON.parse(box.getAttribute("data-options")).publicKey;
    options.challenge = toBuffer(options.challenge);
    if (mode === "create") {
      options.user.id = toBuffer(options.user.id);
      (options.excludeCredentials || []).forEach(function (c) {
        c.id = toBuffer(c.id);
      });
    } else {
      (options.allowCredentials || []).forEach(function (c) {
        c.id = toBuffer(c.id);
      });
    }
  } catch (e) {
    say("error");
    return;
  }

  // The answer as webauthn-rs reads it.
  function answer(credential) {
    var r = credential.response;
    var out = {
      id: credential.id,
      rawId: toText(credential.rawId),
      type: credential.type,
      extensions: {}
    };
    var results = credential.getClientExtensionResults ? credential.getClientExtensionResults() : {};
    if (mode === "create") {
      out.response = {
        attestationObject: toText(r.attestationObject),
        clientDataJSON: toText(r.clientDataJSON),
        transports: r.getTransports ? r.getTransports() : []
      };
      if (results.credProps) out.extensions.credProps = results.credProps;
    } else {
      out.response = {
        authenticatorData: toText(r.authenticatorData),
        clientDataJSON: toText(r.clientDataJSON),
        signature: toText(r.signature),
        userHandle: r.userHandle ? toText(r.userHandle) : null
      };
    }
    return JSON.stringify(out);
  }

  function failed(error) {
    button.disabled = false;
    var name = error && error.name;
    if (name === "InvalidStateError") say("exists");
    else if (name === "NotAllowedError" || name === "AbortError") say("cancelled");
    else if (name === "SecurityError") say("insecure");
    else say("error");
    button.focus();
  }

  function start() {
    button.disabled = true;
    say("waiting");
    var call = mode === "create"
      ? navigator.credentials.create({ publicKey: options })
      : navigator.credentials.get({ publicKey: options });
    call.then(function (credential) {
      if (!credential) {
        failed(null);
        return;
      }
      field.value = answer(credential);
      say("sending");
      form.submit();
    }, failed);
  }

  button.hidden = false;
  button.addEventListener("click", start);

  // Face or touch unlock needs one on this device: say so before the person tries.
  if (mode === "create" && box.getAttribute("data-attachment") === "platform" &&
      PublicKeyCredential.isUserVerifyingPlatformAuthenticatorAvailable) {
    PublicKeyCredential.isUserVerifyingPlatformAuthenticatorAvailable().then(function (yes) {
      if (!yes) say("no-platform");
    }, function () {});
  }
})();
