// PredictionPanel: per clip the top-k labels with probability bars (ground truth marked) and the batch's
// top-1 / top-5 accuracy. All data is rendered as text (textContent); bar widths are clamped numbers.

function h(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function percent(x) {
  return typeof x === "number" && Number.isFinite(x) ? `${Math.round(x * 1000) / 10}%` : "–";
}

function render({ model, el }) {
  const root = h("div", "vw-root vw-panel");
  const head = h("div", "vw-row");
  const accuracy = h("span", "vw-accuracy");
  const caption = h("span", "vw-muted vw-caption");
  const stale = h("span", "vw-badge vw-stale-badge vw-hidden", "stale: made with other settings");
  head.append(accuracy, caption, stale);
  const rows = h("div", "vw-panel-rows");
  root.append(head, rows);
  el.appendChild(root);

  function renderHead() {
    const n = model.get("num_scored") || 0;
    const t1 = model.get("top1_accuracy");
    const t5 = model.get("top5_accuracy");
    const count = (model.get("rows") || []).length;
    accuracy.textContent = count === 0
      ? "No predictions yet."
      : n === 0
        ? `${count} clips classified (no ground truth to score)`
        : `top-1 accuracy ${percent(t1)} · top-5 accuracy ${percent(t5)} (${n} clips)`;
    caption.textContent = model.get("caption") || "";
    const isStale = Boolean(model.get("stale"));
    stale.classList.toggle("vw-hidden", !isStale);
    root.classList.toggle("vw-stale", isStale);
  }

  function renderRow(row) {
    const box = h("div", "vw-panel-row");
    box.dataset.clipId = row.clip_id;
    const title = h("div", "vw-row");
    if (row.index !== null && row.index !== undefined) title.append(h("span", "vw-index", `#${row.index}`));
    title.append(h("span", "vw-muted", row.clip_id));
    box.append(title);
    const truth = row.ground_truth;
    box.append(h("div", "vw-gt", truth === null || truth === undefined ? "ground truth: unknown" : `ground truth: ${truth}`));
    if (row.error) {
      box.append(h("div", "vw-error", `failed: ${row.error}`));
      return box;
    }
    let truthShown = false;
    for (const item of row.top || []) {
      const isTruth = truth !== null && truth !== undefined && item.label === truth;
      truthShown = truthShown || isTruth;
      const line = h("div", isTruth ? "vw-bar-line vw-truth" : "vw-bar-line");
      const label = h("span", "vw-bar-label", isTruth ? `${item.label} ✓` : item.label);
      if (isTruth) label.title = "ground truth";
      const track = h("div", "vw-bar-track");
      const bar = h("div", "vw-bar");
      const score = typeof item.score === "number" && Number.isFinite(item.score) ? item.score : 0;
      bar.style.width = `${Math.max(0, Math.min(1, score)) * 100}%`;
      track.append(bar);
      line.append(label, track, h("span", "vw-muted", percent(item.score)));
      box.append(line);
    }
    if (!truthShown && truth !== null && truth !== undefined) {
      box.append(h("div", "vw-muted", `ground truth not in the top ${(row.top || []).length}`));
    }
    return box;
  }

  function renderRows() {
    rows.replaceChildren(...(model.get("rows") || []).map(renderRow));
    renderHead();
  }

  renderRows();
  const events = ["change:top1_accuracy", "change:top5_accuracy", "change:num_scored", "change:stale", "change:caption"];
  for (const ev of events) model.on(ev, renderHead);
  model.on("change:rows", renderRows);
  return () => {
    for (const ev of events) model.off(ev, renderHead);
    model.off("change:rows", renderRows);
  };
}

export default { render };
