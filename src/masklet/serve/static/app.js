// The annotation page: projects and media, frame scrubber, click / box tools, objects,
// propagation with progress, undo / redo, suggestions, exports. State lives on the server;
// this page keeps a copy of the masks shown and redraws from it.
import { call, download, events, frameUrl, upload } from "./api.js";
import { drawBox, drawClicks, drawMasks, drawSuggestions, hexColor, suggestionAt } from "./overlay.js";

const $ = (id) => document.getElementById(id);
const state = {
  projects: [], project: null, mediaList: [], media: null, frame: 0, objects: [], active: null,
  masks: new Map(), // frame -> Map(obj_id -> {counts, score})
  clicks: new Map(), // `${frame}:${obj}` -> [{x, y, label}] (this page's clicks, for display)
  tool: "point", drag: null, suggestions: null, job: null, source: null, playing: null,
  jobsFinished: 0, // propagations this page followed to their end
  loading: true, // a media is being opened: clicks and keys wait
};
window.masklet = state; // for tests and the console

function showError(error) {
  $("error-text").textContent = error.message || String(error);
  $("error").hidden = false;
}

async function guarded(action) {
  try { await action(); } catch (error) { showError(error); }
}

function setStatus(text) { $("status").textContent = text; }

// ---------------------------------------------------------------- drawing

function objectColor(objId) {
  const obj = state.objects.find((o) => o.obj_id === objId);
  return obj ? hexColor(obj.color) : [255, 255, 255];
}

function redraw() {
  const m = state.media;
  const canvas = $("overlay");
  if (!m) return;
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const shown = state.masks.get(state.frame) || new Map();
  const live = new Set(state.objects.filter((o) => !o.removed).map((o) => o.obj_id));
  const masks = [...shown.entries()].filter(([id]) => live.has(id))
    .map(([id, v]) => ({ counts: v.counts, color: objectColor(id), visible: v.score > 0 }));
  drawMasks(ctx, masks, m.height, m.width);
  if (state.suggestions && state.suggestions.frame === state.frame) drawSuggestions(ctx, state.suggestions.items, m.height, m.width);
  for (const o of state.objects) {
    drawClicks(ctx, state.clicks.get(`${state.frame}:${o.obj_id}`) || [], o.color);
  }
  drawBox(ctx, state.drag && state.drag.box);
  renderObjects();
  renderTimeline();
}

// One row per object, one column per frame: visible (its colour), occluded (grey), no mask (empty);
// the current frame is marked.
function renderTimeline() {
  const canvas = $("timeline");
  const m = state.media;
  const rows = state.objects.filter((o) => !o.removed);
  canvas.width = m ? m.num_frames : 0;
  canvas.height = rows.length * 6;
  canvas.style.height = `${canvas.height * 2}px`; // stretched across the width, 12 px per object
  if (!m) return;
  const ctx = canvas.getContext("2d");
  rows.forEach((o, r) => {
    for (let t = 0; t < m.num_frames; t++) {
      const mask = (state.masks.get(t) || new Map()).get(o.obj_id);
      if (!mask) continue;
      ctx.fillStyle = mask.score > 0 ? o.color : "#777";
      ctx.fillRect(t, r * 6 + 1, 1, 4);
    }
  });
  ctx.fillStyle = "rgba(255,255,255,0.5)";
  ctx.fillRect(state.frame, 0, 1, canvas.height);
}

function renderObjects() {
  const list = $("objects");
  list.replaceChildren();
  const shown = state.masks.get(state.frame) || new Map();
  state.objects.forEach((o, i) => {
    const li = document.createElement("li");
    li.dataset.objId = o.obj_id;
    li.className = (o.obj_id === state.active ? "active " : "") + (o.removed ? "removed" : "");
    const mask = shown.get(o.obj_id);
    const vis = !mask ? "-" : mask.score > 0 ? "visible" : "occluded";
    li.innerHTML = `<span class="swatch" style="background:${o.color}"></span><span></span>` +
      `<span class="vis">${vis}</span><button title="Remove object">x</button>`;
    li.children[1].textContent = `${i < 9 ? i + 1 + ". " : ""}${o.name}`;
    li.onclick = () => { state.active = o.obj_id; redraw(); };
    li.querySelector("button").onclick = (e) => { e.stopPropagation(); guarded(() => removeObject(o.obj_id)); };
    list.append(li);
  });
}

