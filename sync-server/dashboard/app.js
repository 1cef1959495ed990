// The manager's dashboard: sign in, then today's team, the period reports with their charts
// (filtered by team server-side), the analytics (correlation and forecast), task dispatch
// with the smart-assignment answer, and a visit's facts and photos; for managers and admins,
// the form designer (designer.js) and the approvals (approvals.js) in views of their own. Everything is read from the JSON
// API with the session's bearer token; nothing is kept but the token.

import * as api from "./api.js";
import { initApprovals, openApprovals, resetApprovals } from "./approvals.js";
import { initDesigner, openDesigner, resetDesigner } from "./designer.js";
import {
  amountIn, byId, compass, daysOf, distance, duration, el, fill, isoDate, localPlane, localTime,
  money, percent, roundLength, shortId, svg,
} from "./view.js";

const DAY_MS = 86400000;
/** Days of a period drawn one point per day on the trend; longer periods go per week. */
const DAILY_TREND_DAYS = 31;
/** Report requests in flight at once. */
const PARALLEL = 4;
const COLOURS = ["#1f6feb", "#1a7f37", "#bf8700", "#cf222e", "#8250df", "#0a7c86", "#d4621b", "#57606a"];

/** What the page knows while signed in. */
const state = {
  offsetMin: 480,
  /** rep id → {name, team_id, department_path} of the reps in the caller's scope (GET /v1/users) */
  reps: new Map(),
  /** the org tree (GET /v1/departments): `[{id, name, parent_id}]` */
  departments: [],
  /** department ids holding a user of the caller's scope (them or one under them) */
  reachable: new Set(),
  /** customer id → customer record */
  customers: new Map(),
  /** live view answer, or null when the server has none */
  live: null,
  charts: {},
  /** generation of the latest refresh: older answers are dropped */
  generation: 0,
  /** object URLs of photo thumbnails, revoked when replaced */
  objectUrls: [],
  /** whether the server has the per-capita report (null: not asked yet) */
  perCapita: null,
};

// ---------------------------------------------------------------------------------------
// Status, busy marker and session

function showStatus(message, isError = false) {
  const node = byId("status");
  node.textContent = message;
  node.classList.toggle("error", isError);
  node.hidden = !message;
}

function reportError(error) {
  if (!(error instanceof api.ApiError)) console.error(error);
  // An expired or revoked token; a wrong password is `bad_credentials` and shown as is.
  if (error instanceof api.ApiError && error.code === "unauthenticated") {
    signOut("Your session ended; sign in again.");
    return;
  }
  showStatus(error.message || String(error), true);
}

let busy = 0;
function setBusy(delta) {
  busy += delta;
  document.documentElement.dataset.busy = String(busy);
}

async function withBusy(work) {
  setBusy(1);
  try {
    return await work();
  } catch (error) {
    reportError(error);
    return undefined;
  } finally {
    setBusy(-1);
  }
}

function showLogin() {
  byId("app").hidden = true;
  byId("logout").hidden = true;
  byId("whoami").textContent = "";
  byId("login-panel").hidden = false;
}

function signOut(message = "") {
  api.logout();
  for (const chart of Object.values(state.charts)) chart.destroy();
  state.charts = {};
  state.reps.clear();
  state.departments = [];
  state.reachable.clear();
  state.customers.clear();
  state.live = null;
  revokePhotos();
  fill(byId("figures"));
  fill(byId("task-result"), el("p", { class: "note" }, "Create a task to see the reps ranked for it, with their reasons."));
  for (const id of ["team-list", "leaderboard", "funnel", "visit-list"]) fill(byId(id).querySelector("tbody"));
  fill(byId("team-plot"));
  fill(byId("correlation-text"));
  fill(byId("forecast-text"));
  byId("forecast-note").textContent = "";
  fill(byId("visit-detail"), el("p", { class: "note" }, "Pick a visit to see its facts and photos."));
  byId("filters").reset();
  byId("task-form").reset();
  resetDesigner();
  resetApprovals();
  showView("reports");
  showLogin();
  showStatus(message);
}

// ---------------------------------------------------------------------------------------
// Names

function repName(id) {
  return state.reps.get(id)?.name || `rep ${shortId(id)}`;
}

function customerName(id) {
  return state.customers.get(id)?.name || `customer ${shortId(id)}`;
}

/** The users of the caller's scope and the org tree: the reps and teams the filters offer. */
async function loadPeople() {
  const [users, departments] = await Promise.all([api.get("/v1/users"), api.get("/v1/departments")]);
  state.reps.clear();
  state.reachable.clear();
  for (const u of users) {
    for (const d of u.department_path || []) state.reachable.add(d);
    if (u.role !== "rep") continue;
    state.reps.set(u.id, { name: u.display_name || u.username, team_id: u.team_id, department_path: u.department_path || [] });
  }
  state.departments = departments;
}

