// Unit tests of js/analysis.js (AnalysisPanel) against a fake anywidget model in jsdom: rendering of the summary,
// per-class table, confusions and matrix; sorting; clicks and keys setting filter_request with a growing nonce;
// the stale and empty states; and hostile class names shown literally.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import analysis from "../../js/analysis.js";

const HOSTILE = '<img src=x onerror=alert(1)>';

function fakeModel(initial) {
  const state = { ...initial };
  const handlers = new Map();
  return {
    saved: 0,
    get: (key) => state[key],
    set(key, value) {
      state[key] = value;
      for (const cb of handlers.get(`change:${key}`) ?? []) cb();
    },
    on(event, cb) {
      if (!handlers.has(event)) handlers.set(event, new Set());
      handlers.get(event).add(cb);
    },
    off(event, cb) {
      handlers.get(event)?.delete(cb);
    },
    save_changes() {
      this.saved += 1;
    },
    listeners: () => [...handlers.values()].reduce((n, set) => n + set.size, 0),
  };
}

// the traitlets AnalysisPanel(df) sends for: cat 2/2 right; dog 0/2 (both as cat); HOSTILE 0/1 (as dog)
function state(extra = {}) {
  return {
    summary: { clips: 7, k: 5, correct: 2, top_k: 1, wrong: 2, unlabelled: 1, failed: 1, scored: 5, top1: 0.4,
      top5: 0.6 },
    classes: [
      { name: "cat", clips: 2, top1: 1, top5: 1, errors: 0, failed: 0 },
      { name: "dog", clips: 2, top1: 0, top5: 0.5, errors: 2, failed: 0 },
      { name: HOSTILE, clips: 1, top1: 0, top5: 1, errors: 1, failed: 0 },
      { name: "cow", clips: 0, top1: null, top5: null, errors: 0, failed: 1 },
    ],
    confusions: [{ true: "dog", predicted: "cat", clips: 2 }, { true: HOSTILE, predicted: "dog", clips: 1 }],
    confusions_total: 2,
    matrix: {
      rows: ["dog", HOSTILE, "cat"],
      columns: ["dog", HOSTILE, "cat"],
      counts: [0, 0, 2, 1, 0, 0, 0, 0, 2],
      other: [0, 0, 0],
      hidden_rows: 0,
      hidden_columns: 0,
      max_count: 2,
    },
    stale: false,
    caption: "kinetics-400 · 64 frames",
    class_sort: { key: "name", descending: false },
    filter_request: { true: null, predicted: null, outcome: null, nonce: 0 },
    ...extra,
  };
}

let el;
beforeEach(() => {
  el = document.createElement("div");
  document.body.replaceChildren(el);
});
afterEach(() => {
  document.body.replaceChildren();
});

const classNames = () => [...el.querySelectorAll(".vw-an-class")].map((tr) => tr.dataset.class);
// found by dataset, not by a selector, so a hostile name needs no escaping
const classRow = (name) => [...el.querySelectorAll(".vw-an-class")].find((tr) => tr.dataset.class === name);
const cellOf = (t, p) => [...el.querySelectorAll("td.vw-an-cell")]
  .find((td) => td.dataset.true === t && td.dataset.predicted === p);

