/* Guanxi UI behaviour: keyboard search, auto-submitting selects, confirmations, focus after htmx swaps. */
(function () {
  "use strict";

  function typing(el) {
    if (!el) return false;
    var tag = el.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || el.isContentEditable;
  }

  // "/" focuses the search box of the page (or the one in the top bar), as in most web apps.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey || typing(document.activeElement)) return;
    var box = document.querySelector(".content [data-search-box]") || document.querySelector("[data-search-box]");
    if (!box) return;
    event.preventDefault();
    box.focus();
    box.select();
  });

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && document.activeElement && document.activeElement.matches("[data-search-box]")) {
      document.activeElement.blur();
    }
  });

  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el.matches && el.matches("select[data-autosubmit]") && el.form) el.form.submit();
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) event.preventDefault();
  }, true);

  // After a note or follow-up is added in place, put the cursor back in the fresh form for the next one.
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail && event.detail.target;
    if (!target || !target.id) return;
    if (target.id === "note-form-slot" || target.id === "task-form-slot" || target.id === "opportunity-form-slot") {
      var field = target.querySelector(".has-error input, input.invalid, input[type=text], input:not([type=hidden])");
      if (field) field.focus();
    }
  });
})();
