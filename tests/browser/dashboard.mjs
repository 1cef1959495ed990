// Drives the manager's dashboard in Debian's headless Chromium and checks what it shows.
//
//   node tests/browser/dashboard.mjs <base_url> <org> <manager> <password> <screenshot_dir>
//
// What the page must show comes from the seeding test as JSON in DASHBOARD_EXPECT (see
// tests/tests/dashboard.rs). Exit status 0: every check passed; 1: a check failed (the
// message says which, and failure.png shows the page); 2: the browser could not start.

import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { checker, launchChromium } from "./lib.mjs";
import { decodePng, imageStats } from "./png.mjs";

const [baseUrl, org, manager, password, shotDir] = process.argv.slice(2);
if (!shotDir) {
  console.error("usage: node dashboard.mjs <base_url> <org> <manager> <password> <screenshot_dir>");
  process.exit(2);
}
const expect = JSON.parse(process.env.DASHBOARD_EXPECT || "null");
if (!expect) {
  console.error("DASHBOARD_EXPECT (the seeded figures, JSON) is not set");
  process.exit(2);
}
const VIEWPORT = { width: 1400, height: 1000 };
const TIMEOUT_MS = 15000;

mkdirSync(shotDir, { recursive: true });
const { checks, check } = checker();
const shots = [];

/** JSON with object keys sorted, to compare values whatever their key order. */
function canonical(value) {
  return JSON.stringify(value, (_, v) => (v && typeof v === "object" && !Array.isArray(v)
    ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b))) : v));
}

function same(actual, wanted, what) {
  check(canonical(actual) === canonical(wanted), what, `shown ${canonical(actual)}, seeded ${canonical(wanted)}`);
}

const browser = await launchChromium();

const context = await browser.newContext({ viewport: VIEWPORT, deviceScaleFactor: 1, timezoneId: "UTC" });
const page = await context.newPage();
page.setDefaultTimeout(TIMEOUT_MS);
const problems = [];
page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
page.on("console", (message) => {
  if (message.type() !== "error") return;
  const url = message.location()?.url || "";
  // The live view may not exist on this server: the page says so instead.
  if (url.endsWith("/v1/live") && message.text().includes("404")) return;
  // A forecast refused for too little history: the page shows the server's message.
  if (url.includes("/v1/reports/forecast") && message.text().includes("422")) return;
  // The wrong password tried on purpose.
  if (url.endsWith("/v1/login") && message.text().includes("401")) return;
  problems.push(`console error: ${message.text()} (${url})`);
});

/** Waits until the page has no call in flight and the reports show `period|team|rep|metric`. */
async function settled(loaded) {
  await page.waitForFunction((want) => {
    const busy = document.documentElement.dataset.busy;
    const panel = document.getElementById("summary-panel");
    return busy === "0" && (!want || panel?.dataset.loaded === want);
  }, loaded);
}

async function shoot(name, options = {}) {
  const path = join(shotDir, name);
  await page.screenshot({ path, ...options });
  shots.push({ name, path, fullPage: Boolean(options.fullPage) });
  return path;
}

const text = (selector) => page.locator(selector).innerText().then((t) => t.trim());

async function figures() {
  return {
    visits: await text("#fig-visits .value"),
    orders: await text("#fig-orders .value"),
    amount: await text("#fig-amount .value"),
  };
}

async function leaderboard() {
  return page.$$eval("#leaderboard tbody tr", (rows) =>
    rows.map((r) => [...r.querySelectorAll("td")].slice(1, 5).map((td) => td.textContent.trim())));
}

async function applyFilters({ from, to, team = "", rep = "", metric = "orders_amount" }) {
  await page.fill("#filters input[name=from]", from);
  await page.fill("#filters input[name=to]", to);
  await page.selectOption("#filters select[name=team]", team);
  await page.selectOption("#filters select[name=rep]", rep);
  await page.selectOption("#filters select[name=metric]", metric);
  await page.click("#filters button[type=submit]");
  await settled(`${from}..${to}|${team}|${rep}|${metric}`);
}

async function outsiderNeverShown(where) {
  const body = await page.locator("body").innerText();
  const options = await page.$$eval("select option", (os) => os.map((o) => o.textContent));
  check(!body.includes(expect.outsider) && !options.some((o) => o.includes(expect.outsider)),
    `the rep of another team is not shown (${where})`);
}

/** The charts the page must show: the period's, the correlation, and the forecast if drawn. */
async function chartKinds() {
  const forecast = await page.getAttribute("#forecast-panel", "data-forecast");
  return ["bar", "line", "pie", "scatter", ...(forecast === "drawn" ? ["forecast"] : [])];
}

