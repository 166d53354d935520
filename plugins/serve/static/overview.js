// The overview page: totals, charts over real time series (the per-minute samples kept in the
// database, and requests finished per minute), the plugins' sections as key/value rows,
// companies one page at a time, budgets and the latest operator actions.
"use strict";

import { stackedBars, timeLines } from "./charts.js";
import { badge, duration, html, int, link, noData, pct, setText, table, usd, when } from "./dom.js";

const COLORS = { PENDING_BATCHING: "#d99a1e", BATCHING_IN_PROGRESS: "#2f6fdf",
  PROCESSING_COMPLETE: "#2e9e5b", PROCESSING_FAILED: "#d64545" };
const BATCH_COLORS = ["#2f6fdf", "#2e9e5b", "#d99a1e", "#d64545", "#7a5cd6", "#1aa3a3",
  "#9aa3b2", "#c2588f", "#5b8c2a", "#8a6d3b", "#44546a"];
const MINUTE = 60000;
export const SAMPLE_MINUTES = 120;

function queueChart(snap) {
  const rows = snap.companies
    .map((c) => ({ label: c.id, values: [c.requests.PENDING_BATCHING, c.requests.BATCHING_IN_PROGRESS] }))
    .filter((r) => r.values[0] + r.values[1] > 0);
  if (snap.other) {
    rows.push({ label: `other (${int(snap.other.companies)})`,
      values: [snap.other.requests.PENDING_BATCHING, snap.other.requests.BATCHING_IN_PROGRESS] });
  }
  stackedBars(document.getElementById("chart-queue"), rows,
    [["pending", COLORS.PENDING_BATCHING], ["in flight", COLORS.BATCHING_IN_PROGRESS]], "nothing queued");
}

function batchChart(snap) {
  const states = Object.entries(snap.batches.by_state).filter(([, n]) => n > 0);
  const rows = states.map(([state, n]) => ({ label: state, values: states.map(([s]) => (s === state ? n : 0)) }));
  stackedBars(document.getElementById("chart-batches"), rows,
    states.map(([state], i) => [state, BATCH_COLORS[i % BATCH_COLORS.length]]), "no batches yet");
}

// Requests finished per minute over the window, every minute present (zero when idle).
function throughputChart(snap) {
  const end = Math.floor(Date.parse(snap.generated_at) / MINUTE) * MINUTE;
  const start = end - snap.throughput.minutes * MINUTE;
  const byMinute = new Map(snap.throughput.buckets.map((b) => [Date.parse(b.minute), b]));
  const points = [];
  for (let t = start; t <= end; t += MINUTE) {
    const b = byMinute.get(t);
    points.push({ t, ys: [b ? b.completed : 0, b ? b.failed : 0] });
  }
  timeLines(document.getElementById("chart-throughput"), points,
    [["completed", COLORS.PROCESSING_COMPLETE], ["failed", COLORS.PROCESSING_FAILED]], int, start, end);
}

function sampleCharts(samples, snap) {
  const history = document.getElementById("chart-history");
  const cost = document.getElementById("chart-cost");
  if (samples.note) {
    noData(history, samples.note);
    return noData(cost, samples.note);
  }
  const end = Date.parse(snap.generated_at);
  const start = end - samples.minutes * MINUTE;
  const rows = samples.samples.map((s) => ({ t: Date.parse(s.minute), s }));
  timeLines(history, rows.map(({ t, s }) => ({ t, ys: [s.pending, s.in_flight] })),
    [["pending", COLORS.PENDING_BATCHING], ["in flight", COLORS.BATCHING_IN_PROGRESS]], int, start, end,
    "no samples yet: a scheduler or serve writes one a minute");
  timeLines(cost, rows.map(({ t, s }) => ({ t, ys: [s.cost_usd] })),
    [["cost", "#7a5cd6"]], (v) => "$" + v.toFixed(4), start, end,
    "no samples yet: a scheduler or serve writes one a minute");
}

function cacheChart(snap) {
  const container = document.getElementById("chart-cache");
  const cache = snap.cache;
  if (!cache || typeof cache.hits !== "number" || typeof cache.misses !== "number") {
    setText("cache-rate", "no data");
    return noData(container, snap.scope.global_sections ? "no cache data (no cache plugin reported)" : "not shown for a company token");
  }
  setText("cache-rate", pct(cache.hit_rate));
  stackedBars(container, [{ label: "lookups", values: [cache.hits, cache.misses] }],
    [["hits", "#2e9e5b"], ["misses", "#d64545"]], "no lookups yet");
}

// Fallback: one row per operation (events, the path it takes now and why), never raw JSON.
function fallbackPanel(snap) {
  const fb = snap.fallback;
  if (!fb) {
    setText("fallback-events", "no data");
    return table("fallback", [["fallback"]], [], snap.scope.global_sections ? "no data (no fallback plugin reported)" : "not shown for a company token");
  }
  const events = typeof fb.events === "number" ? fb.events
    : Object.values(fb.events || {}).reduce((a, b) => a + b, 0);
  setText("fallback-events", int(events));
  const byOperation = fb.by_operation || {};
  const tracker = fb.tracker || {};
  const operations = [...new Set([...Object.keys(byOperation), ...Object.keys(tracker)])].sort();
  const rate = (side) => (side && side.samples ? `${pct(side.success_rate)} of ${int(side.samples)}` : "–");
  table("fallback", [["operation"], ["events", "num"], ["path"], ["optimized ok", "wide-only"], ["why", "text-cell wide-only"]],
    operations.map((op) => {
      const t = tracker[op] || {};
      return [op, int(byOperation[op] || 0), t.path || "–", rate(t.optimized), t.reason || ""];
    }), "no operations reported");
}

