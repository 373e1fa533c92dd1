// Linli control room: polls the API every few seconds and renders open alerts, live
// events, devices and rejected messages. Plain JavaScript, no build step, no CDN.
// Texts come from /static/i18n.json (Simplified Chinese by default, English on toggle);
// every value from the server is inserted as text, never as HTML.
// Access: a 401 shows the login form; the session is an HttpOnly cookie and every POST
// carries the X-CSRF-Token from the login (or the readable linli_csrf cookie). What the
// page shows and offers follows the logged-in person's permissions (GET /auth/me).
"use strict";

const REFRESH_MS = 5000;
const API = "/api/v1";
const query = new URLSearchParams(location.search);
const pickLang = (value) => (value && value.toLowerCase().startsWith("en") ? "en" : "zh-CN");
// ?lang=en opens the page in English; otherwise the last language chosen, else Chinese.
const state = { lang: pickLang(query.get("lang") || localStorage.getItem("linli.lang")),
                messages: {}, community: null, tz: "Asia/Shanghai", timer: null,
                me: null, csrf: null, communities: [], alerts: new Map(),
                detail: null, openAlert: query.get("alert") };
const OUTCOMES = ["safe", "hospital", "away_unreported", "device_fault", "false_alarm", "other"];
const $ = (id) => document.getElementById(id);

function t(key, vars) {
  const table = state.messages[state.lang] || {};
  let text = table[key] ?? key;
  for (const [name, value] of Object.entries(vars || {})) {
    text = text.replaceAll(`{${name}}`, String(value));
  }
  return text;
}

// A translated code (kind.passage → 通行), or the code itself when no text exists.
function label(prefix, code) {
  if (code === null || code === undefined) return "–";
  const key = `${prefix}.${code}`;
  const text = t(key);
  return text === key ? code : text;
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (name === "class") node.className = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value);
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function tag(text, cls) { return el("span", { class: `tag ${cls || ""}` }, text); }

function fmtTime(iso, withDate) {
  if (!iso) return "–";
  const options = { timeZone: state.tz, hour12: false, hour: "2-digit", minute: "2-digit",
                    second: "2-digit" };
  if (withDate) Object.assign(options, { month: "2-digit", day: "2-digit" });
  return new Intl.DateTimeFormat(state.lang, options).format(new Date(iso));
}

class ApiError extends Error {
  constructor(status, code, message) { super(message); this.status = status; this.code = code; }
}

function cookie(name) {
  const found = document.cookie.split("; ").find((part) => part.startsWith(`${name}=`));
  return found ? decodeURIComponent(found.slice(name.length + 1)) : null;
}

// GET, or POST with a JSON body; a 401 anywhere ends at the login form.
async function api(path, options) {
  const method = (options && options.method) || "GET";
  const headers = { "Content-Type": "application/json" };
  if (method !== "GET") headers["X-CSRF-Token"] = state.csrf || cookie("linli_csrf") || "";
  let response;
  try {
    response = await fetch(path, { ...options, headers, credentials: "same-origin" });
  } catch (err) {
    throw new ApiError(0, "network", String(err));
  }
  const body = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) {
    const error = (body && body.error) || { code: "other", message: response.statusText };
    const failure = new ApiError(response.status, error.code, error.message);
    if (response.status === 401 && !path.endsWith("/auth/login")) showLogin();
    throw failure;
  }
  return body;
}

const post = (path, body) => api(path, { method: "POST", body: JSON.stringify(body || {}) });

function describeError(err) {
  const known = ["not_found", "conflict", "validation_error", "database_unavailable", "network",
                 "unauthorized", "forbidden", "too_many_attempts"];
  return t(known.includes(err.code) ? `error.${err.code}` : "error.other",
           { message: err.message });
}

const can = (perm) => Boolean(state.me && state.me.permissions.includes(perm));

function showBanner(text) {
  const banner = $("banner");
  banner.textContent = text || "";
  banner.hidden = !text;
}

function applyLanguage() {
  document.documentElement.lang = state.lang;
  for (const node of document.querySelectorAll("[data-i18n]")) {
    node.textContent = t(node.dataset.i18n);
  }
  for (const node of document.querySelectorAll("[data-i18n-placeholder]")) {
    node.placeholder = t(node.dataset.i18nPlaceholder);
  }
  document.title = `${state.lang === "en" ? "Linli" : "邻里"} · ${t("app.title")}`;
  $("lang").textContent = t("lang.toggle");
}

function fill(tbodyId, rows) {
  $(tbodyId).replaceChildren(...rows);
  $(`${tbodyId}-empty`).hidden = rows.length > 0;
}

