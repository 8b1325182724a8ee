// DatasetBrowser: one page of the dataset's clips as a sortable, filterable table with counts, sampling and
// "download more". Filtering/sorting/paging run in Python; clip ids and labels are rendered as text only.

function h(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function input(type, className) {
  const node = document.createElement("input");
  node.type = type;
  node.className = className;
  return node;
}

function labelled(text, control) {
  const label = h("label", "vw-row");
  label.append(h("span", null, text), control);
  return label;
}

function plural(n, word, many) {
  return `${n} ${n === 1 ? word : many || `${word}s`}`;
}

/** The table's summary line: clips, downloaded, classes (left out when there are none), matching, selected. */
export function countsText(model) {
  const classes = (n) => (model.get("num_classes") ? ` in ${plural(n || 0, "class", "classes")}` : "");
  const parts = [`Dataset: ${plural(model.get("num_clips") || 0, "clip")}`,
    `${model.get("num_downloaded") || 0} downloaded`];
  if (model.get("num_classes")) parts.push(plural(model.get("num_classes"), "class", "classes"));
  let text = parts.join(" · ");
  if ((model.get("num_matching") || 0) !== (model.get("num_clips") || 0)) {
    text += ` — matching ${plural(model.get("num_matching") || 0, "clip")}${classes(model.get("matching_classes"))}`;
  }
  const sel = (model.get("selected_ids") || []).length;
  text += ` — selected ${plural(sel, "clip")}${classes(model.get("selected_classes"))}`;
  return text;
}

const COLUMNS = [
  ["index", "#"],
  ["id", "clip"],
  ["label", "class"],
  ["downloaded", "downloaded"],
];

function render({ model, el }) {
  const root = h("details", "vw-root vw-browser");
  root.open = !model.get("embedded");
  const summary = h("summary", "vw-counts");
  const search = input("search", "vw-search");
  search.placeholder = "search classes…";
  const filter = document.createElement("select");
  filter.className = "vw-downloaded-filter";
  for (const [value, text] of [["all", "all clips"], ["downloaded", "downloaded"], ["missing", "not downloaded"]]) {
    const opt = h("option", null, text);
    opt.value = value;
    filter.append(opt);
  }
  const sampleN = input("number", "vw-sample-n");
  sampleN.min = "0";
  const perClass = input("checkbox", "vw-per-class");
  const seed = input("number", "vw-seed");
  const sampleBtn = h("button", "vw-sample", "Sample");
  sampleBtn.type = "button";
  const downloadN = input("number", "vw-download-n");
  downloadN.min = "1";
  const downloadBtn = h("button", "vw-download", "Download more");
  downloadBtn.type = "button";
  const cancelBtn = h("button", "vw-download-cancel", "Stop");
  cancelBtn.type = "button";
  const progress = document.createElement("progress");
  progress.className = "vw-progress";
  const progressText = h("span", "vw-muted vw-progress-text");
  const downloadBox = h("span", "vw-row vw-download-box");
  downloadBox.append(labelled("download", downloadN), downloadBtn, cancelBtn, progress, progressText);

  const tools = h("div", "vw-row");
  tools.append(search, filter, labelled("sample", sampleN), labelled("per class", perClass), labelled("seed", seed),
    sampleBtn, downloadBox);
  const busy = h("div", "vw-muted vw-busy");
  const status = h("div", "vw-muted vw-status");
  const error = h("div", "vw-error");
  error.setAttribute("role", "alert");

  const table = h("table", "vw-table");
  const thead = h("thead");
  const headRow = h("tr");
  const headCells = new Map();
  for (const [key, text] of COLUMNS) {
    const th = h("th", null, text);
    th.dataset.sort = key;
    th.addEventListener("click", () => {
      if (model.get("sort_by") === key) model.set("sort_desc", !model.get("sort_desc"));
      else {
        model.set("sort_by", key);
        model.set("sort_desc", false);
      }
      model.save_changes();
    });
    headCells.set(key, th);
    headRow.append(th);
  }
  headRow.append(h("th", null, "selected"));
  thead.append(headRow);
  const tbody = h("tbody");
  table.append(thead, tbody);

  const pager = h("div", "vw-row");
  const prev = h("button", "vw-prev", "‹ prev");
  prev.type = "button";
  const next = h("button", "vw-next", "next ›");
  next.type = "button";
  const pageText = h("span", "vw-muted vw-page");
  pager.append(prev, pageText, next);

  root.append(summary, tools, busy, status, error, table, pager);
  el.appendChild(root);

  function pages() {
    return Math.max(1, Math.ceil((model.get("num_matching") || 0) / Math.max(1, model.get("page_size") || 1)));
  }

  function renderCounts() {
    summary.textContent = countsText(model);
    search.classList.toggle("vw-hidden", !model.get("num_classes"));
    pageText.textContent = `page ${(model.get("page") || 0) + 1} of ${pages()}`;
    prev.disabled = (model.get("page") || 0) <= 0;
    next.disabled = (model.get("page") || 0) >= pages() - 1;
  }

  function renderRows() {
    const rows = model.get("rows") || [];
    tbody.replaceChildren(...rows.map((row) => {
      const tr = h("tr", row.selected ? "vw-selected" : null);
      tr.dataset.clipId = row.id;
      tr.append(h("td", "vw-num", row.index), h("td", "vw-clip-id", row.id), h("td", "vw-label", row.label ?? ""),
        h("td", null, row.downloaded ? "yes" : "no"));
      const td = h("td");
      const box = input("checkbox", "vw-select");
      box.checked = Boolean(row.selected);
      box.disabled = !row.downloaded;
      box.title = row.downloaded ? "show this clip in the grid" : "download it first";
      box.addEventListener("change", () => model.send({ type: "toggle", id: row.id }));
      td.append(box);
      tr.append(td);
      return tr;
    }));
    for (const [key, th] of headCells) {
      const label = COLUMNS.find(([k]) => k === key)[1];
      const active = model.get("sort_by") === key;
      th.textContent = active ? `${label} ${model.get("sort_desc") ? "▼" : "▲"}` : label;
    }
    renderCounts();
  }

  function renderState() {
    if (document.activeElement !== search) search.value = model.get("query") || "";
    filter.value = model.get("downloaded_filter");
    sampleN.value = String(model.get("sample_n"));
    perClass.checked = Boolean(model.get("per_class"));
    seed.value = String(model.get("seed"));
    downloadN.value = String(model.get("download_n"));
    downloadBox.classList.toggle("vw-hidden", !model.get("can_download"));
    const isBusy = model.get("busy") || "";
    busy.textContent = isBusy;
    downloadBtn.disabled = Boolean(isBusy);
    cancelBtn.disabled = !isBusy;
    const p = model.get("progress") || {};
    if (p.bytes_total) {
      progress.max = p.bytes_total;
      progress.value = p.bytes_done || 0;
    } else if (p.clips_total) {
      progress.max = p.clips_total;
      progress.value = p.clips_done || 0;
    } else {
      progress.removeAttribute("value");
    }
    progress.classList.toggle("vw-hidden", !isBusy && !p.clips_total);
    progressText.textContent = p.clips_total ? `${p.clips_done || 0}/${p.clips_total} clips` : "";
    const embedded = Boolean(model.get("embedded")); // the explorer's status area shows these
    status.textContent = embedded ? "" : model.get("status") || "";
    error.textContent = embedded ? "" : model.get("error") || "";
  }

  let timer = null;
  search.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      model.set("query", search.value);
      model.set("page", 0);
      model.save_changes();
    }, 250);
  });
  const setNow = (name, value) => {
    model.set(name, value);
    model.save_changes();
  };
  filter.addEventListener("change", () => {
    model.set("page", 0);
    setNow("downloaded_filter", filter.value);
  });
  sampleN.addEventListener("change", () => setNow("sample_n", Math.max(0, Math.floor(Number(sampleN.value) || 0))));
  perClass.addEventListener("change", () => setNow("per_class", perClass.checked));
  seed.addEventListener("change", () => setNow("seed", Math.floor(Number(seed.value) || 0)));
  downloadN.addEventListener("change", () => setNow("download_n", Math.max(1, Math.floor(Number(downloadN.value) || 1))));
  sampleBtn.addEventListener("click", () => model.send({ type: "sample" }));
  downloadBtn.addEventListener("click", () => model.send({ type: "download" }));
  cancelBtn.addEventListener("click", () => model.send({ type: "cancel" }));
  prev.addEventListener("click", () => setNow("page", Math.max(0, (model.get("page") || 0) - 1)));
  next.addEventListener("click", () => setNow("page", Math.min(pages() - 1, (model.get("page") || 0) + 1)));

  renderRows();
  renderState();
  const rowEvents = ["change:rows", "change:sort_by", "change:sort_desc"];
  const countEvents = ["change:num_clips", "change:num_downloaded", "change:num_classes", "change:num_matching",
    "change:matching_classes", "change:selected_ids", "change:selected_classes", "change:page", "change:page_size"];
  const stateEvents = ["change:query", "change:downloaded_filter", "change:sample_n", "change:per_class",
    "change:seed", "change:download_n", "change:can_download", "change:busy", "change:progress", "change:status",
    "change:error", "change:embedded"];
  for (const ev of rowEvents) model.on(ev, renderRows);
  for (const ev of countEvents) model.on(ev, renderCounts);
  for (const ev of stateEvents) model.on(ev, renderState);
  return () => {
    clearTimeout(timer);
    for (const ev of rowEvents) model.off(ev, renderRows);
    for (const ev of countEvents) model.off(ev, renderCounts);
    for (const ev of stateEvents) model.off(ev, renderState);
  };
}

export default { render };
