// Unit tests of the timeline renderer (js/timeline.js) in jsdom: segments and legend, curves, click-to-seek,
// the cursor following a video's timeupdate, updates, clean-up, and labels shown as text only.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import player from "../../js/player.js";
import { PALETTE, formatTime, labelColors, mountTimelinePanel, renderTimeline } from "../../js/timeline.js";

const HOSTILE = '<img src=x onerror=alert(1)>';
const DATA = {
  duration: 30,
  segments: [
    { start: 0, end: 10, label: "arm wrestling", mean_prob: 0.99 },
    { start: 10, end: 20, label: "cleaning pool", mean_prob: 0.95 },
    { start: 20, end: 30, label: "filling eyebrows", mean_prob: 0.7 },
  ],
  curves: {
    times: [1, 5, 9, 13, 17, 21, 25, 29],
    series: [
      { label: "arm wrestling", values: [1, 1, 0.9, 0, 0, 0, 0, 0] },
      { label: "cleaning pool", values: [0, 0, 0.1, 1, 1, 0.1, 0, 0] },
      { label: "filling eyebrows", values: [0, 0, 0, 0, 0, 0.6, 0.8, 0.9] },
    ],
  },
};

let el;
beforeEach(() => {
  el = document.createElement("div");
  document.body.replaceChildren(el);
});
afterEach(() => document.body.replaceChildren());

function stubBox(node, left, width) {
  node.getBoundingClientRect = () => ({ left, width, top: 0, height: 80, right: left + width, bottom: 80 });
}

describe("timeline", () => {
  it("draws one coloured segment per entry, placed by time, with a legend", () => {
    renderTimeline(el, DATA);
    const segs = [...el.querySelectorAll(".vw-tl-seg")];
    expect(segs.map((s) => s.dataset.label)).toEqual(["arm wrestling", "cleaning pool", "filling eyebrows"]);
    expect(segs.map((s) => [s.style.left, s.style.width])).toEqual([
      ["0%", "33.333333333333336%"], ["33.333333333333336%", "33.333333333333336%"],
      ["66.66666666666667%", "33.333333333333336%"],
    ]);
    expect(segs[1].title).toBe("cleaning pool: 0:10.0–0:20.0, p 0.95");
    const keys = [...el.querySelectorAll(".vw-tl-key")];
    expect(keys.map((k) => k.textContent)).toEqual(["arm wrestling", "cleaning pool", "filling eyebrows"]);
    const swatches = keys.map((k) => k.querySelector(".vw-tl-swatch").style.background);
    expect(new Set(swatches).size).toBe(3);
    expect(segs[0].style.background).toBe(swatches[0]);
    expect([...el.querySelectorAll(".vw-tl-axis span")].map((s) => s.textContent)).toEqual(["0:00.0", "0:30.0"]);
  });

  it("draws a curve per class in its segment colour, scaled to the duration", () => {
    renderTimeline(el, DATA);
    const lines = [...el.querySelectorAll("polyline")];
    expect(lines.map((l) => l.dataset.label)).toEqual(["arm wrestling", "cleaning pool", "filling eyebrows"]);
    const first = lines[0].getAttribute("points").split(" ");
    expect(first[0]).toBe("33.3,2.0"); // t=1 s of 30 → x 33.3/1000; p=1 → near the top
    expect(first.at(-1)).toBe("966.7,98.0"); // p=0 → near the bottom
    const colors = labelColors(DATA.segments, DATA.curves);
    expect(lines[2].getAttribute("stroke")).toBe(colors.get("filling eyebrows"));
    expect(lines[2].querySelector("title").textContent).toBe("filling eyebrows");
  });

  it("seeks to a segment's start on click, and to the clicked time elsewhere on the track", () => {
    const onSeek = vi.fn();
    renderTimeline(el, DATA, { onSeek });
    el.querySelectorAll(".vw-tl-seg")[2].click();
    expect(onSeek).toHaveBeenCalledTimes(1);
    expect(onSeek).toHaveBeenLastCalledWith(20);
    const track = el.querySelector(".vw-tl-track");
    stubBox(track, 100, 600);
    track.dispatchEvent(new MouseEvent("click", { clientX: 250, bubbles: true }));
    expect(onSeek).toHaveBeenLastCalledWith(7.5);
    track.dispatchEvent(new MouseEvent("click", { clientX: 900, bubbles: true }));
    expect(onSeek).toHaveBeenLastCalledWith(30); // clamped to the video
  });

  it("moves the cursor with the video's timeupdate and seeked events, and stops after destroy", () => {
    const video = document.createElement("video");
    const view = renderTimeline(el, DATA, { video });
    const cursor = el.querySelector(".vw-tl-cursor");
    expect(cursor.style.left).toBe("0%");
    Object.defineProperty(video, "currentTime", { value: 15, writable: true });
    video.dispatchEvent(new Event("timeupdate"));
    expect(cursor.style.left).toBe("50%");
    video.currentTime = 27;
    video.dispatchEvent(new Event("seeked"));
    expect(cursor.style.left).toBe("90%");
    view.setTime(99);
    expect(cursor.style.left).toBe("100%");
    view.destroy();
    expect(el.querySelector(".vw-timeline")).toBeNull();
    video.currentTime = 3;
    video.dispatchEvent(new Event("timeupdate")); // its listener is gone: the (detached) cursor stays put
    expect(cursor.style.left).toBe("100%");
  });

  it("redraws on update and keeps the cursor time", () => {
    const view = renderTimeline(el, DATA);
    view.setTime(6);
    view.update({ duration: 12, segments: [{ start: 0, end: 12, label: "x" }] });
    expect(el.querySelectorAll(".vw-tl-seg").length).toBe(1);
    expect(el.querySelectorAll("polyline").length).toBe(0);
    expect(el.querySelector(".vw-tl-cursor").style.left).toBe("50%");
    expect(el.querySelector(".vw-tl-seg").title).toBe("x: 0:00.0–0:12.0");
  });

  it("shows labels as text, never as HTML", () => {
    const onSeek = vi.fn();
    renderTimeline(el, {
      duration: 4,
      segments: [{ start: 0, end: 4, label: HOSTILE, mean_prob: 0.5 }],
      curves: { times: [2], series: [{ label: HOSTILE, values: [0.5] }] },
    }, { onSeek });
    expect(el.querySelector("img")).toBeNull();
    expect(el.querySelector(".vw-tl-key-label").textContent).toBe(HOSTILE);
    expect(el.querySelector(".vw-tl-seg").dataset.label).toBe(HOSTILE);
    expect(el.querySelector("polyline title").textContent).toBe(HOSTILE);
  });

  it("assigns palette colours in order of appearance and formats times", () => {
    const colors = labelColors([{ label: "b" }, { label: "a" }, { label: "b" }], { series: [{ label: "c" }] });
    expect([...colors]).toEqual([["b", PALETTE[0]], ["a", PALETTE[1]], ["c", PALETTE[2]]]);
    expect(formatTime(0)).toBe("0:00.0");
    expect(formatTime(75.25)).toBe("1:15.3");
  });
});