describe("analysis panel", () => {
  it("renders the summary, per-class rows, confusions and the matrix", () => {
    const model = fakeModel(state());
    analysis.render({ model, el });
    const figures = [...el.querySelectorAll(".vw-an-figure-value")].map((n) => n.textContent);
    expect(figures).toEqual(["40%", "60%", "5"]);
    expect(el.querySelector(".vw-an-figures").textContent).toContain("top-5 accuracy");
    const chips = [...el.querySelectorAll(".vw-an-chip")].map((c) => c.textContent);
    expect(chips).toEqual(["2 right", "1 in top-5", "2 wrong", "1 failed", "1 no label"]);
    expect(classNames()).toEqual([HOSTILE, "cat", "cow", "dog"]);
    const dog = classRow("dog");
    expect([...dog.cells].map((td) => td.textContent)).toEqual(["dog", "2", "0%", "50%", "2", "0"]);
    expect(dog.querySelector(".vw-an-acc-bar").style.width).toBe("0%");
    const cow = classRow("cow");
    expect(cow.cells[2].textContent).toBe("–"); // no figure, not 0%
    expect(el.querySelectorAll("th.vw-an-th")).toHaveLength(6); // a failed column, since cow has a failure
    const confusions = [...el.querySelectorAll(".vw-an-confusion")];
    expect(confusions.map((li) => li.querySelector(".vw-an-pair").textContent)).toEqual(["dog → cat",
      `${HOSTILE} → dog`]);
    expect(confusions[0].querySelector(".vw-an-count-bar").style.width).toBe("100%");
    expect(confusions[1].querySelector(".vw-an-count-bar").style.width).toBe("50%");
    const cells = el.querySelectorAll(".vw-an-heatmap td.vw-an-cell");
    expect(cells).toHaveLength(9);
    const dogCat = cellOf("dog", "cat");
    expect(dogCat.textContent).toBe("2");
    expect(dogCat.classList.contains("vw-an-off")).toBe(true);
    expect(dogCat.classList.contains("vw-an-hot")).toBe(true);
    expect(dogCat.style.getPropertyValue("--vw-heat")).toBe("1.000");
    expect(cellOf("cat", "cat").classList.contains("vw-an-diag")).toBe(true);
    expect(cellOf("cat", "dog").textContent).toBe(""); // zero: blank
    expect(el.querySelector(".vw-an-caption").textContent).toBe("kinetics-400 · 64 frames");
    // the matrix's help is its readout line until the pointer is over a cell; no empty line under the heading
    expect(el.querySelector(".vw-an-readout").textContent).toMatch(/^Rows: true class; columns: top-1 prediction/);
    expect(el.querySelector(".vw-an-matrix-note")).toBe(null);
    expect(el.querySelector(".vw-an-heatmap").classList.contains("vw-an-roomy")).toBe(true);
    const colHead = [...el.querySelectorAll("th.vw-an-col")].find((th) => th.textContent === HOSTILE);
    expect(colHead.title).toBe(HOSTILE); // a long label is cut by CSS; its full text is the header's title
  });

  it("folds to one summary line (accuracy in the head, the chips kept) and unfolds again", () => {
    const model = fakeModel(state());
    analysis.render({ model, el });
    const root = el.querySelector(".vw-analysis");
    const toggle = el.querySelector(".vw-an-toggle");
    expect(root.classList.contains("vw-an-collapsed")).toBe(false);
    expect(toggle.getAttribute("aria-expanded")).toBe("true");
    toggle.click();
    expect(model.get("collapsed")).toBe(true);
    expect(model.saved).toBe(1);
    expect(root.classList.contains("vw-an-collapsed")).toBe(true);
    expect(toggle.getAttribute("aria-expanded")).toBe("false");
    expect(el.querySelector(".vw-an-compact").textContent).toBe("top-1 40% · top-5 60% over 5 labelled clips");
    expect(el.querySelectorAll(".vw-an-chip")).toHaveLength(5);
    el.querySelector('.vw-an-chip[data-outcome="unlabelled"]').click(); // the chips still filter when folded
    expect(model.get("filter_request").outcome).toBe("unlabelled");
    expect(el.querySelector(".vw-an-filter-text").textContent).toBe("no label");
    toggle.click();
    expect(root.classList.contains("vw-an-collapsed")).toBe(false);
  });

  it("sorts the per-class table by each column, both ways, ties by name and missing figures last", () => {
    const model = fakeModel(state());
    analysis.render({ model, el });
    const sortBy = (key) => el.querySelector(`th[data-key="${key}"] .vw-an-sort`).click();
    sortBy("top1"); // first click on a number: descending
    expect(model.get("class_sort")).toEqual({ key: "top1", descending: true });
    expect(classNames()).toEqual(["cat", HOSTILE, "dog", "cow"]);
    expect(el.querySelector('th[data-key="top1"]').getAttribute("aria-sort")).toBe("descending");
    sortBy("top1");
    expect(classNames()).toEqual([HOSTILE, "dog", "cat", "cow"]);
    expect(el.querySelector('th[data-key="top1"]').getAttribute("aria-sort")).toBe("ascending");
    sortBy("clips");
    expect(classNames()).toEqual(["cat", "dog", HOSTILE, "cow"]);
    sortBy("top5");
    expect(classNames()).toEqual([HOSTILE, "cat", "dog", "cow"]);
    sortBy("errors");
    expect(classNames()).toEqual(["dog", HOSTILE, "cat", "cow"]);
    sortBy("name"); // first click on the name: A → Z
    expect(classNames()).toEqual([HOSTILE, "cat", "cow", "dog"]);
    sortBy("name");
    expect(classNames()).toEqual(["dog", "cow", "cat", HOSTILE]);
    expect(model.saved).toBe(7); // the sort is state: saved to the model each time
  });

  it("sets filter_request with a growing nonce on clicks of a class, a confusion, a cell and an outcome", () => {
    const model = fakeModel(state());
    analysis.render({ model, el });
    classRow("dog").click();
    expect(model.get("filter_request")).toEqual({ true: "dog", predicted: null, outcome: null, nonce: 1 });
    expect(classRow("dog").classList.contains("vw-an-active")).toBe(true);
    expect(el.querySelector(".vw-an-filter-text").textContent).toBe("true class dog");
    el.querySelector(".vw-an-confusion").click();
    expect(model.get("filter_request")).toEqual({ true: "dog", predicted: "cat", outcome: null, nonce: 2 });
    expect(el.querySelector(".vw-an-confusion").classList.contains("vw-an-active")).toBe(true);
    const cell = () => cellOf(HOSTILE, "dog");
    cell().click();
    expect(model.get("filter_request")).toEqual({ true: HOSTILE, predicted: "dog", outcome: null, nonce: 3 });
    expect(cell().classList.contains("vw-an-active")).toBe(true);
    cell().click(); // the active item again: clears
    expect(model.get("filter_request")).toEqual({ true: null, predicted: null, outcome: null, nonce: 4 });
    expect(el.querySelector(".vw-an-filter").classList.contains("vw-an-hidden")).toBe(true);
    el.querySelector('.vw-an-chip[data-outcome="wrong"]').click();
    expect(model.get("filter_request")).toEqual({ true: null, predicted: null, outcome: "wrong", nonce: 5 });
    el.querySelector(".vw-an-clear").click();
    expect(model.get("filter_request").outcome).toBe(null);
    // an empty cell is not clickable; a keyboard user reaches rows with Enter
    const empty = cellOf("cat", "dog");
    expect(empty.getAttribute("role")).toBe(null);
    empty.click();
    expect(model.get("filter_request").nonce).toBe(6);
    const row = classRow("cat");
    expect(row.tabIndex).toBe(0);
    row.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true }));
    expect(model.get("filter_request")).toEqual({ true: "cat", predicted: null, outcome: null, nonce: 7 });
    expect(model.saved).toBe(7);
  });

  it("shows hostile class names literally everywhere and injects no element", () => {
    const model = fakeModel(state({ caption: HOSTILE }));
    analysis.render({ model, el });
    classRow(HOSTILE).click();
    cellOf(HOSTILE, "dog").dispatchEvent(new MouseEvent("mouseover", { bubbles: true }));
    cellOf(HOSTILE, "dog").click(); // the matrix is redrawn; the readout stays
    expect(el.querySelector("img")).toBe(null);
    expect(classRow(HOSTILE).querySelector(".vw-an-name").textContent).toBe(HOSTILE);
    expect(el.querySelector(".vw-an-heatmap .vw-an-row").textContent).toBe("dog");
    expect([...el.querySelectorAll(".vw-an-row")].map((th) => th.textContent)).toContain(HOSTILE);
    expect([...el.querySelectorAll(".vw-an-col-label")].map((s) => s.textContent)).toContain(HOSTILE);
    expect(el.querySelector(".vw-an-readout-true").textContent).toBe(HOSTILE);
    expect(el.querySelector(".vw-an-readout").textContent).toBe(`true ${HOSTILE} · predicted dog · 1 clip`);
    expect(el.querySelector(".vw-an-filter-text").textContent).toBe(`${HOSTILE} → dog`);
    expect(el.querySelector(".vw-an-caption").textContent).toBe(HOSTILE);
    expect(el.textContent.split(HOSTILE).length - 1).toBeGreaterThanOrEqual(6); // row, rows, columns, readout…
  });

  it("says how many classes the matrix hides and keeps rows adding up with an 'other' column", () => {
    const model = fakeModel(state({
      matrix: { rows: ["a", "b"], columns: ["a", "b"], counts: [3, 1, 0, 2], other: [1, 4], hidden_rows: 398,
        hidden_columns: 5, max_count: 3 },
    }));
    analysis.render({ model, el });
    expect(el.querySelector(".vw-an-matrix-note").textContent).toContain("(398 hidden)");
    expect(el.querySelector(".vw-an-matrix-note").textContent).toContain("(5 hidden)");
    const other = el.querySelectorAll("td.vw-an-other");
    expect([...other].map((td) => td.textContent)).toEqual(["1", "4"]);
    expect(other[1].style.getPropertyValue("--vw-heat")).toBe("1.000"); // scaled with the largest shown number
    expect(other[1].getAttribute("role")).toBe(null);
  });

  it("shades the figures with a note in the head when stale, and follows later changes", () => {
    const model = fakeModel(state());
    analysis.render({ model, el });
    const root = el.querySelector(".vw-analysis");
    expect(root.classList.contains("vw-stale")).toBe(false);
    expect(el.querySelector(".vw-an-stale-note").classList.contains("vw-an-hidden")).toBe(true);
    model.set("stale", true);
    expect(root.classList.contains("vw-stale")).toBe(true);
    expect(el.querySelector(".vw-an-stale-note").classList.contains("vw-an-hidden")).toBe(false);
    expect(el.querySelector(".vw-an-stale-note").textContent).toMatch(/other settings/);
    expect(el.querySelector(".vw-an-stale-note").parentElement.classList.contains("vw-an-head")).toBe(true);
    model.set("confusions", []);
    model.set("confusions_total", 0);
    expect(el.querySelector(".vw-an-confusions").textContent).toContain("every top-1 prediction is right");
    model.set("stale", false);
    expect(root.classList.contains("vw-stale")).toBe(false);
  });

  it("says so in words when there are no results, no labels, or only failures", () => {
    const model = fakeModel(state({ summary: { clips: 0, k: 0, scored: 0 }, classes: [], confusions: [], matrix: {} }));
    analysis.render({ model, el });
    const empty = el.querySelector(".vw-an-empty");
    expect(empty.textContent).toMatch(/^No results yet/);
    expect(el.querySelector(".vw-an-body").classList.contains("vw-an-hidden")).toBe(true);
    model.set("summary", { clips: 3, k: 5, scored: 0, unlabelled: 3, failed: 0 });
    expect(empty.textContent).toMatch(/None of the 3 classified clips has a ground-truth label/);
    expect([...el.querySelectorAll(".vw-an-chip")].map((c) => c.textContent)).toEqual(["3 no label"]);
    model.set("summary", { clips: 1, k: 5, scored: 0, failed: 1 });
    expect(empty.textContent).toBe("All 1 clip failed to classify, so there is nothing to analyse.");
    model.set("summary", state().summary);
    expect(empty.classList.contains("vw-an-hidden")).toBe(true);
    expect(el.querySelector(".vw-an-body").classList.contains("vw-an-hidden")).toBe(false);
  });

  it("labels top-k by the table's k and removes its listeners on cleanup", () => {
    const model = fakeModel(state({ summary: { ...state().summary, k: 3 } }));
    const cleanup = analysis.render({ model, el });
    expect(el.querySelector('th[data-key="top5"]').textContent).toBe("top-3");
    expect(el.querySelector(".vw-an-figures").textContent).toContain("top-3 accuracy");
    expect(model.listeners()).toBeGreaterThan(0);
    cleanup();
    expect(model.listeners()).toBe(0);
  });
});