function showFrame(t) {
  const m = state.media;
  if (!m) return;
  state.frame = Math.max(0, Math.min(m.num_frames - 1, t));
  $("frame").src = frameUrl(m.id, state.frame);
  $("scrubber").value = state.frame;
  $("frame-label").textContent = `${state.frame + 1} / ${m.num_frames}`;
  redraw();
}

// ---------------------------------------------------------------- loading

function storeMasks(list) {
  for (const m of list) {
    if (!state.masks.has(m.frame_idx)) state.masks.set(m.frame_idx, new Map());
    state.masks.get(m.frame_idx).set(m.obj_id, { counts: m.counts, score: m.score });
  }
}

async function loadMasks() {
  const shown = await call("GET", `/api/media/${state.media.id}/masks`);
  state.masks = new Map();
  storeMasks(shown.masks);
}

async function loadObjects() {
  state.objects = await call("GET", `/api/media/${state.media.id}/objects`);
  const live = state.objects.filter((o) => !o.removed);
  if (!live.some((o) => o.obj_id === state.active)) state.active = live.length ? live[live.length - 1].obj_id : null;
}

async function refreshHistory() {
  const h = await call("GET", `/api/media/${state.media.id}/history`);
  $("undo").disabled = !h.can_undo;
  $("redo").disabled = !h.can_redo;
}

async function openMedia(mediaId) {
  state.loading = true;
  try {
    await loadMediaState(mediaId);
  } finally {
    state.loading = false;
  }
}

async function loadMediaState(mediaId) {
  stopPlaying();
  state.media = state.mediaList.find((m) => m.id === mediaId) || null;
  state.masks = new Map(); state.clicks = new Map(); state.suggestions = null; state.objects = [];
  const m = state.media;
  if (!m) { redraw(); renderTimeline(); return; }
  const canvas = $("overlay");
  canvas.width = m.width; canvas.height = m.height;
  // Both attributes, so the stage (and the overlay over it) has its size before the first frame loads.
  $("frame").width = m.width; $("frame").height = m.height;
  $("scrubber").max = m.num_frames - 1;
  await Promise.all([loadObjects(), loadMasks(), refreshHistory()]);
  const job = await call("GET", `/api/media/${m.id}/propagation`);
  if (job && (job.state === "queued" || job.state === "running")) follow(job);
  showFrame(0);
  setStatus(`${m.name}: ${m.num_frames} frames, ${m.width}x${m.height}`);
}

async function loadMedia(selectId) {
  state.mediaList = state.project ? await call("GET", `/api/projects/${state.project.id}/media`) : [];
  const select = $("media");
  select.replaceChildren(...state.mediaList.map((m) => new Option(`${m.name} (${m.num_frames})`, m.id)));
  const chosen = selectId ?? (state.mediaList[0] && state.mediaList[0].id);
  if (chosen !== undefined) select.value = chosen;
  await openMedia(chosen);
}

async function loadProjects(selectId) {
  state.projects = await call("GET", "/api/projects");
  const select = $("project");
  select.replaceChildren(...state.projects.map((p) => new Option(p.name, p.id)));
  state.project = state.projects.find((p) => p.id === selectId) || state.projects[0] || null;
  if (state.project) select.value = state.project.id;
  await loadMedia();
}

// ---------------------------------------------------------------- prompts

async function ensureObject() {
  if (state.active !== null) return state.active;
  const obj = await call("POST", `/api/media/${state.media.id}/objects`, {});
  state.objects.push(obj);
  state.active = obj.obj_id;
  return obj.obj_id;
}

function applyPrompt(result) {
  const frame = new Map();
  for (const m of result.masks) frame.set(m.obj_id, { counts: m.counts, score: m.score });
  state.masks.set(result.frame_idx, frame);
}

async function click(x, y, label) {
  const objId = await ensureObject();
  const key = `${state.frame}:${objId}`;
  const earlier = state.clicks.get(key) || [];
  const result = await call("POST", `/api/media/${state.media.id}/objects/${objId}/clicks`, {
    frame_idx: state.frame, points: [[x, y]], labels: [label], clear_old_points: false,
  });
  state.clicks.set(key, [...earlier, { x, y, label }]);
  applyPrompt(result);
  await refreshHistory();
  redraw();
}

async function box(b) {
  const objId = await ensureObject();
  const result = await call("POST", `/api/media/${state.media.id}/objects/${objId}/clicks`, {
    frame_idx: state.frame, box: b, clear_old_points: true,
  });
  state.clicks.delete(`${state.frame}:${objId}`);
  applyPrompt(result);
  await refreshHistory();
  redraw();
}

