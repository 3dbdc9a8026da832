// Sluice admin UI: small progressive enhancements (every page works without them). Served at
// /assets/app.js; the CSP allows no inline script, so behaviour hangs on data- attributes.
"use strict";
document.addEventListener("submit", function (e) {
  var form = e.target;
  var text = form.getAttribute("data-confirm") ||
    (e.submitter && e.submitter.getAttribute("data-confirm"));
  if (text && !window.confirm(text)) {
    e.preventDefault();
  }
});
document.addEventListener("change", function (e) {
  var el = e.target;
  var group = el.getAttribute && el.getAttribute("data-select-all");
  if (group) {
    document.querySelectorAll('input[type=checkbox][name="' + group + '"]').forEach(function (box) {
      box.checked = el.checked;
    });
  }
  if (el.hasAttribute && el.hasAttribute("data-autosubmit") && el.form) {
    el.form.submit();
  }
});