/** Every chart canvas drew something: painted pixels read back from the canvas itself. */
async function chartsDrew() {
  const kinds = await chartKinds();
  const selector = kinds.map((k) => `canvas[data-chart=${k}]`).join(", ");
  const painted = await page.$$eval(selector, (canvases) => canvases.map((canvas) => {
    const ctx = canvas.getContext("2d");
    const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
    let n = 0;
    for (let i = 3; i < data.length; i += 4) if (data[i] > 0) n += 1;
    return { chart: canvas.dataset.chart, share: n / (canvas.width * canvas.height), width: canvas.width, height: canvas.height };
  }));
  same(painted.map((p) => p.chart).sort(), [...kinds].sort(), `the ${kinds.length} charts are on the page`);
  for (const p of painted) {
    check(p.width > 100 && p.height > 100 && p.share > 0.01, `the ${p.chart} chart drew on its canvas`,
      `${(p.share * 100).toFixed(2)} % of ${p.width}×${p.height} painted`);
  }
  return painted;
}

/** The team filter's options below "All teams": `[label, depth]`. */
async function teamOptions() {
  return page.$$eval("#filters select[name=team] option", (os) => os.filter((o) => o.value)
    .map((o) => [o.textContent, Number(o.dataset.depth)]));
}

/** The correlation's n and coefficient texts. */
async function correlationText() {
  return { n: await text("#corr-n"), visits: await text("#corr-visits"), time: await text("#corr-time") };
}

/** Screenshots of each chart's box; each must differ from the white panel. */
async function chartShots(prefix) {
  for (const kind of await chartKinds()) {
    const canvas = page.locator(`canvas[data-chart=${kind}]`);
    await canvas.scrollIntoViewIfNeeded();
    const box = await canvas.boundingBox();
    check(box && box.width > 100 && box.height > 100, `the ${kind} chart has a box on the page`);
    const path = join(shotDir, `${prefix}-${kind}.png`);
    await canvas.screenshot({ path });
    shots.push({ name: `${prefix}-${kind}.png`, path, box });
  }
}