// ---------------------------------------------------------------------------------------
// Filters

function todayDays() {
  return Math.floor((Date.now() + state.offsetMin * 60000) / DAY_MS);
}

function filters() {
  const form = byId("filters");
  return {
    from: form.elements.from.value,
    to: form.elements.to.value,
    team: form.elements.team.value,
    rep: form.elements.rep.value,
    metric: form.elements.metric.value,
  };
}

/** Whether a rep is in `team` (that department or one under it). */
function inTeam(team, repId) {
  return state.reps.get(repId)?.department_path.includes(team) ?? false;
}

/** Whether the visits of `repId` pass the team and rep filters (the reports filter server-side). */
function passes(f, repId) {
  if (f.rep) return repId === f.rep;
  return !f.team || inTeam(f.team, repId);
}

/**
 * The departments the team filter offers, depth first with children by name: those holding
 * someone of the caller's scope (others would only answer "not in your scope").
 */
function teamTree() {
  const shown = state.departments.filter((d) => state.reachable.has(d.id));
  const ids = new Set(shown.map((d) => d.id));
  const children = new Map();
  for (const d of shown) {
    const parent = d.parent_id && ids.has(d.parent_id) ? d.parent_id : null;
    if (!children.has(parent)) children.set(parent, []);
    children.get(parent).push(d);
  }
  const out = [];
  const walk = (parent, depth) => {
    const list = (children.get(parent) || []).sort((a, b) => a.name.localeCompare(b.name));
    for (const d of list) {
      out.push({ id: d.id, name: d.name, depth });
      walk(d.id, depth + 1);
    }
  };
  walk(null, 0);
  return out;
}

function fillTeamOptions() {
  const select = byId("filters").elements.team;
  const current = select.value;
  const options = [el("option", { value: "" }, "All teams")];
  const tree = teamTree();
  for (const d of tree) {
    // Non-breaking spaces: an option's ordinary leading spaces are not drawn.
    options.push(el("option", { value: d.id, selected: d.id === current, dataset: { depth: String(d.depth) } },
      "\u00a0\u00a0".repeat(d.depth) + d.name));
  }
  fill(select, options);
  select.disabled = tree.length === 0;
}

function fillRepOptions() {
  const form = byId("filters");
  const select = form.elements.rep;
  const current = select.value;
  const team = form.elements.team.value;
  const options = [el("option", { value: "" }, "All reps")];
  const reps = [...state.reps].filter(([id]) => !team || inTeam(team, id));
  reps.sort((a, b) => a[1].name.localeCompare(b[1].name));
  for (const [id, r] of reps) {
    options.push(el("option", { value: id, selected: id === current }, r.name || shortId(id)));
  }
  fill(select, options);
}

// ---------------------------------------------------------------------------------------
// Today's team (GET /v1/live)

async function loadLive() {
  try {
    state.live = await api.get("/v1/live");
  } catch (error) {
    if (error instanceof api.ApiError && error.status === 404) {
      state.live = null;
    } else {
      throw error;
    }
  }
  renderTeam();
}

function renderTeam() {
  const body = byId("team-list").querySelector("tbody");
  const plot = byId("team-plot");
  const note = byId("team-note");
  if (!state.live) {
    note.textContent = "Live view unavailable: this server does not report positions.";
    fill(body);
    fill(plot);
    byId("team-panel").dataset.live = "unavailable";
    return;
  }
  byId("team-panel").dataset.live = "available";
  const reps = [...state.live.reps].sort((a, b) => a.display_name.localeCompare(b.display_name));
  const seen = reps.filter((r) => r.last);
  const plane = seen.length ? localPlane(seen.map((r) => ({ id: r.user_id, lat: r.last.lat, lng: r.last.lng }))) : null;
  const now = Date.now();
  note.textContent = `${reps.length} reps, ${seen.length} seen today. Positions are shown only inside working hours.`;
  fill(body, reps.map((r) => {
    let seenText = "not seen today";
    let fromCentre = "–";
    if (r.last) {
      const ago = Math.max(0, Math.round((now - r.last.at_ms) / 60000));
      seenText = `${localTime(r.last.at_ms, state.offsetMin).slice(11)} (${ago} min ago)`;
      const p = plane.project(r.last.lat, r.last.lng);
      const d = Math.hypot(p.x, p.y);
      fromCentre = seen.length > 1 ? `${distance(d)} ${d >= 1 ? compass(p.x, p.y) : ""}`.trim() : "–";
    }
    return el("tr", { dataset: { rep: r.user_id } },
      el("td", {}, r.display_name),
      el("td", {}, seenText),
      el("td", { class: "num" }, r.last ? `±${Math.round(r.last.accuracy_m)} m` : "–"),
      el("td", {}, fromCentre),
      el("td", {}, el("span", { class: `badge ${r.in_working_hours ? "yes" : "no"}` }, r.in_working_hours ? "yes" : "no")));
  }));
  drawPlot(plot, reps, plane);
}

