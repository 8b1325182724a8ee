// ExplorerControls: the VideoExplorer toolbar — model dropdown, frame-count slider, sample size, Classify /
// Cancel, progress bar, status and error line. Option labels, status and errors are rendered as text only.

function h(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function labelled(text, control) {
  const label = h("label", "vw-row");
  label.append(h("span", null, text), control);
  return label;
}

function render({ model, el }) {
  const root = h("div", "vw-root vw-controls");

  const select = document.createElement("select");
  select.className = "vw-model";
  const slider = document.createElement("input");
  slider.type = "range";
  slider.className = "vw-frames";
  slider.step = "1";
  const framesOut = h("output", "vw-frames-value");
  const sample = document.createElement("input");
  sample.type = "number";
  sample.min = "0";
  sample.className = "vw-sample-size";
  const auto = document.createElement("input");
  auto.type = "checkbox";
  auto.className = "vw-auto";
  const classify = h("button", "vw-classify", "Classify");
  classify.type = "button";
  const cancel = h("button", "vw-cancel", "Cancel");
  cancel.type = "button";
  const progress = document.createElement("progress");
  progress.className = "vw-progress";
  progress.max = 1;
  const progressText = h("span", "vw-muted vw-progress-text");
  const stale = h("span", "vw-badge vw-stale-badge vw-hidden", "predictions stale — press Classify");
  const status = h("div", "vw-muted vw-status");
  const error = h("div", "vw-error");
  error.setAttribute("role", "alert");

  const framesBox = h("span", "vw-row");
  framesBox.append(slider, framesOut);
  const line1 = h("div", "vw-row");
  line1.append(labelled("Model", select), labelled("Frames", framesBox), labelled("Sample size", sample),
    labelled("auto re-run", auto));
  const line2 = h("div", "vw-row");
  line2.append(classify, cancel, progress, progressText, stale);
  root.append(line1, line2, status, error);
  el.appendChild(root);

  function renderOptions() {
    const options = model.get("model_options") || [];
    select.replaceChildren(...options.map(([label, value]) => {
      const opt = document.createElement("option");
      opt.value = String(value);
      opt.textContent = String(label);
      return opt;
    }));
    select.value = model.get("model_name");
  }

  function renderFrames() {
    slider.min = String(model.get("min_frames"));
    slider.max = String(model.get("max_frames"));
    slider.value = String(model.get("num_frames"));
    framesOut.textContent = String(model.get("num_frames"));
  }

  function renderState() {
    select.value = model.get("model_name");
    sample.value = String(model.get("sample_size"));
    auto.checked = Boolean(model.get("auto_rerun"));
    const running = Boolean(model.get("running"));
    cancel.disabled = !running;
    root.classList.toggle("vw-running", running);
    const p = Number(model.get("progress")) || 0;
    progress.value = Math.max(0, Math.min(1, p));
    progressText.textContent = model.get("progress_text") || "";
    stale.classList.toggle("vw-hidden", !model.get("stale"));
    status.textContent = model.get("status") || "";
    error.textContent = model.get("error") || "";
  }

  select.addEventListener("change", () => {
    model.set("model_name", select.value);
    model.save_changes();
  });
  slider.addEventListener("input", () => {
    framesOut.textContent = slider.value;
  });
  slider.addEventListener("change", () => {
    model.set("num_frames", Number(slider.value));
    model.save_changes();
  });
  sample.addEventListener("change", () => {
    const n = Math.max(0, Math.floor(Number(sample.value) || 0));
    model.set("sample_size", n);
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
  const frameEvents = ["change:num_frames", "change:min_frames", "change:max_frames"];
  const stateEvents = ["change:model_name", "change:sample_size", "change:auto_rerun", "change:running",
    "change:progress", "change:progress_text", "change:stale", "change:status", "change:error"];
  model.on("change:model_options", renderOptions);
  for (const ev of frameEvents) model.on(ev, renderFrames);
  for (const ev of stateEvents) model.on(ev, renderState);
  return () => {
    model.off("change:model_options", renderOptions);
    for (const ev of frameEvents) model.off(ev, renderFrames);
    for (const ev of stateEvents) model.off(ev, renderState);
  };
}

export default { render };
