// Unit tests of the widget ES modules against a fake anywidget model (get/set/on/off/send/save_changes), in
// jsdom: rendering, events sent to Python, replies with binary buffers, and the text-only rule for data.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import browser from "../../js/browser.js";
import controls, { framePresets } from "../../js/controls.js";
import panel from "../../js/panel.js";
import player, { renderBars, renderCard, renderDetail, renderFilters } from "../../js/player.js";

const HOSTILE = '<img src=x onerror=alert(1)>';

function fakeModel(initial) {
  const state = { ...initial };
  const handlers = new Map();
  const sent = [];
  const saved = [];
  return {
    sent,
    saved,
    get: (key) => state[key],
    set(key, value) {
      state[key] = value;
      this.emit(`change:${key}`);
    },
    on(event, cb) {
      if (!handlers.has(event)) handlers.set(event, new Set());
      handlers.get(event).add(cb);
    },
    off(event, cb) {
      handlers.get(event)?.delete(cb);
    },
    send(msg, _callbacks, buffers) {
      sent.push({ msg, buffers });
    },
    save_changes() {
      saved.push({ ...state });
    },
    emit(event, ...args) {
      for (const cb of handlers.get(event) ?? []) cb(...args);
    },
    listeners: (event) => handlers.get(event)?.size ?? 0,
  };
}

let el;
beforeEach(() => {
  el = document.createElement("div");
  document.body.replaceChildren(el);
  let n = 0;
  URL.createObjectURL = vi.fn(() => `blob:fake/${++n}`);
  URL.revokeObjectURL = vi.fn();
});
afterEach(() => {
  document.body.replaceChildren();
});


const TOP = [
  { label: "arm wrestling", score: 0.9, truth: true },
  { label: HOSTILE, score: 0.05, truth: false },
  { label: "yoga", score: 0.0004, truth: false },
];

function card(extra = {}) {
  return {
    id: "arm", number: 7, label: "arm wrestling", name: "arm.mp4", available: true, mark: null,
    result: { outcome: "correct", truth: "arm wrestling", top: TOP, confidence: 0.9, error: null },
    ...extra,
  };
}

function playerModel(extra = {}) {
  return fakeModel({
    cards: [
      card(),
      card({ id: "pool", number: 9, label: "cleaning pool", name: "pool.mp4", mark: "stale",
        result: { outcome: "wrong", truth: "cleaning pool", top: TOP.map((t) => ({ ...t, truth: false })), error: null } }),
      card({ id: "missing", number: 12, label: "yoga", name: "missing", available: false, result: null, mark: "not run" }),
      card({ id: "x", number: 13, label: "yoga", name: "x.mp4", mark: "cancelled", result: null }),
      card({ id: "y", number: 14, label: "yoga", name: "y.mp4", result: null, mark: "not run" }),
    ],
    num_clips: 5, num_visible: 5, page: 0, page_size: 12, filter: {}, classes: ["arm wrestling", HOSTILE],
    detail_id: "", detail: {}, columns: 4, num_frames: 16, mode: "crop", caption: "",
    ...extra,
  });
}

