// hrdnet site script: the KRDS mobile menu (#mobile-nav) as an accessible dialog.
// Progressive enhancement: without JS the 전체메뉴 link opens the menu through CSS :target.
// Loaded with `defer` from base.html; no inline handlers (CSP script-src 'self').
(function () {
  "use strict";

  var menu = document.getElementById("mobile-nav");
  var openers = document.querySelectorAll("[data-menu-open]");
  if (!menu || !openers.length) {
    return;
  }
  var panel = menu.querySelector(".gnb-wrap") || menu;
  var closers = menu.querySelectorAll("[data-menu-close]");
  var desktop = window.matchMedia("(min-width: 1024px)");
  var lastTrigger = null;

  // A page opened as ...#mobile-nav would stay open through :target; drop the fragment.
  if (window.location.hash === "#mobile-nav" && window.history.replaceState) {
    window.history.replaceState(null, "", window.location.pathname + window.location.search);
  }

  function focusables() {
    return Array.prototype.filter.call(
      panel.querySelectorAll("a[href], button:not([disabled]), input:not([disabled]), select, textarea, [tabindex='0']"),
      function (el) {
        return el.offsetParent !== null || el === document.activeElement;
      }
    );
  }

  function setExpanded(value) {
    Array.prototype.forEach.call(openers, function (el) {
      el.setAttribute("aria-expanded", value ? "true" : "false");
    });
  }

  function isOpen() {
    return menu.classList.contains("is-open");
  }

  function open(trigger) {
    lastTrigger = trigger || null;
    menu.classList.add("is-open", "is-backdrop");
    document.body.classList.add("is-gnb-mobile");
    setExpanded(true);
    document.addEventListener("keydown", onKeydown);
    focusPanel(10);
  }

  // KRDS fades the menu in through a visibility transition: the panel cannot take focus on the first frame.
  function focusPanel(tries) {
    panel.focus();
    if (document.activeElement !== panel && tries > 0 && isOpen()) {
      window.setTimeout(function () {
        focusPanel(tries - 1);
      }, 50);
    }
  }

  function close(restoreFocus) {
    if (!isOpen()) {
      return;
    }
    menu.classList.remove("is-open", "is-backdrop");
    document.body.classList.remove("is-gnb-mobile");
    setExpanded(false);
    document.removeEventListener("keydown", onKeydown);
    if (restoreFocus !== false && lastTrigger) {
      lastTrigger.focus();
    }
  }

  function onKeydown(event) {
    if (event.key === "Escape") {
      event.preventDefault();
      close();
      return;
    }
    if (event.key !== "Tab") {
      return;
    }
    // Keep focus inside the open dialog.
    var items = focusables();
    if (!items.length) {
      event.preventDefault();
      return;
    }
    var first = items[0];
    var last = items[items.length - 1];
    if (event.shiftKey && (document.activeElement === first || document.activeElement === panel)) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && document.activeElement === last) {
      event.preventDefault();
      first.focus();
    }
  }

  // Links that act as buttons once JS runs: Space must activate them too.
  function actAsButton(el, handler) {
    el.setAttribute("role", "button");
    el.addEventListener("click", function (event) {
      event.preventDefault();
      handler(el);
    });
    el.addEventListener("keydown", function (event) {
      if (event.key === " " || event.key === "Spacebar") {
        event.preventDefault();
        handler(el);
      }
    });
  }

  Array.prototype.forEach.call(openers, function (el) {
    el.setAttribute("aria-expanded", "false");
    actAsButton(el, open);
  });
  Array.prototype.forEach.call(closers, function (el) {
    actAsButton(el, function () {
      close();
    });
  });

  // A click on the dimmed backdrop (outside the panel) closes the menu.
  menu.addEventListener("click", function (event) {
    if (isOpen() && !panel.contains(event.target)) {
      close();
    }
  });

  // Going to desktop width hides the mobile menu entirely; reset its state.
  function onViewportChange(event) {
    if (event.matches) {
      close(false);
    }
  }
  if (desktop.addEventListener) {
    desktop.addEventListener("change", onViewportChange);
  } else if (desktop.addListener) {
    desktop.addListener(onViewportChange);
  }
})();

// A form sent back with errors: move focus to its error summary (as KRDS does), so that a screen reader reads
// what went wrong and a keyboard user starts from the list of fields to fix instead of the top of the page.
(function () {
  "use strict";

  var summary = document.querySelector(".site-error-summary");
  if (!summary) {
    return;
  }
  summary.setAttribute("tabindex", "-1");
  summary.focus();
})();
