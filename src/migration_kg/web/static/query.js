// SPARQL query page. With the vendored YASGUI (static/vendor/yasgui/) loaded, the textarea gives
// way to a YASGUI editor whose only endpoint is this site's /sparql, and each named query picked
// from the catalogue opens in a tab of its own. Without YASGUI a plain fallback fills the
// textarea from the catalogue, runs it against /sparql and shows a table. Without JS the form
// still works: it submits to /sparql and the browser shows the JSON results.
"use strict";
(function () {
  const form = document.getElementById("sparql-form");
  const text = document.getElementById("query-text");
  const picker = document.getElementById("example");
  const out = document.getElementById("results");
  const examples = JSON.parse(document.getElementById("examples").textContent);

  if (window.Yasgui) {
    startYasgui();
    return;
  }

  function startYasgui() {
    const endpoint = new URL(form.dataset.endpoint, window.location.href).href;
    const Yasgui = window.Yasgui;
    // Only completers that need no network: LOV's class and property look-ups are left out, and
    // prefixes come from the list bundled in YASGUI (no prefixCcApi).
    Yasgui.Yasqe.defaults.autocompleters = ["prefixes", "variables"];
    // CodeMirror names its hidden input for screen readers with this option.
    Yasgui.Yasqe.defaults.screenReaderLabel = "SPARQL query";
    const yasgui = new Yasgui(document.getElementById("yasgui"), {
      requestConfig: { endpoint: endpoint, method: "POST" },
      endpointCatalogueOptions: { getData: function () { return [{ endpoint: endpoint }]; }, keys: [] },
      copyEndpointOnNewTab: false,
      populateFromUrl: false,
      persistenceId: null,
      autoAddOnInit: false,
      yasqe: { value: text.value },
    });
    yasgui.addTab(true, { name: "Query", yasqe: { value: text.value }, requestConfig: { endpoint: endpoint } });
    const container = document.getElementById("yasgui");
    accessible(container);
    new MutationObserver(function () { accessible(container); })
      .observe(container, { childList: true, subtree: true });
    const newTab = document.getElementById("new-tab");
    newTab.hidden = false;
    newTab.addEventListener("click", function () {
      yasgui.addTab(true, { name: "Query", yasqe: { value: text.value }, requestConfig: { endpoint: endpoint } });
    });
    // The textarea and its Run button stay in the page for readers without JS only.
    text.closest("p").hidden = true;
    form.querySelector("button[type=submit]").closest("p").hidden = true;
    form.addEventListener("submit", function (event) { event.preventDefault(); });
    picker.addEventListener("change", function () {
      const chosen = examples[picker.value];
      if (!chosen) { return; }
      yasgui.addTab(true, {
        name: chosen.title,
        yasqe: { value: chosen.text },
        requestConfig: { endpoint: endpoint },
      });
      picker.value = "";
    });
  }

  // WCAG 2.1 A/AA around YASGUI without touching its code: name the controls it leaves unnamed
  // and let the keyboard reach the editor's scrolling area. Runs again whenever YASGUI adds a tab
  // or draws results (a MutationObserver above); attributes already set are left alone.
  function accessible(root) {
    name(root, ".tabsList .tab input[type=text]", "Tab name");
    name(root, "input.autocomplete", "SPARQL endpoint");
    name(root, "select.tableSizer", "Results per page");
    name(root, ".CodeMirror textarea", "SPARQL query");
    // CodeMirror gives its scroller tabindex -1 (focusable by script only): 0 puts it in the
    // tab order, so arrow keys can scroll a long query without a mouse.
    root.querySelectorAll(".CodeMirror-scroll:not([tabindex='0'])").forEach(function (el) {
      el.setAttribute("tabindex", "0");
    });
  }

  function name(root, selector, label) {
    root.querySelectorAll(selector + ":not([aria-label]):not([aria-labelledby])").forEach(function (el) {
      el.setAttribute("aria-label", label);
    });
  }

  picker.addEventListener("change", function () {
    const chosen = examples[picker.value];
    if (chosen) { text.value = chosen.text; }
  });

  function cell(binding) {
    const td = document.createElement("td");
    if (!binding) { return td; }
    if (binding.type === "uri") {
      const a = document.createElement("a");
      a.href = binding.value;
      a.textContent = binding.value;
      td.appendChild(a);
    } else {
      td.textContent = binding.value;
    }
    return td;
  }

  function render(data) {
    out.replaceChildren();
    if (typeof data.boolean === "boolean") {
      const p = document.createElement("p");
      p.textContent = "Answer: " + (data.boolean ? "yes" : "no");
      out.appendChild(p);
      return;
    }
    const vars = data.head.vars;
    const rows = data.results.bindings;
    const table = document.createElement("table");
    const caption = table.createCaption();
    caption.textContent = rows.length + (rows.length === 1 ? " row" : " rows");
    const head = table.createTHead().insertRow();
    vars.forEach(function (v) {
      const th = document.createElement("th");
      th.scope = "col";
      th.textContent = v;
      head.appendChild(th);
    });
    const body = table.createTBody();
    rows.forEach(function (row) {
      const tr = body.insertRow();
      vars.forEach(function (v) { tr.appendChild(cell(row[v])); });
    });
    out.appendChild(table);
  }

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    out.textContent = "Running…";
    const response = await fetch(form.dataset.endpoint, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", "Accept": "application/sparql-results+json" },
      body: new URLSearchParams({ query: text.value }),
    });
    if (!response.ok) {
      const p = document.createElement("p");
      p.className = "error";
      p.textContent = response.status + ": " + (await response.text());
      out.replaceChildren(p);
      return;
    }
    render(await response.json());
  });
})();