describe("cards", () => {
  it("renders number, truth, top-k bars with the truth marked, and the mark", () => {
    const { card: node } = renderCard(card(), () => {});
    expect(node.querySelector(".vw-number").textContent).toBe("#7");
    expect(node.querySelector(".vw-truth-label").textContent).toBe("arm wrestling");
    const lines = node.querySelectorAll(".vw-bar-line");
    expect(lines).toHaveLength(3);
    expect(lines[0].classList.contains("vw-truth")).toBe(true);
    expect(lines[0].querySelector(".vw-bar-label").textContent).toBe("✓ arm wrestling");
    expect(lines[0].querySelector(".vw-bar").style.width).toBe("90%");
    expect(lines[2].querySelector(".vw-bar-pct").textContent).toBe("<0.1%");
    expect(node.dataset.outcome).toBe("correct");
    expect(node.querySelector(".vw-mark").textContent).toBe("right");
  });

  it("marks a wrong top-1 red, and shows not run / stale / cancelled / failed", () => {
    const wrong = renderCard(card({ result: { outcome: "wrong", truth: "zumba", top: TOP.map((t) => ({ ...t, truth: false })) } }), () => {});
    expect(wrong.card.querySelector(".vw-bar-line").classList.contains("vw-wrong-top")).toBe(true);
    expect(wrong.card.querySelector(".vw-note").textContent).toBe("truth not in the top 3: zumba");
    for (const [mark, text] of [["not run", "not run"], ["cancelled", "cancelled"]]) {
      const { card: node } = renderCard(card({ mark, result: null }), () => {});
      expect(node.querySelector(".vw-mark").textContent).toBe(text);
      expect(node.querySelector(".vw-mark").classList.contains("vw-mark-old")).toBe(false);
      expect(node.dataset.mark).toBe(mark);
    }
    // an earlier result (stale, or kept by a cancelled run) keeps its outcome, marked subtly
    for (const [mark, title] of [["stale", /^stale: made with another model/], ["cancelled", /earlier one/]]) {
      const { card: node } = renderCard(card({ mark }), () => {});
      const badge = node.querySelector(".vw-mark");
      expect(badge.textContent).toBe("right");
      expect(badge.classList.contains("vw-mark-correct") && badge.classList.contains("vw-mark-old")).toBe(true);
      expect(badge.title).toMatch(title);
      expect(node.dataset.mark).toBe(mark);
      expect(node.dataset.outcome).toBe("correct");
      expect(node.querySelectorAll(".vw-bar-line")).toHaveLength(3);
    }
    const failed = renderCard(card({ mark: "failed", result: { outcome: "failed", truth: "yoga", top: [], error: HOSTILE } }), () => {});
    expect(failed.card.querySelector(".vw-card-error").textContent).toBe(`failed: ${HOSTILE}`);
    expect(failed.card.querySelector("img")).toBeNull();
  });

  it("plays muted on hover, shows controls on click, opens the detail view", () => {
    const opened = [];
    const entry = renderCard(card(), (id) => opened.push(id));
    entry.video.src = "blob:fake/1";
    entry.video.play = vi.fn(() => Promise.resolve());
    entry.video.pause = vi.fn();
    const media = entry.card.querySelector(".vw-media");
    media.dispatchEvent(new Event("mouseenter"));
    expect(entry.video.play).toHaveBeenCalled();
    expect(entry.video.muted).toBe(true);
    media.dispatchEvent(new Event("mouseleave"));
    expect(entry.video.pause).toHaveBeenCalled();
    entry.video.click();
    expect(entry.video.controls).toBe(true);
    entry.card.querySelector(".vw-open").click();
    entry.card.querySelector(".vw-card-body").click();
    expect(opened).toEqual(["arm", "arm"]);
  });

  it("renders hostile labels and file names literally", () => {
    const { card: node } = renderCard(card({ label: HOSTILE, name: HOSTILE }), () => {});
    expect(node.querySelector(".vw-truth-label").textContent).toBe(HOSTILE);
    expect(node.querySelector(".vw-name").textContent).toBe(HOSTILE);
    expect(node.querySelectorAll(".vw-bar-label")[1].textContent).toBe(HOSTILE);
    expect(node.querySelector("img")).toBeNull();
  });
});

