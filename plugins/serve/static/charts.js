// SVG charts without a library: stacked bars, and lines over a real time axis (a window with
// its own start and end, gaps shown as gaps, so one busy minute is a spike, not a lone dot).
"use strict";

import { html, noData, svg } from "./dom.js";

const W = 420;
const H = 220;
const PAD = { left: 60, right: 12, top: 10, bottom: 40 };

function box() {
  return svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", preserveAspectRatio: "none" });
}

function axis(chart, max, label) {
  const bottom = H - PAD.bottom;
  chart.append(svg("line", { x1: PAD.left, y1: PAD.top, x2: PAD.left, y2: bottom, stroke: "#dde1e8" }));
  chart.append(svg("line", { x1: PAD.left, y1: bottom, x2: W - PAD.right, y2: bottom, stroke: "#dde1e8" }));
  chart.append(svg("text", { x: PAD.left - 4, y: PAD.top + 8, "text-anchor": "end" }, label(max)));
  chart.append(svg("text", { x: PAD.left - 4, y: bottom, "text-anchor": "end" }, label(0)));
}

export function legend(container, entries) {
  const el = html("div", undefined, "legend");
  for (const [name, color] of entries) {
    const item = html("span", name);
    const swatch = html("i");
    swatch.style.background = color;
    item.prepend(swatch);
    el.append(item);
  }
  container.append(el);
}

// Stacked bars: rows [{label, values}], series [[name, color]].
export function stackedBars(container, rows, series, empty) {
  const total = rows.reduce((m, r) => Math.max(m, r.values.reduce((a, b) => a + b, 0)), 0);
  if (!rows.length || total === 0) return noData(container, empty || "nothing to show");
  const chart = box();
  axis(chart, total, (v) => Math.round(v).toLocaleString("en-US"));
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
        const rect = svg("rect", { x, y: y - h, width: barW, height: h, fill: series[s][1],
          "data-value": value, "data-label": row.label, "data-series": series[s][0] });
        rect.append(svg("title", {}, `${row.label} ${series[s][0]}: ${value}`));
        chart.append(rect);
        y -= h;
      }
    });
    if (rows.length <= 20) {
      chart.append(svg("text", { x: x + barW / 2, y: H - PAD.bottom + 12, "text-anchor": "middle" },
        row.label.length > 8 ? row.label.slice(0, 7) + "…" : row.label));
    }
  });
  container.replaceChildren(chart);
  legend(container, series);
}

const hhmm = (ms) => new Date(ms).toISOString().slice(11, 16);

// Lines over time: points [{t: ms, ys: [...]}] inside the window [start, end] (ms).
export function timeLines(container, points, series, format, start, end, empty) {
  const max = points.reduce((m, p) => Math.max(m, ...p.ys), 0);
  if (!points.length) return noData(container, empty || "no samples in this window yet");
  const chart = box();
  const top = max > 0 ? max : 1;
  axis(chart, top, format);
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const span = Math.max(60000, end - start);
  const xy = (t, v) => [PAD.left + ((t - start) / span) * plotW, H - PAD.bottom - (v / top) * plotH];
  series.forEach(([name, color], s) => {
    const coords = points.map((p) => xy(p.t, p.ys[s]).map((n) => n.toFixed(1)).join(",")).join(" ");
    chart.append(svg("polyline", { points: coords, fill: "none", stroke: color, "stroke-width": 2,
      "data-series": name }));
    if (points.length <= 90) {
      points.forEach((p) => {
        const [cx, cy] = xy(p.t, p.ys[s]);
        const dot = svg("circle", { cx, cy, r: 2.2, fill: color, "data-value": p.ys[s] });
        dot.append(svg("title", {}, `${hhmm(p.t)} UTC ${name}: ${format(p.ys[s])}`));
        chart.append(dot);
      });
    }
  });
  chart.append(svg("text", { x: PAD.left, y: H - 6 }, hhmm(start)));
  chart.append(svg("text", { x: PAD.left + plotW / 2, y: H - 6, "text-anchor": "middle" },
    hhmm(start + span / 2)));
  chart.append(svg("text", { x: W - PAD.right, y: H - 6, "text-anchor": "end" }, hhmm(end) + " UTC"));
  container.replaceChildren(chart);
  legend(container, series);
}
