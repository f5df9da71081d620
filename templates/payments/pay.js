// The pay page (templates/payments/pay.html): Stripe.js (or localstripe's stand-in) turns the card into a
// token in the browser; the server attaches it and confirms with its own idempotency key. A card that needs
// 3-D Secure comes back with data-requires-action="1": the authentication step runs here, then the return page's POST.
(function () {
  "use strict";
  var form = document.getElementById("pay-form");
  if (!form || typeof Stripe === "undefined") { return; }
  var stripe = Stripe(form.dataset.publishableKey, { locale: "ko" });
  var status = document.getElementById("pay-status");
  function show(text) { if (status) { status.textContent = text; } }

  if (form.dataset.requiresAction === "1" && form.dataset.clientSecret) {
    var step = stripe.handleNextAction
      ? stripe.handleNextAction({ clientSecret: form.dataset.clientSecret })
      : stripe.confirmCardPayment(form.dataset.clientSecret);
    // Either way, the return page's POST asks the processor what happened and records it (a GET only shows).
    var sync = document.getElementById(form.dataset.syncForm);
    Promise.resolve(step).then(function () { sync.submit(); }, function () { sync.submit(); });
    return;
  }

  var card = stripe.elements().create("card", { hidePostalCode: true });
  card.mount("#card-element");
  var button = form.querySelector("button[type=submit]");
  form.addEventListener("submit", function (event) {
    if (form.elements.card_token.value) { return; }
    event.preventDefault();
    if (button) { button.disabled = true; }
    show("카드 정보를 확인하고 있습니다…");
    stripe.createToken(card).then(function (result) {
      if (!result || result.error || !result.token) {
        show((result && result.error && result.error.message) || "카드 정보를 확인할 수 없습니다. 다시 입력해 주세요.");
        if (button) { button.disabled = false; }
        return;
      }
      form.elements.card_token.value = result.token.id;
      show("결제하고 있습니다…");
      form.submit();
    });
  });
})();