function renderSummary(s) {
  $("n-open").textContent = s.alerts.open;
  $("n-ack").textContent = s.alerts.acknowledged;
  $("n-passages").textContent = s.passages_today;
  $("n-events").textContent = s.events_today;
  $("n-online").textContent = `${s.devices.online} / ${s.devices.total}`;
  $("n-offline").textContent = s.devices.offline;
  $("n-unregistered").textContent = s.devices.unregistered;
  $("n-dead").textContent = s.dead_letters_today;
}

function renderHealth(h) {
  for (const [id, part, value] of [["health-db", "health.database", h.database],
                                   ["health-broker", "health.broker", h.broker]]) {
    const node = $(id);
    const ok = value === "ok";
    node.className = `health ${ok ? "ok" : value === "not configured" ? "" : "bad"}`;
    node.textContent = ok ? t(part) : t(value === "not configured" ? "health.not_configured"
                                                                   : "health.failed",
                                         { part: t(part) });
    node.title = value;
  }
}

// The steps the logged-in person may take on an alert now (the API checks them again).
function alertActions(a) {
  const buttons = [];
  const add = (key, cls, onclick) =>
    buttons.push(el("button", { class: cls, type: "button", onclick }, t(key)));
  const active = a.status === "open" || a.status === "acknowledged";
  if (active && can("alerts:dispatch")) {
    add(a.assignee ? "button.redispatch" : "button.dispatch", "dispatch", () => openDispatch(a));
  }
  if (a.status === "open" && can("alerts:handle")) {
    add("button.acknowledge", "ack", () => step(a, "acknowledge", {}, "done.acknowledged"));
  }
  if (active && can("alerts:handle")) add("button.feedback", "resolve", () => openFeedback(a));
  if (a.status === "resolved" && can("alerts:dispatch")) {
    if (a.resolved_by !== "system" && a.review !== "accepted") {
      add("button.review", "review", () => openReview(a));
    }
    if (a.review === "accepted" || a.resolved_by === "system") {
      add("button.archive", "archive", () => archive(a));
    }
  }
  return buttons;
}

function renderAlerts(page) {
  state.alerts = new Map(page.items.map((a) => [String(a.id), a]));
  fill("alerts", page.items.map((a) => el("tr", {},
    el("td", { class: "time" }, fmtTime(a.raised_at, true)),
    el("td", {},
      el("span", { class: "alert-title", onclick: () => openDetail(a.id) }, a.title), " ",
      tag(label("severity", a.severity), a.severity)),
    el("td", {}, a.subject_name ? `${a.subject_name}（${a.subject}）` : a.subject),
    el("td", {}, tag(label("status", a.status), a.status),
       a.outcome ? " " : null, a.outcome ? tag(label("outcome", a.outcome), "outcome") : null),
    el("td", {}, t("tier", { tier: a.tier })),
    el("td", {}, a.assignee ? a.assignee_name || a.assignee : "–"),
    el("td", { class: "act" }, ...alertActions(a)))));
}

function renderEvents(page) {
  fill("events", page.items.map((e) => el("tr", {},
    el("td", { class: "time" }, fmtTime(e.occurred_at)),
    el("td", {}, `${e.building} · ${e.device_name || e.device}`),
    el("td", {}, label("kind", e.kind), " ",
       e.direction ? tag(label("direction", e.direction), e.direction) : null),
    el("td", {}, e.person_name || e.person_id || t("anonymous")))));
}

function renderDevices(page) {
  fill("devices", page.items.map((d) => el("tr", {},
    el("td", {}, d.name || d.id, " ", el("span", { class: "muted" }, label("device", d.kind)),
       d.registered ? null : " ", d.registered ? null : tag(t("unregistered"), "unregistered")),
    el("td", {}, d.building),
    el("td", {}, tag(label("state", d.state || "unknown"), d.state || "unknown")),
    el("td", { class: "time" }, fmtTime(d.last_event_at, true)))));
}

function renderDeadLetters(page) {
  fill("dead", page.items.map((m) => el("tr", {},
    el("td", { class: "time" }, fmtTime(m.received_at, true)),
    el("td", { class: "payload" }, m.topic),
    el("td", {}, m.reason),
    el("td", { class: "payload" }, m.payload,
       m.payload_truncated ? t("truncated", { bytes: m.payload_bytes }) : null))));
}

