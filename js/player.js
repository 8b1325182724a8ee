// ClipPlayer: the grid of clip cards (video, number, ground truth, top-5 bars, a mark), its filter bar and pager,
// and the detail view of one clip. Filtering, sorting and paging run in Python; the page asks for video bytes by
// clip id only, at most MAX_IN_FLIGHT at a time. Every label, file name and error is set with textContent.
import { mountTimelinePanel } from "./timeline.js";

const MAX_IN_FLIGHT = 3;

function h(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function button(className, text, title) {
  const b = h("button", `vw-button ${className}`, text);
  b.type = "button";
  if (title) b.title = title;
  return b;
}

function blobUrl(buffer, mime) {
  if (typeof URL === "undefined" || typeof URL.createObjectURL !== "function") return null;
  return URL.createObjectURL(new Blob([buffer], { type: mime }));
}

function revoke(url) {
  if (url && typeof URL.revokeObjectURL === "function") URL.revokeObjectURL(url);
}

export function percent(x) {
  if (typeof x !== "number" || !Number.isFinite(x)) return "–";
  if (x > 0 && x < 0.001) return "<0.1%";
  return `${Math.round(x * 1000) / 10}%`;
}

const MARK_TEXT = { "not run": "not run", stale: "stale", cancelled: "cancelled", failed: "failed" };
const OUTCOME_TEXT = { correct: "right", "top-k": "in top-5", wrong: "wrong", unlabelled: "no label", failed: "failed" };

/** The ranked predictions as bars: the true class marked ✓, the top-1 red when it is wrong. */
export function renderBars(result, { ranks = false } = {}) {
  const list = h("ol", ranks ? "vw-bars vw-ranked" : "vw-bars");
  if (!result) return list;
  const wrongTop = result.outcome === "wrong" || result.outcome === "top-k";
  (result.top || []).forEach((item, i) => {
    const li = h("li", "vw-bar-line");
    if (item.truth) li.classList.add("vw-truth");
    else if (i === 0 && wrongTop) li.classList.add("vw-wrong-top");
    if (ranks) li.append(h("span", "vw-rank", `${i + 1}`));
    const label = h("span", "vw-bar-label", item.truth ? `✓ ${item.label}` : item.label);
    label.title = item.truth ? `${item.label} (the ground truth)` : item.label;
    const track = h("span", "vw-bar-track");
    const bar = h("span", "vw-bar");
    const score = typeof item.score === "number" && Number.isFinite(item.score) ? item.score : 0;
    bar.style.width = `${Math.max(0, Math.min(1, score)) * 100}%`;
    track.append(bar);
    li.append(label, track, h("span", "vw-bar-pct", percent(item.score)));
    list.append(li);
  });
  return list;
}

/** A failure in words, wrapped; a card cuts a very long one after a few lines, so the whole text is also its
 * title (and the detail view shows it uncut). */
function errorText(text, className = "vw-card-error") {
  const node = h("div", className, text);
  node.title = text;
  return node;
}

/** A card's badge: its outcome, or its mark when there is no result to show (not run, cancelled before it ran).
 * A result made with other settings (stale), or kept by a cancelled run, keeps its outcome, marked only by a
 * dashed outline and a title: the status line is the one global notice. */
export function markBadge(card) {
  const r = card.result;
  const old = Boolean(r) && (card.mark === "stale" || card.mark === "cancelled");
  const key = old || !card.mark ? (r ? r.outcome : "not run") : card.mark;
  const badge = h("span", `vw-mark vw-mark-${String(key).replace(/\s+/g, "-")}`,
    OUTCOME_TEXT[key] || MARK_TEXT[key] || key);
  if (old) {
    badge.classList.add("vw-mark-old");
    badge.title = card.mark === "stale" ? "stale: made with another model or frame count; Classify updates it"
      : "the run was cancelled before this clip: this result is an earlier one";
  } else if (key === "cancelled") badge.title = "the run was cancelled before this clip";
  return badge;
}

/** The note under the bars: the failure, or where the ground truth is when it is not among the bars. */
function resultNote(card) {
  const r = card.result;
  if (!r) return null;
  if (r.error) return errorText(`failed: ${r.error}`);
  if (r.truth && !(r.top || []).some((t) => t.truth)) {
    return h("div", "vw-muted vw-note", `truth not in the top ${(r.top || []).length}: ${r.truth}`);
  }
  return null;
}

/** One card's text parts (everything but the video), refreshed in place when results change. A failed preview
 * (``previewError``) is said here, in the card's text, unless the clip's result already says why it failed: one
 * message per card, the video box only says there is no preview. */
export function renderCardBody(card, previewError = null) {
  const body = h("div", "vw-card-body");
  const head = h("div", "vw-card-head");
  head.append(h("span", "vw-truth-label", card.label ?? "(no label)"));
  head.append(markBadge(card));
  body.append(head, h("div", "vw-name vw-muted", card.name));
  if (card.result && !card.result.error) body.append(renderBars(card.result));
  const note = resultNote(card);
  if (note) body.append(note);
  else if (previewError) body.append(errorText(previewError, "vw-card-error vw-preview-error"));
  return body;
}

/** Build one card: an aspect box with the video (muted play on hover, controls on click), the number, and the
 * body. ``onOpen`` opens the detail view. Returns {card, video, message, setBody(card), setPreviewError(text)}. */
export function renderCard(card, onOpen) {
  const node = h("div", "vw-card");
  node.dataset.clipId = card.id;
  const media = h("div", "vw-media");
  const video = document.createElement("video");
  video.muted = true;
  video.loop = true;
  video.preload = "metadata";
  video.playsInline = true;
  video.setAttribute("playsinline", "");
  const message = h("div", "vw-media-msg", card.available ? "loading video…" : "not downloaded");
  const number = h("span", "vw-number", `#${card.number}`);
  const open = button("vw-open", "⤢", "Open the detail view");
  media.append(video, message, number, open);
  node.append(media);
  let shown = card;
  let previewError = null;
  let body = renderCardBody(card);
  node.append(body);
  media.addEventListener("mouseenter", () => {
    if (video.src && video.paused && !video.controls) video.play()?.catch?.(() => {});
  });
  media.addEventListener("mouseleave", () => {
    if (!video.controls) video.pause();
  });
  video.addEventListener("click", () => {
    if (!video.controls) {
      video.controls = true;
      node.classList.add("vw-controls-on");
    }
  });
  open.addEventListener("click", () => onOpen(card.id));
  body.addEventListener("click", () => onOpen(card.id));
  function setBody(next) {
    shown = next;
    node.dataset.mark = next.mark || "";
    node.dataset.outcome = next.result ? next.result.outcome : "";
    number.textContent = `#${next.number}`;
    const fresh = renderCardBody(next, previewError);
    fresh.addEventListener("click", () => onOpen(next.id));
    body.replaceWith(fresh);
    body = fresh;
  }
  function setPreviewError(text) {
    previewError = text;
    message.className = "vw-media-msg vw-media-error";
    message.textContent = "⚠ no preview";
    message.title = text;
    setBody(shown);
  }
  setBody(card);
  return { card: node, video, message, setBody, setPreviewError };
}

/** The detail view of one clip: header with prev/next/close, a large player with an empty extension slot under
 * it (for the timeline), the full ranked predictions, and the numbered filmstrip of the model's frames. */
export function renderDetail(detail, { onClose, onMove, numFrames }) {
  const box = h("section", "vw-detail");
  box.tabIndex = 0;
  box.setAttribute("data-lm-suppress-shortcuts", "true");
  box.setAttribute("data-p-suppress-shortcuts", "true");
  box.dataset.clipId = detail.id;
  const head = h("div", "vw-detail-head");
  head.append(h("span", "vw-number-inline", `#${detail.number}`), h("span", "vw-detail-title", detail.label ?? "(no label)"),
    h("span", "vw-muted vw-detail-name", detail.name),
    h("span", "vw-muted vw-detail-pos", `${detail.position} of ${detail.total}`));
  head.append(markBadge(detail));
  const prev = button("vw-prev-clip", "←", "previous clip (←)");
  const next = button("vw-next-clip", "→", "next clip (→)");
  const close = button("vw-close", "✕", "close (Esc)");
  prev.disabled = !detail.prev_id;
  next.disabled = !detail.next_id;
  prev.addEventListener("click", () => detail.prev_id && onMove(detail.prev_id));
  next.addEventListener("click", () => detail.next_id && onMove(detail.next_id));
  close.addEventListener("click", onClose);
  head.append(h("span", "vw-spacer"), prev, next, close);

  const main = h("div", "vw-detail-main");
  const left = h("div", "vw-detail-left");
  const video = document.createElement("video");
  video.className = "vw-detail-video";
  video.controls = true;
  video.muted = true;
  video.loop = true;
  video.playsInline = true;
  const message = h("div", "vw-muted vw-media-msg-inline", detail.available ? "loading video…" : "not downloaded");
  const ext = h("div", "vw-detail-ext");  // extension slot: the timeline view goes here
  left.append(video, message, ext);
  const right = h("div", "vw-detail-right");
  right.append(h("div", "vw-section-title", detail.result && !detail.result.error
    ? `Top ${(detail.result.top || []).length} predictions` : "Predictions"));
  if (!detail.result) right.append(h("div", "vw-muted", "not classified yet"));
  else if (detail.result.error) right.append(h("div", "vw-card-error", `failed: ${detail.result.error}`));
  else right.append(renderBars(detail.result, { ranks: true }));
  const note = resultNote(detail);
  if (note && !(detail.result && detail.result.error)) right.append(note);
  main.append(left, right);

  const stripTitle = h("div", "vw-section-title", `The ${numFrames} frames the model receives`);
  const strip = h("div", "vw-filmstrip");
  strip.append(h("span", "vw-muted", detail.available ? `loading ${numFrames} frames…` : "not downloaded"));
  box.append(head, main, stripTitle, strip);
  box.addEventListener("keydown", (event) => {
    const key = event.key;
    if (key === "Escape") onClose();
    else if (key === "ArrowLeft" && detail.prev_id) onMove(detail.prev_id);
    else if (key === "ArrowRight" && detail.next_id) onMove(detail.next_id);
    else return;
    event.preventDefault();
    event.stopPropagation();
  });
  return { box, video, message, strip, stripTitle, ext };
}

/** The frames of a filmstrip reply as numbered figures. */
export function renderFilmstrip(strip, urls) {
  strip.replaceChildren(...urls.map((url, i) => {
    const fig = h("figure", "vw-frame");
    const img = document.createElement("img");
    img.alt = `frame ${i + 1}`;
    if (url) img.src = url;
    fig.append(img, h("figcaption", null, String(i + 1)));
    return fig;
  }));
}

const OUTCOMES = [
  ["all", "all outcomes"],
  ["correct", "right"],
  ["top-k", "in top-5"],
  ["wrong", "wrong"],
  ["failed", "failed"],
  ["unlabelled", "no label"],
  ["not run", "not run"],
];
const SORTS = [
  ["number", "by number"],
  ["-confidence", "most confident first"],
  ["confidence", "least confident first"],
  ["true", "by true class"],
  ["predicted", "by predicted class"],
];

function options(select, pairs) {
  select.replaceChildren(...pairs.map(([value, text]) => {
    const opt = h("option", null, text);
    opt.value = value;
    return opt;
  }));
}

/** The filter bar: outcome, true class, predicted class, minimum confidence, sort. ``onChange(spec)``. */
export function renderFilters(spec, classes, onChange) {
  const bar = h("div", "vw-filters");
  const outcome = h("select", "vw-filter-outcome");
  options(outcome, OUTCOMES);
  outcome.value = spec.outcome || "all";
  const truth = h("select", "vw-filter-true");
  options(truth, [["", "any true class"], ...classes.map((c) => [c, c])]);
  truth.value = spec.true ?? "";
  const pred = h("select", "vw-filter-predicted");
  options(pred, [["", "any prediction"], ...classes.map((c) => [c, c])]);
  pred.value = spec.predicted ?? "";
  const conf = h("input", "vw-filter-confidence");
  conf.type = "number";
  conf.min = "0";
  conf.max = "100";
  conf.step = "5";
  conf.value = spec.min_confidence ? String(Math.round(spec.min_confidence * 100)) : "0";
  conf.title = "minimum top-1 confidence (%)";
  const sort = h("select", "vw-filter-sort");
  options(sort, SORTS);
  sort.value = spec.sort || "number";
  const clear = button("vw-chip vw-filter-clear", "clear filters");
  const confBox = h("label", "vw-field");
  confBox.append(h("span", "vw-field-label", "conf ≥"), conf, h("span", "vw-muted", "%"));
  bar.append(outcome, truth, pred, confBox, sort, clear);
  function emit() {
    const next = {};
    if (outcome.value !== "all") next.outcome = outcome.value;
    if (truth.value) next.true = truth.value;
    if (pred.value) next.predicted = pred.value;
    const c = Math.max(0, Math.min(100, Number(conf.value) || 0));
    if (c > 0) next.min_confidence = c / 100;
    if (sort.value !== "number") next.sort = sort.value;
    onChange(next);
  }
  for (const control of [outcome, truth, pred, conf, sort]) control.addEventListener("change", emit);
  clear.addEventListener("click", () => onChange({}));
  return bar;
}

function render({ model, el }) {
  const root = h("div", "vw-root vw-player");
  const filterSlot = h("div", "vw-filter-slot");
  const countLine = h("div", "vw-row vw-grid-head");
  const countText = h("span", "vw-muted vw-visible-count");
  const prevPage = button("vw-prev", "‹", "previous page");
  const nextPage = button("vw-next", "›", "next page");
  const pageText = h("span", "vw-muted vw-page");
  countLine.append(countText, h("span", "vw-spacer"), prevPage, pageText, nextPage);
  const detailSlot = h("div", "vw-detail-slot");
  const grid = h("div", "vw-grid");
  const empty = h("div", "vw-muted vw-empty", "No clips selected.");
  root.append(filterSlot, countLine, detailSlot, empty, grid);
  el.appendChild(root);

  /** id -> {card, video, message, setBody, url} for the cards of this page */
  let entries = new Map();
  const queue = [];
  const inFlight = new Set();
  let detail = null; // {id, box, video, message, strip, urls: []}

  function pump() {
    while (inFlight.size < MAX_IN_FLIGHT && queue.length) {
      const id = queue.shift();
      if (!entries.has(id) && !(detail && detail.id === id)) continue;
      inFlight.add(id);
      model.send({ type: "video", id });
    }
  }

  function wantVideo(id) {
    if (!inFlight.has(id) && !queue.includes(id)) queue.push(id);
    pump();
  }

  function renderFilterBar() {
    filterSlot.replaceChildren(renderFilters(model.get("filter") || {}, model.get("classes") || [], (spec) => {
      model.set("filter", spec);
      model.set("page", 0);
      model.save_changes();
    }));
  }

  function renderCounts() {
    const total = model.get("num_clips") || 0;
    const visible = model.get("num_visible") || 0;
    const size = Math.max(1, model.get("page_size") || 1);
    const pages = Math.max(1, Math.ceil(visible / size));
    const page = model.get("page") || 0;
    countText.textContent = visible === total ? `${total} ${total === 1 ? "clip" : "clips"}`
      : `showing ${visible} of ${total} clips`;
    pageText.textContent = `page ${page + 1} of ${pages}`;
    prevPage.disabled = page <= 0;
    nextPage.disabled = page >= pages - 1;
    for (const n of [prevPage, nextPage, pageText]) n.classList.toggle("vw-hidden", pages <= 1);
    empty.classList.toggle("vw-hidden", total > 0);
    empty.textContent = total > 0 ? "" : "No clips selected.";
    filterSlot.classList.toggle("vw-hidden", total === 0);
    countLine.classList.toggle("vw-hidden", total === 0);
  }

  function renderCards() {
    const cards = model.get("cards") || [];
    const keep = new Map();
    const wanted = [];
    const columns = Math.max(1, Number(model.get("columns")) || 4);
    grid.style.gridTemplateColumns = `repeat(${columns}, minmax(0, 1fr))`;
    for (const card of cards) {
      let entry = entries.get(card.id);
      if (entry) {
        entry.setBody(card);
      } else {
        entry = { ...renderCard(card, openDetail), url: null };
        if (card.available) wanted.push(card.id);
      }
      keep.set(card.id, entry);
    }
    let dropped = false;
    for (const [id, entry] of entries) {
      if (!keep.has(id)) {
        if (detail && detail.id === id && entry.url) detail.urls.push(entry.url); // the detail view still plays it
        else revoke(entry.url);
        dropped = true;
      }
    }
    entries = keep;
    const before = queue.length;
    for (let i = queue.length - 1; i >= 0; i--) if (!entries.has(queue[i])) queue.splice(i, 1);
    if (dropped || queue.length !== before) model.send({ type: "cancel" });
    grid.replaceChildren(...[...entries.values()].map((e) => e.card));
    for (const id of wanted) wantVideo(id);
    renderCounts();
  }

  function openDetail(id) {
    model.set("detail_id", id);
    model.save_changes();
  }

  function closeDetail() {
    model.set("detail_id", "");
    model.save_changes();
  }

  function dropDetail() {
    if (!detail) return;
    detail.timeline?.destroy();
    detail.urls.forEach(revoke);
    detail.box.remove();
    detail = null;
  }

  function requestStrip() {
    if (!detail || !detail.available) return;
    detail.stripTitle.textContent = `The ${model.get("num_frames")} frames the model receives`;
    model.send({ type: "filmstrip", id: detail.id });
  }

  function renderDetailView() {
    const d = model.get("detail") || {};
    if (!d.id) {
      dropDetail();
      return;
    }
    const same = detail && detail.id === d.id;
    const hadFocus = detail && detail.box.contains(document.activeElement);
    const keepVideo = same ? detail.video : null;
    const keepStrip = same ? [...detail.strip.childNodes] : null;
    const keepUrls = same ? detail.urls : [];
    if (detail && !same) detail.urls.forEach(revoke);
    if (detail) {
      detail.timeline?.destroy();
      detail.box.remove();
    }
    const view = renderDetail(d, { onClose: closeDetail, onMove: openDetail, numFrames: model.get("num_frames") });
    detail = { id: d.id, available: d.available, urls: keepUrls, ...view };
    if (keepVideo) {
      view.video.replaceWith(keepVideo);
      detail.video = keepVideo;
      view.message.textContent = "";
    }
    if (keepStrip && keepStrip.length) view.strip.replaceChildren(...keepStrip);
    detail.timeline = mountTimelinePanel(view.ext, {
      video: detail.video,
      onRun: () => model.send({ type: "timeline", id: d.id }),
      onCancel: () => model.send({ type: "timeline_cancel" }),
    });
    renderTimelineState();
    detailSlot.replaceChildren(view.box);
    if (!same) {
      const card = entries.get(d.id);
      if (card && card.url) {
        detail.video.src = card.url;
        view.message.textContent = "";
      } else if (d.available) wantVideo(d.id);
      requestStrip();
    }
    if (!same || hadFocus) view.box.focus({ preventScroll: same });
    if (!same) view.box.scrollIntoView?.({ block: "nearest" });
  }

  /** Under the detail player: the preview failure, unless the predictions beside it already say why the clip
   * failed (then only that there is no preview). */
  function showDetailVideoError(text) {
    const failed = Boolean(model.get("detail")?.result?.error);
    detail.message.textContent = failed ? "⚠ no preview" : text;
    detail.message.title = text;
    detail.message.classList.toggle("vw-card-error", !failed);
  }

  function renderTimelineState() {
    if (!detail || !detail.timeline) return;
    const state = model.get("timeline") || {};
    detail.timeline.update(state.id === detail.id ? state : {});
  }

  function onMessage(msg, buffers) {
    if (!msg || typeof msg !== "object") return;
    const id = msg.id;
    if (msg.type === "video" || (msg.type === "error" && msg.request === "video")) {
      inFlight.delete(id);
      pump();
    }
    const entry = entries.get(id);
    const inDetail = detail && detail.id === id;
    if (msg.type === "video" && buffers && buffers.length) {
      const url = blobUrl(buffers[0], msg.mime || "video/mp4");
      if (entry) {
        revoke(entry.url);
        entry.url = url;
        if (url) entry.video.src = url;
        entry.message.textContent = "";
        entry.message.classList.add("vw-hidden");
      }
      if (inDetail) {
        if (url) detail.video.src = url;
        detail.message.textContent = "";
        if (!entry) detail.urls.push(url);
      }
      if (!entry && !inDetail) revoke(url);
    } else if (msg.type === "filmstrip" && inDetail) {
      if (msg.num_frames !== model.get("num_frames")) return;
      detail.urls.forEach((u) => {
        if (!entry || u !== entry.url) revoke(u);
      });
      const urls = (buffers || []).map((b) => blobUrl(b, msg.mime || "image/jpeg"));
      detail.urls = urls;
      renderFilmstrip(detail.strip, urls);
    } else if (msg.type === "error") {
      const text = `could not load ${msg.request === "filmstrip" ? "frames" : "video"}: ${msg.message}`;
      if (msg.request === "filmstrip" && inDetail) {
        detail.strip.replaceChildren(h("div", "vw-card-error", text));
      } else if (msg.request === "video") {
        if (entry) entry.setPreviewError(text);
        if (inDetail) showDetailVideoError(text);
      }
    }
  }

  prevPage.addEventListener("click", () => {
    model.set("page", Math.max(0, (model.get("page") || 0) - 1));
    model.save_changes();
  });
  nextPage.addEventListener("click", () => {
    model.set("page", (model.get("page") || 0) + 1);
    model.save_changes();
  });

  renderFilterBar();
  renderCards();
  renderDetailView();
  const listeners = [
    ["change:cards", renderCards],
    ["change:columns", renderCards],
    ["change:num_visible", renderCounts],
    ["change:num_clips", renderCounts],
    ["change:page", renderCounts],
    ["change:filter", renderFilterBar],
    ["change:classes", renderFilterBar],
    ["change:detail", renderDetailView],
    ["change:timeline", renderTimelineState],
    ["change:num_frames", requestStrip],
    ["msg:custom", onMessage],
  ];
  for (const [event, handler] of listeners) model.on(event, handler);

  return () => {
    for (const [event, handler] of listeners) model.off(event, handler);
    for (const entry of entries.values()) revoke(entry.url);
    if (detail) detail.urls.forEach(revoke);
  };
}

export default { render };
