// batchkernel console: hash-routed pages over the /api endpoints; no build step, no
// third-party code. Actions (cancel, retry, pause, resume) ask for confirmation and are sent as
// POST with the X-Requested-With header; read-only tokens see them disabled.
"use strict";

import { auditRows, renderOverview, SAMPLE_MINUTES } from "./overview.js";
import { badge, bar, facts, html, int, link, setText, table, usd, when } from "./dom.js";

const state = { who: { role: "read", company: null }, overviewPage: 1, timer: null, busy: false };
const PAGE_SIZE = 25;

async function api(path, options) {
  const answer = await fetch(path, { cache: "no-store", headers: { Accept: "application/json" }, ...options });
  let body = null;
  try { body = await answer.json(); } catch (exc) { body = null; }
  if (!answer.ok) {
    const message = body && body.error ? body.error : `HTTP ${answer.status}`;
    const error = new Error(message);
    error.status = answer.status;
    throw error;
  }
  return body;
}

function showError(exc) {
  const box = document.getElementById("error");
  if (!exc) { box.hidden = true; return; }
  box.textContent = String(exc.message || exc);
  box.hidden = false;
}

function notice(text, ok) {
  const box = document.getElementById("notice");
  box.textContent = text;
  box.className = "notice " + (ok ? "ok" : "bad");
  box.hidden = false;
  box.dataset.ok = ok ? "true" : "false";
}

