// ClipPlayer: a grid of playable clips. Video bytes arrive as binary buffers in reply to a request that names
// the clip by id only; every label, file name and error text is set with textContent, never parsed as HTML.

function h(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function blobUrl(buffer, mime) {
  if (typeof URL === "undefined" || typeof URL.createObjectURL !== "function") return null;
  return URL.createObjectURL(new Blob([buffer], { type: mime }));
}

function revoke(url) {
  if (url && typeof URL.revokeObjectURL === "function") URL.revokeObjectURL(url);
}

function render({ model, el }) {
  const root = h("div", "vw-root vw-player");
  const grid = h("div", "vw-grid");
  const empty = h("div", "vw-muted", "No clips selected.");
  const staleNote = h("div", "vw-badge vw-stale-badge vw-hidden",
    "predictions are stale: made with another model or frame count");
  root.append(empty, staleNote, grid);
  el.appendChild(root);

  /** @type {Map<string, {card: HTMLElement, video: HTMLVideoElement, message: HTMLElement, pred: HTMLElement,
   *  strip: HTMLElement, toggle: HTMLButtonElement, videoUrl: string|null, stripUrls: string[], open: boolean}>} */
  let cards = new Map();

  function clearStrip(entry) {
    entry.stripUrls.forEach(revoke);
    entry.stripUrls = [];
    entry.strip.replaceChildren();
  }

  function requestStrip(id) {
    const entry = cards.get(id);
    if (!entry) return;
    clearStrip(entry);
    entry.strip.append(h("span", "vw-muted", `loading ${model.get("num_frames")} frames…`));
    model.send({ type: "filmstrip", id });
  }

  function buildCard(clip) {
    const card = h("div", "vw-card");
    card.dataset.clipId = clip.id;
    const head = h("div", "vw-card-head");
    head.append(h("span", "vw-index", `#${clip.index}`));
    head.append(h("span", "vw-truth-label", clip.label ?? "(no label)"));
    const name = h("div", "vw-name vw-muted", clip.name);
    const video = document.createElement("video");
    video.controls = true;
    video.muted = true;
    video.loop = true;
    video.preload = "auto";
    video.playsInline = true;
    video.setAttribute("playsinline", "");
    const message = h("div", "vw-muted vw-message", clip.available ? "loading video…" : "not downloaded");
    const pred = h("div", "vw-pred");
    const toggle = h("button", "vw-toggle", "show frames");
    toggle.type = "button";
    toggle.title = "Show the frames the model receives (after crop and resampling)";
    toggle.disabled = !clip.available;
    const strip = h("div", "vw-strip vw-hidden");
    card.append(head, name, video, message, pred, toggle, strip);
    const entry = { card, video, message, pred, strip, toggle, videoUrl: null, stripUrls: [], open: false };
    toggle.addEventListener("click", () => {
      entry.open = !entry.open;
      toggle.textContent = entry.open ? "hide frames" : "show frames";
      strip.classList.toggle("vw-hidden", !entry.open);
      if (entry.open) requestStrip(clip.id);
      else clearStrip(entry);
    });
    return entry;
  }

  function renderClips() {
    for (const entry of cards.values()) {
      revoke(entry.videoUrl);
      entry.stripUrls.forEach(revoke);
    }
    cards = new Map();
    grid.replaceChildren();
    const clips = model.get("clips") || [];
    empty.classList.toggle("vw-hidden", clips.length > 0);
    for (const clip of clips) {
      const entry = buildCard(clip);
      cards.set(clip.id, entry);
      grid.appendChild(entry.card);
      if (clip.available) model.send({ type: "video", id: clip.id });
    }
    renderPredictions();
  }

  function renderColumns() {
    const columns = Math.max(1, Number(model.get("columns")) || 4);
    grid.style.gridTemplateColumns = `repeat(${columns}, minmax(0, 1fr))`;
  }

  function renderPredictions() {
    const predictions = model.get("predictions") || {};
    const stale = Boolean(model.get("stale"));
    root.classList.toggle("vw-stale", stale);
    staleNote.classList.toggle("vw-hidden", !stale);
    for (const [id, entry] of cards) {
      const p = predictions[id];
      entry.pred.className = "vw-pred";
      entry.pred.title = "";
      if (!p) {
        entry.pred.textContent = "";
      } else if (p.error) {
        entry.pred.classList.add("vw-failed");
        entry.pred.textContent = `failed: ${p.error}`;
      } else {
        entry.pred.classList.add(p.correct === true ? "vw-right" : p.correct === false ? "vw-wrong" : "vw-unknown");
        const pct = typeof p.score === "number" ? ` (${Math.round(p.score * 100)}%)` : "";
        entry.pred.textContent = `${p.top1}${pct}`;
        entry.pred.title = stale ? "stale: made with other settings" : "top-1 prediction";
      }
      entry.pred.dataset.correct = p && !p.error ? String(p.correct) : "";
    }
  }

  function onMessage(msg, buffers) {
    if (!msg || typeof msg !== "object") return;
    const entry = cards.get(msg.id);
    if (!entry) return;
    if (msg.type === "video" && buffers && buffers.length) {
      revoke(entry.videoUrl);
      entry.videoUrl = blobUrl(buffers[0], msg.mime || "video/mp4");
      if (entry.videoUrl) entry.video.src = entry.videoUrl;
      entry.message.textContent = "";
    } else if (msg.type === "filmstrip") {
      if (!entry.open || msg.num_frames !== model.get("num_frames")) return;
      clearStrip(entry);
      const caption = h("div", "vw-muted", `${msg.num_frames} frames the model receives`);
      caption.style.width = "100%";
      entry.strip.append(caption);
      (buffers || []).forEach((buffer, i) => {
        const img = document.createElement("img");
        img.alt = `frame ${i + 1}`;
        img.title = `frame ${i + 1} of ${msg.num_frames}`;
        const url = blobUrl(buffer, msg.mime || "image/jpeg");
        if (url) {
          entry.stripUrls.push(url);
          img.src = url;
        }
        entry.strip.append(img);
      });
    } else if (msg.type === "error") {
      const text = `could not load ${msg.request === "filmstrip" ? "frames" : "video"}: ${msg.message}`;
      if (msg.request === "filmstrip") {
        clearStrip(entry);
        entry.strip.append(h("div", "vw-error", text));
      } else {
        entry.message.className = "vw-error vw-message";
        entry.message.textContent = text;
      }
    }
  }

  function onFrames() {
    for (const [id, entry] of cards) if (entry.open) requestStrip(id);
  }

  renderColumns();
  renderClips();
  const listeners = [
    ["change:clips", renderClips],
    ["change:columns", renderColumns],
    ["change:predictions", renderPredictions],
    ["change:stale", renderPredictions],
    ["change:num_frames", onFrames],
    ["msg:custom", onMessage],
  ];
  for (const [event, handler] of listeners) model.on(event, handler);

  return () => {
    for (const [event, handler] of listeners) model.off(event, handler);
    for (const entry of cards.values()) {
      revoke(entry.videoUrl);
      entry.stripUrls.forEach(revoke);
    }
  };
}

export default { render };
