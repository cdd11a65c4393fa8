// The dashboard shell: who is logged in, the hash router, the live event stream.
// Views live in views.js; every view reads the API and re-renders on live events.
import { t, setLanguage, language, setTimeZone, zoneLabel } from "./i18n.js";
import { views } from "./views.js";

export const session = { user: null, role: null, auth: true };
const listeners = new Set();

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v == null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    // Through the CSSOM: the CSP refuses style attributes, not style properties.
    else if (k === "style") el.style.cssText = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c != null) el.append(c instanceof Node ? c : String(c));
  return el;
}

export async function api(path, options = {}) {
  const res = await fetch(path, { credentials: "same-origin", ...options, headers: { "content-type": "application/json", ...(options.headers ?? {}) } });
  if (res.status === 401 && !path.endsWith("/auth/login")) {
    showLogin();
    throw new Error("401");
  }
  const body = res.headers.get("content-type")?.includes("json") ? await res.json() : await res.text();
  if (!res.ok) throw Object.assign(new Error(body?.error ?? res.statusText), { status: res.status, body });
  return body;
}

export function roleAtLeast(role) {
  const order = ["viewer", "operator", "admin"];
  return order.indexOf(session.role) >= order.indexOf(role);
}

/** Views subscribe to live events while shown. */
export function onLive(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

let source = null;
function connectLive() {
  source?.close();
  source = new EventSource("/api/v1/live");
  const dot = document.getElementById("live-dot");
  source.onopen = () => dot.classList.add("on");
  source.onerror = () => dot.classList.remove("on");
  for (const type of ["interval", "status", "alert", "junction", "resync"]) {
    source.addEventListener(type, (e) => {
      const data = JSON.parse(e.data);
      if (type === "alert") refreshBadge();
      for (const fn of listeners) fn(type, data);
    });
  }
}

export async function refreshBadge() {
  try {
    // What still needs a person: active alerts nobody has acknowledged (an acknowledged
    // congestion alert stays active until the road clears, but it is not news any more).
    const waiting = (await api("/api/v1/alerts?active=true")).filter((a) => !a.acked_by);
    const badge = document.getElementById("alert-badge");
    badge.textContent = waiting.length;
    badge.hidden = waiting.length === 0;
    badge.title = t("badge.unacked");
  } catch { /* shown by the view */ }
}

let cleanup = null;
async function route() {
  if (!session.user) return;
  cleanup?.();
  cleanup = null;
  const [, name = "overview", ...rest] = (location.hash || "#/overview").split("/");
  const view = views[name] ?? views.overview;
  const root = document.getElementById("view");
  root.replaceChildren();
  root.dataset.view = name;
  try {
    cleanup = await view(root, ...rest.map(decodeURIComponent));
  } catch (e) {
    if (e.message !== "401") root.append(h("p", { class: "error" }, e.status === 403 ? t("forbidden") : e.message));
  }
}

function showLogin() {
  session.user = null;
  source?.close();
  document.getElementById("who").textContent = "";
  document.getElementById("logout").hidden = true;
  const root = document.getElementById("view");
  root.dataset.view = "login";
  const err = h("p", { class: "error", role: "alert" });
  const form = h("form", { class: "login", onsubmit: async (e) => {
      e.preventDefault();
      const data = Object.fromEntries(new FormData(form));
      try {
        await api("/api/v1/auth/login", { method: "POST", body: JSON.stringify(data) });
        await start();
      } catch {
        err.textContent = t("login.failed");
      }
    } },
    h("h2", {}, t("login")),
    h("label", {}, t("username"), h("input", { name: "username", autocomplete: "username", required: true })),
    h("label", {}, t("password"), h("input", { name: "password", type: "password", autocomplete: "current-password", required: true })),
    h("button", { type: "submit" }, t("login")), err);
  root.replaceChildren(form);
}

async function start() {
  let me;
  try {
    me = await api("/api/v1/auth/me");
  } catch {
    return;
  }
  Object.assign(session, { user: me.user, role: me.role, auth: me.auth });
  document.getElementById("who").textContent = `${me.user} (${me.role})`;
  document.getElementById("logout").hidden = !me.auth;
  document.getElementById("nav-audit").hidden = !roleAtLeast("operator");
  try { setTimeZone((await api("/api/v1/map")).timezone ?? "Asia/Ho_Chi_Minh"); } catch { /* the default zone */ }
  const zone = document.getElementById("zone");
  zone.textContent = `${t("times.in")} ${zoneLabel()}`;
  connectLive();
  refreshBadge();
  route();
}

document.getElementById("lang").addEventListener("click", () => {
  setLanguage(language() === "en" ? "vi" : "en");
  document.getElementById("lang").textContent = language() === "en" ? "VI" : "EN";
  if (session.user) route(); else showLogin();
});
document.getElementById("logout").addEventListener("click", async () => {
  await fetch("/api/v1/auth/logout", { method: "POST", credentials: "same-origin" });
  showLogin();
});
window.addEventListener("hashchange", route);
setLanguage(language());
document.getElementById("lang").textContent = language() === "en" ? "VI" : "EN";
start();