describe("timeline panel in the detail view", () => {
  const VIEW = { ...DATA, window: 2.56, stride: 1.28, error: null };

  it("asks for a timeline, shows progress and cancel, then draws it and seeks the video", () => {
    const video = document.createElement("video");
    let runs = 0;
    let cancels = 0;
    const panel = mountTimelinePanel(el, { video, onRun: () => runs++, onCancel: () => cancels++ });
    const run = el.querySelector(".vw-tl-run");
    const cancel = el.querySelector(".vw-tl-cancel");
    const status = el.querySelector(".vw-tl-status");
    panel.update({});
    expect(cancel.classList.contains("vw-hidden")).toBe(true);
    run.click();
    expect(runs).toBe(1);
    panel.update({ id: "a", state: "running", done: 4, total: 20 });
    expect(status.textContent).toBe("computing: 4 of 20 windows…");
    expect(run.disabled).toBe(true);
    cancel.click();
    expect(cancels).toBe(1);
    panel.update({ id: "a", state: "cancelled", done: 6, total: 20 });
    expect(status.textContent).toBe("cancelled after 6 of 20 windows");
    expect(run.disabled).toBe(false);
    panel.update({ id: "a", state: "done", done: 20, total: 20, view: VIEW });
    expect(status.textContent).toBe("3 segments, windows of 2.56 s every 1.28 s");
    expect(el.querySelectorAll(".vw-tl-seg")).toHaveLength(3);
    el.querySelectorAll(".vw-tl-seg")[1].click();
    expect(video.currentTime).toBe(10);
    panel.update({ id: "a", state: "done", done: 20, total: 20, view: { ...VIEW, segments: VIEW.segments.slice(0, 1) } });
    expect(status.textContent).toBe("1 segment, windows of 2.56 s every 1.28 s");
    panel.update({ id: "a", state: "error", message: HOSTILE });
    expect(status.textContent).toBe(`timeline failed: ${HOSTILE}`);
    expect(el.querySelector(".vw-tl-seg")).toBeNull();
    expect(el.querySelector("img")).toBeNull();
    panel.destroy();
    expect(el.querySelector(".vw-tl-panel")).toBeNull();
  });

  it("is wired into ClipPlayer's detail view: requests go to Python, state comes from the `timeline` trait", () => {
    const state = {
      cards: [], num_clips: 1, num_visible: 1, page: 0, page_size: 12, filter: {}, classes: [], detail_id: "a",
      detail: { id: "a", number: 1, label: "x", name: "a.mp4", available: true, mark: null, result: null,
        position: 1, total: 1, prev_id: null, next_id: null },
      columns: 4, num_frames: 16, mode: "crop", caption: "", timeline: {},
    };
    const handlers = new Map();
    const sent = [];
    const model = {
      get: (k) => state[k],
      set: (k, v) => { state[k] = v; for (const cb of handlers.get(`change:${k}`) ?? []) cb(); },
      on: (e, cb) => handlers.set(e, [...(handlers.get(e) ?? []), cb]),
      off: () => {},
      send: (msg) => sent.push(msg),
      save_changes: () => {},
    };
    URL.createObjectURL = vi.fn(() => "blob:x");
    URL.revokeObjectURL = vi.fn();
    player.render({ model, el });
    el.querySelector(".vw-detail-ext .vw-tl-run").click();
    expect(sent.at(-1)).toEqual({ type: "timeline", id: "a" });
    model.set("timeline", { id: "a", state: "running", done: 0, total: 8 });
    expect(el.querySelector(".vw-tl-status").textContent).toBe("computing: 0 of 8 windows…");
    el.querySelector(".vw-tl-cancel").click();
    expect(sent.at(-1)).toEqual({ type: "timeline_cancel" });
    model.set("timeline", { id: "other", state: "done", view: VIEW });
    expect(el.querySelector(".vw-tl-seg")).toBeNull(); // another clip's timeline is not shown here
    model.set("timeline", { id: "a", state: "done", done: 8, total: 8, view: VIEW });
    expect(el.querySelectorAll(".vw-detail .vw-tl-seg")).toHaveLength(3);
    el.querySelectorAll(".vw-tl-seg")[2].click();
    expect(el.querySelector(".vw-detail-video").currentTime).toBe(20);
  });
});
