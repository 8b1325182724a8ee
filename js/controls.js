// ExplorerControls: the VideoExplorer toolbar — model, frames (slider + number box + presets), sample size,
// auto re-run, Classify / Cancel — and one status area with the single current state. Text only (textContent).

function h(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function field(text, ...controls) {
  const label = h("label", "vw-field");
  label.append(h("span", "vw-field-label", text), ...controls);
  return label;
}

const BUSY = new Set(["loading", "downloading", "classifying"]);
const PRESETS = [16, 32, 64, 128];

/** The frame presets for a model minimum and cap: [[label, value, title]]. */
export function framePresets(min, max) {
  const out = [[`min ${min}`, min, "the model's minimum"]];
  for (const n of PRESETS) if (n > min && n < max) out.push([String(n), n, `${n} frames`]);
  out.push(["all", max, `every frame, up to ${max}`]);
  return out;
}

function render({ model, el }) {
  const root = h("div", "vw-root vw-controls");

  const select = h("select", "vw-model");
  const slider = h("input", "vw-frames");
  slider.type = "range";
  slider.step = "1";
  const number = h("input", "vw-frames-number");
  number.type = "number";
  number.step = "1";
  number.setAttribute("aria-label", "frames");
  const presets = h("span", "vw-presets");
  const sample = h("input", "vw-sample-size");
  sample.type = "number";
  sample.min = "0";
  const auto = h("input", "vw-auto");
  auto.type = "checkbox";
  const classify = h("button", "vw-button vw-primary vw-classify", "Classify");
  classify.type = "button";
  const cancel = h("button", "vw-button vw-cancel", "Cancel");
  cancel.type = "button";

  const status = h("div", "vw-status-area");
  status.setAttribute("role", "status");
  status.setAttribute("aria-live", "polite");
  const dot = h("span", "vw-state-dot");
  const stateName = h("span", "vw-state-name");
  const message = h("span", "vw-state-message");
  // the message's details (what to do, then the technical rest): smaller, one line until "more" unfolds them
  const detailText = h("span", "vw-state-detail-text");
  const more = h("button", "vw-state-more");
  more.type = "button";
  const detail = h("div", "vw-state-detail vw-hidden");
  detail.append(detailText, more);
  const text = h("div", "vw-state-text");
  text.append(message, detail);
  const progress = h("progress", "vw-progress");
  progress.max = 1;
  status.append(dot, stateName, text, progress);

  const line = h("div", "vw-toolbar");
  const frames = h("span", "vw-frames-box");
  frames.append(slider, number, presets);
  const autoField = h("label", "vw-field vw-check");
  autoField.append(auto, h("span", null, "auto re-run"));
  // what wraps together on a narrow page: the run's size with auto re-run, and the two buttons
  const runBox = h("span", "vw-field-group");
  runBox.append(field("Clips", sample), autoField);
  const buttons = h("span", "vw-field-group vw-buttons");
  buttons.append(classify, cancel);
  line.append(field("Model", select), field("Frames", frames), runBox, h("span", "vw-spacer"), buttons);
  root.append(line, status);
  el.appendChild(root);

  function setFrames(n) {
    model.set("num_frames", Math.round(Number(n)));
    model.save_changes();
  }

  function renderOptions() {
    const options = model.get("model_options") || [];
    select.replaceChildren(...options.map(([label, value]) => {
      const opt = h("option", null, label);
      opt.value = String(value);
      return opt;
    }));
    select.value = model.get("model_name");
  }

  function renderFrames() {
    const min = Number(model.get("min_frames")) || 1;
    const max = Number(model.get("max_frames")) || 300;
    const n = Number(model.get("num_frames"));
    for (const input of [slider, number]) {
      input.min = String(min);
      input.max = String(max);
    }
    slider.value = String(n);
    if (document.activeElement !== number) number.value = String(n);
    presets.replaceChildren(...framePresets(min, max).map(([label, value, title]) => {
      const b = h("button", "vw-chip vw-preset", label);
      b.type = "button";
      b.title = title;
      b.dataset.frames = String(value);
      b.classList.toggle("vw-active", value === n);
      b.addEventListener("click", () => setFrames(value));
      return b;
    }));
  }

  function renderState() {
    select.value = model.get("model_name");
    sample.value = String(model.get("sample_size"));
    auto.checked = Boolean(model.get("auto_rerun"));
    const state = model.get("state") || "idle";
    const busy = BUSY.has(state);
    root.dataset.state = state;
    status.dataset.state = state;
    cancel.disabled = !busy;
    classify.disabled = busy || !model.get("has_clips");
    stateName.textContent = state;
    message.textContent = model.get("message") || "";
    const details = model.get("detail") || "";
    if (details !== detailText.textContent) detail.classList.remove("vw-unfolded"); // new details start folded
    detailText.textContent = details;
    detailText.title = details;
    detail.classList.toggle("vw-hidden", !details);
    renderMore();
    const p = Number(model.get("progress"));
    progress.classList.toggle("vw-hidden", !busy);
    if (Number.isFinite(p) && p >= 0) progress.value = Math.min(1, p);
    else progress.removeAttribute("value");
  }

  function renderMore() {
    const open = detail.classList.contains("vw-unfolded");
    more.textContent = open ? "less" : "more";
    more.setAttribute("aria-expanded", String(open));
    more.title = open ? "fold the details to one line" : "show the details in full";
  }
  more.addEventListener("click", () => {
    detail.classList.toggle("vw-unfolded");
    renderMore();
  });

  select.addEventListener("change", () => {
    model.set("model_name", select.value);
    model.save_changes();
  });
  slider.addEventListener("input", () => {
    number.value = slider.value;
  });
  slider.addEventListener("change", () => setFrames(slider.value));
  number.addEventListener("change", () => {
    const n = Math.round(Number(number.value));
    if (Number.isFinite(n)) setFrames(n);
    else renderFrames();
  });
  sample.addEventListener("change", () => {
    model.set("sample_size", Math.max(0, Math.floor(Number(sample.value) || 0)));
    model.save_changes();
  });
  auto.addEventListener("change", () => {
    model.set("auto_rerun", auto.checked);
    model.save_changes();
  });
  classify.addEventListener("click", () => model.send({ type: "classify" }));
  cancel.addEventListener("click", () => model.send({ type: "cancel" }));

  renderOptions();
  renderFrames();
  renderState();
  const listeners = [
    ["change:model_options", renderOptions],
    ["change:num_frames", renderFrames],
    ["change:min_frames", renderFrames],
    ["change:max_frames", renderFrames],
  ];
  for (const ev of ["model_name", "sample_size", "auto_rerun", "state", "message", "detail", "progress",
    "has_clips"]) {
    listeners.push([`change:${ev}`, renderState]);
  }
  for (const [ev, fn] of listeners) model.on(ev, fn);
  return () => {
    for (const [ev, fn] of listeners) model.off(ev, fn);
  };
}

export default { render };
