// PredictionPanel: the run summary — top-1 / top-5 accuracy, outcome counts, the run's settings and time.
// Per-clip predictions are on the clip cards. Everything is rendered as text (textContent).

function h(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

export function percent(x) {
  if (typeof x !== "number" || !Number.isFinite(x)) return "–";
  if (x > 0 && x < 0.001) return "<0.1%";
  return `${Math.round(x * 1000) / 10}%`;
}

export function plural(n, word, many) {
  return `${n} ${n === 1 ? word : many || `${word}s`}`;
}

const OUTCOME_TEXT = [
  ["correct", "right"],
  ["top-k", "in top-5"],
  ["wrong", "wrong"],
  ["unlabelled", "no label"],
  ["failed", "failed"],
];

function render({ model, el }) {
  const root = h("div", "vw-root vw-panel");
  el.appendChild(root);

  function renderSummary() {
    const s = model.get("summary") || {};
    const stale = Boolean(model.get("stale"));
    root.classList.toggle("vw-stale", stale);
    const items = [];
    root.classList.toggle("vw-hidden", !s.clips); // nothing to summarise: the status line says what to do
    if (s.clips) {
      if (s.top1 !== null && s.top1 !== undefined) {
        const acc = h("span", "vw-accuracy");
        acc.append(h("b", null, `top-1 ${percent(s.top1)}`), " · ", h("b", null, `top-${s.k || 5} ${percent(s.top5)}`),
          ` over ${plural(s.scored, "labelled clip")}`);
        items.push(acc);
      } else {
        items.push(h("span", "vw-accuracy", `${plural(s.clips, "clip")} classified (no ground truth to score)`));
      }
      const counts = s.counts || {};
      for (const [key, text] of OUTCOME_TEXT) {
        if (counts[key]) {
          const chip = h("span", `vw-count vw-outcome-${key}`, `${counts[key]} ${text}`);
          chip.dataset.outcome = key;
          items.push(chip);
        }
      }
    }
    const caption = model.get("caption") || "";
    if (caption) items.push(h("span", "vw-muted vw-caption", caption));
    if (stale) items.push(h("span", "vw-badge vw-stale-badge", "stale"));
    root.replaceChildren(...items);
  }

  renderSummary();
  const events = ["change:summary", "change:caption", "change:stale"];
  for (const ev of events) model.on(ev, renderSummary);
  return () => {
    for (const ev of events) model.off(ev, renderSummary);
  };
}

export default { render };