describe("player grid", () => {
  it("asks for the videos of its page by id, at most 3 at a time, and pumps on replies", () => {
    const model = playerModel();
    player.render({ model, el });
    expect(el.querySelectorAll(".vw-card")).toHaveLength(5);
    expect(model.sent.map((s) => s.msg)).toEqual([{ type: "video", id: "arm" }, { type: "video", id: "pool" },
      { type: "video", id: "x" }]);
    model.emit("msg:custom", { type: "video", id: "arm", mime: "video/mp4" }, [new ArrayBuffer(8)]);
    expect(el.querySelector('.vw-card[data-clip-id="arm"] video').src).toBe("blob:fake/1");
    expect(model.sent.at(-1).msg).toEqual({ type: "video", id: "y" });
  });

  it("keeps a card's video when its results change, and cancels requests for cards that left the page", () => {
    const model = playerModel();
    player.render({ model, el });
    model.emit("msg:custom", { type: "video", id: "arm", mime: "video/mp4" }, [new ArrayBuffer(8)]);
    const video = el.querySelector('.vw-card[data-clip-id="arm"] video');
    model.set("cards", [card({ mark: "stale" }), ...model.get("cards").slice(1)]);
    expect(el.querySelector('.vw-card[data-clip-id="arm"] video')).toBe(video);
    expect(el.querySelector('.vw-card[data-clip-id="arm"]').dataset.mark).toBe("stale");
    expect(el.querySelector('.vw-card[data-clip-id="arm"] .vw-mark').textContent).toBe("right");
    expect(el.textContent).not.toContain("stale"); // no grid-wide notice: the status line is the one
    model.set("cards", [card({ id: "other", number: 40 })]);
    expect(URL.revokeObjectURL).toHaveBeenCalledWith("blob:fake/1");
    expect(model.sent.some((s) => s.msg.type === "cancel")).toBe(true);
  });

  it("shows a video failure once, in the card's text, literally; a failed result's reason replaces it", () => {
    const model = playerModel();
    player.render({ model, el });
    model.emit("msg:custom", { type: "error", request: "video", id: "y", message: HOSTILE });
    const cardOf = () => el.querySelector('.vw-card[data-clip-id="y"]');
    const msg = cardOf().querySelector(".vw-media-msg");
    expect(msg.classList.contains("vw-media-error")).toBe(true);
    expect(msg.textContent).toBe("⚠ no preview"); // the video box says only that ...
    expect(msg.title).toBe(`could not load video: ${HOSTILE}`);
    const said = cardOf().querySelector(".vw-preview-error"); // ... the card's text says why, in full
    expect(said.textContent).toBe(`could not load video: ${HOSTILE}`);
    expect(said.title).toBe(said.textContent);
    expect(cardOf().querySelectorAll(".vw-card-error")).toHaveLength(1);
    const why = "Cannot read y.mp4 as a video: FFmpeg says 'Invalid data'. The file is not a video, is corrupt.";
    model.set("cards", model.get("cards").map((c) => (c.id === "y" ? { ...c, mark: "failed",
      result: { outcome: "failed", truth: "yoga", top: [], confidence: null, error: why } } : c)));
    const errors = cardOf().querySelectorAll(".vw-card-error");
    expect([...errors].map((e) => e.textContent)).toEqual([`failed: ${why}`]); // once, not twice
    expect(errors[0].title).toBe(`failed: ${why}`);
    expect(cardOf().querySelector(".vw-media-msg").textContent).toBe("⚠ no preview");
    expect(el.querySelector(".vw-card img")).toBeNull();
  });

  it("pages: hides the pager for one page, sends page changes", () => {
    const model = playerModel({ num_visible: 30, num_clips: 30 });
    player.render({ model, el });
    expect(el.querySelector(".vw-page").textContent).toBe("page 1 of 3");
    el.querySelector(".vw-next").click();
    expect(model.get("page")).toBe(1);
    model.set("num_visible", 5);
    expect(el.querySelector(".vw-next").classList.contains("vw-hidden")).toBe(true);
  });

  it("removes its listeners on cleanup", () => {
    const model = playerModel();
    const cleanup = player.render({ model, el });
    expect(model.listeners("change:cards")).toBe(1);
    cleanup();
    expect(model.listeners("change:cards")).toBe(0);
    expect(model.listeners("msg:custom")).toBe(0);
  });
});

