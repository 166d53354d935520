// batchkernel dashboard: fetches /api/batch-monitoring, draws SVG charts, refreshes itself.
// No build step and no third-party code; every value is written with textContent (no HTML
// injection from company names). The company table and queue chart show one page of companies
// (largest backlog first) plus an "other" aggregate; the pager asks the API for other pages.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const COLORS = { PENDING_BATCHING: "#d99a1e", BATCHING_IN_PROGRESS: "#2f6fdf",
  PROCESSING_COMPLETE: "#2e9e5b", PROCESSING_FAILED: "#d64545" };
const BATCH_COLORS = ["#2f6fdf", "#2e9e5b", "#d99a1e", "#d64545", "#7a5cd6", "#1aa3a3",
  "#9aa3b2", "#c2588f", "#5b8c2a", "#8a6d3b", "#44546a"];
const W = 420;
const H = 220;
const PAD = { left: 56, right: 10, top: 10, bottom: 40 };

const int = (n) => Math.round(n).toLocaleString("en-US");
const usd = (n) => n.toLocaleString("en-US", { minimumFractionDigits: 4, maximumFractionDigits: 4 });
const pct = (r) => (r === null || r === undefined ? "no data" : (r * 100).toFixed(1) + "%");
let page = 1;

function duration(seconds) {
  if (seconds === null || seconds === undefined) return "none";
  if (seconds < 60) return seconds.toFixed(1) + " s";
  if (seconds < 3600) return (seconds / 60).toFixed(1) + " min";
  return (seconds / 3600).toFixed(1) + " h";
}

function el(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function html(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (cls) node.className = cls;
  return node;
}

function setText(id, text) {
  document.getElementById(id).textContent = text;
}

function noData(container, message) {
  container.replaceChildren(html("div", message || "no data", "nodata"));
}

function svgBox() {
  return el("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", preserveAspectRatio: "none" });
}

function axis(svg, max, label) {
  const bottom = H - PAD.bottom;
  svg.append(el("line", { x1: PAD.left, y1: PAD.top, x2: PAD.left, y2: bottom, stroke: "#dde1e8" }));
  svg.append(el("line", { x1: PAD.left, y1: bottom, x2: W - PAD.right, y2: bottom, stroke: "#dde1e8" }));
  svg.append(el("text", { x: PAD.left - 4, y: PAD.top + 8, "text-anchor": "end" }, label(max)));
  svg.append(el("text", { x: PAD.left - 4, y: bottom, "text-anchor": "end" }, label(0)));
}

function legend(container, entries) {
  const box = html("div", undefined, "legend");
  for (const [name, color] of entries) {
    const item = html("span", name);
    const swatch = html("i");
    swatch.style.background = color;
    item.prepend(swatch);
    box.append(item);
  }
  container.append(box);
}

// Stacked bars: one bar per label, segments [{value, color, name}].
function stackedBars(container, rows, series) {
  const total = rows.reduce((m, r) => Math.max(m, r.values.reduce((a, b) => a + b, 0)), 0);
  if (!rows.length || total === 0) return noData(container, "nothing queued");
  const svg = svgBox();
  axis(svg, total, int);
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const slot = plotW / rows.length;
  const barW = Math.max(2, Math.min(40, slot * 0.7));
  rows.forEach((row, i) => {
    let y = H - PAD.bottom;
    const x = PAD.left + i * slot + (slot - barW) / 2;
    row.values.forEach((value, s) => {
      const h = (value / total) * plotH;
      if (h > 0) {
        const rect = el("rect", { x, y: y - h, width: barW, height: h, fill: series[s][1],
          "data-value": value, "data-label": row.label, "data-series": series[s][0] });
        rect.append(el("title", {}, `${row.label} ${series[s][0]}: ${int(value)}`));
        svg.append(rect);
        y -= h;
      }
    });
    if (rows.length <= 20) {
      svg.append(el("text", { x: x + barW / 2, y: H - PAD.bottom + 12, "text-anchor": "middle" },
        row.label.length > 8 ? row.label.slice(0, 7) + "…" : row.label));
    }
  });
  container.replaceChildren(svg);
  legend(container, series);
}