async function refresh() {
  clearTimeout(state.timer);
  if (!state.me) return;
  const jobs = [api("/health").catch(() => null).then((h) => h && renderHealth(h))];
  if (state.community) {
    const c = encodeURIComponent(state.community);
    const statuses = ["open", "acknowledged", ...(can("alerts:dispatch") ? ["resolved"] : [])]
      .map((status) => `status=${status}`).join("&");
    jobs.push(api(`${API}/communities/${c}/summary`).then(renderSummary));
    if (can("alerts:read")) {
      jobs.push(api(`${API}/alerts?community=${c}&${statuses}&limit=200`).then(renderAlerts));
    }
    if (can("events:read")) jobs.push(api(`${API}/events?community=${c}&limit=20`).then(renderEvents));
    if (can("devices:read")) {
      jobs.push(api(`${API}/devices?community=${c}&limit=500`).then(renderDevices));
    }
    if (can("dead_letters:read")) {
      jobs.push(api(`${API}/dead-letters?community=${c}&limit=10`).then(renderDeadLetters));
    }
  }
  const failures = (await Promise.allSettled(jobs)).filter((r) => r.status === "rejected");
  if (!state.me) return;  // logged out meanwhile (a 401)
  showBanner(failures.length ? describeError(failures[0].reason) : "");
  $("updated").textContent = t("updated", { time: fmtTime(new Date().toISOString()) });
  state.timer = setTimeout(refresh, REFRESH_MS);
}

// One step of the loop: POST, then refresh (and the open detail, if any).
async function step(a, verb, body, doneKey) {
  try {
    await post(`${API}/alerts/${a.id}/${verb}`, body);
    showBanner("");
    if (doneKey) flash(t(doneKey, { title: a.title }));
  } catch (err) {
    showBanner(describeError(err));
    return false;
  }
  if ($("detail-dialog").open) openDetail(a.id);
  refresh();
  return true;
}

function flash(text) {
  const node = $("updated");
  node.textContent = text;
}

function openForm(dialogId, a, subjectId) {
  const dialog = $(dialogId);
  dialog.dataset.alertId = a.id;
  $(subjectId).textContent = `#${a.id} ${a.title} · ${a.subject_name || a.subject}`;
  dialog.showModal();
  return dialog;
}

function dialogAlert(dialogId) {
  const id = $(dialogId).dataset.alertId;
  const shown = state.detail && String(state.detail.id) === id ? state.detail : null;
  return state.alerts.get(id) || shown || { id, title: `#${id}` };
}

function openFeedback(a) {
  $("feedback-note").value = "";
  $("feedback-outcome").value = "safe";
  openForm("feedback-dialog", a, "feedback-alert");
  $("feedback-note").focus();
}

async function submitFeedback(event) {
  event.preventDefault();
  const note = $("feedback-note").value.trim();
  if (!note) { alert(t("need.note")); return; }
  const a = dialogAlert("feedback-dialog");
  if (await step(a, "feedback", { outcome: $("feedback-outcome").value, note },
                 "done.feedback")) {
    $("feedback-dialog").close();
  }
}

async function openDispatch(a) {
  let workers;
  try {
    workers = await api(`${API}/communities/${encodeURIComponent(a.community)}/workers`);
  } catch (err) {
    showBanner(describeError(err));
    return;
  }
  const select = $("dispatch-worker");
  // The alert's own grid first: those are the people who know the resident.
  workers.sort((x, y) => Number(y.grids.includes(a.grid)) - Number(x.grids.includes(a.grid)));
  select.replaceChildren(...workers.map((w) => el("option", { value: w.id },
    `${w.name}（${w.id}${w.grids.length ? ` · ${w.grids.join(", ")}` : ""}）`)));
  if (a.assignee) select.value = a.assignee;
  const dialog = openForm("dispatch-dialog", a, "dispatch-alert");
  dialog.dataset.assignee = a.assignee || "";
  $("dispatch-reason").value = "";
  $("dispatch-note").value = "";
  syncReason();
}

// Handing an assigned alert to someone else (转办) needs a reason.
function syncReason() {
  const current = $("dispatch-dialog").dataset.assignee;
  $("dispatch-reason-row").hidden = !current || current === $("dispatch-worker").value;
}

async function submitDispatch(event) {
  event.preventDefault();
  const body = { worker: $("dispatch-worker").value };
  if (!body.worker) return;
  const reason = $("dispatch-reason").value.trim();
  const note = $("dispatch-note").value.trim();
  if (!$("dispatch-reason-row").hidden) {
    if (!reason) { alert(t("need.reason")); return; }
    body.reason = reason;
  }
  if (note) body.note = note;
  if (await step(dialogAlert("dispatch-dialog"), "dispatch", body, "done.dispatched")) {
    $("dispatch-dialog").close();
  }
}

