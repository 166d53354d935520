// Small DOM helpers shared by the console's modules. Every value goes in as textContent, so
// company names, prompts and model answers can never inject markup.
"use strict";

export const SVG = "http://www.w3.org/2000/svg";

export const int = (n) => Math.round(n).toLocaleString("en-US");
export const usd = (n) => Number(n || 0).toLocaleString("en-US", { minimumFractionDigits: 4, maximumFractionDigits: 4 });
export const pct = (r) => (r === null || r === undefined ? "no data" : (r * 100).toFixed(1) + "%");

export function duration(seconds) {
  if (seconds === null || seconds === undefined) return "none";
  if (seconds < 60) return seconds.toFixed(1) + " s";
  if (seconds < 3600) return (seconds / 60).toFixed(1) + " min";
  return (seconds / 3600).toFixed(1) + " h";
}

export function when(iso) {
  if (!iso) return "–";
  return iso.slice(0, 19).replace("T", " ");
}

export function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

export function html(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = text;
  if (cls) node.className = cls;
  return node;
}

export function link(href, text, cls) {
  const a = html("a", text, cls);
  a.href = href;
  return a;
}

export function setText(id, text) {
  document.getElementById(id).textContent = text;
}

export function noData(container, message) {
  container.replaceChildren(html("div", message || "no data", "nodata"));
}

export function badge(state) {
  return html("span", state.toLowerCase().replaceAll("_", " "), "badge s-" + state.toLowerCase());
}

export function bar(fraction) {
  const box = html("div", undefined, "progress");
  const fill = html("div");
  fill.style.width = `${Math.round(Math.max(0, Math.min(1, fraction)) * 100)}%`;
  box.append(fill);
  box.title = `${Math.round(fraction * 100)}% done`;
  return box;
}

// A table: head is [[label, cls]], rows are arrays of strings or nodes.
export function table(target, head, rows, empty) {
  const t = typeof target === "string" ? document.getElementById(target) : target;
  const tr = html("tr");
  head.forEach(([name, cls]) => tr.append(html("th", name, cls)));
  const body = rows.map((cells) => {
    const row = html("tr");
    cells.forEach((cell, i) => {
      const td = html("td", undefined, head[i][1]);
      if (cell instanceof Node) td.append(cell);
      else td.textContent = cell === null || cell === undefined ? "–" : String(cell);
      row.append(td);
    });
    return row;
  });
  t.replaceChildren(tr, ...body);
  if (!rows.length) {
    const row = html("tr");
    const td = html("td", empty || "no data", "nodata");
    td.colSpan = head.length;
    row.append(td);
    t.append(row);
  }
}

function plain(value) {
  if (typeof value === "number" && !Number.isInteger(value)) return String(Number(value.toFixed(4)));
  if (typeof value === "boolean") return value ? "yes" : "no";
  return String(value);
}

// Key/value rows: nested objects become "a · b" labels, lists are joined; never raw JSON.
export function facts(target, entries) {
  const t = typeof target === "string" ? document.getElementById(target) : target;
  const rows = [];
  const add = (label, value) => {
    if (value !== null && typeof value === "object" && !Array.isArray(value)) {
      const keys = Object.keys(value);
      if (!keys.length) rows.push([label, "–"]);
      keys.forEach((key) => add(label ? `${label} · ${key}` : key, value[key]));
    } else if (Array.isArray(value)) {
      if (value.some((v) => v !== null && typeof v === "object")) {
        value.forEach((v, i) => add(`${label} ${i + 1}`, v));
      } else {
        rows.push([label, value.length ? value.join(", ") : "–"]);
      }
    } else {
      rows.push([label, value === null || value === undefined || value === "" ? "–" : plain(value)]);
    }
  };
  entries.forEach(([label, value]) => add(label, value));
  const trs = rows.map(([label, value]) => {
    const tr = html("tr");
    tr.append(html("th", label), html("td", value));
    return tr;
  });
  t.replaceChildren(...trs);
  if (!trs.length) {
    const tr = html("tr");
    tr.append(html("td", "no data", "nodata"));
    t.append(tr);
  }
}
