// Timeline of a long video, drawn under its player: coloured segments of the top-1 class with a legend,
// probability curves of the top few classes (SVG), a cursor that follows playback, and click-to-seek.
// No widget model here: the detail view (player.js) passes data in and gets seeks and requests out. Every label
// is set with textContent (or a title attribute), never parsed as HTML. ClipPlayer's module is this file
// followed by player.js (widgets/_static.py joins them), so top-level names must not clash with player.js.

const SVG_NS = "http://www.w3.org/2000/svg";
// Okabe–Ito colours (distinguishable with the common colour-vision deficiencies), then a few more.
export const PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000",
  "#999999", "#882255", "#44AA99", "#117733"];

function tlNode(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function svgNode(tag, attrs = {}) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  return node;
}

function clampTo(x, lo, hi) {
  return Math.min(hi, Math.max(lo, x));
}

export function formatTime(t) {
  const total = Math.max(0, t);
  const m = Math.floor(total / 60);
  const sec = total - 60 * m;
  return `${m}:${sec.toFixed(1).padStart(4, "0")}`;
}

/** One colour per label, in order of first appearance in the segments, then in the curves. */
export function labelColors(segments, curves) {
  const colors = new Map();
  const add = (label) => {
    if (!colors.has(label)) colors.set(label, PALETTE[colors.size % PALETTE.length]);
  };
  for (const seg of segments ?? []) add(seg.label);
  for (const series of curves?.series ?? []) add(series.label);
  return colors;
}

/**
 * Draw a timeline into `el`.
 * data: {duration, segments: [{start, end, label, mean_prob?}], curves?: {times: number[],
 *   series: [{label, values: number[]}]}}
 * options: {onSeek(t), video?: HTMLMediaElement whose `timeupdate`/`seeked` move the cursor}
 * Returns {setTime(t), update(data), destroy()}.
 */
export function renderTimeline(el, data, { onSeek = () => {}, video = null } = {}) {
  const root = tlNode("div", "vw-timeline");
  const bar = tlNode("div", "vw-tl-bar");
  bar.setAttribute("role", "group");
  bar.setAttribute("aria-label", "segments by top-1 class; click one to play from its start");
  const plot = tlNode("div", "vw-tl-plot");
  const cursor = tlNode("div", "vw-tl-cursor");
  const legend = tlNode("div", "vw-tl-legend");
  const axis = tlNode("div", "vw-tl-axis");
  const track = tlNode("div", "vw-tl-track");
  track.append(bar, plot, cursor);
  root.append(track, axis, legend);
  el.appendChild(root);
  let duration = 0;
  let current = 0;

  function seekTo(t) {
    onSeek(clampTo(t, 0, duration));
  }

  function drawSegments(segments, colors) {
    bar.replaceChildren();
    for (const seg of segments) {
      const button = tlNode("button", "vw-tl-seg");
      button.type = "button";
      button.dataset.start = String(seg.start);
      button.dataset.label = seg.label;
      button.style.left = `${(100 * seg.start) / duration}%`;
      button.style.width = `${(100 * (seg.end - seg.start)) / duration}%`;
      button.style.background = colors.get(seg.label);
      const prob = seg.mean_prob === undefined || seg.mean_prob === null ? "" : `, p ${seg.mean_prob.toFixed(2)}`;
      const text = `${seg.label}: ${formatTime(seg.start)}–${formatTime(seg.end)}${prob}`;
      button.title = text;
      button.setAttribute("aria-label", text);
      button.addEventListener("click", (event) => {
        event.stopPropagation();
        seekTo(seg.start);
      });
      bar.append(button);
    }
  }

  function drawCurves(curves, colors) {
    plot.replaceChildren();
    if (!curves || !curves.times?.length || !curves.series?.length) return;
    const svg = svgNode("svg", { class: "vw-tl-svg", viewBox: "0 0 1000 100", preserveAspectRatio: "none" });
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", "probability of the top classes over time");
    for (const series of curves.series) {
      const points = curves.times.map((t, i) => {
        const x = (1000 * t) / duration;
        const y = 98 - 96 * clampTo(Number(series.values[i]) || 0, 0, 1); // 2 units clear of both edges
        return `${x.toFixed(1)},${y.toFixed(1)}`;
      });
      const line = svgNode("polyline", { points: points.join(" "), fill: "none", stroke: colors.get(series.label),
        "stroke-width": 2, "vector-effect": "non-scaling-stroke" });
      line.dataset.label = series.label;
      const title = svgNode("title");
      title.textContent = series.label;
      line.append(title);
      svg.append(line);
    }
    plot.append(svg);
  }

  function drawLegend(colors) {
    legend.replaceChildren();
    for (const [label, color] of colors) {
      const item = tlNode("span", "vw-tl-key");
      const swatch = tlNode("span", "vw-tl-swatch");
      swatch.style.background = color;
      item.append(swatch, tlNode("span", "vw-tl-key-label", label));
      legend.append(item);
    }
  }

  function drawAxis() {
    axis.replaceChildren(tlNode("span", null, formatTime(0)), tlNode("span", null, formatTime(duration)));
  }

  function setTime(t) {
    current = Number(t) || 0;
    cursor.style.left = duration > 0 ? `${(100 * clampTo(current, 0, duration)) / duration}%` : "0%";
  }

  function update(next) {
    duration = Math.max(Number(next.duration) || 0, 1e-9);
    const segments = next.segments ?? [];
    const colors = labelColors(segments, next.curves);
    drawSegments(segments, colors);
    drawCurves(next.curves, colors);
    drawLegend(colors);
    drawAxis();
    setTime(current);
  }

  function onTrackClick(event) {
    const box = track.getBoundingClientRect();
    if (!box.width) return;
    seekTo(((event.clientX - box.left) / box.width) * duration);
  }

  function onTime() {
    setTime(video.currentTime);
  }

  track.addEventListener("click", onTrackClick);
  if (video) {
    video.addEventListener("timeupdate", onTime);
    video.addEventListener("seeked", onTime);
  }
  update(data);

  return {
    setTime,
    update,
    destroy() {
      track.removeEventListener("click", onTrackClick);
      if (video) {
        video.removeEventListener("timeupdate", onTime);
        video.removeEventListener("seeked", onTime);
      }
      root.remove();
    },
  };
}