function openReview(a) {
  $("review-decision").value = "accepted";
  $("review-note").value = "";
  $("review-outcome").textContent = t("review.found", {
    outcome: label("outcome", a.outcome), note: a.resolution || "–" });
  openForm("review-dialog", a, "review-alert");
}

async function submitReview(event) {
  event.preventDefault();
  const decision = $("review-decision").value;
  const note = $("review-note").value.trim();
  if (decision === "returned" && !note) { alert(t("need.return_note")); return; }
  const body = note ? { decision, note } : { decision };
  if (await step(dialogAlert("review-dialog"), "review", body, `done.${decision}`)) {
    $("review-dialog").close();
  }
}

async function archive(a) {
  if (!confirm(t("confirm.archive", { title: a.title }))) return;
  await step(a, "archive", {}, "done.archived");
}

async function openDetail(alertId) {
  let a;
  try {
    a = await api(`${API}/alerts/${encodeURIComponent(alertId)}`);
  } catch (err) {
    showBanner(describeError(err));
    return;
  }
  state.detail = a;
  $("detail-title").textContent = `#${a.id} ${a.title}`;
  $("detail-meta").textContent = [
    t("detail.meta", { rule: label("rule", a.rule), tier: a.tier, count: a.fired_count }),
    label("status", a.status),
    a.assignee ? t("detail.assignee", { name: a.assignee_name || a.assignee }) : null,
    a.outcome ? t("detail.outcome", { outcome: label("outcome", a.outcome) }) : null,
    a.feedback_due_at && (a.status === "open" || a.status === "acknowledged")
      ? t("detail.due", { time: fmtTime(a.feedback_due_at, true) }) : null,
  ].filter(Boolean).join(" · ");
  $("detail-timeline").replaceChildren(...a.timeline.map((entry) => el("li", {},
    el("span", { class: "muted" }, fmtTime(entry.at, true)), " ",
    label("action", entry.action), " · ", entry.actor_name || entry.actor,
    entry.data && entry.data.outcome ? ` · ${label("outcome", entry.data.outcome)}` : null,
    entry.note ? `：${entry.note}` : null)));
  $("detail-notifications").replaceChildren(...a.notifications.map((n) => el("tr", {},
    el("td", {}, n.worker_name || n.worker),
    el("td", {}, n.channel),
    el("td", {}, tag(label("notification", n.status), n.status)),
    el("td", {}, n.attempts),
    el("td", { class: "payload" }, n.last_error || "–"))));
  $("detail-actions").replaceChildren(...alertActions(a));
  $("detail-contacts-box").hidden = true;
  $("detail-contacts-button").hidden = !(can("contacts:read") && a.subject_name);
  $("detail-contacts-button").onclick = () => showContacts(a.id);
  if (!$("detail-dialog").open) $("detail-dialog").showModal();
}

// Full contact details are read on demand (each read is audited).
async function showContacts(alertId) {
  let c;
  try {
    c = await api(`${API}/alerts/${alertId}/contacts`);
  } catch (err) {
    showBanner(describeError(err));
    return;
  }
  const home = c.home || {};
  const where = [home.building_name || home.building, home.unit_name || home.unit, home.room]
    .filter(Boolean).join(" ");
  $("detail-contacts").replaceChildren(
    el("li", {}, `${c.name}${c.phone ? ` · ${c.phone}` : ""}${where ? ` · ${where}` : ""}`),
    ...(c.emergency_contacts || []).map((e) => el("li", {},
      `${t("detail.emergency")}：${e.name || "–"}${e.relation ? `（${e.relation}）` : ""}`,
      e.phone ? ` · ${e.phone}` : "")));
  $("detail-contacts-box").hidden = false;
  $("detail-contacts-button").hidden = true;
}

async function loadCommunities() {
  const communities = await api(`${API}/communities`);
  state.communities = communities;
  const select = $("community");
  select.replaceChildren(...communities.map((c) => el("option", { value: c.id }, c.name)));
  // ?community=ID pins a wall screen to one community; else the last one chosen.
  const saved = query.get("community") || localStorage.getItem("linli.community");
  const chosen = communities.find((c) => c.id === saved) || communities[0];
  if (chosen) {
    select.value = chosen.id;
    state.community = chosen.id;
    state.tz = chosen.timezone;
  }
  select.onchange = () => {
    const picked = communities.find((c) => c.id === select.value);
    state.community = picked.id;
    state.tz = picked.timezone;
    localStorage.setItem("linli.community", picked.id);
    refresh();
  };
}

// -- who is logged in -----------------------------------------------------------------