/** The reps' last positions and today's tracks, north up, to scale, without a map. */
function drawPlot(plot, reps, plane) {
  const W = 400;
  const H = 260;
  const M = 36;
  if (!plane) {
    fill(plot, el("p", { class: "note" }, "No positions today."));
    return;
  }
  const all = [];
  for (const r of reps) {
    if (r.last) all.push(plane.project(r.last.lat, r.last.lng));
    for (const t of r.track || []) all.push(plane.project(t.lat, t.lng));
  }
  const xs = all.map((p) => p.x);
  const ys = all.map((p) => p.y);
  const spanX = Math.max(200, Math.max(...xs) - Math.min(...xs));
  const spanY = Math.max(200, Math.max(...ys) - Math.min(...ys));
  const scale = Math.min((W - 2 * M) / spanX, (H - 2 * M) / spanY);
  const cx = (Math.max(...xs) + Math.min(...xs)) / 2;
  const cy = (Math.max(...ys) + Math.min(...ys)) / 2;
  const px = (p) => ({ x: W / 2 + (p.x - cx) * scale, y: H / 2 - (p.y - cy) * scale });
  const children = [];
  for (const r of reps) {
    const points = (r.track || []).map((t) => px(plane.project(t.lat, t.lng)));
    if (points.length > 1) {
      children.push(svg("polyline", { class: "track", points: points.map((p) => `${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(" ") }));
    }
  }
  const centre = px({ x: 0, y: 0 });
  children.push(svg("circle", { class: "centre", cx: centre.x.toFixed(1), cy: centre.y.toFixed(1), r: 6 }));
  for (const r of reps) {
    if (!r.last) continue;
    const p = px(plane.project(r.last.lat, r.last.lng));
    children.push(svg("circle", { class: r.in_working_hours ? "rep" : "rep stale", cx: p.x.toFixed(1), cy: p.y.toFixed(1), r: 6, dataset: { rep: r.user_id } },
      svg("title", {}, `${r.display_name}, ${localTime(r.last.at_ms, state.offsetMin)}`)));
    children.push(svg("text", { x: (p.x + 9).toFixed(1), y: (p.y + 4).toFixed(1) }, r.display_name));
  }
  const bar = roundLength((W - 2 * M) / 3 / scale);
  const barPx = bar * scale;
  children.push(svg("line", { class: "scale", x1: 12, y1: H - 14, x2: (12 + barPx).toFixed(1), y2: H - 14 }));
  children.push(svg("text", { x: 12, y: H - 20 }, distance(bar)));
  children.push(svg("text", { x: W - 22, y: 18 }, "N ↑"));
  fill(plot, svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": "last positions, north up" }, children));
}

// ---------------------------------------------------------------------------------------
// Reports

/** Runs `tasks` (functions returning promises) with at most PARALLEL in flight. */
async function parallel(tasks) {
  const results = new Array(tasks.length);
  let next = 0;
  async function worker() {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await tasks[i]();
    }
  }
  await Promise.all(Array.from({ length: Math.min(PARALLEL, tasks.length) }, worker));
  return results;
}

/** The currency with the largest total (the leaderboard's default). */
function mainCurrency(totals, fallback) {
  const sorted = [...(totals.order_amounts || [])].sort((a, b) => b.minor - a.minor || a.currency.localeCompare(b.currency));
  return sorted[0]?.currency || fallback || "CNY";
}

/** The query of the period reports: the period, and the team and rep filters (server-side). */
function reportQuery(f) {
  return { from: f.from, to: f.to, team: f.team, rep: f.rep };
}

async function refreshReports() {
  const f = filters();
  if (!f.from || !f.to) return;
  const generation = ++state.generation;
  const query = reportQuery(f);
  const [summary, leaderboard, share, funnel] = await Promise.all([
    api.get(api.withQuery("/v1/reports/summary", query)),
    api.get(api.withQuery("/v1/reports/leaderboard", { ...query, metric: f.metric })),
    api.get(api.withQuery("/v1/reports/product-share", query)),
    api.get(api.withQuery("/v1/reports/funnel", query)),
  ]);
  const trend = await trendOf(f);
  const [correlation, forecast] = await Promise.all([loadCorrelation(f), loadForecast(f)]);
  if (generation !== state.generation) return;
  const currency = leaderboard.currency || mainCurrency(summary.totals);
  renderFigures(summary.totals, currency, `${summary.from} – ${summary.to}`);
  renderLeaderboard(leaderboard, currency);
  renderFunnel(funnel.stages);
  drawBar(summary.reps);
  drawLine(trend);
  drawPie(share.lines, currency);
  renderCorrelation(correlation);
  renderForecast(forecast);
  await renderVisits(f);
  byId("summary-panel").dataset.loaded = `${f.from}..${f.to}|${f.team}|${f.rep}|${f.metric}`;
}

/** `MM-DD` of a civil date as the server writes it (`{year, month, day}` or `YYYY-MM-DD`). */
function dateLabel(date) {
  if (typeof date === "string") return date.slice(5);
  return `${String(date.month).padStart(2, "0")}-${String(date.day).padStart(2, "0")}`;
}

/**
 * Visits and orders per day (or per week) of the period: one summary per bucket, or for
 * weeks without a rep filter the per-capita report where the server has it.
 */
async function trendOf(f) {
  const first = daysOf(f.from);
  const last = daysOf(f.to);
  const step = last - first + 1 > DAILY_TREND_DAYS ? 7 : 1;
  byId("trend-unit").textContent = step === 1 ? "per day" : "per week";
  if (step === 7 && !f.rep && state.perCapita !== false) {
    // One call for the whole period, if the server has the per-capita report.
    try {
      const report = await api.get(api.withQuery("/v1/reports/per-capita", { from: f.from, to: f.to, bucket: "week", team: f.team }));
      state.perCapita = true;
      return report.buckets.map((b) => ({ label: dateLabel(b.from), visits: b.visits, orders: b.orders }));
    } catch (error) {
      if (!(error instanceof api.ApiError && error.status === 404 && error.message === "no such endpoint")) throw error;
      state.perCapita = false;
    }
  }
  const buckets = [];
  for (let d = first; d <= last; d += step) buckets.push([d, Math.min(last, d + step - 1)]);
  const summaries = await parallel(buckets.map(([a, b]) => () =>
    api.get(api.withQuery("/v1/reports/summary", { ...reportQuery(f), from: isoDate(a), to: isoDate(b) }))));
  return buckets.map(([a], i) => ({ label: isoDate(a).slice(5), visits: summaries[i].totals.visits, orders: summaries[i].totals.orders }));
}

function figure(id, label, value) {
  return el("div", { class: "figure", id: `fig-${id}` }, el("div", { class: "value" }, value), el("div", { class: "label" }, label));
}

function renderFigures(t, currency, period) {
  byId("summary-period").textContent = period;
  fill(byId("figures"),
    figure("visits", "Visits", String(t.visits)),
    figure("compliance", "Compliant check-ins", percent(t.compliance_bp)),
    figure("time", "Time on site", duration(t.time_on_site_ms)),
    figure("distance", "Distance", distance(t.distance_m)),
    figure("orders", "Orders", String(t.orders)),
    figure("amount", `Order amount (${currency})`, money(amountIn(t, currency), currency)),
    figure("new-customers", "New customers", String(t.new_customers)));
}

function renderLeaderboard(board, currency) {
  fill(byId("leaderboard").querySelector("tbody"), board.standings.map((s) =>
    el("tr", { dataset: { rep: s.summary.rep_id } },
      el("td", { class: "num" }, String(s.rank)),
      el("td", {}, s.summary.name || repName(s.summary.rep_id)),
      el("td", { class: "num" }, String(s.summary.visits)),
      el("td", { class: "num" }, String(s.summary.orders)),
      el("td", { class: "num" }, money(amountIn(s.summary, currency), currency)),
      el("td", { class: "num" }, percent(s.summary.compliance_bp)))));
}

/** `tasks_with_order` → `Tasks with order`. */
function stageLabel(stage) {
  const words = stage.replaceAll("_", " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function renderFunnel(stages) {
  fill(byId("funnel").querySelector("tbody"), stages.map((s, i) =>
    el("tr", { dataset: { stage: s.stage } },
      el("td", {}, stageLabel(s.stage)),
      el("td", { class: "num" }, String(s.count)),
      el("td", {}, el("progress", { max: Math.max(1, stages[0].count), value: s.count })),
      el("td", { class: "num" }, i ? percent(s.from_previous_bp) : ""))));
}

function chart(id, config) {
  state.charts[id]?.destroy();
  config.options = { animation: false, responsive: true, maintainAspectRatio: false, ...config.options };
  state.charts[id] = new window.Chart(byId(id), config);
}

function drawBar(rows) {
  chart("chart-bar", {
    type: "bar",
    data: {
      labels: rows.map((r) => r.name || repName(r.rep_id)),
      datasets: [
        { label: "Visits", data: rows.map((r) => r.visits), backgroundColor: COLOURS[0] },
        { label: "Orders", data: rows.map((r) => r.orders), backgroundColor: COLOURS[1] },
      ],
    },
    options: { scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
  });
}

function drawLine(trend) {
  chart("chart-line", {
    type: "line",
    data: {
      labels: trend.map((t) => t.label),
      datasets: [
        { label: "Visits", data: trend.map((t) => t.visits), borderColor: COLOURS[0], backgroundColor: COLOURS[0], tension: 0.2 },
        { label: "Orders", data: trend.map((t) => t.orders), borderColor: COLOURS[1], backgroundColor: COLOURS[1], borderDash: [6, 4], tension: 0.2 },
      ],
    },
    options: { scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
  });
}

function drawPie(lines, currency) {
  const shown = lines.filter((l) => l.currency === currency && l.amount_minor > 0);
  byId("share-currency").textContent = `(${currency})`;
  byId("share-note").textContent = shown.length ? "" : "No orders in the period.";
  chart("chart-pie", {
    type: "pie",
    data: {
      labels: shown.map((l) => l.line),
      datasets: [{ data: shown.map((l) => l.amount_minor / 100), backgroundColor: shown.map((_, i) => COLOURS[i % COLOURS.length]) }],
    },
    options: { plugins: { legend: { position: "right" } } },
  });
}

// ---------------------------------------------------------------------------------------
// Analytics: correlation of visits and sales across reps, and the next quarter's forecast

/** Why a coefficient is undefined, for people (the server's reason codes). */
const UNDEFINED_REASONS = {
  too_few_points: "fewer than 3 reps",
  zero_variance_x: "every rep has the same x value",
  zero_variance_y: "every rep has the same sales",
};

/** The correlation report of the period and team, or null when the server has none. */
async function loadCorrelation(f) {
  try {
    return await api.get(api.withQuery("/v1/reports/correlation", { from: f.from, to: f.to, team: f.team }));
  } catch (error) {
    if (error instanceof api.ApiError && error.status === 404 && error.message === "no such endpoint") return null;
    throw error;
  }
}

/**
 * The forecast of the team (it reads the last complete weeks, not the period): `{report}`, or
 * `{refused}` with the server's message when the history is too short (422).
 */
async function loadForecast(f) {
  try {
    return { report: await api.get(api.withQuery("/v1/reports/forecast", { team: f.team })) };
  } catch (error) {
    if (error instanceof api.ApiError && error.status === 422) return { refused: error.message };
    if (error instanceof api.ApiError && error.status === 404 && error.message === "no such endpoint") return { refused: "This server has no forecast." };
    throw error;
  }
}

/** `r = 0.871` or `undefined (fewer than 3 reps)`. */
function coefficientText(p) {
  if (p.coefficient === null || p.coefficient === undefined) {
    const reason = UNDEFINED_REASONS[p.undefined_reason] || String(p.undefined_reason || "no reason given").replaceAll("_", " ");
    return `undefined (${reason})`;
  }
  return `r = ${p.coefficient.toFixed(3)}`;
}

function renderCorrelation(report) {
  const box = byId("correlation-text");
  if (!report) {
    fill(box, el("p", { class: "note" }, "This server has no correlation report."));
    state.charts["chart-scatter"]?.destroy();
    delete state.charts["chart-scatter"];
    return;
  }
  const currency = report.currency;
  fill(box, dl([
    ["Reps (n)", el("span", { id: "corr-n" }, String(report.visits_vs_sales.n))],
    ["Visits vs sales", el("span", { id: "corr-visits" }, coefficientText(report.visits_vs_sales))],
    ["Time on site vs sales", el("span", { id: "corr-time" }, coefficientText(report.time_on_site_vs_sales))],
  ]));
  chart("chart-scatter", {
    type: "scatter",
    data: {
      datasets: [{
        label: `Reps: visits and sales (${currency})`,
        data: report.reps.map((r) => ({ x: r.visits, y: r.orders_amount_minor / 100, name: r.name })),
        backgroundColor: COLOURS[0],
        pointRadius: 6,
      }],
    },
    options: {
      scales: {
        x: { beginAtZero: true, grace: "10%", title: { display: true, text: "Visits" }, ticks: { precision: 0 } },
        y: { beginAtZero: true, grace: "10%", title: { display: true, text: `Sales (${currency})` } },
      },
      plugins: { tooltip: { callbacks: { label: (c) => `${c.raw.name}: ${c.raw.x} visits, ${c.raw.y.toFixed(2)} ${currency}` } } },
    },
  });
}

const METHOD_NAMES = {
  holt_linear: "Holt's linear trend",
  holt_winters_additive: "additive Holt–Winters",
};

/** A MAPE for people: `12.3 %`, or `–` when undefined (a week of zero sales). */
function mapeText(accuracy) {
  const v = accuracy?.mape_pct;
  return v === null || v === undefined ? "–" : `${v.toFixed(1)} %`;
}

function renderForecast(answer) {
  const box = byId("forecast-box");
  const note = byId("forecast-note");
  const facts = byId("forecast-text");
  if (!answer.report) {
    state.charts["chart-forecast"]?.destroy();
    delete state.charts["chart-forecast"];
    box.hidden = true;
    fill(facts);
    note.textContent = answer.refused;
    byId("forecast-panel").dataset.forecast = "refused";
    return;
  }
  const f = answer.report;
  box.hidden = false;
  note.textContent = "";
  byId("forecast-panel").dataset.forecast = "drawn";
  const model = f.model;
  const method = METHOD_NAMES[model.method] || model.method;
  const naive = (f.backtest.baselines || []).find((b) => b.method === "last_value");
  const level = Math.round(f.interval_level * 100);
  fill(facts, dl([
    ["Method", el("span", { id: "forecast-method" }, model.season_length ? `${method} (season ${model.season_length} weeks)` : method)],
    ["Back-test MAPE", el("span", { id: "forecast-mape" }, `${mapeText(f.backtest.accuracy)} (naive baseline: ${mapeText(naive?.accuracy)})`)],
    ["Next 13 weeks", `${money(f.quarter_total_minor, f.currency)} (${level} %: ${money(f.quarter_lower_minor, f.currency)} – ${money(f.quarter_upper_minor, f.currency)})`],
  ]));
  const h = f.history.length;
  const labels = [...f.history.map((w) => w.week_start), ...f.weeks.map((w) => w.week_start)].map(dateLabel);
  const pad = (values, before) => [...new Array(before).fill(null), ...values];
  const last = h ? f.history[h - 1].amount_minor / 100 : null;
  // The forecast starts from the last actual week, so the two lines join.
  const joined = (values) => (h ? [...new Array(h - 1).fill(null), last, ...values] : values);
  chart("chart-forecast", {
    type: "line",
    data: {
      labels,
      datasets: [
        { label: `Actual (${f.currency})`, data: f.history.map((w) => w.amount_minor / 100), borderColor: COLOURS[0], backgroundColor: COLOURS[0], pointRadius: 2 },
        { label: "Forecast", data: joined(f.weeks.map((w) => w.point_minor / 100)), borderColor: COLOURS[3], backgroundColor: COLOURS[3], borderDash: [6, 4], pointRadius: 2 },
        { label: `${level} % interval`, data: pad(f.weeks.map((w) => w.lower_minor / 100), h), borderColor: "rgba(207,34,46,0.25)", backgroundColor: "rgba(207,34,46,0.12)", pointRadius: 0, fill: false },
        { label: `${level} % interval (upper)`, data: pad(f.weeks.map((w) => w.upper_minor / 100), h), borderColor: "rgba(207,34,46,0.25)", backgroundColor: "rgba(207,34,46,0.12)", pointRadius: 0, fill: "-1" },
      ],
    },
    options: {
      scales: { y: { beginAtZero: true } },
      plugins: { legend: { labels: { filter: (item) => !item.text.endsWith("(upper)") } } },
    },
  });
}

// ---------------------------------------------------------------------------------------
// Visits and their detail

function outcomeOf(view) {
  const server = view.server_assessment;
  if (!server) return "none";
  if (server.unjudged) return "unjudged";
  return server.verdict?.outcome || "none";
}

async function renderVisits(f) {
  const start = daysOf(f.from) * DAY_MS - state.offsetMin * 60000;
  const end = (daysOf(f.to) + 1) * DAY_MS - state.offsetMin * 60000;
  const checkIns = (await api.get("/v1/facts?kind=check_in"))
    .filter((v) => v.fact.body.at.device_ms >= start && v.fact.body.at.device_ms < end)
    .filter((v) => passes(f, v.fact.body.rep_id))
    .sort((a, b) => b.fact.body.at.device_ms - a.fact.body.at.device_ms);
  const selected = byId("visit-detail").dataset.visit;
  fill(byId("visit-list").querySelector("tbody"), checkIns.map((v) => {
    const c = v.fact.body;
    const outcome = outcomeOf(v);
    return el("tr", { dataset: { visit: c.visit_id, rep: c.rep_id }, class: c.visit_id === selected ? "selected" : null, onclick: () => openVisit(v) },
      el("td", {}, localTime(c.at.device_ms, state.offsetMin)),
      el("td", {}, repName(c.rep_id)),
      el("td", {}, customerName(c.customer_id)),
      el("td", {}, el("span", { class: `badge ${outcome}` }, outcome)));
  }));
  if (!checkIns.length) {
    fill(byId("visit-list").querySelector("tbody"), el("tr", {}, el("td", { colspan: 4, class: "note" }, "No visits in the period.")));
  }
}

function revokePhotos() {
  for (const url of state.objectUrls) URL.revokeObjectURL(url);
  state.objectUrls = [];
}

function dl(pairs) {
  return el("dl", {}, pairs.filter(Boolean).flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
}

async function openVisit(checkInView) {
  const c = checkInView.fact.body;
  for (const row of byId("visit-list").querySelectorAll("tbody tr")) {
    row.classList.toggle("selected", row.dataset.visit === c.visit_id);
  }
  await withBusy(async () => {
    const [outs, orders, photos] = await Promise.all([
      api.get("/v1/facts?kind=check_out"),
      api.get("/v1/facts?kind=order"),
      api.get(api.withQuery("/v1/photos", { visit: c.visit_id })),
    ]);
    const out = outs.map((v) => v.fact.body).find((o) => o.visit_id === c.visit_id);
    const visitOrders = orders.map((v) => v.fact.body).filter((o) => o.visit_id === c.visit_id);
    const phone = checkInView.phone_assessment?.verdict?.outcome || "none";
    const server = outcomeOf(checkInView);
    const detail = byId("visit-detail");
    revokePhotos();
    detail.dataset.visit = c.visit_id;
    fill(detail,
      el("h3", {}, `${customerName(c.customer_id)} — ${repName(c.rep_id)}`),
      dl([
        ["Checked in", localTime(c.at.device_ms, state.offsetMin)],
        ["Phone's verdict", el("span", { class: `badge ${phone}` }, phone)],
        ["Server's verdict", el("span", { class: `badge ${server}`, id: "visit-server-verdict" }, server)],
        checkInView.server_assessment?.distance_m !== undefined
          ? ["Distance from customer", distance(checkInView.server_assessment.distance_m)] : null,
        ["Fix accuracy", `±${Math.round(c.fix.accuracy_m)} m`],
        c.note ? ["Note", c.note] : null,
        ["Clock", checkInView.clock_flagged ? "device clock off" : "in agreement"],
        ["Checked out", out ? localTime(out.at.device_ms, state.offsetMin) : "not yet"],
        out ? ["Time on site", duration(out.at.device_ms - c.at.device_ms)] : null,
      ]),
      el("h3", {}, `Orders (${visitOrders.length})`),
      visitOrders.length
        ? el("ul", {}, visitOrders.map((o) => el("li", {}, `${money(o.total_minor, o.currency)}, ${o.lines.length} ${o.lines.length === 1 ? "line" : "lines"}`)))
        : el("p", { class: "note" }, "No order."),
      el("h3", {}, `Photos (${photos.length})`),
      photos.length ? photos.map(photoView) : el("p", { class: "note" }, "No photo."));
  });
}

function photoView(p) {
  const img = el("img", { alt: `photo ${p.verification_code || shortId(p.fact_id)}` });
  if (p.bytes_verified) {
    api.getBlob(`/v1/blobs/${p.sha256}/content`).then((blob) => {
      const url = URL.createObjectURL(blob);
      state.objectUrls.push(url);
      img.src = url;
    }).catch((error) => console.warn("photo bytes not shown", error));
  }
  return el("div", { class: "photo", dataset: { photo: p.fact_id, status: p.status } },
    img,
    dl([
      ["Status", el("span", { class: `badge ${p.status}`, dataset: { role: "photo-status" } }, p.status)],
      ["Bytes", el("span", { class: `badge ${p.bytes_verified ? "yes" : "no"}` }, p.bytes_verified ? "arrived as signed" : "not verified")],
      ["Code", p.verification_code || "–"],
      ["Countersigned", p.countersignature ? "yes" : "no"],
      ["Taken", localTime(p.taken_at.device_ms, state.offsetMin)],
      p.reasons.length ? ["Why", el("ul", {}, p.reasons.map((r) => el("li", {}, `${r.code}: ${r.message}`)))] : null,
      p.reuse ? ["Reuse", `same picture as photo ${shortId(p.reuse.of_fact_id)} (${p.reuse.distance} bits apart)`] : null,
    ]));
}

// ---------------------------------------------------------------------------------------
// Task dispatch

function fillCustomerOptions() {
  const select = byId("task-form").elements.customer;
  const customers = [...state.customers.values()].sort((a, b) => a.name.localeCompare(b.name));
  fill(select, el("option", { value: "" }, "(none)"),
    customers.map((c) => el("option", { value: c.id }, `${c.name} (${c.grade})`)));
}

async function createTask(form) {
  const customerId = form.elements.customer.value || null;
  const customer = customerId ? state.customers.get(customerId) : null;
  const deadline = form.elements.deadline.value;
  const body = {
    kind: form.elements.kind.value,
    title: form.elements.title.value,
    customer_id: customerId,
    place: customer ? customer.place : null,
    // The input is the org's local time.
    deadline_ms: deadline ? Date.parse(deadline + ":00Z") - state.offsetMin * 60000 : null,
  };
  const task = await api.post("/v1/tasks", body);
  const candidates = await api.get(`/v1/tasks/${task.id}/candidates?limit=5`);
  renderCandidates(task, candidates, null);
}

function renderCandidates(task, candidates, assigned) {
  const result = byId("task-result");
  result.dataset.task = task.id;
  const table = el("table", { class: "rows", id: "candidates" },
    el("thead", {}, el("tr", {}, ["#", "Rep", "Score", "Distance", "Open tasks", "Adds", "Why", ""].map((h) => el("th", {}, h)))),
    el("tbody", {}, candidates.map((c, i) => el("tr", { dataset: { rep: c.rep_id } },
      el("td", { class: "num" }, String(i + 1)),
      el("td", {}, c.name),
      el("td", { class: "num" }, c.score.toFixed(1)),
      el("td", { class: "num" }, distance(c.distance_m)),
      el("td", { class: "num" }, String(c.open_tasks)),
      el("td", { class: "num" }, distance(c.insertion_m)),
      el("td", {}, el("ul", {}, c.reasons.map((r) => el("li", {}, r)))),
      el("td", {}, el("button", { type: "button", class: "secondary", onclick: () => assign(task, c.rep_id, candidates) }, "Assign"))))));
  fill(result,
    el("p", {}, `Task “${task.title}” (${shortId(task.id)}): `,
      el("span", { id: "assignee" }, assigned ? `assigned to ${repName(assigned)}` : "not assigned")),
    candidates.length ? table : el("p", { class: "note" }, "No rep in your scope to rank."),
    el("button", { type: "button", id: "auto-assign", onclick: () => autoAssign(task) }, "Auto-assign to the best"));
}

async function assign(task, repId, candidates) {
  await withBusy(async () => {
    const patched = await api.patch(`/v1/tasks/${task.id}`, { assignee_id: repId });
    renderCandidates(patched, candidates, patched.assignee_id);
  });
}

async function autoAssign(task) {
  await withBusy(async () => {
    const answer = await api.post(`/v1/tasks/${task.id}/auto-assign`);
    renderCandidates(task, answer.candidates, answer.assignee_id);
  });
}

// ---------------------------------------------------------------------------------------
// Views

/** Shows the reports, the form designer or the approvals. */
function showView(name) {
  for (const tab of byId("views").querySelectorAll(".view-tab")) {
    tab.setAttribute("aria-pressed", String(tab.dataset.view === name));
  }
  byId("reports-view").hidden = name !== "reports";
  byId("designer-view").hidden = name !== "designer";
  byId("approvals-view").hidden = name !== "approvals";
  if (name === "designer") openDesigner();
  if (name === "approvals") openApprovals();
}

// ---------------------------------------------------------------------------------------
// Start

async function showApp() {
  const s = api.session();
  byId("login-panel").hidden = true;
  byId("app").hidden = false;
  byId("logout").hidden = false;
  byId("whoami").textContent = `${s.user.display_name} (${s.user.role})`;
  // Only managers and admins design forms (the server refuses anyone else).
  byId("views").querySelector("[data-view=designer]").hidden = s.user.role === "rep";
  // Reps ask for approvals on their phones; managers and admins decide them here.
  byId("views").querySelector("[data-view=approvals]").hidden = s.user.role === "rep";
  showStatus("");
  await withBusy(async () => {
    const settings = await api.get("/v1/org/settings");
    state.offsetMin = settings.working_hours.offset;
    const form = byId("filters");
    const today = todayDays();
    if (!form.elements.from.value) form.elements.from.value = isoDate(today - 6);
    if (!form.elements.to.value) form.elements.to.value = isoDate(today);
    const [customers] = await Promise.all([api.get("/v1/customers"), loadLive(), loadPeople()]);
    state.customers = new Map(customers.map((c) => [c.id, c]));
    fillCustomerOptions();
    fillTeamOptions();
    fillRepOptions();
    await refreshReports();
  });
}

function wire() {
  byId("login-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    await withBusy(async () => {
      try {
        await api.login(form.elements.org.value, form.elements.username.value, form.elements.password.value);
      } finally {
        form.elements.password.value = "";
      }
      await showApp();
    });
  });
  byId("logout").addEventListener("click", () => signOut("Signed out."));
  byId("filters").addEventListener("submit", (event) => {
    event.preventDefault();
    withBusy(refreshReports);
  });
  byId("filters").elements.team.addEventListener("change", () => fillRepOptions());
  byId("task-form").addEventListener("submit", (event) => {
    event.preventDefault();
    withBusy(() => createTask(event.currentTarget));
  });
  for (const tab of byId("views").querySelectorAll(".view-tab")) {
    tab.addEventListener("click", () => showView(tab.dataset.view));
  }
  initDesigner({ run: withBusy });
  initApprovals({ run: withBusy, offsetMin: () => state.offsetMin });
}

wire();
setBusy(0);
if (api.session()) {
  showApp();
} else {
  showLogin();
}