try {
  // --- sign in -------------------------------------------------------------------------
  const response = await page.goto(`${baseUrl}/dashboard`);
  const csp = response.headers()["content-security-policy"] || "";
  check(csp.includes("script-src 'self'") && !csp.includes("unsafe"), "the page comes with a strict content security policy", csp);
  await page.waitForSelector("#login-form", { state: "visible" });
  await shoot("01-login.png");
  await page.fill("#login-form input[name=org]", org);
  await page.fill("#login-form input[name=username]", manager);
  await page.fill("#login-form input[name=password]", "wrong password");
  await page.click("#login-form button[type=submit]");
  await page.waitForSelector("#status.error", { state: "visible" });
  check((await text("#status")).includes("wrong password"), "a wrong password is refused with the server's message");
  await page.fill("#login-form input[name=password]", password);
  await page.click("#login-form button[type=submit]");
  await page.waitForSelector("#app", { state: "visible" });
  await settled(null);
  const stored = await page.evaluate(() => Object.keys(sessionStorage));
  check(stored.length === 1, "the session is kept in sessionStorage");

  // --- the whole period ------------------------------------------------------------------
  const all = expect.all;
  await applyFilters({ from: all.from, to: all.to });
  same(await figures(), all.figures, "summary figures for the whole period equal the seeded ones");
  same(await leaderboard(), all.leaderboard, "leaderboard rows for the whole period equal the seeded ones");
  const funnel = await page.$$eval("#funnel tbody tr", (rows) => rows.map((r) => r.dataset.stage));
  check(funnel.length >= 2, "the funnel shows its stages", funnel.join(", "));
  await chartsDrew();
  await outsiderNeverShown("whole period");

  // --- the team filter and the analytics ----------------------------------------------------
  const teams = expect.teams;
  const options = await teamOptions();
  same(options.map(([label, depth]) => [label.replace(/^\u00a0+/, ""), depth]), teams.options,
    "the team filter lists the departments of the manager's scope, nested");
  check(options.every(([label, depth]) => label.startsWith("\u00a0\u00a0".repeat(depth)) && !label.startsWith("\u00a0".repeat(2 * depth + 1))),
    "a sub-department is indented under its parent", options.map(([l]) => JSON.stringify(l)).join(", "));
  check(!options.some(([label]) => label.includes(teams.hidden)), "a department outside the manager's scope is not offered");
  same(await correlationText(), expect.correlation, "the correlation shows n and why its coefficients are undefined");
  same(await page.getAttribute("#forecast-panel", "data-forecast"), "drawn", "the forecast of everyone's sales is drawn");
  check((await text("#forecast-method")).length > 0, "the forecast names its method", await text("#forecast-method"));
  check(/^(\d+\.\d %|–) \(naive baseline: (\d+\.\d %|–)\)$/.test(await text("#forecast-mape")),
    "the forecast shows its back-test MAPE beside the naive baseline's", await text("#forecast-mape"));
  const visitsText = await page.locator("#visit-list").innerText();
  check(visitsText.includes(expect.hostile_name) && await page.locator("[data-injected]").count() === 0,
    "a customer name made of markup is shown as text, never as markup");

  // --- today's team ------------------------------------------------------------------------
  const live = await page.getAttribute("#team-panel", "data-live");
  if (live === "available") {
    const names = await page.$$eval("#team-list tbody tr td:first-child", (tds) => tds.map((t) => t.textContent));
    for (const rep of expect.team) check(names.includes(rep), `today's team lists ${rep}`, names.join(", "));
    check(await page.locator("#team-plot svg").count() === 1, "the position view is drawn");
  } else {
    check((await text("#team-note")).includes("Live view unavailable"), "the team panel says the live view is unavailable");
  }
  await shoot("02-dashboard.png", { fullPage: true });
  await chartShots("02");
  await page.locator("#analytics-panel").scrollIntoViewIfNeeded();
  await shoot("02-analytics.png");

  // --- a filter changes the numbers --------------------------------------------------------
  const today = expect.today;
  await applyFilters({ from: today.from, to: today.to });
  same(await figures(), today.figures, "summary figures for today equal the seeded ones");
  same(await leaderboard(), today.leaderboard, "leaderboard rows for today equal the seeded ones");
  check(canonical(today.figures) !== canonical(all.figures), "changing the period changed the numbers");
  await chartsDrew();
  await shoot("03-today.png", { fullPage: true });

  const long = expect.long;
  await applyFilters({ from: long.from, to: long.to });
  same(await figures(), all.figures, "a long period holds the same seeded figures");
  same(await text("#trend-unit"), "per week", "a long period's trend goes per week");
  await chartsDrew();

  const rep = expect.rep_filter;
  await applyFilters({ from: all.from, to: all.to, rep: rep.id });
  same(await figures(), rep.figures, `summary figures for ${rep.name} alone equal the seeded ones`);
  same(await leaderboard(), rep.leaderboard, `the leaderboard narrowed to ${rep.name}`);
  await applyFilters({ from: all.from, to: all.to, team: teams.east.id });
  same(await figures(), teams.east.figures, "the manager's department (East) shows everyone's figures");
  for (const name of ["shanghai", "hangzhou"]) {
    const team = teams[name];
    await applyFilters({ from: all.from, to: all.to, team: team.id });
    same(await figures(), team.figures, `picking ${name} shows the server's figures of that team`);
    same(await leaderboard(), team.leaderboard, `the leaderboard narrowed to ${name}`);
    const reps = await page.$$eval("#filters select[name=rep] option", (os) => os.filter((o) => o.value).map((o) => o.textContent));
    same(reps, team.leaderboard.map((r) => r[0]), `the rep filter offers ${name}'s reps only`);
    await chartsDrew();
  }
  await applyFilters({ from: all.from, to: all.to, team: teams[expect.forecast.refused_team].id });
  same(await page.getAttribute("#forecast-panel", "data-forecast"), "refused", "a team with too little history gets no forecast chart");
  check((await text("#forecast-note")).includes(expect.forecast.refused_text), "the forecast panel shows the server's too-little-history message",
    await text("#forecast-note"));
  check(!(await page.locator("#chart-forecast").isVisible()), "no forecast chart is shown for it");
  await page.locator("#analytics-panel").scrollIntoViewIfNeeded();
  await shoot("06-analytics-refused.png");
  await applyFilters({ from: all.from, to: all.to });
  await outsiderNeverShown("after filtering");

  // --- dispatch a task ---------------------------------------------------------------------
  await page.fill("#task-form input[name=title]", "Restock the cooler");
  await page.selectOption("#task-form select[name=customer]", { label: expect.task.customer_label });
  await page.click("#task-form button[type=submit]");
  await page.waitForSelector("#candidates tbody tr");
  await settled(null);
  const candidates = await page.$$eval("#candidates tbody tr", (rows) => rows.map((r) => ({
    name: r.querySelectorAll("td")[1].textContent,
    score: Number(r.querySelectorAll("td")[2].textContent),
    reasons: [...r.querySelectorAll("li")].map((li) => li.textContent),
  })));
  same(candidates.map((c) => c.name), expect.task.ranked, "the candidates are ranked as the server ranks them");
  check(candidates.every((c) => c.reasons.length > 0), "every candidate comes with reasons");
  check(candidates.every((c, i) => i === 0 || candidates[i - 1].score >= c.score), "scores fall down the list");
  check(await text("#assignee") === "not assigned", "a new task without assignee is shown unassigned");
  await page.click("#auto-assign");
  await page.waitForFunction((name) => document.getElementById("assignee")?.textContent === `assigned to ${name}`, expect.task.ranked[0]);
  check(true, `auto-assign gives the task to ${expect.task.ranked[0]}`);
  const other = expect.task.ranked[1];
  await page.click(`#candidates tbody tr:nth-child(2) button`);
  await page.waitForFunction((name) => document.getElementById("assignee")?.textContent === `assigned to ${name}`, other);
  await settled(null);
  check(true, `a candidate picked by hand (${other}) gets the task`);
  await page.click("#auto-assign");
  await page.waitForFunction((name) => document.getElementById("assignee")?.textContent === `assigned to ${name}`, expect.task.ranked[0]);
  await settled(null);
  await outsiderNeverShown("dispatch");
  await page.locator("#dispatch-panel").scrollIntoViewIfNeeded();
  await shoot("04-dispatch.png");

  // --- a visit's detail and its photo --------------------------------------------------------
  await page.click(`#visit-list tbody tr[data-visit="${expect.photo.visit_id}"]`);
  await page.waitForSelector(`#visit-detail[data-visit="${expect.photo.visit_id}"] [data-role=photo-status]`);
  await settled(null);
  same(await text("#visit-detail [data-role=photo-status]"), expect.photo.status, "the visit's photo shows its verification status");
  same(await text("#visit-server-verdict"), expect.photo.server_verdict, "the visit shows the server's check-in verdict");
  await page.waitForFunction(() => {
    const img = document.querySelector("#visit-detail .photo img");
    return img && img.complete && img.naturalWidth > 0;
  });
  check(true, "the photo's bytes are shown");
  await page.locator("#visits-panel").scrollIntoViewIfNeeded();
  await shoot("05-visit.png");

  // --- sign out ------------------------------------------------------------------------------
  await page.click("#logout");
  await page.waitForSelector("#login-form", { state: "visible" });
  same(await page.evaluate(() => sessionStorage.length), 0, "signing out forgets the token");
  check(problems.length === 0, "no script error or content-security-policy violation", problems.join("; "));
} catch (error) {
  await page.screenshot({ path: join(shotDir, "failure.png"), fullPage: true }).catch(() => {});
  console.error(`FAILED: ${error.message}`);
  if (problems.length) console.error(`page problems: ${problems.join("; ")}`);
  await browser.close();
  process.exit(1);
}
await browser.close();

