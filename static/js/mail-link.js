// Pages opened from a mailed one-time link (/verify#t=…, /password/reset#t=…).
// The token travels in the URL fragment, which the browser never sends: not to the server, its access
// log, a proxy, nor in a Referer header. Copy it into the form's token field (the POST uses the link up)
// and take it out of the address bar and history. Without scripts the field stays visible for pasting.
(function () {
  "use strict";

  var field = document.querySelector("[data-link-token]");
  if (!field) {
    return;
  }
  var match = /^#t=([A-Za-z0-9_-]+)$/.exec(window.location.hash);
  if (match) {
    field.value = match[1];
    if (window.history.replaceState) {
      window.history.replaceState(null, "", window.location.pathname + window.location.search);
    }
  }
  var wrapper = field.closest("[data-link-token-wrapper]");
  if (field.value && wrapper && !wrapper.querySelector(".site-field-errors")) {
    wrapper.hidden = true;
  }
})();
