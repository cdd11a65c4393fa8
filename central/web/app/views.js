// The dashboard's views. Each renders into `root`, subscribes to live events it cares
// about, and returns a cleanup function.
import { t, formatTime, timeAxis } from "./i18n.js";
import { h, api, onLive, roleAtLeast, refreshBadge } from "./app.js";
import { editor } from "./editor.js";

const CLASSES = ["car", "motorcycle", "bus", "truck", "bicycle"];
const CLASS_COLOURS = { car: "#1f77b4", motorcycle: "#d62728", bus: "#2ca02c", truck: "#9467bd", bicycle: "#ff7f0e" };
const LEVEL_COLOURS = { A: "#1a9850", B: "#66bd63", C: "#d9ef8b", D: "#fdae61", E: "#f46d43", F: "#a50026" };
const STATUS_COLOURS = { online: "#1a9850", degraded: "#f0a30a", offline: "#d7191c", silent: "#d7191c", unknown: "#8c8c8c" };

const status = (s) => h("span", { class: `status st-${s}`, "data-status": s }, t(`st.${s}`));
// Badge colours (text on background, WCAG AA) live in style.css as .lvl-A … .lvl-F.
const level = (l) => (l ? h("span", { class: `level lvl-${l}` }, l) : t("none"));
const pct = (x) => `${Math.round((x ?? 0) * 100)} %`;
const secs = (ms) => (ms == null ? t("none") : `${(ms / 1000).toFixed(0)} ${t("seconds")}`);
const table = (cols, rows, attrs = {}) =>
  h("table", attrs, h("thead", {}, h("tr", {}, cols.map((c) => h("th", {}, t(c))))), h("tbody", {}, rows));

function overview(root) {
  const mapEl = h("div", { id: "map", "aria-label": "map" });
  const camBody = h("div");
  const junBody = h("div");
  root.append(h("section", { class: "overview" }, mapEl, h("div", { class: "lists" }, h("h2", {}, t("cameras")), camBody, h("h2", {}, t("junctions")), junBody)));
  // A schematic: no tile layer, so nothing is fetched from the internet.
  const map = L.map(mapEl, { zoomControl: true, attributionControl: false });
  const layer = L.layerGroup().addTo(map);
  let fitted = false;
  async function load() {
    const o = await api("/api/v1/overview");
    layer.clearLayers();
    const points = [];
    for (const c of o.cameras) {
      if (c.lat == null) continue;
      const colour = c.status === "online" && c.level ? LEVEL_COLOURS[c.level] : STATUS_COLOURS[c.status];
      L.circleMarker([c.lat, c.lon], { radius: 9, color: STATUS_COLOURS[c.status], weight: 3, fillColor: colour, fillOpacity: 0.9 })
        .bindTooltip(`${c.camera_id} ${c.name} · ${t(`st.${c.status}`)}${c.level ? ` · ${c.level}` : ""}`, { permanent: true, direction: "right", className: "marker-label" })
        .on("click", () => (location.hash = `#/camera/${encodeURIComponent(c.camera_id)}`))
        .addTo(layer);
      points.push([c.lat, c.lon]);
    }
    for (const j of o.junctions) {
      if (j.lat == null) continue;
      // A class, not an inline style: the CSP allows no style attributes.
      const kind = j.rejected ? "jn-rejected" : j.source === "central" ? "jn-central" : "jn-local";
      L.marker([j.lat, j.lon], { icon: L.divIcon({ className: `junction-icon ${kind}`, html: "<span></span>", iconSize: [18, 18] }) })
        .bindTooltip(j.junction_id, { direction: "top" })
        .on("click", () => (location.hash = `#/junction/${encodeURIComponent(j.junction_id)}`))
        .addTo(layer);
      points.push([j.lat, j.lon]);
    }
    if (!fitted && points.length) {
      map.fitBounds(points, { padding: [60, 60], maxZoom: 16 });
      fitted = true;
    } else if (!points.length) map.setView([10.7769, 106.7009], 13);
    camBody.replaceChildren(table(["camera", "name", "status", "level", "ahead", "fps", "coverage", "config.running", "fleet.box", "fleet.model", "fleet.calibration", "fleet.snapshot", "last.seen"], o.cameras.map((c) =>
      h("tr", { "data-testid": "camera-row", "data-camera": c.camera_id },
        h("td", {}, h("a", { href: `#/camera/${encodeURIComponent(c.camera_id)}` }, c.camera_id)),
        h("td", {}, c.name || (c.lat == null ? t("not.placed") : "")), h("td", {}, status(c.status)),
        h("td", {}, level(c.level)), h("td", {}, level(c.level_ahead)), h("td", {}, c.fps.toFixed(1)), h("td", {}, pct(c.coverage)),
        h("td", { "data-testid": "config-version" }, configVersion(c)), h("td", { "data-testid": "box-profile" }, c.box_profile ?? t("none")),
        h("td", { "data-testid": "model" }, c.model_id ?? t("none")), h("td", { "data-testid": "calibration" }, calibration(c)),
        h("td", { "data-testid": "last-snapshot" }, c.last_snapshot_ms ? formatTime(c.last_snapshot_ms) : t("none")), h("td", {}, formatTime(c.last_seen_ms))))));
    junBody.replaceChildren(table(["junction", "name", "source", "cycle"], o.junctions.map((j) =>
      h("tr", { "data-testid": "junction-row" },
        h("td", {}, h("a", { href: `#/junction/${encodeURIComponent(j.junction_id)}` }, j.junction_id)), h("td", {}, j.name),
        h("td", {}, j.source ? t(`src.${j.source}`) : t("none")), h("td", {}, secs(j.cycle_ms))))));
  }
  let pending = null;
  const off = onLive(() => { clearTimeout(pending); pending = setTimeout(load, 300); });
  const timer = setInterval(load, 15000);
  return load().then(() => () => { off(); clearInterval(timer); map.remove(); });
}

