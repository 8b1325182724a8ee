// AnalysisPanel: summary, per-class accuracy (sortable here in the browser), the most frequent confusions and a
// confusion-matrix heatmap of one results table. Everything comes from the model's traitlets; a click on an
// outcome, a class, a confusion or a cell sets `filter_request` (with a growing nonce, so a repeated click fires
// again). Every label is rendered with textContent, so markup in a class name shows literally.

function h(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function percent(x) {
  return typeof x === "number" && Number.isFinite(x) ? `${Math.round(x * 1000) / 10}%` : "–";
}

function plural(n, one, many = `${one}s`) {
  return `${n} ${n === 1 ? one : many}`;
}

// the same words as the cards and the grid's outcome filter
const OUTCOME_CHIPS = [
  ["correct", "right", "top-1 right"],
  ["top-k", "in top-k", "truth elsewhere in the top-k"],
  ["wrong", "wrong", "truth not in the top-k"],
  ["failed", "failed", "could not be classified"],
  ["unlabelled", "no label", "no ground truth"],
];

// per-class table columns: [key, header, sort direction of the first click]
function classColumns(summary, anyFailed) {
  const k = summary.k && summary.k < 5 ? summary.k : 5;
  const columns = [
    ["name", "class", false],
    ["clips", "clips", true],
    ["top1", "top-1", true],
    ["top5", `top-${k}`, true],
    ["errors", "errors", true],
  ];
  if (anyFailed) columns.push(["failed", "failed", true]);
  return columns;
}

function compareClasses(key, descending) {
  const sign = descending ? -1 : 1;
  return (a, b) => {
    if (key !== "name") {
      const x = a[key];
      const y = b[key];
      const xMissing = typeof x !== "number" || !Number.isFinite(x);
      const yMissing = typeof y !== "number" || !Number.isFinite(y);
      if (xMissing !== yMissing) return xMissing ? 1 : -1; // no figure: always last
      if (!xMissing && x !== y) return sign * (x - y);
      return a.name < b.name ? -1 : a.name > b.name ? 1 : 0; // ties by name
    }
    return sign * (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  };
}

function sameFilter(request, filter) {
  return (request?.true ?? null) === (filter.true ?? null)
    && (request?.predicted ?? null) === (filter.predicted ?? null)
    && (request?.outcome ?? null) === (filter.outcome ?? null);
}

function isEmptyFilter(filter) {
  return filter == null || (filter.true == null && filter.predicted == null && filter.outcome == null);
}

function describeFilter(filter) {
  const parts = [];
  if (filter.outcome) parts.push(OUTCOME_CHIPS.find(([key]) => key === filter.outcome)?.[1] ?? filter.outcome);
  if (filter.true != null && filter.predicted != null) parts.push(`${filter.true} → ${filter.predicted}`);
  else if (filter.true != null) parts.push(`true class ${filter.true}`);
  else if (filter.predicted != null) parts.push(`predicted ${filter.predicted}`);
  return parts.join(", ");
}

// make a non-button element act like one (focusable, Enter/Space) and call `action` on activation
function clickable(node, action, label) {
  node.tabIndex = 0;
  node.setAttribute("role", "button");
  if (label) node.setAttribute("aria-label", label);
  node.addEventListener("click", action);
  node.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      action();
    }
  });
}