async function newObject() {
  const obj = await call("POST", `/api/media/${state.media.id}/objects`, {});
  state.objects.push(obj);
  state.active = obj.obj_id;
  redraw();
}

async function removeObject(objId) {
  await call("DELETE", `/api/media/${state.media.id}/objects/${objId}`);
  await loadObjects();
  await refreshHistory();
  redraw();
}

async function moveHistory(which) {
  await call("POST", `/api/media/${state.media.id}/${which}`);
  state.clicks = new Map();
  await Promise.all([loadObjects(), loadMasks(), refreshHistory()]);
  redraw();
}

async function suggest() {
  setStatus("segmenting everything on this frame...");
  const found = await call("GET", `/api/media/${state.media.id}/frames/${state.frame}/suggestions`);
  state.suggestions = { frame: state.frame, items: found.suggestions };
  setStatus(`${found.suggestions.length} suggestions: click one to make it an object`);
  redraw();
}

async function accept(suggestion) {
  const result = await call("POST", `/api/media/${state.media.id}/frames/${state.frame}/suggestions/accept`,
    { index: suggestion.index });
  state.objects.push(result.object);
  state.active = result.object.obj_id;
  state.suggestions = null;
  applyPrompt(result.prompt);
  await refreshHistory();
  redraw();
}

// ---------------------------------------------------------------- propagation

function setPropagating(running) {
  for (const id of ["prop-forward", "prop-backward", "prop-both", "undo", "redo"]) $(id).disabled = running;
  $("prop-cancel").disabled = !running;
}

function follow(job) {
  state.job = job;
  setPropagating(true);
  const source = events(job.job_id);
  state.source = source;
  const progress = (d) => {
    $("progress").max = d.frames_total || 1;
    $("progress").value = d.frames_done;
    $("progress-label").textContent = `${d.state} ${d.frames_done}/${d.frames_total ?? "?"}`;
  };
  source.addEventListener("frame", (e) => {
    const d = JSON.parse(e.data);
    const frame = new Map();
    for (const m of d.masks) frame.set(m.obj_id, { counts: m.counts, score: m.score });
    state.masks.set(d.frame_idx, frame);
    progress(d);
    if (d.frame_idx === state.frame) redraw(); else renderTimeline();
  });
  source.addEventListener("state", (e) => {
    const d = JSON.parse(e.data);
    progress(d);
    if (!["queued", "running"].includes(d.state)) {
      source.close();
      state.job = null;
      state.jobsFinished += 1;
      setPropagating(false);
      if (d.state === "failed") showError(new Error(`propagation failed: ${d.error}`));
      guarded(refreshHistory);
      redraw();
    }
  });
  source.onerror = () => {
    if (state.job === job) { source.close(); state.job = null; setPropagating(false); showError(new Error("lost the propagation's event stream; reload the page")); }
  };
}

async function propagate(direction) {
  const job = await call("POST", `/api/media/${state.media.id}/propagations`, { direction, start_frame: state.frame });
  follow(job);
}

// ---------------------------------------------------------------- exports, playback

async function exportAs(format) {
  setStatus(`exporting ${format}...`);
  const { name, blob } = await download(`/api/projects/${state.project.id}/export?format=${format}&media_id=${state.media.id}`);
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = name;
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 10000);
  setStatus(`exported ${name}`);
}

function stopPlaying() {
  if (state.playing) clearInterval(state.playing);
  state.playing = null;
  $("play").textContent = "Play";
}

function togglePlay() {
  if (state.playing) return stopPlaying();
  if (!state.media) return;
  $("play").textContent = "Pause";
  state.playing = setInterval(() => showFrame((state.frame + 1) % state.media.num_frames), 1000 / (state.media.fps || 10));
}

// ---------------------------------------------------------------- events

function imagePoint(event) {
  const rect = $("overlay").getBoundingClientRect();
  return [(event.clientX - rect.left) * state.media.width / rect.width,
          (event.clientY - rect.top) * state.media.height / rect.height];
}

function setTool(tool) {
  state.tool = tool;
  $("tool-point").classList.toggle("active", tool === "point");
  $("tool-box").classList.toggle("active", tool === "box");
}