// Calibrated (speeds measured) with its fit, or not; unknown before the box reports.
function calibration(c) {
  if (c.calibration) return `${t("fleet.calibrated")} · ${c.calibration.points} ${t("fleet.points")} · RMS ${c.calibration.rms_error_m.toFixed(2)} m`;
  return c.model_id ? t("fleet.uncalibrated") : t("none");
}

// The config version a camera's agent runs ("file" for its own file config), and the newest
// saved one when the agent has not taken it yet.
function configVersion(c) {
  const running = c.running_config_version ? `v${c.running_config_version}` : t("config.file");
  return c.config_version > c.running_config_version ? `${running} → v${c.config_version}` : running;
}

async function camera(root, id) {
  const cams = await api("/api/v1/cameras");
  const cam = cams.find((c) => c.camera_id === id);
  const health = h("div", { class: "cards" });
  const liveBox = h("div", { class: "live", "data-testid": "live-counts" });
  const chartBox = h("div", { class: "chart" });
  const forecastBox = h("div", { class: "chart" });
  const gapBox = h("div");
  const editorBox = h("section", { class: "editor", "data-testid": "editor" });
  // The picture and its geometry first (what the camera sees), then what it counted.
  root.append(h("h2", {}, `${t("camera")} ${id}`), health, editorBox, h("h3", {}, t("live.counts")), liveBox,
    h("h3", {}, t("chart.counts")), chartBox, gapBox, h("h3", {}, t("chart.forecast")), forecastBox);
  editor(editorBox, id).catch((e) => editorBox.append(h("p", { class: "error" }, e.message)));
  const card = (k, v) => h("div", { class: "card" }, h("span", {}, t(k)), h("strong", {}, v));
  function renderHealth(c) {
    health.replaceChildren(card("status", status(c?.status ?? "unknown")), card("fps", c ? c.fps.toFixed(1) : t("none")),
      card("coverage", c ? pct(c.coverage) : t("none")), card("last.seen", formatTime(c?.last_seen_ms)),
      card("outbox", c?.outbox_depth ?? t("none")), card("dropped", c?.dropped ?? t("none")));
  }
  function renderLive(ev) {
    if (!ev) return liveBox.replaceChildren(h("p", {}, t("no.counts")));
    const total = CLASSES.reduce((s, k) => s + ev.totals[k], 0);
    liveBox.replaceChildren(
      h("div", { class: "counts" }, [...CLASSES.map((k) => h("div", { class: "count", "data-class": k }, h("span", {}, t(k)), h("strong", {}, ev.totals[k]))),
        h("div", { class: "count total", "data-class": "total" }, h("span", {}, t("total")), h("strong", { "data-testid": "live-total" }, total))]),
      h("p", { class: "muted" }, `${formatTime(ev.start_ms)} → ${formatTime(ev.end_ms)} · ${t("coverage")} ${pct(ev.coverage)} · ${t("last.update")} ${formatTime(ev.received_ms)}`),
      speedsOf(ev));
  }
  // Only a calibrated camera measures speed; an uncalibrated one says so rather than showing 0.
  function speedsOf(ev) {
    const lines = Object.entries(ev.speeds ?? {});
    if (!lines.length) return h("p", { class: "muted", "data-testid": "live-speeds" }, t("speed.none"));
    return h("div", { class: "counts", "data-testid": "live-speeds" }, lines.map(([line, s]) =>
      h("div", { class: "count" }, h("span", {}, `${line} · ${t("speed")}`),
        h("strong", {}, `${s.all.mean_kmh.toFixed(1)} km/h`), h("span", { class: "muted" }, `p85 ${s.all.p85_kmh.toFixed(1)} · n ${s.all.vehicles}`))));
  }
  renderHealth(cam);
  const to = Date.now(), from = to - 2 * 3600 * 1000;
  const data = await api(`/api/v1/cameras/${encodeURIComponent(id)}/counts?from=${from}&to=${to}`);
  const totalsOf = (iv) => {
    const out = Object.fromEntries(CLASSES.map((k) => [k, 0]));
    for (const d of Object.values(iv.lines)) for (const k of CLASSES) out[k] += d.forward[k] + d.backward[k];
    return out;
  };
  const last = data.intervals.at(-1);
  renderLive(last && { ...last, start_ms: last.start_ms, end_ms: last.end_ms, totals: totalsOf(last) });
  const rows = data.intervals.map((iv) => ({ x: iv.end_ms / 1000, ...totalsOf(iv) }));
  const width = () => Math.max(320, chartBox.clientWidth || 800);
  const countsData = () => [rows.map((r) => r.x), ...CLASSES.map((k) => rows.map((r) => r[k]))];
  // A fixed two-hour window: one interval alone must not stretch the time axis.
  const plot = new uPlot({ ...timeAxis(), width: width(), height: 260, scales: { x: { time: true, range: () => [from / 1000, Date.now() / 1000] } },
    series: [{}, ...CLASSES.map((k) => ({ label: t(k), stroke: CLASS_COLOURS[k], width: 2, points: { show: true, size: 6 } }))] }, countsData(), chartBox);
  // Gaps only where the camera should have reported (none before its first interval); the
  // interval being counted now is said to be in progress, not missing.
  const availability = [];
  if (data.since_ms == null) availability.push(h("p", { class: "muted", "data-testid": "no-record" }, t("no.record")));
  else if (data.since_ms > from) availability.push(h("p", { class: "muted", "data-testid": "since" }, `${t("counting.since")} ${formatTime(data.since_ms)}`));
  if (data.gaps.length) availability.push(h("p", { class: "muted", "data-testid": "gaps" }, `${t("gaps")}: ${data.gaps.map((g) => `${formatTime(g.start_ms)} → ${formatTime(g.end_ms)}`).join("; ")}`));
  if (data.in_progress) availability.push(h("p", { class: "muted", "data-testid": "in-progress" }, `${t("in.progress")} ${formatTime(data.in_progress.start_ms)}`));
  gapBox.replaceChildren(...availability);
  let fplot = null;
  async function loadForecast() {
    let f;
    try { f = await api(`/api/v1/cameras/${encodeURIComponent(id)}/forecast`); } catch { forecastBox.replaceChildren(h("p", {}, t("no.forecast"))); return; }
    const a = f.approaches.find((x) => x.horizons.length) ?? f.approaches[0];
    if (!a || !a.horizons.length) { forecastBox.replaceChildren(h("p", {}, t("no.forecast"))); return; }
    const xs = [a.made_at_ms / 1000, ...a.horizons.map((hz) => a.made_at_ms / 1000 + hz.minutes * 60)];
    const mid = [a.current_pcu_per_hour, ...a.horizons.map((hz) => hz.pcu_per_hour)];
    // A band only where the method has one (a fitted model's 80 % interval); the profile
    // and "same as now" have none, and drawing low = high as a band would claim certainty.
    const banded = (hz) => hz.method === "model" && hz.high > hz.low;
    const low = [null, ...a.horizons.map((hz) => (banded(hz) ? hz.low : null))];
    const high = [null, ...a.horizons.map((hz) => (banded(hz) ? hz.high : null))];
    const capacity = a.capacity_pcu_per_hour;
    const methods = [...new Set(a.horizons.map((hz) => hz.method))];
    const about = h("p", { class: "muted", "data-testid": "forecast-method" },
      `${t("forecast.method")}: ${methods.map((m) => t(`method.${m}`)).join(", ")} · ${t("forecast.horizons")} ${a.horizons.map((hz) => hz.minutes).join(" / ")} min · `,
      a.horizons.some(banded) ? t("forecast.band") : h("strong", { "data-testid": "no-band" }, t("forecast.noband")),
      ` · ${t("capacity")}: ${capacity ? `${Math.round(capacity)} PCU/h` : t("capacity.none")}`);
    const chart = h("div");
    forecastBox.replaceChildren(about, chart);
    const t0 = a.made_at_ms / 1000;
    const series = [{}, { label: `${a.line} PCU/h`, stroke: "#2b83ba", width: 2, points: { show: true, size: 7 } },
      { label: t("band.low"), stroke: "#9ecae1" }, { label: t("band.high"), stroke: "#9ecae1" }];
    const data = [xs, mid, low, high];
    // Capacity drawn across the chart: why a level is what it is.
    if (capacity) { series.push({ label: t("capacity"), stroke: "#a50026", dash: [6, 4], width: 1.5, points: { show: false } }); data.push(xs.map(() => capacity)); }
    fplot = new uPlot({ ...timeAxis(), width: width(), height: 220, scales: { x: { time: true, range: () => [t0 - 300, t0 + 3900] } }, bands: [{ series: [3, 2], fill: "rgba(43,131,186,0.2)" }],
      series }, data, chart);
  }

  await loadForecast();
  const off = onLive((type, ev) => {
    if (type === "interval" && ev.camera_id === id) {
      renderLive(ev);
      rows.push({ x: ev.end_ms / 1000, ...ev.totals });
      plot.setData(countsData());
      gapBox.querySelector("[data-testid=no-record]")?.remove();
    }
    // The forecast is made a moment after the interval is stored: its own event says when.
    if (type === "forecast" && ev.camera_id === id) loadForecast();
    if (type === "status" || type === "interval") api("/api/v1/cameras").then((cs) => renderHealth(cs.find((c) => c.camera_id === id))).catch(() => {});
  });
  return () => { off(); plot.destroy(); fplot?.destroy(); };
}

