// hrdnet search: autocomplete for the search box, and the filter panel folded on phones.
// Progressive enhancement only: without this file the search form, the facet links and the <details> panel
// all work. Loaded with `defer` by the pages that have a search box; no inline handlers (CSP script-src 'self').
//
// Autocomplete follows the WAI-ARIA combobox pattern (list autocomplete, no automatic selection): the input
// is role="combobox" with aria-expanded / aria-controls / aria-activedescendant; the suggestions are a
// role="listbox" of role="option"s. Focus stays in the input.
//   ArrowDown / ArrowUp  move through the suggestions (opening the list when it is closed)
//   Enter                searches the highlighted suggestion (or the typed text when none is highlighted)
//   Escape               closes the list (pressed again, the browser clears the search field)
//   Tab                  closes the list and moves on as usual
(function () {
  "use strict";

  var DELAY_MS = 150;
  var MAX_QUERY = 100;
  var KIND_LABELS = {
    course: "과정", title: "과정", keyword: "검색어", term: "검색어", skill: "기술", topic: "주제",
    provider: "훈련기관", region: "지역", ncs: "직무 분야", programme: "지원 사업", ministry: "부처",
    certificate: "자격증"
  };

  function Autocomplete(input) {
    this.input = input;
    this.url = input.getAttribute("data-suggest");
    this.form = input.form;
    this.id = (input.id || "search-q") + "-suggest";
    this.items = [];
    this.active = -1;
    this.timer = null;
    this.sequence = 0;
    this.lastQuery = null;
    this.composing = false;
    this.build();
    this.bind();
  }

  Autocomplete.prototype.build = function () {
    var input = this.input;
    var field = input.parentNode;
    field.classList.add("search-ac");

    this.list = document.createElement("ul");
    this.list.id = this.id;
    this.list.className = "search-ac__list";
    this.list.setAttribute("role", "listbox");
    this.list.setAttribute("aria-label", "추천 검색어");
    this.list.hidden = true;
    field.appendChild(this.list);

    // Announces how many suggestions there are (screen readers do not read a listbox that just appeared).
    this.status = document.createElement("p");
    this.status.className = "sr-only";
    this.status.setAttribute("aria-live", "polite"); // a live region without role=status: not a page message
    this.status.setAttribute("aria-atomic", "true");
    field.appendChild(this.status);

    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", this.id);
    input.setAttribute("autocomplete", "off"); // the browser's own history list would cover ours
  };

  Autocomplete.prototype.bind = function () {
    var self = this;
    var input = this.input;
    input.addEventListener("input", function () {
      self.schedule();
    });
    input.addEventListener("compositionstart", function () {
      self.composing = true;
    });
    input.addEventListener("compositionend", function () {
      self.composing = false;
      self.schedule();
    });
    input.addEventListener("keydown", function (event) {
      self.onKeydown(event);
    });
    input.addEventListener("blur", function () {
      // A click on a suggestion keeps focus (mousedown is cancelled below); anything else closes the list.
      window.setTimeout(function () {
        if (document.activeElement !== input) {
          self.close();
        }
      }, 0);
    });
    input.addEventListener("focus", function () {
      if (self.items.length && self.lastQuery === self.query()) {
        self.open();
      }
    });
    this.list.addEventListener("mousedown", function (event) {
      event.preventDefault();
    });
    this.list.addEventListener("click", function (event) {
      var option = event.target.closest ? event.target.closest("[role=option]") : null;
      if (option) {
        self.choose(Number(option.getAttribute("data-index")));
      }
    });
    this.list.addEventListener("mousemove", function (event) {
      var option = event.target.closest ? event.target.closest("[role=option]") : null;
      if (option) {
        self.highlight(Number(option.getAttribute("data-index")), false);
      }
    });
  };

  Autocomplete.prototype.query = function () {
    return this.input.value.replace(/\s+/g, " ").trim();
  };

  Autocomplete.prototype.schedule = function () {
    var self = this;
    window.clearTimeout(this.timer);
    this.timer = window.setTimeout(function () {
      self.fetch();
    }, DELAY_MS);
  };

  Autocomplete.prototype.fetch = function () {
    var self = this;
    var q = this.query();
    if (!q || q.length > MAX_QUERY) {
      this.lastQuery = q;
      this.render([]);
      return;
    }
    if (q === this.lastQuery) {
      if (this.items.length) {
        this.open();
      }
      return;
    }
    this.sequence += 1;
    var mine = this.sequence;
    var url = this.url + (this.url.indexOf("?") === -1 ? "?" : "&") + "q=" + encodeURIComponent(q);
    window.fetch(url, {headers: {Accept: "application/json"}, credentials: "same-origin"})
      .then(function (response) {
        return response.ok ? response.json() : [];
      })
      .then(function (data) {
        if (mine !== self.sequence) {
          return; // an answer to an older keystroke
        }
        self.lastQuery = q;
        self.render(Array.isArray(data) ? data : []);
      })
      .catch(function () {
        if (mine === self.sequence) {
          self.render([]); // no suggestions; the search itself still works
        }
      });
  };

  // The matched part of a suggestion in <mark>, built from text nodes (never innerHTML).
  function appendHighlighted(parent, text, q) {
    var at = q ? text.toLowerCase().indexOf(q.toLowerCase()) : -1;
    if (at < 0) {
      parent.appendChild(document.createTextNode(text));
      return;
    }
    parent.appendChild(document.createTextNode(text.slice(0, at)));
    var mark = document.createElement("mark");
    mark.textContent = text.slice(at, at + q.length);
    parent.appendChild(mark);
    parent.appendChild(document.createTextNode(text.slice(at + q.length)));
  }

  Autocomplete.prototype.render = function (data) {
    var self = this;
    var q = this.query();
    this.items = data.filter(function (item) {
      return item && typeof item.text === "string" && item.text;
    }).slice(0, 10);
    this.active = -1;
    this.input.removeAttribute("aria-activedescendant");
    while (this.list.firstChild) {
      this.list.removeChild(this.list.firstChild);
    }
    this.items.forEach(function (item, index) {
      var option = document.createElement("li");
      option.id = self.id + "-" + index;
      option.className = "search-ac__option";
      option.setAttribute("role", "option");
      option.setAttribute("aria-selected", "false");
      option.setAttribute("data-index", String(index));
      var text = document.createElement("span");
      text.className = "search-ac__text";
      appendHighlighted(text, item.text, q);
      option.appendChild(text);
      if (item.kind) {
        var kind = document.createElement("span");
        kind.className = "search-ac__kind";
        kind.textContent = KIND_LABELS[item.kind] || item.kind;
        option.appendChild(kind);
      }
      self.list.appendChild(option);
    });
    if (this.items.length && document.activeElement === this.input) {
      this.open();
      this.status.textContent = "추천 검색어 " + this.items.length + "개가 있습니다. 위아래 화살표로 고르세요.";
    } else {
      this.close();
      this.status.textContent = "";
    }
  };

  Autocomplete.prototype.isOpen = function () {
    return !this.list.hidden;
  };

  Autocomplete.prototype.open = function () {
    if (!this.items.length) {
      return;
    }
    this.list.hidden = false;
    this.input.setAttribute("aria-expanded", "true");
  };

  Autocomplete.prototype.close = function () {
    this.list.hidden = true;
    this.input.setAttribute("aria-expanded", "false");
    this.highlight(-1, false);
  };

  Autocomplete.prototype.highlight = function (index, scroll) {
    var options = this.list.querySelectorAll("[role=option]");
    Array.prototype.forEach.call(options, function (option) {
      option.setAttribute("aria-selected", "false");
      option.classList.remove("is-active");
    });
    this.active = index;
    if (index < 0 || index >= options.length) {
      this.active = -1;
      this.input.removeAttribute("aria-activedescendant");
      return;
    }
    var option = options[index];
    option.setAttribute("aria-selected", "true");
    option.classList.add("is-active");
    this.input.setAttribute("aria-activedescendant", option.id);
    if (scroll !== false && option.scrollIntoView) {
      option.scrollIntoView({block: "nearest"});
    }
  };

  Autocomplete.prototype.move = function (step) {
    if (!this.items.length) {
      return;
    }
    if (!this.isOpen()) {
      this.open();
      this.highlight(step > 0 ? 0 : this.items.length - 1);
      return;
    }
    var next = this.active + step;
    if (next >= this.items.length) {
      next = 0;
    } else if (next < -1) {
      next = this.items.length - 1;
    }
    this.highlight(next); // -1: back in the text field, nothing highlighted
  };

  Autocomplete.prototype.choose = function (index) {
    var item = this.items[index];
    if (!item) {
      return;
    }
    this.input.value = item.text;
    this.lastQuery = item.text;
    this.close();
    if (this.form) {
      if (this.form.requestSubmit) {
        this.form.requestSubmit();
      } else {
        this.form.submit();
      }
    }
  };

  Autocomplete.prototype.onKeydown = function (event) {
    // Keys pressed while a Korean syllable is still being composed belong to the input method.
    if (event.isComposing || this.composing || event.keyCode === 229) {
      return;
    }
    switch (event.key) {
      case "ArrowDown":
      case "Down":
        event.preventDefault();
        if (!this.items.length || this.lastQuery !== this.query()) {
          window.clearTimeout(this.timer);
          this.fetch();
          return;
        }
        this.move(1);
        break;
      case "ArrowUp":
      case "Up":
        if (this.isOpen()) {
          event.preventDefault();
          this.move(-1);
        }
        break;
      case "Enter":
        if (this.isOpen() && this.active >= 0) {
          event.preventDefault();
          this.choose(this.active);
        } else {
          this.close();
        }
        break;
      case "Escape":
      case "Esc":
        if (this.isOpen()) {
          event.preventDefault(); // keep the text: the browser would clear a search field
          this.close();
        }
        break;
      case "Tab":
        this.close();
        break;
      default:
        break;
    }
  };

  Array.prototype.forEach.call(document.querySelectorAll("input[data-suggest]"), function (input) {
    if (window.fetch && input.getAttribute("data-suggest")) {
      input.autocompleteWidget = new Autocomplete(input);
    }
  });

  // The filter panel is open in the HTML (desktop, and phones without JS); on a phone it starts folded so
  // the results come first (the chips above them show what is selected).
  var narrow = window.matchMedia && window.matchMedia("(max-width: 1023px)");
  if (narrow && narrow.matches) {
    Array.prototype.forEach.call(document.querySelectorAll("details[data-collapse-narrow]"), function (panel) {
      panel.open = false;
    });
  }
})();
