// The camera's geometry editor: lines, zones and calibration points drawn on the camera's
// latest snapshot, checked live by central (the same rules a save is refused for, each
// problem shown next to its shape), saved as a new version and followed until the agent
// answers; earlier versions roll back with one click. Operators edit; viewers see the same
// picture and shapes read-only. Coordinates are the stream's frame pixels (the snapshot's
// `frame_width` × `frame_height`), whatever size the picture is shown at.
import { t, formatTime } from "./i18n.js";
import { h, api, roleAtLeast } from "./app.js";

const SVG = "http://www.w3.org/2000/svg";
const s = (tag, attrs = {}, ...children) => {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) if (v != null) el.setAttribute(k, v);
  for (const c of children) el.append(c);
  return el;
};
const round = (p) => [Math.round(p[0]), Math.round(p[1])];
const unique = (base, taken) => { let i = 1; while (taken.includes(`${base}-${i}`)) i++; return `${base}-${i}`; };

export async function editor(root, id) {
  const editable = roleAtLeast("operator");
  const base = `/api/v1/cameras/${encodeURIComponent(id)}`;
  const st = { geometry: { lines: [], zones: [] }, picture: null, mode: "select", selected: null, drawing: null, drag: null, problems: [], saved: null, dirty: false, checking: false };
  const message = h("p", { class: "notice", role: "status", "data-testid": "editor-message" });
  const problemsBox = h("ul", { class: "problems", "data-testid": "problems" });
  const stage = h("div", { class: "stage", "data-testid": "editor-stage" });
  const props = h("div", { class: "props" });
  const picture = h("img", { alt: t("editor.picture"), draggable: "false" });
  const versionBox = h("div", { "data-testid": "config-state" });
  const historyBox = h("div");
  const saveButton = h("button", { type: "button", "data-testid": "save-config", onclick: save }, t("editor.save"));
  const annotated = h("input", { type: "checkbox", "data-testid": "snapshot-annotated" });
  const tools = ["select", "line", "zone", "point"].map((m) =>
    h("button", { type: "button", "data-testid": `tool-${m}`, "data-mode": m, onclick: () => { finishZone(); st.mode = m; render(); } }, t(`editor.${m}`)));
  const toolbar = editable
    ? h("div", { class: "toolbar" },
      h("button", { type: "button", "data-testid": "snapshot-button", onclick: snapshot }, t("editor.snapshot")),
      h("label", { class: "inline" }, annotated, t("editor.annotated")), tools,
      h("button", { type: "button", "data-testid": "finish-zone", onclick: () => { finishZone(); render(); } }, t("editor.finish")),
      h("button", { type: "button", "data-testid": "delete-shape", onclick: remove }, t("editor.delete")), saveButton)
    : h("p", { class: "muted", "data-testid": "editor-readonly" }, t("editor.readonly"));
  root.append(h("h3", {}, t("editor")), toolbar, message, stage, props, problemsBox, versionBox, historyBox);

  async function snapshot() {
    message.textContent = t("editor.asking");
    try {
      await api(`${base}/snapshot`, { method: "POST", body: JSON.stringify({ annotated: annotated.checked }) });
      await loadPicture();
      message.textContent = t("editor.taken");
      check();
    } catch (e) { message.textContent = e.message; }
  }
  async function loadPicture() {
    try { st.picture = await api(`${base}/snapshot`); } catch (e) { if (e.status !== 404) throw e; st.picture = null; }
    render();
  }

  // Mouse positions in frame pixels: the SVG's viewBox is the frame, whatever its size on screen.
  const at = (svg, e) => { const p = new DOMPoint(e.clientX, e.clientY).matrixTransform(svg.getScreenCTM().inverse()); return round([p.x, p.y]); };
  function down(svg, e) {
    if (!editable) return;
    e.preventDefault();
    const p = at(svg, e), g = st.geometry;
    if (st.mode === "line") st.drawing = { kind: "line", a: p, b: p };
    else if (st.mode === "zone") { st.drawing ??= { kind: "zone", polygon: [] }; st.drawing.polygon.push(p); }
    else if (st.mode === "point") {
      g.calibration ??= { points: [] };
      g.calibration.points.push({ image: p, ground: [0, 0] });
      select({ kind: "point", i: g.calibration.points.length - 1 });
      changed();
    } else {
      const handle = e.target.dataset;
      if (handle.kind) { select({ kind: handle.kind, i: Number(handle.i) }); st.drag = { from: p, vertex: handle.v == null ? null : Number(handle.v) }; } else select(null);
    }
    render();
  }
  function move(svg, e) {
    const p = at(svg, e);
    if (st.drawing?.kind === "line") { st.drawing.b = p; render(); return; }
    if (!st.drag || !st.selected) return;
    const [dx, dy] = [p[0] - st.drag.from[0], p[1] - st.drag.from[1]];
    st.drag.from = p;
    const pts = points(st.selected);
    (st.drag.vertex == null ? pts : [pts[st.drag.vertex]]).forEach((q) => { q[0] += dx; q[1] += dy; });
    changed();
  }
  function up() {
    if (st.drawing?.kind === "line") {
      const { a, b } = st.drawing;
      st.geometry.lines.push({ name: unique("line", st.geometry.lines.map((l) => l.name)), a, b });
      st.drawing = null;
      select({ kind: "line", i: st.geometry.lines.length - 1 });
      changed();
    }
    st.drag = null;
  }
  function finishZone() {
    if (st.drawing?.kind !== "zone") return;
    const { polygon } = st.drawing;
    st.drawing = null;
    st.geometry.zones.push({ name: unique("zone", st.geometry.zones.map((z) => z.name)), polygon, lanes: 1 });
    select({ kind: "zone", i: st.geometry.zones.length - 1 });
    changed();
  }
  // The points of a shape, as the arrays stored in the geometry (moved in place).
  const points = (sel) => sel.kind === "line" ? [st.geometry.lines[sel.i].a, st.geometry.lines[sel.i].b]
    : sel.kind === "zone" ? st.geometry.zones[sel.i].polygon : [st.geometry.calibration.points[sel.i].image];
  function remove() {
    const sel = st.selected;
    if (!sel) return;
    const list = sel.kind === "line" ? st.geometry.lines : sel.kind === "zone" ? st.geometry.zones : st.geometry.calibration.points;
    list.splice(sel.i, 1);
    if (st.geometry.calibration && !st.geometry.calibration.points.length) delete st.geometry.calibration;
    select(null);
    changed();
  }
  function select(sel) { st.selected = sel; renderProps(); }

  let pending = null;
  function changed() { st.dirty = true; st.checking = true; render(); renderProps(); clearTimeout(pending); pending = setTimeout(check, 150); }
  // Central judges every draft with the rules a save must pass; the browser only shows them.
  async function check() {
    const draft = JSON.stringify(st.geometry);
    try {
      const problems = (await api(`${base}/config/check`, { method: "POST", body: draft })).problems;
      // An answer for an older draft is not this one's.
      if (draft === JSON.stringify(st.geometry)) { st.problems = problems; st.checking = false; }
    } catch (e) { message.textContent = e.message; }
    render();
  }
  async function save() {
    try {
      const saved = await api(`${base}/config`, { method: "PUT", body: JSON.stringify(st.geometry) });
      st.dirty = false;
      message.textContent = `${t("editor.saved")} v${saved.version}`;
      await follow(saved.version);
    } catch (e) {
      if (e.status === 422) st.problems = e.body?.problems ?? [];
      message.textContent = e.message;
      render();
    }
  }
  async function rollback(version) {
    try {
      const saved = await api(`${base}/config/rollback`, { method: "POST", body: JSON.stringify({ version }) });
      message.textContent = `${t("editor.rolledback")} v${version} → v${saved.version}`;
      await loadConfig(true);
      await follow(saved.version);
    } catch (e) { message.textContent = e.message; }
  }
  // Polls until the agent has the version in place (applied) or refused it, or 90 s
  // pass (an interval is at most a few minutes; the history row keeps its state).
  async function follow(version) {
    for (let i = 0; i < 180 && root.isConnected; i++) {
      await loadConfig(false);
      const v = st.saved.history.find((x) => x.version === version);
      if (v?.state === "accepted") message.textContent = `v${version}: ${t("editor.accepted")}`;
      if (v && v.state !== "pending" && v.state !== "accepted") return;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  async function loadConfig(adopt) {
    st.saved = await api(`${base}/config`);
    if (adopt && st.saved.geometry) { st.geometry = structuredClone(st.saved.geometry); st.dirty = false; select(null); }
    renderVersions();
    render();
  }

  function render() {
    // Only a draft central has checked and found nothing wrong with can be saved.
    saveButton.disabled = !st.dirty || st.checking || st.problems.length > 0;
    for (const b of tools) b.classList.toggle("on", b.dataset.mode === st.mode);
    problemsBox.replaceChildren(...st.problems.map((p) => h("li", { "data-path": p.path }, `${p.path}: ${p.message}`)));
    const pic = st.picture;
    if (!pic) { stage.replaceChildren(h("p", { class: "muted" }, t("editor.nopicture"))); return; }
    const svg = s("svg", { viewBox: `0 0 ${pic.frame_width} ${pic.frame_height}`, preserveAspectRatio: "none", "data-testid": "editor-canvas", class: editable ? "editable" : "" });
    svg.addEventListener("mousedown", (e) => down(svg, e));
    svg.addEventListener("mousemove", (e) => move(svg, e));
    svg.addEventListener("mouseup", up);
    svg.addEventListener("dblclick", () => { finishZone(); render(); });
    const unit = pic.frame_width / 200;
    const bad = (kind, i) => st.problems.filter((p) => p.path.startsWith(`${kind}[${i}]`) || p.path.startsWith(`${kind === "points" ? "calibration.points" : kind}[${i}]`));
    const sel = (kind, i) => st.selected?.kind === kind && st.selected.i === i;
    const note = (pt, probs) => probs.length ? s("text", { x: pt[0] + unit, y: pt[1] + 4 * unit, class: "problem", "font-size": 3 * unit }, probs[0].message) : "";
    const handle = (kind, i, v, pt) => s("circle", { cx: pt[0], cy: pt[1], r: 1.2 * unit, class: "handle", "data-kind": kind, "data-i": i, "data-v": v });
    st.geometry.zones.forEach((z, i) => {
      const probs = bad("zones", i);
      svg.append(s("polygon", { points: z.polygon.map((p) => p.join(",")).join(" "), class: `zone${probs.length ? " bad" : ""}${sel("zone", i) ? " selected" : ""}`, "data-kind": "zone", "data-i": i }),
        s("text", { x: z.polygon[0][0], y: z.polygon[0][1] - unit, class: "label zone-label", "font-size": 3 * unit }, z.name), note(z.polygon[0], probs));
      if (sel("zone", i)) z.polygon.forEach((p, v) => svg.append(handle("zone", i, v, p)));
    });
    st.geometry.lines.forEach((l, i) => {
      const probs = bad("lines", i);
      const [dx, dy] = [l.b[0] - l.a[0], l.b[1] - l.a[1]], len = Math.hypot(dx, dy) || 1, mid = [(l.a[0] + l.b[0]) / 2, (l.a[1] + l.b[1]) / 2];
      // Forward is the right-hand side of A→B on screen (y down): the normal (−dy, dx).
      const tip = [mid[0] - dy / len * 8 * unit, mid[1] + dx / len * 8 * unit];
      // The line, its arrow and its name all pick the line; a wide transparent stroke
      // under it makes a 3 px line easy to grab.
      const picks = { "data-kind": "line", "data-i": i };
      svg.append(s("line", { x1: l.a[0], y1: l.a[1], x2: l.b[0], y2: l.b[1], class: "hit", ...picks }),
        s("line", { x1: l.a[0], y1: l.a[1], x2: l.b[0], y2: l.b[1], class: `count-line${probs.length ? " bad" : ""}${sel("line", i) ? " selected" : ""}`, ...picks }),
        s("line", { x1: mid[0], y1: mid[1], x2: tip[0], y2: tip[1], class: "arrow", "marker-end": "url(#head)", ...picks }),
        s("text", { x: l.a[0], y: l.a[1] - unit, class: "label", "font-size": 3 * unit, ...picks }, `${l.name}${l.one_way ? ` (${l.one_way})` : ""}`), note(l.b, probs));
      if (sel("line", i)) [l.a, l.b].forEach((p, v) => svg.append(handle("line", i, v, p)));
    });
    (st.geometry.calibration?.points ?? []).forEach((p, i) => svg.append(s("circle", { cx: p.image[0], cy: p.image[1], r: 1.5 * unit, class: `survey${sel("point", i) ? " selected" : ""}`, "data-kind": "point", "data-i": i }),
      s("text", { x: p.image[0] + 2 * unit, y: p.image[1], class: "label", "font-size": 3 * unit }, `P${i + 1} (${p.ground.join(", ")} m)`)));
    if (st.drawing?.kind === "line") svg.append(s("line", { x1: st.drawing.a[0], y1: st.drawing.a[1], x2: st.drawing.b[0], y2: st.drawing.b[1], class: "count-line drawing" }));
    if (st.drawing?.kind === "zone") svg.append(s("polyline", { points: st.drawing.polygon.map((p) => p.join(",")).join(" "), class: "zone drawing" }));
    svg.prepend(s("defs", {}, s("marker", { id: "head", markerWidth: 6, markerHeight: 6, refX: 5, refY: 3, orient: "auto" }, s("path", { d: "M0,0 L6,3 L0,6 z", class: "arrow-head" }))));
    // One picture element, loaded once per snapshot: only the drawing is redrawn (the JPEG
    // is not cacheable, and a fresh element would collapse the stage while it loads).
    const src = `${base}/snapshot.jpg?r=${encodeURIComponent(pic.request_id)}`;
    if (picture.getAttribute("src") !== src) picture.setAttribute("src", src);
    stage.style.aspectRatio = `${pic.frame_width} / ${pic.frame_height}`;
    if (stage.firstChild !== picture) stage.replaceChildren(picture, svg); else stage.lastChild.replaceWith(svg);
    stage.dataset.frame = `${pic.frame_width}x${pic.frame_height}`;
  }

  // The selected shape's fields.
  function renderProps() {
    const sel = st.selected;
    if (!sel) return props.replaceChildren();
    const field = (label, input) => h("label", { class: "inline" }, t(label), input);
    const input = (attrs, set) => h("input", { ...attrs, disabled: !editable, onchange: (e) => { set(e.target); changed(); } });
    if (sel.kind === "line") {
      const l = st.geometry.lines[sel.i];
      const dir = h("select", { "data-testid": "prop-one-way", disabled: !editable, onchange: (e) => { if (e.target.value) l.one_way = e.target.value; else delete l.one_way; changed(); } },
        ["", "forward", "backward"].map((v) => h("option", { value: v, selected: (l.one_way ?? "") === v }, v ? t(`editor.${v}`) : t("editor.twoway"))));
      props.replaceChildren(field("name", input({ value: l.name, "data-testid": "prop-name" }, (el) => (l.name = el.value))), field("editor.oneway", dir));
    } else if (sel.kind === "zone") {
      const z = st.geometry.zones[sel.i];
      props.replaceChildren(field("name", input({ value: z.name, "data-testid": "prop-name" }, (el) => (z.name = el.value))),
        field("editor.lanes", input({ type: "number", min: 1, max: 20, value: z.lanes ?? 1 }, (el) => (z.lanes = Number(el.value)))),
        field("editor.nostop", input({ type: "number", min: 1, max: 3600, value: z.no_stopping_s ?? "" }, (el) => { if (el.value) z.no_stopping_s = Number(el.value); else delete z.no_stopping_s; })));
    } else {
      const p = st.geometry.calibration.points[sel.i];
      props.replaceChildren(field("editor.east", input({ type: "number", step: 0.01, value: p.ground[0] }, (el) => (p.ground[0] = Number(el.value)))),
        field("editor.north", input({ type: "number", step: 0.01, value: p.ground[1] }, (el) => (p.ground[1] = Number(el.value)))));
    }
  }

  function renderVersions() {
    const c = st.saved;
    const running = c.history.find((v) => v.version === c.running_version);
    versionBox.replaceChildren(h("p", {}, `${t("editor.latest")}: ${c.version ? `v${c.version}` : t("none")} · ${t("config.running")}: `,
      h("strong", { "data-testid": "running-version", "data-version": c.running_version }, c.running_version ? `v${c.running_version}` : t("config.file")),
      running ? ` (${formatTime(running.acked_ms)})` : ""));
    historyBox.replaceChildren(c.history.length ? h("table", {}, h("thead", {}, h("tr", {}, ["version", "editor.author", "time", "state", ""].map((k) => h("th", {}, t(k))))),
      h("tbody", {}, c.history.map((v) => h("tr", { "data-testid": "config-row", "data-version": v.version, "data-state": v.state },
        h("td", {}, `v${v.version}${v.rollback_of ? ` (${t("editor.of")} v${v.rollback_of})` : ""}`), h("td", {}, v.author), h("td", {}, formatTime(v.created_ms)),
        h("td", {}, v.state === "rejected" ? `${v.state}: ${(v.problems ?? []).map((p) => `${p.path}: ${p.message}`).join("; ")}` : v.state),
        h("td", {}, editable && v.version !== c.version ? h("button", { type: "button", "data-testid": `rollback-${v.version}`, onclick: () => rollback(v.version) }, t("editor.rollback")) : ""))))) : "");
  }

  await loadConfig(true);
  await loadPicture();
  if (st.picture) check();
}
