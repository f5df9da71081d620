// NCS code suggestions on the provider's run form: typing a Korean name (e.g. 응용SW) or a code prefix fills
// the <datalist> from /provider/ncs. Without JavaScript the field still takes the 8-digit code.
(function () {
  "use strict";
  var input = document.getElementById("ncs");
  var list = document.getElementById("ncs-options");
  if (!input || !list) return;
  var timer = null;
  input.addEventListener("input", function () {
    clearTimeout(timer);
    var q = input.value.trim();
    if (q.length < 2 || /^\d{8}$/.test(q)) return;
    timer = setTimeout(function () {
      fetch(list.dataset.source + "?q=" + encodeURIComponent(q), { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : { items: [] }; })
        .then(function (body) {
          list.replaceChildren.apply(list, body.items.map(function (item) {
            var option = document.createElement("option");
            option.value = item.code;
            option.label = item.name;
            return option;
          }));
        });
    }, 200);
  });
})();
