// The comparison basket: run ids kept in localStorage so that "비교함에 담기" on one run page and then another
// builds /compare?runs=a,b. Without JS the link compares this run alone (and the page says to add another).
(function () {
  "use strict";

  var KEY = "hrdnet.compare";
  var MAX = 4;

  function load() {
    try {
      return (JSON.parse(window.localStorage.getItem(KEY)) || []).filter(function (id) {
        return /^\d+$/.test(String(id));
      }).map(String);
    } catch (e) {
      return [];
    }
  }

  function save(ids) {
    try {
      window.localStorage.setItem(KEY, JSON.stringify(ids.slice(-MAX)));
    } catch (e) {
      // storage unavailable (private mode): the links still work one run at a time
    }
  }

  function compareUrl(ids) {
    return "/compare?runs=" + ids.slice(-MAX).join(",");
  }

  // A comparison page opened from a shared link becomes the basket.
  var table = document.querySelector("[data-compare-runs]");
  if (table) {
    save(table.getAttribute("data-compare-runs").split(",").filter(Boolean));
  } else if (document.querySelector(".page-title") && window.location.pathname === "/compare") {
    save([]);
  }

  document.addEventListener("click", function (event) {
    var add = event.target.closest("[data-compare-add]");
    if (add) {
      var ids = load().filter(function (id) { return id !== add.getAttribute("data-compare-add"); });
      ids.push(add.getAttribute("data-compare-add"));
      save(ids);
      event.preventDefault();
      window.location.assign(compareUrl(ids));
    }
  });
})();