// Lines over time: points [{x: label, ys: [..]}], one polyline per series.
function lines(container, points, series, format) {
  const max = points.reduce((m, p) => Math.max(m, ...p.ys), 0);
  if (points.length === 0 || max === 0) return noData(container, "nothing finished in this window");
  const svg = svgBox();
  axis(svg, max, format);
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const step = points.length > 1 ? plotW / (points.length - 1) : 0;
  const xy = (i, v) => [PAD.left + (points.length > 1 ? i * step : plotW / 2),
    H - PAD.bottom - (v / max) * plotH];
  series.forEach(([name, color], s) => {
    const coords = points.map((p, i) => xy(i, p.ys[s]).join(",")).join(" ");
    svg.append(el("polyline", { points: coords, fill: "none", stroke: color, "stroke-width": 2,
      "data-series": name }));
    points.forEach((p, i) => {
      const [cx, cy] = xy(i, p.ys[s]);
      const dot = el("circle", { cx, cy, r: 2.5, fill: color, "data-value": p.ys[s] });
      dot.append(el("title", {}, `${p.x} ${name}: ${format(p.ys[s])}`));
      svg.append(dot);
    });
  });
  svg.append(el("text", { x: PAD.left, y: H - 6 }, points[0].x.slice(11, 16)));
  svg.append(el("text", { x: W - PAD.right, y: H - 6, "text-anchor": "end" },
    points[points.length - 1].x.slice(11, 16) + " UTC"));
  container.replaceChildren(svg);
  legend(container, series);
}

function queueChart(snap) {
  const rows = snap.companies
    .map((c) => ({ label: c.id, values: [c.requests.PENDING_BATCHING, c.requests.BATCHING_IN_PROGRESS] }))
    .filter((r) => r.values[0] + r.values[1] > 0);
  if (snap.other) {
    rows.push({ label: `other (${int(snap.other.companies)})`,
      values: [snap.other.requests.PENDING_BATCHING, snap.other.requests.BATCHING_IN_PROGRESS] });
  }
  stackedBars(document.getElementById("chart-queue"), rows,
    [["pending", COLORS.PENDING_BATCHING], ["in flight", COLORS.BATCHING_IN_PROGRESS]]);
}

function batchChart(snap) {
  const states = Object.entries(snap.batches.by_state).filter(([, n]) => n > 0);
  const rows = states.map(([state, n]) => ({ label: state, values: states.map(([s]) => (s === state ? n : 0)) }));
  stackedBars(document.getElementById("chart-batches"), rows,
    states.map(([state], i) => [state, BATCH_COLORS[i % BATCH_COLORS.length]]));
}

function timeCharts(snap) {
  const buckets = snap.throughput.buckets;
  lines(document.getElementById("chart-throughput"),
    buckets.map((b) => ({ x: b.minute, ys: [b.completed, b.failed] })),
    [["completed", COLORS.PROCESSING_COMPLETE], ["failed", COLORS.PROCESSING_FAILED]], int);
  let running = 0;
  lines(document.getElementById("chart-cost"),
    buckets.map((b) => ({ x: b.minute, ys: [(running += b.cost_usd)] })),
    [["cost", "#7a5cd6"]], (v) => "$" + v.toFixed(4));
}

function cacheChart(snap) {
  const box = document.getElementById("chart-cache");
  const cache = snap.cache;
  if (!cache || typeof cache.hits !== "number" || typeof cache.misses !== "number") {
    setText("cache-rate", "no data");
    return noData(box, snap.scope.global_sections ? "no cache data (no cache plugin reported)" : "not shown for a company token");
  }
  setText("cache-rate", pct(cache.hit_rate));
  const total = cache.hits + cache.misses;
  const svg = el("svg", { viewBox: `0 0 ${W} 60`, role: "img" });
  const hitW = total ? ((W - 20) * cache.hits) / total : 0;
  svg.append(el("rect", { x: 10, y: 10, width: hitW, height: 24, fill: "#2e9e5b", "data-value": cache.hits }));
  svg.append(el("rect", { x: 10 + hitW, y: 10, width: W - 20 - hitW, height: 24, fill: "#d64545", "data-value": cache.misses }));
  svg.append(el("text", { x: 10, y: 52 }, `${int(cache.hits)} hits, ${int(cache.misses)} misses` +
    (cache.backend ? ` (${cache.backend})` : "")));
  box.replaceChildren(svg);
}

