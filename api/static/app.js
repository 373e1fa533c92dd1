// Linli control room: polls the API every few seconds and renders open alerts, live
// events, devices and rejected messages. Plain JavaScript, no build step, no CDN.
// Texts come from /static/i18n.json (Simplified Chinese by default, English on toggle);
// every value from the server is inserted as text, never as HTML.
"use strict";

const REFRESH_MS = 5000;
const API = "/api/v1";
const query = new URLSearchParams(location.search);
const pickLang = (value) => (value && value.toLowerCase().startsWith("en") ? "en" : "zh-CN");
// ?lang=en opens the page in English; otherwise the last language chosen, else Chinese.
const state = { lang: pickLang(query.get("lang") || localStorage.getItem("linli.lang")),
                messages: {}, community: null, tz: "Asia/Shanghai", timer: null };
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
  constructor(code, message) { super(message); this.code = code; }
}

async function api(path, options) {
  let response;
  try {
    response = await fetch(path, { headers: { "Content-Type": "application/json" }, ...options });
  } catch (err) {
    throw new ApiError("network", String(err));
  }
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    const error = (body && body.error) || { code: "other", message: response.statusText };
    throw new ApiError(error.code, error.message);
  }
  return body;
}

function describeError(err) {
  const known = ["not_found", "conflict", "validation_error", "database_unavailable", "network"];
  return t(known.includes(err.code) ? `error.${err.code}` : "error.other",
           { message: err.message });
}

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

function renderAlerts(page) {
  fill("alerts", page.items.map((a) => el("tr", {},
    el("td", { class: "time" }, fmtTime(a.raised_at, true)),
    el("td", {},
      el("span", { class: "alert-title", onclick: () => openDetail(a.id) }, a.title), " ",
      tag(label("severity", a.severity), a.severity)),
    el("td", {}, a.subject_name ? `${a.subject_name}（${a.subject}）` : a.subject),
    el("td", {}, tag(label("status", a.status), a.status)),
    el("td", {}, t("tier", { tier: a.tier })),
    el("td", { class: "act" },
      a.status === "open"
        ? el("button", { class: "ack", type: "button", onclick: () => acknowledge(a) },
             t("button.acknowledge"))
        : null,
      el("button", { class: "resolve", type: "button", onclick: () => openResolve(a) },
         t("button.resolve"))))));
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
  const jobs = [api("/health").catch(() => null).then((h) => h && renderHealth(h))];
  if (state.community) {
    const c = encodeURIComponent(state.community);
    jobs.push(
      api(`${API}/communities/${c}/summary`).then(renderSummary),
      api(`${API}/alerts?community=${c}&status=open&status=acknowledged&limit=200`)
        .then(renderAlerts),
      api(`${API}/events?community=${c}&limit=20`).then(renderEvents),
      api(`${API}/devices?community=${c}&limit=500`).then(renderDevices),
      api(`${API}/dead-letters?community=${c}&limit=10`).then(renderDeadLetters),
    );
  }
  const failures = (await Promise.allSettled(jobs)).filter((r) => r.status === "rejected");
  showBanner(failures.length ? describeError(failures[0].reason) : "");
  $("updated").textContent = t("updated", { time: fmtTime(new Date().toISOString()) });
  state.timer = setTimeout(refresh, REFRESH_MS);
}

function operator() {
  const name = $("operator").value.trim();
  if (!name) {
    alert(t("need.operator"));
    $("operator").focus();
  }
  return name;
}

async function acknowledge(a) {
  const actor = operator();
  if (!actor) return;
  try {
    await api(`${API}/alerts/${a.id}/acknowledge`, { method: "POST",
                                                     body: JSON.stringify({ actor }) });
    showBanner("");
  } catch (err) {
    showBanner(describeError(err));
  }
  refresh();
}

function openResolve(a) {
  if (!operator()) return;
  const dialog = $("resolve-dialog");
  dialog.dataset.alertId = a.id;
  $("resolve-alert").textContent = `${a.title} · ${a.subject_name || a.subject}`;
  $("resolve-note").value = "";
  dialog.showModal();
  $("resolve-note").focus();
}

async function submitResolve(event) {
  event.preventDefault();
  const dialog = $("resolve-dialog");
  const note = $("resolve-note").value.trim();
  if (!note) { alert(t("need.note")); return; }
  const body = { actor: operator(), note, outcome: $("resolve-outcome").value };
  try {
    await api(`${API}/alerts/${dialog.dataset.alertId}/resolve`,
              { method: "POST", body: JSON.stringify(body) });
    showBanner("");
  } catch (err) {
    showBanner(describeError(err));
  }
  dialog.close();
  refresh();
}

async function openDetail(alertId) {
  let a;
  try {
    a = await api(`${API}/alerts/${alertId}`);
  } catch (err) {
    showBanner(describeError(err));
    return;
  }
  $("detail-title").textContent = a.title;
  $("detail-meta").textContent = t("detail.meta",
    { rule: label("rule", a.rule), tier: a.tier, count: a.fired_count });
  $("detail-timeline").replaceChildren(...a.timeline.map((step) => el("li", {},
    el("span", { class: "muted" }, fmtTime(step.at, true)), " ",
    label("action", step.action), " · ", step.actor,
    step.note ? `：${step.note}` : null)));
  $("detail-notifications").replaceChildren(...a.notifications.map((n) => el("tr", {},
    el("td", {}, n.worker_name || n.worker),
    el("td", {}, n.channel),
    el("td", {}, tag(label("notification", n.status), n.status)),
    el("td", {}, n.attempts),
    el("td", { class: "payload" }, n.last_error || "–"))));
  $("detail-dialog").showModal();
}

async function loadCommunities() {
  const communities = await api(`${API}/communities`);
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

async function start() {
  state.messages = await (await fetch("/static/i18n.json")).json();
  applyLanguage();
  $("operator").value = localStorage.getItem("linli.operator") || "";
  $("operator").onchange = () => localStorage.setItem("linli.operator",
                                                       $("operator").value.trim());
  $("lang").onclick = () => {
    state.lang = state.lang === "en" ? "zh-CN" : "en";
    localStorage.setItem("linli.lang", state.lang);
    applyLanguage();
    refresh();
  };
  $("resolve-form").onsubmit = submitResolve;
  $("resolve-cancel").onclick = () => $("resolve-dialog").close();
  $("detail-close").onclick = () => $("detail-dialog").close();
  try {
    await loadCommunities();
  } catch (err) {
    showBanner(describeError(err));
    setTimeout(start, REFRESH_MS);
    return;
  }
  refresh();
}

document.addEventListener("DOMContentLoaded", start);
