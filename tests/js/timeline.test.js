// Unit tests of the timeline renderer (js/timeline.js) in jsdom: segments and legend, curves, click-to-seek,
// the cursor following a video's timeupdate, updates, clean-up, and labels shown as text only.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { PALETTE, formatTime, labelColors, renderTimeline } from "../../js/timeline.js";

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
    expect(first[0]).toBe("33.3,0.0"); // t=1 s of 30 → x 33.3/1000; p=1 → top
    expect(first.at(-1)).toBe("966.7,100.0");
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