/**
 * The timeline panel of the detail view: a "Timeline" button, progress and cancel, then the timeline itself.
 * state: {} (not computed) or {state: "running"|"done"|"cancelled"|"error", done, total, message, view}
 * (view: the data of renderTimeline). Seeking sets the video's currentTime.
 * Returns {update(state), destroy()}.
 */
export function mountTimelinePanel(slot, { video, onRun, onCancel }) {
  const panel = tlNode("div", "vw-tl-panel");
  const head = tlNode("div", "vw-tl-head");
  const run = tlNode("button", "vw-tl-run", "Timeline");
  run.type = "button";
  run.title = "Predict over time: the model on a sliding window over the whole video";
  const cancel = tlNode("button", "vw-tl-cancel vw-hidden", "cancel");
  cancel.type = "button";
  const status = tlNode("span", "vw-muted vw-tl-status");
  const body = tlNode("div", "vw-tl-body");
  head.append(run, cancel, status);
  panel.append(head, body);
  slot.append(panel);
  let view = null;
  let shown = null;

  run.addEventListener("click", () => onRun());
  cancel.addEventListener("click", () => onCancel());

  function update(state) {
    const st = state && state.state;
    panel.dataset.state = st || "idle";
    run.disabled = st === "running";
    cancel.classList.toggle("vw-hidden", st !== "running");
    if (st === "running") {
      status.textContent = state.total ? `computing: ${state.done} of ${state.total} windows…` : (state.message || "starting…");
    } else if (st === "cancelled") {
      status.textContent = `cancelled after ${state.done} of ${state.total} windows`;
    } else if (st === "error") {
      status.textContent = `timeline failed: ${state.message}`;
    } else if (st === "done") {
      const v = state.view;
      const n = v.segments.length;
      status.textContent = `${n} ${n === 1 ? "segment" : "segments"}, windows of ${v.window.toFixed(2)} s every ${v.stride.toFixed(2)} s`
        + (v.error ? ` (stops early: ${v.error})` : "");
    } else {
      status.textContent = "";
    }
    if (st === "done" && state.view !== shown) {
      if (view) view.destroy();
      view = renderTimeline(body, state.view, { video, onSeek: (t) => { video.currentTime = t; } });
      shown = state.view;
    } else if (st !== "done" && view) {
      view.destroy();
      view = null;
      shown = null;
    }
  }

  return {
    update,
    destroy() {
      if (view) view.destroy();
      panel.remove();
    },
  };
}