function show(view) {
  for (const id of ["login-view", "password-view", "app-view"]) $(id).hidden = id !== view;
  const inside = view !== "login-view";
  $("who").hidden = !inside;
  $("logout").hidden = !inside;
  $("community-field").hidden = view !== "app-view";
}

function showLogin(message) {
  clearTimeout(state.timer);
  state.me = null;
  state.csrf = null;
  for (const dialog of document.querySelectorAll("dialog")) if (dialog.open) dialog.close();
  show("login-view");
  showBanner("");
  $("login-error").textContent = message || "";
  $("login-error").hidden = !message;
  $("login-password").value = "";
  $("login-username").focus();
}

async function submitLogin(event) {
  event.preventDefault();
  $("login-submit").disabled = true;
  try {
    const made = await post(`${API}/auth/login`, {
      username: $("login-username").value.trim(), password: $("login-password").value });
    state.csrf = made.csrf_token;
    $("login-password").value = "";
    await enter(made.user);
  } catch (err) {
    const key = err.status === 401 ? "login.wrong"
      : err.status === 429 ? "error.too_many_attempts" : null;
    $("login-error").textContent = key ? t(key, { message: err.message }) : describeError(err);
    $("login-error").hidden = false;
  } finally {
    $("login-submit").disabled = false;
  }
}

async function enter(me) {
  state.me = me;
  $("who").textContent = t("who", { name: me.display_name, role: label("role", me.role) });
  if (me.must_change_password) {
    show("password-view");
    for (const id of ["password-current", "password-new", "password-repeat"]) $(id).value = "";
    $("password-error").hidden = true;
    $("password-current").focus();
    return;
  }
  show("app-view");
  $("alerts-panel").hidden = !can("alerts:read");
  $("events-panel").hidden = !can("events:read");
  $("devices-panel").hidden = !can("devices:read");
  $("dead-panel").hidden = !can("dead_letters:read");
  try {
    await loadCommunities();
  } catch (err) {
    showBanner(describeError(err));
  }
  refresh();
  // A push's link lands on /?alert=ID: open that alert once, then forget the parameter.
  if (state.openAlert && can("alerts:read")) {
    const id = state.openAlert;
    state.openAlert = null;
    history.replaceState(null, "", location.pathname +
      location.search.replace(/([?&])alert=[^&]*&?/, "$1").replace(/[?&]$/, ""));
    openDetail(id);
  }
}

async function submitPassword(event) {
  event.preventDefault();
  const current = $("password-current").value;
  const fresh = $("password-new").value;
  const problem = fresh !== $("password-repeat").value ? t("password.mismatch")
    : fresh.length < 10 ? t("password.short") : null;
  if (!problem) {
    try {
      await post(`${API}/auth/password`, { current_password: current, new_password: fresh });
      await enter(await api(`${API}/auth/me`));
      return;
    } catch (err) {
      if (err.status === 401) return;
      $("password-error").textContent = describeError(err);
      $("password-error").hidden = false;
      return;
    }
  }
  $("password-error").textContent = problem;
  $("password-error").hidden = false;
}

async function logout() {
  try {
    await post(`${API}/auth/logout`);
  } catch (err) {
    // the session may have ended already: the login form is where this goes anyway
  }
  showLogin();
}

async function start() {
  state.messages = await (await fetch("/static/i18n.json")).json();
  applyLanguage();
  $("lang").onclick = () => {
    state.lang = state.lang === "en" ? "zh-CN" : "en";
    localStorage.setItem("linli.lang", state.lang);
    applyLanguage();
    if (state.me) {
      $("who").textContent = t("who", { name: state.me.display_name,
                                        role: label("role", state.me.role) });
    }
    refresh();
  };
  $("login-form").onsubmit = submitLogin;
  $("password-form").onsubmit = submitPassword;
  $("password-logout").onclick = logout;
  $("logout").onclick = logout;
  $("feedback-form").onsubmit = submitFeedback;
  $("dispatch-form").onsubmit = submitDispatch;
  $("dispatch-worker").onchange = syncReason;
  $("review-form").onsubmit = submitReview;
  for (const button of document.querySelectorAll("[data-close]")) {
    button.onclick = () => $(button.dataset.close).close();
  }
  $("detail-close").onclick = () => $("detail-dialog").close();
  let me;
  try {
    me = await api(`${API}/auth/me`);
  } catch (err) {
    if (err.status !== 401) {
      showBanner(describeError(err));
      setTimeout(start, REFRESH_MS);
    }
    return;  // a 401 has shown the login form
  }
  await enter(me);
}

document.addEventListener("DOMContentLoaded", start);
