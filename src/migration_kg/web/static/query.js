// SPARQL query page: fill the textarea from the catalogue, run against /sparql, show a table.
// Plain JS, no dependencies (a vendored YASGUI may replace this later). Without JS the form
// still works: it submits to /sparql and the browser shows the JSON results.
"use strict";
(function () {
  const form = document.getElementById("sparql-form");
  const text = document.getElementById("query-text");
  const picker = document.getElementById("example");
  const out = document.getElementById("results");
  const examples = JSON.parse(document.getElementById("examples").textContent);

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