function render({ model, el }) {
  const root = h("div", "vw-root vw-analysis");
  const head = h("div", "vw-an-head");
  // collapsed, the panel is one summary line: the accuracy in the head, the outcome chips under it
  const toggle = h("button", "vw-an-toggle");
  toggle.type = "button";
  const title = h("span", "vw-an-title", "Analysis");
  const caption = h("span", "vw-muted vw-an-caption");
  const staleBadge = h("span", "vw-an-badge vw-an-stale-badge vw-an-hidden", "stale");
  const staleNote = h("span", "vw-an-stale-note vw-an-hidden",
    "made with other settings; classify again to bring these figures up to date");
  const compact = h("span", "vw-an-compact");
  head.append(toggle, title, compact, caption, staleBadge, staleNote);
  const summaryBox = h("div", "vw-an-summary");
  const filterBox = h("div", "vw-an-filter vw-an-hidden");
  const empty = h("div", "vw-an-empty vw-an-hidden");
  const body = h("div", "vw-an-body");
  const classesBox = h("section", "vw-an-section vw-an-classes");
  const confusionsBox = h("section", "vw-an-section vw-an-confusions");
  const matrixBox = h("section", "vw-an-section vw-an-matrix");
  body.append(classesBox, confusionsBox, matrixBox);
  // one line under the matrix heading: how to read the matrix, or what the pointer is over in it (kept across
  // redraws caused by a click, back to the help with new data)
  const readout = h("div", "vw-an-readout");
  const MATRIX_HELP = "Rows: true class; columns: top-1 prediction. Click a cell to show its clips.";
  function readoutHelp() {
    readout.replaceChildren(h("span", "vw-muted", MATRIX_HELP));
  }
  root.append(head, summaryBox, filterBox, empty, body);
  el.appendChild(root);

  function request(filter) {
    const previous = model.get("filter_request") || {};
    const next = isEmptyFilter(filter) || sameFilter(previous, filter)
      ? { true: null, predicted: null, outcome: null } // a second click on the active item clears the filter
      : { true: filter.true ?? null, predicted: filter.predicted ?? null, outcome: filter.outcome ?? null };
    model.set("filter_request", { ...next, nonce: (previous.nonce || 0) + 1 });
    model.save_changes();
  }

  function active(filter) {
    return sameFilter(model.get("filter_request"), filter);
  }

  function renderHead() {
    caption.textContent = model.get("caption") || "";
    const stale = Boolean(model.get("stale"));
    root.classList.toggle("vw-stale", stale);
    staleBadge.classList.toggle("vw-an-hidden", !stale);
    staleNote.classList.toggle("vw-an-hidden", !stale);
    const collapsed = Boolean(model.get("collapsed"));
    root.classList.toggle("vw-an-collapsed", collapsed);
    toggle.textContent = collapsed ? "▸" : "▾";
    toggle.title = collapsed ? "show the per-class accuracy, confusions and matrix" : "fold the analysis to one line";
    toggle.setAttribute("aria-expanded", String(!collapsed));
  }

  toggle.addEventListener("click", () => {
    model.set("collapsed", !model.get("collapsed"));
    model.save_changes();
  });

  function renderSummary() {
    const s = model.get("summary") || {};
    const clips = s.clips || 0;
    summaryBox.replaceChildren();
    compact.replaceChildren();
    empty.classList.add("vw-an-hidden");
    body.classList.remove("vw-an-hidden");
    if (clips === 0) {
      empty.textContent = "No results yet: classify clips to see per-class accuracy, confusions and a "
        + "confusion matrix.";
      empty.classList.remove("vw-an-hidden");
      body.classList.add("vw-an-hidden");
      return;
    }
    if (s.scored > 0) {
      const k = s.k && s.k < 5 ? s.k : 5;
      const figures = h("div", "vw-an-figures");
      for (const [label, value] of [["top-1 accuracy", s.top1], [`top-${k} accuracy`, s.top5]]) {
        const box = h("div", "vw-an-figure");
        box.append(h("span", "vw-an-figure-value", percent(value)), h("span", "vw-muted", label));
        figures.append(box);
      }
      const scored = h("div", "vw-an-figure");
      scored.append(h("span", "vw-an-figure-value", String(s.scored)), h("span", "vw-muted", "clips scored"));
      figures.append(scored);
      summaryBox.append(figures);
      compact.append(h("b", null, `top-1 ${percent(s.top1)}`), " · ", h("b", null, `top-${k} ${percent(s.top5)}`),
        ` over ${plural(s.scored, "labelled clip")}`);
    } else compact.textContent = plural(clips, "clip");
    const chips = h("div", "vw-an-chips");
    for (const [outcome, text, help] of OUTCOME_CHIPS) {
      const key = outcome === "top-k" ? "top_k" : outcome;
      const n = s[key] || 0;
      if (n === 0) continue;
      const label = outcome === "top-k" ? `in top-${s.k || 5}` : text;
      const chip = h("button", `vw-an-chip vw-an-chip-${outcome}`, `${n} ${label}`);
      chip.type = "button";
      chip.title = `${help}: show these clips`;
      chip.dataset.outcome = outcome;
      const filter = { outcome };
      chip.classList.toggle("vw-an-active", active(filter));
      chip.setAttribute("aria-pressed", String(active(filter)));
      chip.addEventListener("click", () => request(filter));
      chips.append(chip);
    }
    summaryBox.append(chips);
    if (s.scored === 0) {
      empty.textContent = s.failed === clips
        ? `All ${plural(clips, "clip")} failed to classify, so there is nothing to analyse.`
        : `None of the ${plural(clips, "classified clip")} has a ground-truth label, so there is no accuracy to `
          + "show. Put your videos in one subfolder per class to label them.";
      empty.classList.remove("vw-an-hidden");
      body.classList.add("vw-an-hidden");
    }
  }

  function renderFilter() {
    const filter = model.get("filter_request") || {};
    const on = !isEmptyFilter(filter);
    filterBox.classList.toggle("vw-an-hidden", !on);
    if (!on) {
      filterBox.replaceChildren();
      return;
    }
    const clear = h("button", "vw-an-clear", "show all");
    clear.type = "button";
    clear.addEventListener("click", () => request(null));
    filterBox.replaceChildren(h("span", "vw-muted", "clips shown: "), h("span", "vw-an-filter-text",
      describeFilter(filter)), clear);
  }

  function renderClasses() {
    const rows = model.get("classes") || [];
    const s = model.get("summary") || {};
    const sort = model.get("class_sort") || { key: "name", descending: false };
    const columns = classColumns(s, rows.some((r) => r.failed > 0));
    const heading = h("h3", "vw-an-heading", "Per-class accuracy");
    heading.append(h("span", "vw-muted vw-an-count", ` ${plural(rows.length, "class", "classes")}`));
    const table = h("table", "vw-an-table");
    const thead = h("thead");
    const headRow = h("tr");
    for (const [key, text, firstDescending] of columns) {
      const th = h("th", key === "name" ? "vw-an-th" : "vw-an-th vw-an-num");
      th.dataset.key = key;
      const button = h("button", "vw-an-sort", text);
      button.type = "button";
      const sorted = sort.key === key;
      th.setAttribute("aria-sort", sorted ? (sort.descending ? "descending" : "ascending") : "none");
      if (sorted) button.append(h("span", "vw-an-arrow", sort.descending ? " ▼" : " ▲"));
      button.title = `sort by ${text}`;
      button.addEventListener("click", () => {
        const descending = sorted ? !sort.descending : firstDescending;
        model.set("class_sort", { key, descending });
        model.save_changes();
      });
      th.append(button);
      headRow.append(th);
    }
    thead.append(headRow);
    const tbody = h("tbody");
    const ordered = [...rows].sort(compareClasses(sort.key, Boolean(sort.descending)));
    for (const row of ordered) {
      const tr = h("tr", "vw-an-class");
      tr.dataset.class = row.name;
      const filter = { true: row.name };
      if (active(filter)) tr.classList.add("vw-an-active");
      clickable(tr, () => request(filter), `show clips of class ${row.name}`);
      tr.title = `show the clips whose true class is ${row.name}`;
      for (const [key] of columns) {
        const td = h("td", key === "name" ? "vw-an-name" : "vw-an-num");
        if (key === "name") td.textContent = row.name;
        else if (key === "top1" || key === "top5") {
          const bar = h("span", "vw-an-acc-bar");
          const value = typeof row[key] === "number" ? Math.max(0, Math.min(1, row[key])) : 0;
          bar.style.width = `${value * 100}%`;
          td.append(h("span", "vw-an-acc-text", percent(row[key])), bar);
        } else td.textContent = String(row[key] ?? 0);
        if (key === "errors" && row.errors > 0) td.classList.add("vw-an-bad");
        tr.append(td);
      }
      tbody.append(tr);
    }
    table.append(thead, tbody);
    const scroller = h("div", "vw-an-scroll");
    scroller.append(table);
    classesBox.replaceChildren(heading, scroller);
  }

  function renderConfusions() {
    const items = model.get("confusions") || [];
    const total = model.get("confusions_total") || 0;
    const heading = h("h3", "vw-an-heading", "Most frequent confusions");
    if (total > items.length) heading.append(h("span", "vw-muted vw-an-count", ` ${items.length} of ${total}`));
    if (items.length === 0) {
      confusionsBox.replaceChildren(heading, h("div", "vw-an-note", "No confusions: every top-1 prediction is right."));
      return;
    }
    const most = Math.max(...items.map((c) => c.clips), 1);
    const list = h("ol", "vw-an-confusion-list");
    for (const item of items) {
      const li = h("li", "vw-an-confusion");
      li.dataset.true = item.true;
      li.dataset.predicted = item.predicted;
      const filter = { true: item.true, predicted: item.predicted };
      if (active(filter)) li.classList.add("vw-an-active");
      clickable(li, () => request(filter), `show clips of ${item.true} predicted as ${item.predicted}`);
      li.title = `${plural(item.clips, "clip")} of ${item.true} predicted as ${item.predicted}: show them`;
      const pair = h("span", "vw-an-pair");
      pair.append(h("span", "vw-an-true", item.true), h("span", "vw-an-arrow-sep", " → "),
        h("span", "vw-an-pred", item.predicted));
      const bar = h("span", "vw-an-count-bar");
      bar.style.width = `${(item.clips / most) * 100}%`;
      const track = h("span", "vw-an-count-track");
      track.append(bar);
      li.append(pair, track, h("span", "vw-an-clips", String(item.clips)));
      list.append(li);
    }
    confusionsBox.replaceChildren(heading, list);
  }

  function renderMatrix() {
    const m = model.get("matrix") || {};
    const rows = m.rows || [];
    const columns = m.columns || [];
    const heading = h("h3", "vw-an-heading", "Confusion matrix");
    if (rows.length === 0) {
      matrixBox.replaceChildren(heading, h("div", "vw-an-note", "No labelled, classified clips to draw."));
      return;
    }
    const parts = [heading];
    if (m.hidden_rows > 0 || m.hidden_columns > 0) {
      parts.push(h("div", "vw-an-note vw-an-matrix-note", `Showing ${plural(rows.length, "true class",
        "true classes")} with the most errors, then clips (${m.hidden_rows} hidden), and `
        + `${plural(columns.length, "predicted class", "predicted classes")} (${m.hidden_columns} hidden).`));
    }
    if (!readout.firstChild) readoutHelp();
    const counts = m.counts || [];
    const other = m.other || [];
    const anyOther = other.some((n) => n > 0);
    const max = Math.max(m.max_count || 0, ...other, 1);
    const table = h("table", columns.length <= 12 ? "vw-an-heatmap vw-an-roomy" : "vw-an-heatmap"); // few: bigger
    const headRow = h("tr");
    headRow.append(h("th", "vw-an-corner", "true \\ predicted"));
    for (const name of columns) {
      const th = h("th", "vw-an-col");
      th.append(h("span", "vw-an-col-label", name));
      th.title = name;
      headRow.append(th);
    }
    if (anyOther) {
      const th = h("th", "vw-an-col vw-an-other");
      th.append(h("span", "vw-an-col-label", "other"));
      th.title = `${plural(m.hidden_columns, "class", "classes")} not shown as columns`;
      headRow.append(th);
    }
    const thead = h("thead");
    thead.append(headRow);
    const tbody = h("tbody");
    rows.forEach((rowName, i) => {
      const tr = h("tr");
      const th = h("th", "vw-an-row", rowName);
      th.title = rowName;
      tr.append(th);
      columns.forEach((colName, j) => {
        const n = counts[i * columns.length + j] || 0;
        const td = h("td", rowName === colName ? "vw-an-cell vw-an-diag" : "vw-an-cell vw-an-off", n ? String(n) : "");
        const heat = n / max;
        td.style.setProperty("--vw-heat", heat.toFixed(3));
        if (heat > 0.55) td.classList.add("vw-an-hot");
        td.dataset.true = rowName;
        td.dataset.predicted = colName;
        td.dataset.count = String(n);
        td.title = `true: ${rowName}\npredicted: ${colName}\nclips: ${n}`;
        if (n > 0) {
          const filter = { true: rowName, predicted: colName };
          if (active(filter)) td.classList.add("vw-an-active");
          clickable(td, () => request(filter), `${n} clips of ${rowName} predicted as ${colName}`);
        }
        tr.append(td);
      });
      if (anyOther) {
        const n = other[i] || 0;
        const td = h("td", "vw-an-cell vw-an-off vw-an-other", n ? String(n) : "");
        td.style.setProperty("--vw-heat", (n / max).toFixed(3));
        td.dataset.true = rowName;
        td.dataset.count = String(n);
        td.title = `true: ${rowName}\npredicted: a class not shown\nclips: ${n}`;
        tr.append(td);
      }
      tbody.append(tr);
    });
    table.append(thead, tbody);
    // one hover readout for the whole matrix (a title tooltip is slow to appear)
    table.addEventListener("mouseover", (event) => {
      const cell = event.target.closest?.(".vw-an-cell");
      if (!cell) return;
      readout.replaceChildren(
        h("span", "vw-muted", "true "), h("span", "vw-an-readout-true", cell.dataset.true),
        h("span", "vw-muted", " · predicted "),
        h("span", "vw-an-readout-pred", cell.dataset.predicted ?? "a class not shown"),
        h("span", "vw-muted", " · "), h("span", "vw-an-readout-count", plural(Number(cell.dataset.count), "clip")),
      );
    });
    table.addEventListener("mouseleave", readoutHelp);
    const scroller = h("div", "vw-an-scroll vw-an-matrix-scroll");
    scroller.append(table);
    matrixBox.replaceChildren(...parts, readout, scroller);
  }

  function newMatrix() {
    readoutHelp();
    renderMatrix();
  }

  // the summary and the active filter touch every part (chips, highlighted rows and cells)
  function renderSelection() {
    renderSummary();
    renderFilter();
    renderClasses();
    renderConfusions();
    renderMatrix();
  }

  renderHead();
  renderSelection();
  const listeners = [
    ["change:stale", renderHead],
    ["change:collapsed", renderHead],
    ["change:caption", renderHead],
    ["change:summary", renderSelection],
    ["change:classes", renderClasses],
    ["change:class_sort", renderClasses],
    ["change:confusions", renderConfusions],
    ["change:confusions_total", renderConfusions],
    ["change:matrix", newMatrix],
    ["change:filter_request", renderSelection],
  ];
  for (const [event, handler] of listeners) model.on(event, handler);
  return () => {
    for (const [event, handler] of listeners) model.off(event, handler);
  };
}

export default { render };