// Plan versions are the issue time in Unix ms: shown as that time, which people can read
// and compare, not as a 13-digit number.
const versionLabel = (v) => (v > 1e12 ? formatTime(v) : String(v));

async function junction(root, id) {
  const body = h("div");
  root.append(h("h2", {}, `${t("junction")} ${id}`), body);
  const message = h("p", { class: "notice", role: "status", "data-testid": "override-message" });
  async function load() {
    const j = await api(`/api/v1/junctions/${encodeURIComponent(id)}`);
    const s = j.status;
    const running = h("section", { class: "cards", "data-testid": "running-plan" },
      [["source", s ? t(`src.${s.source}`) : t("none")], ["plan", s ? `${s.plan_id} (${versionLabel(s.version)})` : t("none")], ["cycle", secs(s?.cycle_ms)],
       ["greens", s ? s.greens_ms.map((g) => (g / 1000).toFixed(0)).join(" / ") + ` ${t("seconds")}` : t("none")], ["offset", secs(s?.offset_ms)],
       ["stage", s ? s.stage + 1 : t("none")]].map(([k, v]) => h("div", { class: "card" }, h("span", {}, t(k)), h("strong", {}, v))));
    // Accepted by central but not yet run by the junction: say so, not the old plan alone.
    const pending = j.override_until_ms && s?.plan_id !== "operator-override";
    const override = j.override_until_ms ? h("p", { class: "override-active", "data-testid": "override-active" }, `${t("override.active")} ${formatTime(j.override_until_ms)} ${t("by")} ${j.override_by}`,
      pending ? h("strong", { "data-testid": "override-pending" }, ` — ${t("override.pending")}`) : "") : "";
    // Each stage with its movements and the greens this junction allows for it (the
    // profile's limits, which the server enforces too).
    const lim = j.limits ?? { min_green_ms: 1000, max_green_ms: 300000 };
    // The greens now: the plan issued, else what the junction reports.
    const now = j.issued?.plan.stages.map((st) => st.green_ms) ?? s?.greens_ms ?? [];
    const stages = (lim.stages ?? now.map(() => ({ movements: [], min_green_ms: lim.min_green_ms, max_green_ms: lim.max_green_ms }))).map((st, i) => ({
      movements: st.movements,
      min_s: Math.ceil(st.min_green_ms / 1000),
      max_s: Math.floor(st.max_green_ms / 1000),
      green_ms: now[i] ?? st.min_green_ms,
    }));
    let form;
    if (roleAtLeast("operator")) {
      form = h("form", { class: "override", "data-testid": "override-form", onsubmit: async (e) => {
          e.preventDefault();
          const fd = new FormData(form);
          const greens_ms = stages.map((_, i) => Math.round(Number(fd.get(`g${i}`)) * 1000));
          try {
            await api(`/api/v1/junctions/${encodeURIComponent(id)}/override`, { method: "POST", body: JSON.stringify({ greens_ms, duration_s: Math.round(Number(fd.get("minutes")) * 60) }) });
            message.textContent = t("override.sent");
            await load();
          } catch (err) { message.textContent = err.message; }
        } },
        h("h3", {}, t("override")),
        stages.map((st, i) => h("label", { "data-testid": "override-stage" },
          `${t("override.stage")} ${i + 1}${st.movements.length ? ` (${st.movements.join(", ")})` : ""}: ${t("override.allowed")} ${st.min_s}–${st.max_s} ${t("seconds")}`,
          h("input", { name: `g${i}`, type: "number", min: st.min_s, max: st.max_s, step: 1, value: Math.round(st.green_ms / 1000), required: true }))),
        h("label", {}, t("override.minutes"), h("input", { name: "minutes", type: "number", min: 1, max: 480, value: 15, required: true })),
        h("button", { type: "submit" }, t("override.apply")),
        j.override_until_ms ? h("button", { type: "button", onclick: async () => {
          try { await api(`/api/v1/junctions/${encodeURIComponent(id)}/override`, { method: "DELETE" }); await load(); } catch (err) { message.textContent = err.message; }
        } }, t("override.cancel")) : "");
    } else {
      form = h("p", { class: "muted", "data-testid": "override-denied" }, t("override.viewer"));
    }
    const history = table(["issued", "plan", "version", "cycle", "greens", "offset", "valid.until"], j.history.map((p) =>
      h("tr", { "data-testid": "plan-row" }, h("td", {}, formatTime(p.issued_ms)), h("td", {}, p.plan_id), h("td", {}, versionLabel(p.version)), h("td", {}, secs(p.cycle_ms)),
        h("td", {}, p.greens_ms.map((g) => (g / 1000).toFixed(0)).join(" / ")), h("td", {}, secs(p.offset_ms)), h("td", {}, formatTime(p.valid_until_ms)))));
    const acks = table(["plan", "version", "outcome", "reason"], j.acks.map((a) =>
      h("tr", { class: a.outcome === "rejected" ? "rejected" : "", "data-testid": "ack-row" }, h("td", {}, a.plan_id), h("td", {}, versionLabel(a.version)), h("td", {}, a.outcome), h("td", {}, [a.reason, a.detail].filter(Boolean).join(": ") || t("none")))));
    // The lamps the junction reports now, one head per movement (G, Y, R).
    const lamps = h("div", { class: "lamps", "data-testid": "lamps", "data-state": s ? Object.entries(s.lamps).map(([m, l]) => `${m}=${l}`).join(",") : "" },
      s ? Object.entries(s.lamps).map(([m, l]) => h("span", { class: `lamp lamp-${l}`, title: t(`lamp.${l}`) }, h("i", {}), m)) : t("none"));
    // Someone typing greens keeps the form they are typing in: a status every few seconds
    // must not wipe it.
    const editing = body.querySelector("form.override")?.contains(document.activeElement);
    if (editing) form = body.querySelector("form.override");
    body.replaceChildren(h("h3", {}, t("running.plan")), running, h("h3", {}, t("lamps.now")), lamps, override, form, message, h("h3", {}, t("plan.history")), history, h("h3", {}, t("acks")), acks);
  }
  await load();
  let pending = null;
  const off = onLive((type, ev) => { if (type === "junction" && ev.junction_id === id) { clearTimeout(pending); pending = setTimeout(load, 200); } });
  return off;
}