describe("filters", () => {
  it("sends the spec of the chosen outcome, classes, confidence and sort", () => {
    const specs = [];
    const bar = renderFilters({}, ["arm wrestling", HOSTILE], (s) => specs.push(s));
    const outcome = bar.querySelector(".vw-filter-outcome");
    outcome.value = "wrong";
    outcome.dispatchEvent(new Event("change"));
    const truth = bar.querySelector(".vw-filter-true");
    truth.value = HOSTILE;
    truth.dispatchEvent(new Event("change"));
    const conf = bar.querySelector(".vw-filter-confidence");
    conf.value = "50";
    conf.dispatchEvent(new Event("change"));
    const sort = bar.querySelector(".vw-filter-sort");
    sort.value = "-confidence";
    sort.dispatchEvent(new Event("change"));
    expect(specs.at(-1)).toEqual({ outcome: "wrong", true: HOSTILE, min_confidence: 0.5, sort: "-confidence" });
    bar.querySelector(".vw-filter-clear").click();
    expect(specs.at(-1)).toEqual({});
    expect([...truth.options].map((o) => o.textContent)).toContain(HOSTILE);
    expect(bar.querySelector("img")).toBeNull();
  });

  it("shows the current spec, and the grid sends it to Python from page 0", () => {
    const model = playerModel({ filter: { outcome: "not run", predicted: "arm wrestling" }, page: 2 });
    player.render({ model, el });
    expect(el.querySelector(".vw-filter-outcome").value).toBe("not run");
    expect(el.querySelector(".vw-filter-predicted").value).toBe("arm wrestling");
    const sort = el.querySelector(".vw-filter-sort");
    sort.value = "true";
    sort.dispatchEvent(new Event("change"));
    expect(model.get("filter")).toEqual({ outcome: "not run", predicted: "arm wrestling", sort: "true" });
    expect(model.get("page")).toBe(0);
  });
});

describe("detail view", () => {
  const detail = {
    ...card({ label: HOSTILE, name: HOSTILE }), position: 2, total: 5, prev_id: "a", next_id: "b",
  };

  it("renders a large player, the ranked predictions and an empty extension slot", () => {
    const view = renderDetail(detail, { onClose: () => {}, onMove: () => {}, numFrames: 32 });
    expect(view.box.querySelector(".vw-detail-title").textContent).toBe(HOSTILE);
    expect(view.box.querySelector(".vw-detail-name").textContent).toBe(HOSTILE);
    expect(view.box.querySelector(".vw-detail-pos").textContent).toBe("2 of 5");
    expect([...view.box.querySelectorAll(".vw-rank")].map((r) => r.textContent)).toEqual(["1", "2", "3"]);
    expect(view.ext.childNodes).toHaveLength(0);
    expect(view.ext.previousSibling.previousSibling).toBe(view.video);
    expect(view.stripTitle.textContent).toBe("The 32 frames the model receives");
    expect(view.box.querySelector("img")).toBeNull();
  });

  it("closes on Esc and moves with the arrow keys (and only handles those)", () => {
    const moves = [];
    let closed = 0;
    const view = renderDetail(detail, { onClose: () => closed++, onMove: (id) => moves.push(id), numFrames: 32 });
    const key = (k) => {
      const ev = new KeyboardEvent("keydown", { key: k, bubbles: true, cancelable: true });
      view.box.dispatchEvent(ev);
      return ev.defaultPrevented;
    };
    expect(key("ArrowRight")).toBe(true);
    expect(key("ArrowLeft")).toBe(true);
    expect(key("Escape")).toBe(true);
    expect(key("a")).toBe(false);
    expect(moves).toEqual(["b", "a"]);
    expect(closed).toBe(1);
    expect(view.box.getAttribute("data-lm-suppress-shortcuts")).toBe("true");
  });

  it("opens from a card, asks for the filmstrip, numbers the frames, and closes", () => {
    const model = playerModel();
    player.render({ model, el });
    el.querySelector('.vw-card[data-clip-id="arm"] .vw-open').click();
    expect(model.get("detail_id")).toBe("arm");
    model.set("detail", { ...card(), position: 1, total: 5, prev_id: null, next_id: "pool" });
    expect(el.querySelector(".vw-detail")).not.toBeNull();
    expect(model.sent.some((s) => s.msg.type === "filmstrip" && s.msg.id === "arm")).toBe(true);
    model.emit("msg:custom", { type: "filmstrip", id: "arm", num_frames: 16, mime: "image/jpeg" },
      Array.from({ length: 16 }, () => new ArrayBuffer(4)));
    const frames = el.querySelectorAll(".vw-filmstrip figure");
    expect(frames).toHaveLength(16);
    expect(frames[15].querySelector("figcaption").textContent).toBe("16");
    model.emit("msg:custom", { type: "filmstrip", id: "arm", num_frames: 8, mime: "image/jpeg" }, [new ArrayBuffer(4)]);
    expect(el.querySelectorAll(".vw-filmstrip figure")).toHaveLength(16); // a reply for an old frame count is ignored
    el.querySelector(".vw-close").click();
    expect(model.get("detail_id")).toBe("");
    model.set("detail", {});
    expect(el.querySelector(".vw-detail")).toBeNull();
  });
});