// Route: "#/batches?state=failed&page=2" -> { view: "batches", id: null, params }
function route() {
  const hash = location.hash.replace(/^#/, "") || "/";
  const [path, query] = hash.split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  const params = new URLSearchParams(query || "");
  if (!parts.length) return { view: "overview", params };
  if (parts[0] === "batches" && parts[1]) return { view: "batch", id: parts[1], params };
  if (parts[0] === "requests" && parts[1]) return { view: "request", id: parts[1], params };
  if (["batches", "requests", "companies", "activity"].includes(parts[0])) return { view: parts[0], params };
  return { view: "overview", params };
}

function go(path, params) {
  const query = params && params.toString() ? "?" + params.toString() : "";
  location.hash = "#" + path + query;
}

function pager(section, page, hasNext, onPage) {
  const prev = section.querySelector("[data-page=prev]");
  const next = section.querySelector("[data-page=next]");
  prev.disabled = page <= 1;
  next.disabled = !hasNext;
  prev.onclick = () => onPage(page - 1);
  next.onclick = () => onPage(page + 1);
  section.querySelector(".page-label").textContent = `page ${page}${hasNext ? "" : " (last)"}`;
}

function fillForm(form, params) {
  for (const input of form.elements) {
    if (input.name) input.value = params.get(input.name) || "";
  }
}

function bindFilters(form, path) {
  form.onsubmit = (event) => {
    event.preventDefault();
    const params = new URLSearchParams();
    for (const input of form.elements) {
      if (input.name && input.value.trim()) params.set(input.name, input.value.trim());
    }
    go(path, params);
  };
  form.onreset = () => setTimeout(() => go(path), 0);
}

function withPage(params, page) {
  const copy = new URLSearchParams(params);
  copy.set("page", String(page));
  return copy;
}

function apiQuery(params, keys) {
  const query = new URLSearchParams();
  for (const key of keys) if (params.get(key)) query.set(key, params.get(key));
  query.set("page_size", String(PAGE_SIZE));
  return query.toString();
}

// --- pages ---------------------------------------------------------------------------------

async function overview() {
  const [snap, samples] = await Promise.all([
    api(`/api/batch-monitoring?page=${state.overviewPage}`),
    api(`/api/samples?minutes=${SAMPLE_MINUTES}`),
  ]);
  renderOverview(snap, samples);
  setText("updated", "updated " + new Date(snap.generated_at).toLocaleTimeString("en-GB"));
  document.body.dataset.generatedAt = snap.generated_at;
}

function batchRow(b) {
  return [link(`#/batches/${encodeURIComponent(b.id)}`, b.id.slice(0, 8), "mono"), b.company_id, b.task,
    badge(b.state), bar(b.progress), int(b.requests), usd(b.cost_usd) + (b.cost_is_estimate ? " (est.)" : ""),
    when(b.created_at)];
}
const BATCH_HEAD = [["batch"], ["company"], ["task", "wide-only"], ["state"], ["progress"], ["requests", "num"],
  ["cost (USD)", "num wide-only"], ["created (UTC)", "wide-only"]];

async function batches(params) {
  const section = document.getElementById("view-batches");
  const form = document.getElementById("batch-filters");
  fillForm(form, params);
  bindFilters(form, "/batches");
  const page = Number(params.get("page") || 1);
  const data = await api(`/api/batches?${apiQuery(params, ["company", "state", "task", "since"])}&page=${page}`);
  table("batch-list", BATCH_HEAD, data.rows.map(batchRow), "no batches match these filters");
  pager(section, page, data.has_next, (p) => go("/batches", withPage(params, p)));
}

function requestRow(r) {
  return [link(`#/requests/${encodeURIComponent(r.id)}`, r.id.slice(0, 8), "mono"), r.company_id, r.session,
    r.task, badge(r.state), int(r.attempts), usd(r.cost_usd), when(r.requested_at), r.error || ""];
}
const REQUEST_HEAD = [["request"], ["company"], ["session", "wide-only"], ["task", "wide-only"], ["state"],
  ["tries", "num"], ["cost (USD)", "num wide-only"], ["requested (UTC)", "wide-only"], ["error", "error-cell"]];

async function batch(id, params) {
  const section = document.getElementById("view-batch");
  const page = Number(params.get("page") || 1);
  const b = await api(`/api/batches/${encodeURIComponent(id)}?page=${page}`);
  setText("batch-id", b.id);
  const fill = document.getElementById("batch-progress-bar");
  fill.style.width = `${Math.round(b.progress * 100)}%`;
  facts("batch-facts", [["state", b.state], ["company", b.company_id], ["task", b.task], ["model", b.model],
    ["provider batch", b.provider_batch_id], ["requests", b.requests],
    ["done", `${Math.round(b.progress * 100)}% (${b.completed} completed, ${b.failed} failed of ${b.total})`],
    ["cost (USD)", usd(b.cost_usd) + (b.cost_is_estimate ? " (estimate)" : "")],
    ["created", when(b.created_at)], ["submitted", when(b.submitted_at)], ["ended", when(b.ended_at)],
    ["applied", when(b.applied_at)], ["note", b.note], ["provider errors", b.errors.map((e) => `${e.code}: ${e.message}`)]]);
  facts("batch-members-by-state", Object.entries(b.members_by_state));
  table("batch-members", REQUEST_HEAD, b.members.rows.map(requestRow), "no requests in this batch now");
  pager(section, page, b.members.has_next, (p) => go(`/batches/${encodeURIComponent(id)}`, withPage(params, p)));
  const cancellable = ["PLANNED", "VALIDATING", "IN_PROGRESS", "FINALIZING"].includes(b.state);
  actionButton("batch-cancel", cancellable, `Cancel batch ${b.id}? Work already done is kept; requests that did not run go back to the queue.`,
    `/api/batches/${encodeURIComponent(b.id)}/cancel`);
  document.body.dataset.batchState = b.state;
}

async function requests(params) {
  const section = document.getElementById("view-requests");
  const form = document.getElementById("request-filters");
  fillForm(form, params);
  bindFilters(form, "/requests");
  const page = Number(params.get("page") || 1);
  const data = await api(`/api/requests?${apiQuery(params, ["company", "state", "task", "batch", "since"])}&page=${page}`);
  table("request-list", REQUEST_HEAD, data.rows.map(requestRow), "no requests match these filters");
  pager(section, page, data.has_next, (p) => go("/requests", withPage(params, p)));
}

function parsedAnswer(text) {
  if (typeof text !== "string") return null;
  const body = text.trim().replace(/^```(?:json)?\s*/, "").replace(/\s*```$/, "");
  try {
    const value = JSON.parse(body);
    return value && typeof value === "object" ? value : null;
  } catch (exc) {
    return null;
  }
}

async function request(id) {
  const r = await api(`/api/requests/${encodeURIComponent(id)}`);
  setText("request-id", r.id);
  document.getElementById("request-state").replaceWith(Object.assign(badge(r.state), { id: "request-state" }));
  const batchLink = r.batch_id ? link(`#/batches/${encodeURIComponent(r.batch_id)}`, r.batch_id, "mono") : "–";
  const rows = [["company", r.company_id], ["session", r.session], ["task", r.task], ["model", r.model],
    ["attempts", r.attempts], ["requested", when(r.requested_at)], ["completed", when(r.completed_at)],
    ["tokens in / out", `${int(r.input_tokens)} / ${int(r.output_tokens)}`], ["cost (USD)", Number(r.cost_usd || 0).toFixed(6)],
    ["provider request", r.provider_request_id]];
  if (r.provider) rows.splice(4, 0, ["provider", r.provider]);
  facts("request-facts", rows);
  const factsTable = document.getElementById("request-facts");
  const tr = html("tr");
  const td = html("td");
  td.append(batchLink);
  tr.append(html("th", "batch"), td);
  factsTable.append(tr);
  const errorBox = document.getElementById("request-error-box");
  errorBox.hidden = !r.error;
  setText("request-error", r.error || "");
  const result = document.getElementById("request-result");
  if (r.result) {
    const t = html("table", undefined, "facts");
    facts(t, Object.entries(r.result));
    result.replaceChildren(t);
  } else {
    result.replaceChildren(html("p", r.state === "PROCESSING_COMPLETE" ? "no stored fields" : "no result (not complete)", "nodata"));
  }
  const answer = document.getElementById("request-answer");
  if (!r.answer) {
    answer.replaceChildren(html("p", "no answer stored yet", "nodata"));
  } else {
    const parts = [];
    const t = html("table", undefined, "facts");
    const fields = parsedAnswer(r.answer.text);
    const entries = [["HTTP status", r.answer.status_code]];
    if (fields) entries.push(...Object.entries(fields));
    else if (r.answer.text) entries.push(["text", r.answer.text]);
    if (r.answer.error) entries.push(["error", r.answer.error]);
    facts(t, entries);
    parts.push(t);
    const raw = html("details");
    const lineTable = html("table", undefined, "facts");
    let line = null;
    try { line = JSON.parse(r.answer.line); } catch (exc) { line = null; }
    facts(lineTable, line && typeof line === "object" ? Object.entries(line) : [["line", r.answer.line]]);
    raw.append(html("summary", "everything the provider's line holds"), lineTable);
    parts.push(raw);
    answer.replaceChildren(...parts);
  }
  const input = document.getElementById("request-input");
  const items = [];
  if (r.input.instructions) {
    const instructions = html("details");
    instructions.append(html("summary", "instructions"), html("p", r.input.instructions, "message"));
    items.push(instructions);
  }
  for (const m of r.input.messages) {
    const row = html("div", undefined, "message " + (m.role === "user" ? "user" : "other"));
    row.append(html("strong", m.role + ": "), document.createTextNode(m.content));
    items.push(row);
  }
  if (r.input.more_messages) items.push(html("p", "more messages not shown", "nodata"));
  input.replaceChildren(...items);
  actionButton("request-retry", r.state === "PROCESSING_FAILED",
    `Retry request ${r.id}? It goes back to the queue with its attempts reset.`, `/api/requests/${encodeURIComponent(r.id)}/retry`);
  actionButton("request-cancel", r.state === "PENDING_BATCHING" && !r.batch_id,
    `Cancel request ${r.id}? It will be closed as failed and not sent.`, `/api/requests/${encodeURIComponent(r.id)}/cancel`);
  document.body.dataset.requestState = r.state;
}

async function companies(params) {
  const section = document.getElementById("view-companies");
  const page = Number(params.get("page") || 1);
  const data = await api(`/api/companies?page=${page}&page_size=${PAGE_SIZE}`);
  const rows = data.rows.map((c) => {
    const button = html("button", c.paused ? "Resume…" : "Pause…", c.paused ? "" : "danger");
    button.type = "button";
    button.dataset.company = c.id;
    const verb = c.paused ? "resume" : "pause";
    button.dataset.action = verb;
    bindAction(button, true, c.paused ? `Resume company ${c.id}? Its pending requests will be claimed again.`
      : `Pause company ${c.id}? Nothing new is claimed; its batches at the provider finish.`,
    `/api/companies/${encodeURIComponent(c.id)}/${verb}`);
    const n = (s) => int(c.requests[s] || 0);
    return [c.id, c.name, c.paused ? badge("PAUSED") : badge(c.status), n("PENDING_BATCHING"),
      n("BATCHING_IN_PROGRESS"), n("PROCESSING_COMPLETE"),
      link(`#/requests?company=${encodeURIComponent(c.id)}&state=failed`, n("PROCESSING_FAILED")), button];
  });
  table("company-list", [["company"], ["name", "wide-only"], ["state"], ["pending", "num"], ["in flight", "num wide-only"],
    ["complete", "num wide-only"], ["failed", "num"], ["action"]], rows, "no companies");
  pager(section, page, data.has_next, (p) => go("/companies", withPage(params, p)));
}

async function activity() {
  const data = await api("/api/audit?limit=100");
  table("audit-list", [["when (UTC)"], ["who"], ["action"], ["target"], ["result"], ["detail", "error-cell"]],
    auditRows(data.rows), "no actions yet");
}

// --- actions -------------------------------------------------------------------------------

function bindAction(button, possible, question, path) {
  const operator = state.who.role === "operator";
  button.hidden = !possible;
  button.disabled = !operator;
  button.title = operator ? "" : "this token may only read; an operator token may act";
  button.onclick = async () => {
    if (!(await confirmDialog(question))) return;
    try {
      const answer = await api(path, { method: "POST", headers: { Accept: "application/json", "X-Requested-With": "batchkernel" } });
      notice(answer.message, true);
    } catch (exc) {
      notice(String(exc.message || exc), false);
    }
    await render();
  };
}

function actionButton(id, possible, question, path) {
  bindAction(document.getElementById(id), possible, question, path);
}

function confirmDialog(question) {
  const dialog = document.getElementById("confirm");
  setText("confirm-text", question);
  return new Promise((resolve) => {
    dialog.onclose = () => resolve(dialog.returnValue === "yes");
    dialog.returnValue = "no";
    dialog.showModal();
  });
}

// --- the frame -----------------------------------------------------------------------------

const PAGES = { overview, batches, batch, requests, request, companies, activity };
const NAV = { batch: "batches", request: "requests" };

async function render() {
  if (state.busy) return;
  state.busy = true;
  const { view, id, params } = route();
  for (const section of document.querySelectorAll(".view")) section.hidden = section.id !== `view-${view}`;
  for (const a of document.querySelectorAll("#nav a")) {
    a.classList.toggle("current", a.dataset.view === (NAV[view] || view));
  }
  document.title = `batchkernel · ${document.getElementById(`view-${view}`).dataset.title}`;
  try {
    if (id !== undefined) await PAGES[view](id, params);
    else await PAGES[view](params);
    showError(null);
    document.body.dataset.view = view;
    document.body.dataset.rendered = String(Date.now());
  } catch (exc) {
    showError(exc);
  } finally {
    state.busy = false;
  }
}

async function start() {
  try {
    state.who = await api("/api/whoami");
  } catch (exc) {
    showError(exc);
  }
  document.body.dataset.role = state.who.role;
  setText("role", state.who.role === "operator" ? "operator" : "read only");
  setText("scope", state.who.company ? `company ${state.who.company}` : "all companies");
  document.getElementById("page-prev").addEventListener("click", () => { state.overviewPage = Math.max(1, state.overviewPage - 1); render(); });
  document.getElementById("page-next").addEventListener("click", () => { state.overviewPage += 1; render(); });
  window.addEventListener("hashchange", () => { document.getElementById("notice").hidden = true; render(); });
  const meta = document.querySelector('meta[name="refresh-seconds"]');
  const seconds = Math.max(1, parseFloat(meta ? meta.content : "10") || 10);
  await render();
  setInterval(() => { if (route().view === "overview" && !document.getElementById("confirm").open) render(); }, seconds * 1000);
}

start();