async function alerts(root) {
  const body = h("div");
  root.append(h("h2", {}, t("alerts")), body);
  async function load() {
    const list = await api("/api/v1/alerts");
    if (!list.length) return body.replaceChildren(h("p", {}, t("no.alerts")));
    body.replaceChildren(table(["kind", "subject", "detail", "raised", "state", "acked.by", ""], list.map((a) =>
      h("tr", { "data-testid": "alert-row", "data-kind": a.kind, class: a.active ? "active" : "" },
        h("td", {}, t(`k.${a.kind}`)), h("td", {}, a.subject), h("td", {}, a.detail), h("td", {}, formatTime(a.raised_ms)),
        h("td", {}, a.active ? t("active") : `${t("cleared")} ${formatTime(a.cleared_ms)}`),
        h("td", {}, a.acked_by ? `${a.acked_by} · ${formatTime(a.acked_ms)}` : t("none")),
        h("td", {}, !a.acked_by && roleAtLeast("operator") ? h("button", { type: "button", onclick: async () => { await api(`/api/v1/alerts/${a.id}/ack`, { method: "POST" }); refreshBadge(); load(); } }, t("ack")) : "")))));
  }
  await load();
  return onLive((type) => { if (type === "alert") load(); });
}

async function audit(root) {
  const list = await api("/api/v1/audit?limit=200");
  root.append(h("h2", {}, t("audit")), table(["time", "actor", "role", "action", "target", "outcome", "detail"], list.map((e) =>
    h("tr", { "data-testid": "audit-row", "data-action": e.action }, h("td", {}, formatTime(e.at_ms)), h("td", {}, e.actor), h("td", {}, e.role), h("td", {}, e.action),
      h("td", {}, e.target), h("td", {}, e.outcome), h("td", { class: "detail" }, e.detail === "null" ? "" : e.detail)))));
}

export const views = { overview, camera, junction, alerts, audit };