describe("summary panel", () => {
  function panelModel(extra = {}) {
    return fakeModel({ summary: { clips: 0, scored: 0, top1: null, top5: null, k: 0, counts: {} }, caption: "",
      stale: false, ...extra });
  }

  it("stays out of the way when there are no results", () => {
    const model = panelModel();
    panel.render({ model, el });
    expect(el.querySelector(".vw-panel").classList.contains("vw-hidden")).toBe(true);
  });

  it("shows accuracy, outcome counts, settings and staleness as text", () => {
    const model = panelModel();
    panel.render({ model, el });
    model.set("summary", { clips: 6, scored: 5, top1: 0.6, top5: 0.8, k: 5,
      counts: { correct: 3, "top-k": 1, wrong: 1, failed: 1 } });
    model.set("caption", `kinetics-400, 32 frames, 6 in 51 s ${HOSTILE}`);
    model.set("stale", true);
    expect(el.querySelector(".vw-accuracy").textContent).toBe("top-1 60% · top-5 80% over 5 labelled clips");
    expect([...el.querySelectorAll(".vw-count")].map((c) => c.textContent)).toEqual(
      ["3 right", "1 in top-5", "1 wrong", "1 failed"]);
    expect(el.querySelector(".vw-caption").textContent).toContain(HOSTILE);
    expect(el.querySelector("img")).toBeNull();
    expect(el.querySelector(".vw-stale-badge")).not.toBeNull();
  });
});

function controlsModel(extra = {}) {
  return fakeModel({
    model_name: "kinetics-400",
    model_options: [["I3D Kinetics-400", "kinetics-400"], [HOSTILE, "kinetics-600"]],
    num_frames: 64, min_frames: 9, max_frames: 300, sample_size: 4, auto_rerun: false,
    state: "idle", message: "", progress: -1, has_clips: true,
    ...extra,
  });
}

