// Portico UI behaviour that HTML alone cannot do: theme switching, the "/" shortcut to the
// search box, the phone menu, copy buttons and redrawing a template form when a choice brings
// other fields. Everything works without it, except these.
(function () {
  "use strict";
  var root = document.documentElement;
  function storedTheme() { try { return localStorage.getItem("portico-theme") || "system"; } catch (e) { return "system"; } }
  // RapiDoc draws in its shadow DOM: hand it the page's colours.
  function themeApiDocs() {
    var styles = getComputedStyle(root);
    document.querySelectorAll("rapi-doc").forEach(function (doc) {
      doc.setAttribute("theme", effectiveDark() ? "dark" : "light");
      doc.setAttribute("bg-color", styles.getPropertyValue("--surface").trim());
      doc.setAttribute("text-color", styles.getPropertyValue("--text").trim());
      doc.setAttribute("primary-color", styles.getPropertyValue("--primary").trim());
    });
  }
  function applyTheme(theme) {
    if (theme === "light" || theme === "dark") root.dataset.theme = theme; else delete root.dataset.theme;
    themeApiDocs();
    try { if (theme === "system") localStorage.removeItem("portico-theme"); else localStorage.setItem("portico-theme", theme); } catch (e) {}
    document.querySelectorAll("[data-theme-choice]").forEach(function (input) { input.checked = input.value === theme; });
  }
  function effectiveDark() {
    if (root.dataset.theme) return root.dataset.theme === "dark";
    return window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
  }
  document.addEventListener("click", function (event) {
    var toggle = event.target.closest("[data-theme-toggle]");
    if (toggle) { applyTheme(effectiveDark() ? "light" : "dark"); return; }
    var menu = event.target.closest("[data-menu-toggle]");
    if (menu) {
      var sidebar = document.getElementById("sidebar");
      var open = sidebar.classList.toggle("open");
      menu.setAttribute("aria-expanded", open ? "true" : "false");
      return;
    }
    var copy = event.target.closest("[data-copy]");
    if (copy) {
      var source = document.querySelector(copy.getAttribute("data-copy"));
      var label = copy.querySelector("[data-copy-label]");
      var done = function (text) { if (label) { label.textContent = text; setTimeout(function () { label.textContent = "Copy"; }, 1500); } };
      if (source && navigator.clipboard) navigator.clipboard.writeText(source.textContent).then(function () { done("Copied"); }, function () { done("Copy failed"); });
      else done("Copy failed");
    }
  });
  document.addEventListener("change", function (event) {
    if (event.target.matches("[data-theme-choice]")) applyTheme(event.target.value);
    // A template field others depend on: redraw the page with the fields of the new choice.
    if (event.target.matches("[data-controls]") && event.target.form) {
      var redraw = event.target.form.querySelector("[data-refresh]");
      if (redraw && event.target.form.requestSubmit) event.target.form.requestSubmit(redraw);
    }
  });
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    var typing = target.closest("input, textarea, select, [contenteditable]");
    if (event.key === "/" && !typing && !event.ctrlKey && !event.metaKey) {
      var search = document.getElementById("global-search");
      if (search) { event.preventDefault(); search.focus(); search.select(); }
    }
    if (event.key === "Escape") {
      var sidebar = document.getElementById("sidebar");
      if (sidebar && sidebar.classList.contains("open")) sidebar.classList.remove("open");
      document.querySelectorAll("details.user-menu[open]").forEach(function (d) { d.open = false; });
    }
  });
  // On a phone the facet lists would push the table off screen: start them folded.
  function foldFilters(scope) {
    if (window.matchMedia && window.matchMedia("(max-width: 900px)").matches) {
      (scope || document).querySelectorAll("details[data-collapse-narrow]").forEach(function (d) { d.open = false; });
    }
  }
  document.addEventListener("DOMContentLoaded", function () {
    foldFilters(document);
    themeApiDocs();
    var theme = storedTheme();
    document.querySelectorAll("[data-theme-choice]").forEach(function (input) { input.checked = input.value === theme; });
  });
})();
