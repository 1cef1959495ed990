// DOM helpers and formatting. Every piece of data reaches the page as text (textContent,
// attribute values), never as markup.

const SVG_NS = "http://www.w3.org/2000/svg";

/**
 * An element: `el("td", {class: "num", dataset: {rep: id}}, "text", child…)`. Strings become
 * text nodes; null and undefined children are skipped.
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  setAttrs(node, attrs);
  append(node, children);
  return node;
}

/** An SVG element, as `el`. */
export function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  setAttrs(node, attrs);
  append(node, children);
  return node;
}

function setAttrs(node, attrs) {
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "dataset") {
      Object.assign(node.dataset, value);
    } else if (key.startsWith("on")) {
      node.addEventListener(key.slice(2), value);
    } else {
      node.setAttribute(key, value === true ? "" : String(value));
    }
  }
}

function append(node, children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces the children of `node`. */
export function fill(node, ...children) {
  node.replaceChildren();
  append(node, children);
}

/** The element with `id` (it must exist). */
export function byId(id) {
  const node = document.getElementById(id);
  if (!node) throw new Error(`no element #${id}`);
  return node;
}

/** Minor units as a decimal amount with its currency: `5200, "CNY"` → `52.00 CNY`. */
export function money(minor, currency) {
  const sign = minor < 0 ? "-" : "";
  const abs = Math.abs(minor);
  const units = Math.floor(abs / 100);
  const cents = String(abs % 100).padStart(2, "0");
  return `${sign}${units}.${cents} ${currency}`;
}

/** Basis points as a percentage, one decimal: `8750` → `87.5 %`; null → `–`. */
export function percent(bp) {
  return bp === null || bp === undefined ? "–" : `${(bp / 100).toFixed(1)} %`;
}

/** Milliseconds as `1 h 05 min` or `12 min`. */
export function duration(ms) {
  const minutes = Math.round(ms / 60000);
  if (minutes < 60) return `${minutes} min`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, "0")} min`;
}

/** Metres as `850 m` or `12.4 km`. */
export function distance(m) {
  if (m === null || m === undefined) return "–";
  return m < 1000 ? `${Math.round(m)} m` : `${(m / 1000).toFixed(1)} km`;
}

/** A civil date `YYYY-MM-DD` of days since 1970-01-01. */
export function isoDate(days) {
  return new Date(days * 86400000).toISOString().slice(0, 10);
}

/** Days since 1970-01-01 of `YYYY-MM-DD`. */
export function daysOf(iso) {
  return Math.floor(Date.parse(iso + "T00:00:00Z") / 86400000);
}

/** Unix ms as local time in the org's offset (minutes): `2026-11-27 14:05`. */
export function localTime(ms, offsetMin) {
  return new Date(ms + offsetMin * 60000).toISOString().slice(0, 16).replace("T", " ");
}

/** The amount of `currency` in a summary row's `order_amounts` (0 if none). */
export function amountIn(row, currency) {
  const found = (row.order_amounts || []).find((a) => a.currency === currency);
  return found ? found.minor : 0;
}

/** The first 8 characters of an id, for people. */
export function shortId(id) {
  return String(id).slice(0, 8);
}

/**
 * Positions in metres east and north of their centroid (equirectangular: exact enough over
 * a city): `[{…item, x, y}]`, and the centroid `{lat, lng}`.
 */
export function localPlane(items) {
  const lat0 = items.reduce((s, i) => s + i.lat, 0) / items.length;
  const lng0 = items.reduce((s, i) => s + i.lng, 0) / items.length;
  const kx = 111320 * Math.cos((lat0 * Math.PI) / 180);
  const ky = 110540;
  return {
    centroid: { lat: lat0, lng: lng0 },
    points: items.map((i) => ({ ...i, x: (i.lng - lng0) * kx, y: (i.lat - lat0) * ky })),
    project: (lat, lng) => ({ x: (lng - lng0) * kx, y: (lat - lat0) * ky }),
  };
}

/** Compass bearing (N, NE…) of a vector east `x`, north `y`. */
export function compass(x, y) {
  const names = ["N", "NE", "E", "SE", "S", "SW", "W", "NW"];
  const deg = ((Math.atan2(x, y) * 180) / Math.PI + 360) % 360;
  return names[Math.round(deg / 45) % 8];
}

/** A round length for a scale bar no longer than `max` metres. */
export function roundLength(max) {
  const steps = [10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000];
  let best = steps[0];
  for (const s of steps) if (s <= max) best = s;
  return best;
}