describe("controls", () => {
  it("offers frame presets from the model minimum to all", () => {
    expect(framePresets(9, 300).map(([l, v]) => [l, v])).toEqual(
      [["min 9", 9], ["16", 16], ["32", 32], ["64", 64], ["128", 128], ["all", 300]]);
  });

  it("frames: slider, number box and presets all set num_frames", () => {
    const model = controlsModel();
    controls.render({ model, el });
    const slider = el.querySelector(".vw-frames");
    const number = el.querySelector(".vw-frames-number");
    expect([slider.min, slider.max, slider.value, number.value]).toEqual(["9", "300", "64", "64"]);
    number.value = "16";
    number.dispatchEvent(new Event("change"));
    expect(model.get("num_frames")).toBe(16);
    el.querySelector('.vw-preset[data-frames="128"]').click();
    expect(model.get("num_frames")).toBe(128);
    expect(el.querySelector('.vw-preset[data-frames="128"]').classList.contains("vw-active")).toBe(true);
    slider.value = "40";
    slider.dispatchEvent(new Event("input"));
    expect(number.value).toBe("40");
    slider.dispatchEvent(new Event("change"));
    expect(model.get("num_frames")).toBe(40);
  });

  it("shows one state with its sentence; Cancel only while busy; Classify as a message", () => {
    const model = controlsModel();
    controls.render({ model, el });
    const classify = el.querySelector(".vw-classify");
    const cancel = el.querySelector(".vw-cancel");
    expect(cancel.disabled).toBe(true);
    classify.click();
    expect(model.sent.at(-1).msg).toEqual({ type: "classify" });
    model.set("state", "classifying");
    model.set("message", "Classifying 2/6 clips, about 20 s left…");
    model.set("progress", 0.33);
    expect(el.querySelectorAll(".vw-status-area")).toHaveLength(1);
    expect(el.querySelector(".vw-status-area").dataset.state).toBe("classifying");
    expect(el.querySelector(".vw-state-message").textContent).toBe("Classifying 2/6 clips, about 20 s left…");
    expect(el.querySelector("progress").value).toBeCloseTo(0.33);
    expect(cancel.disabled).toBe(false);
    expect(classify.disabled).toBe(true);
    cancel.click();
    expect(model.sent.at(-1).msg).toEqual({ type: "cancel" });
    model.set("state", "error");
    model.set("message", `Could not load model kinetics-600: ${HOSTILE}`);
    expect(el.querySelector(".vw-state-message").textContent).toContain(HOSTILE);
    expect(el.querySelector("progress").classList.contains("vw-hidden")).toBe(true);
    expect(el.querySelector(".vw-state-detail").classList.contains("vw-hidden")).toBe(true);
    expect(el.querySelector("img")).toBeNull();
  });

  it("shows an error's details smaller under its headline, folded to one line until 'more'", () => {
    const model = controlsModel();
    controls.render({ model, el });
    const detail = () => el.querySelector(".vw-state-detail");
    const more = el.querySelector(".vw-state-more");
    const long = `Connect to the internet once. Could not load ${HOSTILE} (TFHUB_CACHE_DIR=/tmp/x).`;
    model.set("state", "error");
    model.set("message", "Kinetics-600 weights are not available offline. The results shown were kept.");
    model.set("detail", long);
    expect(el.querySelector(".vw-state-message").textContent).toBe(
      "Kinetics-600 weights are not available offline. The results shown were kept.");
    expect(detail().classList.contains("vw-hidden")).toBe(false);
    expect(el.querySelector(".vw-state-detail-text").textContent).toBe(long); // all of it, as text
    expect(el.querySelector(".vw-state-detail-text").title).toBe(long);
    expect(detail().classList.contains("vw-unfolded")).toBe(false);
    expect(more.textContent).toBe("more");
    more.click();
    expect(detail().classList.contains("vw-unfolded")).toBe(true);
    expect(more.textContent).toBe("less");
    expect(more.getAttribute("aria-expanded")).toBe("true");
    model.set("detail", "other details"); // new details start folded
    expect(detail().classList.contains("vw-unfolded")).toBe(false);
    model.set("state", "done");
    model.set("detail", "");
    expect(detail().classList.contains("vw-hidden")).toBe(true);
    expect(el.querySelector("img")).toBeNull();
    expect(model.sent).toEqual([]); // unfolding is the page's own business
  });

  it("renders hostile model option labels literally", () => {
    const model = controlsModel();
    controls.render({ model, el });
    expect([...el.querySelectorAll("option")].map((o) => o.textContent)).toContain(HOSTILE);
    expect(el.querySelector("img")).toBeNull();
  });
});