function wire() {
  $("error-close").onclick = () => { $("error").hidden = true; };
  $("project").onchange = (e) => guarded(async () => { state.project = state.projects.find((p) => p.id === +e.target.value); await loadMedia(); });
  $("media").onchange = (e) => guarded(() => openMedia(+e.target.value));
  $("new-project").onclick = () => guarded(async () => {
    const name = prompt("Project name", "new project");
    if (name) { const p = await call("POST", "/api/projects", { name }); await loadProjects(p.id); }
  });
  for (const id of ["upload", "upload-folder"]) {
    $(id).onchange = (e) => guarded(async () => {
      if (!e.target.files.length) return;
      if (!state.project) state.project = await call("POST", "/api/projects", { name: "my project" });
      setStatus("uploading...");
      const media = await upload(state.project.id, [...e.target.files]);
      e.target.value = "";
      await loadProjects(state.project.id);
      await loadMedia(media.id);
    });
  }
  $("scrubber").oninput = (e) => showFrame(+e.target.value);
  $("play").onclick = togglePlay;
  $("tool-point").onclick = () => setTool("point");
  $("tool-box").onclick = () => setTool("box");
  $("add-object").onclick = () => guarded(newObject);
  $("undo").onclick = () => guarded(() => moveHistory("undo"));
  $("redo").onclick = () => guarded(() => moveHistory("redo"));
  $("suggest").onclick = () => guarded(suggest);
  $("prop-forward").onclick = () => guarded(() => propagate("forward"));
  $("prop-backward").onclick = () => guarded(() => propagate("backward"));
  $("prop-both").onclick = () => guarded(() => propagate("both"));
  $("prop-cancel").onclick = () => guarded(async () => { if (state.job) await call("POST", `/api/propagations/${state.job.job_id}/cancel`); });
  $("exports").replaceChildren(...["coco", "davis", "sav", "yolo", "mp4"].map((f) => {
    const b = document.createElement("button");
    b.textContent = f.toUpperCase();
    b.id = `export-${f}`;
    b.onclick = () => guarded(() => exportAs(f));
    return b;
  }));

  const overlay = $("overlay");
  overlay.oncontextmenu = (e) => e.preventDefault();
  overlay.onmousedown = (e) => {
    if (!state.media || state.job || state.loading) return;
    const [x, y] = imagePoint(e);
    if (state.suggestions && state.suggestions.frame === state.frame) {
      const hit = suggestionAt(state.suggestions.items, x, y, state.media.height, state.media.width);
      if (hit) { guarded(() => accept(hit)); return; }
    }
    if (state.tool === "box") { state.drag = { start: [x, y], box: null }; return; }
    const negative = e.button === 2 || e.shiftKey;
    guarded(() => click(x, y, negative ? 0 : 1));
  };
  overlay.onmousemove = (e) => {
    if (!state.drag) return;
    const [x, y] = imagePoint(e);
    const [x0, y0] = state.drag.start;
    state.drag.box = [Math.min(x0, x), Math.min(y0, y), Math.max(x0, x), Math.max(y0, y)];
    redraw();
  };
  window.addEventListener("mouseup", () => {
    if (!state.drag) return;
    const b = state.drag.box;
    state.drag = null;
    if (b && b[2] - b[0] > 2 && b[3] - b[1] > 2) guarded(() => box(b)); else redraw();
  });

  window.addEventListener("keydown", (e) => {
    if (e.target.tagName === "INPUT" && e.target.type !== "range") return;
    if (!state.media || state.loading) return;
    const key = e.key.toLowerCase();
    if ((e.ctrlKey || e.metaKey) && key === "z") { e.preventDefault(); guarded(() => moveHistory(e.shiftKey ? "redo" : "undo")); }
    else if ((e.ctrlKey || e.metaKey) && key === "y") { e.preventDefault(); guarded(() => moveHistory("redo")); }
    else if (e.key === "ArrowRight") { e.preventDefault(); showFrame(state.frame + 1); }
    else if (e.key === "ArrowLeft") { e.preventDefault(); showFrame(state.frame - 1); }
    else if (e.key === " ") { e.preventDefault(); togglePlay(); }
    else if (key === "p") setTool("point");
    else if (key === "b") setTool("box");
    else if (key === "n") guarded(newObject);
    else if (key === "s") guarded(suggest);
    else if (key === "f" && !state.job) guarded(() => propagate("forward"));
    else if (e.key === "Escape") { if (state.job) guarded(() => call("POST", `/api/propagations/${state.job.job_id}/cancel`)); state.suggestions = null; redraw(); }
    else if (/^[1-9]$/.test(e.key)) {
      const obj = state.objects[+e.key - 1];
      if (obj && !obj.removed) { state.active = obj.obj_id; redraw(); }
    }
  });
}

wire();
guarded(() => loadProjects());