function breakerTable(snap) {
  const breakers = snap.breakers || {};
  table("breakers", [["operation"], ["state"], ["failures", "num"]],
    Object.entries(breakers).map(([op, b]) => [op, html("span", b.state, "badge " + b.state), int(b.failures || 0)]));
}

function taskTable(snap) {
  const rows = Object.entries(snap.tasks || {}).map(([task, r]) => [task, (r.seconds || 0).toFixed(3) + " s",
    int(r.queries || 0), r.error || ""]);
  if (snap.last_cycle) {
    rows.push(["cycle (all)", snap.last_cycle.seconds.toFixed(3) + " s", int(snap.last_cycle.queries), ""]);
  }
  table("tasks", [["task"], ["time", "num"], ["queries", "num"], ["error"]], rows);
}

function companyRow(label, c, oldest) {
  return [label, int(c.requests.PENDING_BATCHING), int(c.requests.BATCHING_IN_PROGRESS),
    int(c.requests.PROCESSING_COMPLETE), int(c.requests.PROCESSING_FAILED),
    int(Object.values(c.batches).reduce((a, b) => a + b, 0)), oldest, usd(c.cost_usd)];
}

function companyTable(snap) {
  const rows = snap.companies.map((c) => companyRow(c.name === c.id ? c.id : `${c.name} (${c.id})`, c,
    duration(c.oldest_pending_age_seconds)));
  if (snap.other) rows.push(companyRow(`${int(snap.other.companies)} other companies`, snap.other, ""));
  table("companies", [["company"], ["pending", "num"], ["in flight", "num"], ["complete", "num"],
    ["failed", "num"], ["batches", "num"], ["oldest pending", "num"], ["cost (USD)", "num"]], rows);
  const info = snap.companies_page;
  setText("page-info", `page ${int(info.page)} of ${int(info.pages)} (${int(info.total)} companies, ` +
    "largest backlog first)");
  document.getElementById("page-prev").disabled = info.page <= 1;
  document.getElementById("page-next").disabled = info.page >= info.pages;
  document.body.dataset.page = String(info.page);
}

const LIVE_BATCHES = ["PLANNED", "VALIDATING", "IN_PROGRESS", "FINALIZING", "CANCELLING"];

function providerTable(snap) {
  const rows = (snap.providers || []).map((p) => [p.provider,
    int(LIVE_BATCHES.reduce((n, state) => n + (p.batches[state] || 0), 0)),
    int(Object.values(p.batches).reduce((a, b) => a + b, 0)), int(p.requests_in_flight),
    int(p.requests_sent), int(p.completed), int(p.failed), usd(p.cost_usd)]);
  table("providers", [["provider"], ["batches live", "num"], ["batches", "num"],
    ["requests in flight", "num"], ["sent", "num"], ["completed", "num"], ["failed", "num"],
    ["cost (USD)", "num"]], rows, "no batches yet");
}

function budgetTable(snap) {
  const section = snap.budgets || { budgets: [], holds: [] };
  const rows = section.budgets.map((b) => [b.scope === "*" ? "overall" : b.scope, "per " + b.period,
    `${usd(b.committed_usd)} of ${usd(b.limit_usd)}`, html("span", b.state, "badge " + b.state)]);
  section.holds.forEach((h) => rows.push([h.scope, "waiting", h.reason, html("span", "held", "badge held")]));
  table("budgets", [["scope"], ["period"], ["committed / reason"], ["state"]], rows);
}

export function auditRows(rows) {
  return rows.map((a) => [when(a.at), a.actor, a.action, targetLink(a), badge(a.result === "ok" ? "OK" : a.result.toUpperCase()), a.detail || ""]);
}

function targetLink(a) {
  if (a.action.startsWith("batches.")) return link(`#/batches/${encodeURIComponent(a.target)}`, a.target, "mono");
  if (a.action.startsWith("requests.") && /^[0-9a-f-]{36}$/.test(a.target)) {
    return link(`#/requests/${encodeURIComponent(a.target)}`, a.target, "mono");
  }
  return a.target;
}

function recentActions(snap) {
  table("recent-actions", [["when (UTC)"], ["who"], ["action"], ["target"], ["result"]],
    auditRows(snap.audit || []).map((r) => r.slice(0, 5)), "no actions yet");
}

export function renderOverview(snap, samples) {
  const r = snap.requests.by_state;
  setText("requests-total", int(snap.requests.total));
  setText("requests-pending", int(r.PENDING_BATCHING));
  setText("requests-inflight", int(r.BATCHING_IN_PROGRESS));
  setText("requests-complete", int(r.PROCESSING_COMPLETE));
  setText("requests-failed", int(r.PROCESSING_FAILED));
  setText("batches-total", int(snap.batches.total));
  setText("cost", usd(snap.usage.cost_usd));
  setText("tokens", `${int(snap.usage.input_tokens)} / ${int(snap.usage.output_tokens)}`);
  setText("oldest", duration(snap.oldest_pending ? snap.oldest_pending.age_seconds : null));
  setText("live", snap.scheduler ? int(snap.scheduler.live) : "–");
  queueChart(snap);
  batchChart(snap);
  throughputChart(snap);
  sampleCharts(samples, snap);
  cacheChart(snap);
  fallbackPanel(snap);
  breakerTable(snap);
  taskTable(snap);
  companyTable(snap);
  providerTable(snap);
  budgetTable(snap);
  recentActions(snap);
}