function browserModel(extra = {}) {
  return fakeModel({
    rows: [
      { id: "a_000001_000011", index: 1, label: "arm wrestling", downloaded: true, selected: true },
      { id: "b_000001_000011", index: 2, label: HOSTILE, downloaded: false, selected: false },
    ],
    num_clips: 2, num_downloaded: 1, num_classes: 2, num_matching: 2, matching_classes: 2, selected_classes: 1,
    query: "", downloaded_filter: "all", sort_by: "index", sort_desc: false, page: 0, page_size: 25,
    selected_ids: ["a_000001_000011"], sample_n: 4, per_class: false, seed: 0, can_download: true, download_n: 4,
    progress: {}, busy: "", status: "", error: "",
    ...extra,
  });
}

describe("browser", () => {
  it("renders the table, counts, and hostile labels literally", () => {
    const model = browserModel();
    browser.render({ model, el });
    const rows = el.querySelectorAll("tbody tr");
    expect(rows).toHaveLength(2);
    expect(rows[1].querySelector(".vw-label").textContent).toBe(HOSTILE);
    expect(el.querySelector("img")).toBeNull();
    expect(el.querySelector(".vw-counts").textContent).toBe("Dataset: 2 clips · 1 downloaded · 2 classes — selected 1 clip in 1 class");
    expect(rows[0].classList.contains("vw-selected")).toBe(true);
    expect(rows[1].querySelector(".vw-select").disabled).toBe(true);
  });

  it("says no '0 classes' and offers no class search when there are no classes; plurals right", () => {
    const model = browserModel({ rows: [], num_clips: 1, num_downloaded: 1, num_classes: 0, num_matching: 1,
      matching_classes: 0, selected_classes: 0, selected_ids: ["a"], embedded: true, error: HOSTILE });
    browser.render({ model, el });
    expect(el.querySelector(".vw-counts").textContent).toBe("Dataset: 1 clip · 1 downloaded — selected 1 clip");
    expect(el.querySelector(".vw-search").classList.contains("vw-hidden")).toBe(true);
    expect(el.querySelector(".vw-error").textContent).toBe(""); // the explorer's status line shows it
    expect(el.querySelector("details").open).toBe(false);
  });

  it("sorts by clicking headers and toggles selection by id", () => {
    const model = browserModel();
    browser.render({ model, el });
    el.querySelector('th[data-sort="label"]').click();
    expect(model.get("sort_by")).toBe("label");
    el.querySelector('th[data-sort="label"]').click();
    expect(model.get("sort_desc")).toBe(true);
    expect(el.querySelector('th[data-sort="label"]').textContent).toBe("class ▼");
    const box = el.querySelector('tr[data-clip-id="a_000001_000011"] .vw-select');
    box.checked = false;
    box.dispatchEvent(new Event("change"));
    expect(model.sent.at(-1).msg).toEqual({ type: "toggle", id: "a_000001_000011" });
  });

  it("debounces the class search and sends sample / download requests", async () => {
    vi.useFakeTimers();
    try {
      const model = browserModel();
      browser.render({ model, el });
      const search = el.querySelector(".vw-search");
      search.value = "wrest";
      search.dispatchEvent(new Event("input"));
      expect(model.get("query")).toBe("");
      vi.advanceTimersByTime(300);
      expect(model.get("query")).toBe("wrest");
      el.querySelector(".vw-sample").click();
      el.querySelector(".vw-download").click();
      expect(model.sent.map((s) => s.msg)).toEqual([{ type: "sample" }, { type: "download" }]);
    } finally {
      vi.useRealTimers();
    }
  });

  it("shows download progress and hides downloading for local folders", () => {
    const model = browserModel();
    browser.render({ model, el });
    model.set("busy", "downloading…");
    model.set("progress", { bytes_done: 50, bytes_total: 100, clips_done: 1, clips_total: 4 });
    expect(el.querySelector(".vw-download-box progress").value).toBe(50);
    expect(el.querySelector(".vw-download-box .vw-progress-text").textContent).toBe("1/4 clips");
    expect(el.querySelector(".vw-download").disabled).toBe(true);
    model.set("can_download", false);
    expect(el.querySelector(".vw-download-box").classList.contains("vw-hidden")).toBe(true);
  });
});
