// Unit tests of the widget ES modules against a fake anywidget model (get/set/on/off/send/save_changes), in
// jsdom: rendering, events sent to Python, replies with binary buffers, and the text-only rule for data.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import browser from "../../js/browser.js";
import controls from "../../js/controls.js";
import panel from "../../js/panel.js";
import player from "../../js/player.js";

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

function playerModel(extra = {}) {
  return fakeModel({
    clips: [
      { id: "arm_wrestling", index: 1, label: "arm wrestling", name: "arm_wrestling.mp4", available: true },
      { id: "pool", index: 2, label: "cleaning pool", name: "pool.mp4", available: true },
      { id: "missing", index: 3, label: "yoga", name: "missing", available: false },
    ],
    predictions: {},
    columns: 4,
    num_frames: 16,
    mode: "crop",
    stale: false,
    ...extra,
  });
}

describe("player", () => {
  it("renders one card per clip with index and ground truth, and asks for videos by id only", () => {
    const model = playerModel();
    player.render({ model, el });
    const cards = el.querySelectorAll(".vw-card");
    expect(cards).toHaveLength(3);
    expect(cards[0].querySelector(".vw-index").textContent).toBe("#1");
    expect(cards[0].querySelector(".vw-truth-label").textContent).toBe("arm wrestling");
    expect(el.querySelector(".vw-grid").style.gridTemplateColumns).toBe("repeat(4, minmax(0, 1fr))");
    // only downloaded clips are requested, and each request carries exactly {type, id}
    expect(model.sent.map((s) => s.msg)).toEqual([
      { type: "video", id: "arm_wrestling" },
      { type: "video", id: "pool" },
    ]);
    expect(cards[2].querySelector(".vw-message").textContent).toBe("not downloaded");
  });

  it("turns a binary video reply into a blob URL on the <video>", () => {
    const model = playerModel();
    player.render({ model, el });
    const bytes = new DataView(new Uint8Array([0, 0, 0, 24]).buffer);
    model.emit("msg:custom", { type: "video", id: "pool", mime: "video/mp4" }, [bytes]);
    const video = el.querySelector('[data-clip-id="pool"] video');
    expect(video.getAttribute("src")).toMatch(/^blob:fake\//);
    const blob = URL.createObjectURL.mock.calls[0][0];
    expect(blob.type).toBe("video/mp4");
    expect(blob.size).toBe(4);
  });

  it("colours the top-1 prediction green when right and red when wrong, and marks stale", () => {
    const model = playerModel();
    player.render({ model, el });
    model.set("predictions", {
      arm_wrestling: { top1: "arm wrestling", score: 0.9, correct: true, error: null },
      pool: { top1: "swimming", score: 0.4, correct: false, error: null },
    });
    const right = el.querySelector('[data-clip-id="arm_wrestling"] .vw-pred');
    const wrong = el.querySelector('[data-clip-id="pool"] .vw-pred');
    expect(right.classList.contains("vw-right")).toBe(true);
    expect(right.textContent).toBe("arm wrestling (90%)");
    expect(wrong.classList.contains("vw-wrong")).toBe(true);
    expect(el.querySelector(".vw-stale-badge").classList.contains("vw-hidden")).toBe(true);
    model.set("stale", true);
    expect(el.querySelector(".vw-player").classList.contains("vw-stale")).toBe(true);
    expect(el.querySelector(".vw-stale-badge").classList.contains("vw-hidden")).toBe(false);
  });

  it("shows a clip's failure in words", () => {
    const model = playerModel();
    player.render({ model, el });
    model.set("predictions", { pool: { top1: null, score: null, correct: null, error: "unreadable video" } });
    expect(el.querySelector('[data-clip-id="pool"] .vw-pred').textContent).toBe("failed: unreadable video");
    model.emit("msg:custom", { type: "error", request: "video", id: "arm_wrestling", message: "no video stream" });
    const msg = el.querySelector('[data-clip-id="arm_wrestling"] .vw-message');
    expect(msg.textContent).toBe("could not load video: no video stream");
    expect(msg.classList.contains("vw-error")).toBe(true);
  });

  it("toggles a filmstrip, requests it by id, shows the frames and re-requests when the frame count changes", () => {
    const model = playerModel();
    player.render({ model, el });
    model.sent.length = 0;
    const card = el.querySelector('[data-clip-id="pool"]');
    card.querySelector(".vw-toggle").click();
    expect(model.sent.map((s) => s.msg)).toEqual([{ type: "filmstrip", id: "pool" }]);
    const frames = [1, 2, 3].map(() => new DataView(new ArrayBuffer(8)));
    model.emit("msg:custom", { type: "filmstrip", id: "pool", num_frames: 16, mime: "image/jpeg" }, frames);
    expect(card.querySelectorAll(".vw-strip img")).toHaveLength(3);
    // a reply for an older frame count is ignored
    model.set("num_frames", 32);
    expect(model.sent.at(-1).msg).toEqual({ type: "filmstrip", id: "pool" });
    model.emit("msg:custom", { type: "filmstrip", id: "pool", num_frames: 16, mime: "image/jpeg" }, frames);
    expect(card.querySelectorAll(".vw-strip img")).toHaveLength(0);
    card.querySelector(".vw-toggle").click();
    expect(card.querySelector(".vw-strip").classList.contains("vw-hidden")).toBe(true);
  });

  it("renders hostile labels, names and errors literally", () => {
    const model = playerModel({
      clips: [{ id: "x", index: 1, label: HOSTILE, name: HOSTILE, available: true }],
    });
    player.render({ model, el });
    model.set("predictions", { x: { top1: HOSTILE, score: 0.5, correct: true, error: null } });
    model.emit("msg:custom", { type: "error", request: "video", id: "x", message: HOSTILE });
    expect(el.querySelector(".vw-truth-label").textContent).toBe(HOSTILE);
    expect(el.querySelector(".vw-name").textContent).toBe(HOSTILE);
    expect(el.querySelector(".vw-pred").textContent).toContain(HOSTILE);
    expect(el.querySelector(".vw-message").textContent).toContain(HOSTILE);
    expect(el.querySelector("img")).toBeNull();
  });

  it("removes its listeners and revokes blob URLs on cleanup", () => {
    const model = playerModel();
    const cleanup = player.render({ model, el });
    model.emit("msg:custom", { type: "video", id: "pool", mime: "video/mp4" }, [new DataView(new ArrayBuffer(2))]);
    cleanup();
    expect(model.listeners("msg:custom")).toBe(0);
    expect(URL.revokeObjectURL).toHaveBeenCalledWith("blob:fake/1");
  });
});

describe("panel", () => {
  const rows = [
    {
      clip_id: "arm_wrestling", index: 1, ground_truth: "arm wrestling", error: null,
      top: [{ label: "arm wrestling", score: 0.8 }, { label: "yoga", score: 0.1 }],
    },
    { clip_id: "broken", index: 2, ground_truth: "yoga", error: "cannot decode video", top: [] },
  ];

  it("renders top-k bars, marks the ground truth and shows accuracy", () => {
    const model = fakeModel({ rows, top1_accuracy: 1, top5_accuracy: 1, num_scored: 1, stale: false, caption: "k400" });
    panel.render({ model, el });
    const first = el.querySelector('[data-clip-id="arm_wrestling"]');
    const lines = first.querySelectorAll(".vw-bar-line");
    expect(lines).toHaveLength(2);
    expect(lines[0].classList.contains("vw-truth")).toBe(true);
    expect(lines[0].querySelector(".vw-bar").style.width).toBe("80%");
    expect(lines[1].classList.contains("vw-truth")).toBe(false);
    expect(el.querySelector(".vw-accuracy").textContent).toBe("top-1 accuracy 100% · top-5 accuracy 100% (1 clips)");
    expect(el.querySelector('[data-clip-id="broken"] .vw-error').textContent).toBe("failed: cannot decode video");
  });

  it("updates when rows arrive batch by batch and shows staleness", () => {
    const model = fakeModel({ rows: [], top1_accuracy: null, top5_accuracy: null, num_scored: 0, stale: false, caption: "" });
    panel.render({ model, el });
    expect(el.querySelector(".vw-accuracy").textContent).toBe("No predictions yet.");
    model.set("rows", rows.slice(0, 1));
    expect(el.querySelectorAll(".vw-panel-row")).toHaveLength(1);
    model.set("stale", true);
    expect(el.querySelector(".vw-stale-badge").classList.contains("vw-hidden")).toBe(false);
  });

  it("renders hostile labels literally", () => {
    const model = fakeModel({
      rows: [{ clip_id: HOSTILE, index: 1, ground_truth: HOSTILE, error: null, top: [{ label: HOSTILE, score: 2 }] }],
      top1_accuracy: 1, top5_accuracy: 1, num_scored: 1, stale: false, caption: HOSTILE,
    });
    panel.render({ model, el });
    expect(el.querySelector(".vw-bar-label").textContent).toBe(`${HOSTILE} ✓`);
    expect(el.querySelector(".vw-gt").textContent).toBe(`ground truth: ${HOSTILE}`);
    expect(el.querySelector(".vw-bar").style.width).toBe("100%");
    expect(el.querySelector("img")).toBeNull();
  });
});

function controlsModel(extra = {}) {
  return fakeModel({
    model_name: "kinetics-400",
    model_options: [["I3D Kinetics-400", "kinetics-400"], ["I3D Kinetics-600", "kinetics-600"]],
    num_frames: 64, min_frames: 9, max_frames: 300, sample_size: 4, auto_rerun: false, running: false,
    progress: 0, progress_text: "", status: "", error: "", stale: false,
    ...extra,
  });
}

describe("controls", () => {
  it("renders the model dropdown and the frame slider within the model's range", () => {
    const model = controlsModel();
    controls.render({ model, el });
    const options = [...el.querySelectorAll("select option")].map((o) => [o.textContent, o.value]);
    expect(options).toEqual([["I3D Kinetics-400", "kinetics-400"], ["I3D Kinetics-600", "kinetics-600"]]);
    const slider = el.querySelector(".vw-frames");
    expect([slider.min, slider.max, slider.value]).toEqual(["9", "300", "64"]);
    expect(el.querySelector(".vw-cancel").disabled).toBe(true);
  });

  it("sends settings to Python and Classify / Cancel as messages", () => {
    const model = controlsModel({ running: true });
    controls.render({ model, el });
    const slider = el.querySelector(".vw-frames");
    slider.value = "24";
    slider.dispatchEvent(new Event("input"));
    expect(el.querySelector(".vw-frames-value").textContent).toBe("24");
    slider.dispatchEvent(new Event("change"));
    expect(model.get("num_frames")).toBe(24);
    const select = el.querySelector("select");
    select.value = "kinetics-600";
    select.dispatchEvent(new Event("change"));
    expect(model.get("model_name")).toBe("kinetics-600");
    expect(model.saved).toHaveLength(2);
    el.querySelector(".vw-classify").click();
    el.querySelector(".vw-cancel").click();
    expect(model.sent.map((s) => s.msg)).toEqual([{ type: "classify" }, { type: "cancel" }]);
  });

  it("shows progress, staleness and errors as text", () => {
    const model = controlsModel();
    controls.render({ model, el });
    model.set("progress", 0.5);
    model.set("progress_text", "classifying 2/4 clips");
    model.set("stale", true);
    model.set("error", `Could not load model 'kinetics-600': ${HOSTILE}`);
    expect(el.querySelector("progress").value).toBe(0.5);
    expect(el.querySelector(".vw-progress-text").textContent).toBe("classifying 2/4 clips");
    expect(el.querySelector(".vw-stale-badge").classList.contains("vw-hidden")).toBe(false);
    expect(el.querySelector('[role="alert"]').textContent).toContain(HOSTILE);
    expect(el.querySelector("img")).toBeNull();
  });

  it("renders hostile model option labels literally", () => {
    const model = controlsModel({ model_options: [[HOSTILE, "x"]], model_name: "x" });
    controls.render({ model, el });
    expect(el.querySelector("option").textContent).toBe(HOSTILE);
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
    expect(el.querySelector(".vw-counts").textContent).toContain("2 clips · 1 downloaded · 2 classes");
    expect(rows[0].classList.contains("vw-selected")).toBe(true);
    expect(rows[1].querySelector(".vw-select").disabled).toBe(true);
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