function fallbackPanel(snap) {
  const box = document.getElementById("fallback");
  const fb = snap.fallback;
  if (!fb) {
    setText("fallback-events", "no data");
    return noData(box, snap.scope.global_sections ? "no fallback data (no fallback plugin reported)" : "not shown for a company token");
  }
  const events = typeof fb.events === "number" ? fb.events
    : Object.values(fb.events || {}).reduce((a, b) => a + b, 0);
  setText("fallback-events", int(events));
  const table = html("table");
  for (const [key, value] of Object.entries(fb)) {
    const tr = html("tr");
    tr.append(html("th", key), html("td", typeof value === "object" ? JSON.stringify(value) : String(value)));
    table.append(tr);
  }
  box.replaceChildren(table);
}

function table(id, head, rows) {
  const t = document.getElementById(id);
  const tr = html("tr");
  head.forEach(([name, cls]) => tr.append(html("th", name, cls)));
  const body = rows.map((cells) => {
    const row = html("tr");
    cells.forEach((cell, i) => {
      if (cell instanceof Node) {
        const td = html("td", undefined, head[i][1]);
        td.append(cell);
        row.append(td);
      } else {
        row.append(html("td", cell, head[i][1]));
      }
    });
    return row;
  });
  t.replaceChildren(tr, ...body);
  if (!rows.length) {
    const row = html("tr");
    const td = html("td", "no data", "nodata");
    td.colSpan = head.length;
    row.append(td);
    t.append(row);
  }
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

function budgetTable(snap) {
  const section = snap.budgets || { budgets: [], holds: [] };
  const rows = section.budgets.map((b) => [b.scope === "*" ? "overall" : b.scope, "per " + b.period,
    `${usd(b.committed_usd)} of ${usd(b.limit_usd)}`, html("span", b.state, "badge " + b.state)]);
  section.holds.forEach((h) => rows.push([h.scope, "waiting", h.reason, html("span", "held", "badge held")]));
  table("budgets", [["scope"], ["period"], ["committed / reason"], ["state"]], rows);
}

function render(snap) {
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
  setText("scope", snap.scope.company ? `company ${snap.scope.company}` : "all companies");
  setText("updated", "updated " + new Date(snap.generated_at).toLocaleTimeString("en-GB"));
  queueChart(snap);
  batchChart(snap);
  timeCharts(snap);
  cacheChart(snap);
  fallbackPanel(snap);
  breakerTable(snap);
  taskTable(snap);
  companyTable(snap);
  budgetTable(snap);
  document.body.dataset.generatedAt = snap.generated_at;
}

async function refresh() {
  const error = document.getElementById("error");
  try {
    const answer = await fetch(`/api/batch-monitoring?page=${page}`,
      { headers: { Accept: "application/json" }, cache: "no-store" });
    if (!answer.ok) throw new Error(`snapshot request failed: HTTP ${answer.status}`);
    render(await answer.json());
    error.hidden = true;
  } catch (exc) {
    error.textContent = String(exc.message || exc);
    error.hidden = false;
  }
}

function start() {
  const meta = document.querySelector('meta[name="refresh-seconds"]');
  const seconds = Math.max(1, parseFloat(meta ? meta.content : "10") || 10);
  document.getElementById("page-prev").addEventListener("click", () => { page = Math.max(1, page - 1); refresh(); });
  document.getElementById("page-next").addEventListener("click", () => { page += 1; refresh(); });
  refresh();
  setInterval(refresh, seconds * 1000);
}

document.addEventListener("DOMContentLoaded", start);