// --- the screenshots themselves ---------------------------------------------------------------
try {
  const report = [];
  for (const shot of shots) {
    const image = decodePng(readFileSync(shot.path));
    const stats = imageStats(image);
    if (shot.box) {
      check(Math.abs(image.width - shot.box.width) <= 1 && Math.abs(image.height - shot.box.height) <= 1,
        `${shot.name} has the chart's size`, `${image.width}×${image.height} for a ${shot.box.width}×${shot.box.height} box`);
      check(stats.differingShare > 0.02, `${shot.name} shows a drawn chart`, `${(stats.differingShare * 100).toFixed(2)} % non-white`);
    } else if (shot.fullPage) {
      check(image.width === VIEWPORT.width && image.height >= VIEWPORT.height, `${shot.name} has the page's size`, `${image.width}×${image.height}`);
    } else {
      same([image.width, image.height], [VIEWPORT.width, VIEWPORT.height], `${shot.name} has the viewport's size`);
    }
    check(stats.variance > 100, `${shot.name} is not blank`, `grey variance ${stats.variance.toFixed(1)}`);
    report.push({ name: shot.name, width: image.width, height: image.height, variance: Math.round(stats.variance), non_white: Number(stats.differingShare.toFixed(4)) });
  }
  writeFileSync(join(shotDir, "report.json"), JSON.stringify({ checks, screenshots: report }, null, 2));
  console.log(JSON.stringify({ ok: true, checks: checks.length, screenshots: report }));
} catch (error) {
  console.error(`FAILED: ${error.message}`);
  process.exit(1);
}
