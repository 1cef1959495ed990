// Drives the dashboard's form designer in Debian's headless Chromium: a form built by dragging
// kinds from the palette (real drag events), edited, refused while a choice field has no
// choices, previewed with a bad answer and a good one, published, loaded again and published
// as version 2.
//
//   node tests/browser/form_designer.mjs <base_url> <org> <manager> <password> <screenshot_dir>
//
// The last line of stdout is a JSON report: {ok, checks, template_id, versions}. Exit status
// 0: every check passed; 1: a check failed (the message says which, failure.png shows the
// page); 2: the browser could not start. Run by tests/tests/form_designer.rs.

import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { checker, launchChromium } from "./lib.mjs";
import { decodePng, imageStats } from "./png.mjs";

const [baseUrl, org, manager, password, shotDir] = process.argv.slice(2);
if (!shotDir) {
  console.error("usage: node form_designer.mjs <base_url> <org> <manager> <password> <screenshot_dir>");
  process.exit(2);
}
const VIEWPORT = { width: 1400, height: 1000 };
const TIMEOUT_MS = 15000;
const TITLE = "货架检查 Shelf check";

mkdirSync(shotDir, { recursive: true });
const { checks, check } = checker();
const shots = [];

function same(actual, wanted, what) {
  check(JSON.stringify(actual) === JSON.stringify(wanted), what, `shown ${JSON.stringify(actual)}, wanted ${JSON.stringify(wanted)}`);
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
  // The reports behind the designer: too little history for a forecast in a fresh org.
  if (url.includes("/v1/reports/forecast") && message.text().includes("422")) return;
  // The publish refused on purpose while a choice field had no choices.
  if (url.endsWith("/v1/form-templates") && message.text().includes("422")) return;
  problems.push(`console error: ${message.text()} (${url})`);
});

async function shoot(name) {
  const path = join(shotDir, name);
  await page.screenshot({ path });
  shots.push({ name, path });
}

const text = (selector) => page.locator(selector).innerText().then((t) => t.trim());

/** Waits until no call is in flight. */
async function idle() {
  await page.waitForFunction(() => document.documentElement.dataset.busy === "0");
}

/** Waits until the server has checked the design as it stands. */
async function checked() {
  await page.waitForFunction(() => {
    const view = document.getElementById("designer-view");
    return view?.dataset.check === "done" && document.documentElement.dataset.busy === "0";
  });
}

/** The keys of the form's fields, in order. */
async function keys() {
  return page.$$eval("#canvas > li", (rows) => rows.map((r) => r.dataset.key));
}

/** Where on `target` to drop: "before" (its top edge), "after" (its bottom edge) or its middle. */
async function spot(target, where) {
  if (!where) return {};
  const box = await target.boundingBox();
  return { targetPosition: { x: 40, y: where === "before" ? 4 : box.height - 4 } };
}

/** Drags `kind` from the palette onto `target` (a locator), `where` on it if given. */
async function dragKind(kind, target, where) {
  const before = (await keys()).length;
  await page.locator(`#palette li[data-kind=${kind}]`).dragTo(target, await spot(target, where));
  await page.waitForFunction((n) => document.querySelectorAll("#canvas > li").length === n, before + 1);
}

async function setLabel(label) {
  await page.fill("#inspector input[name=label]", label);
}

const row = (key) => page.locator(`#canvas > li[data-key="${key}"]`);
const end = () => page.locator("#canvas-end");

try {
  // --- sign in and open the designer ---------------------------------------------------------
  const response = await page.goto(`${baseUrl}/dashboard`);
  const csp = response.headers()["content-security-policy"] || "";
  check(csp.includes("script-src 'self'") && !csp.includes("unsafe"), "the page comes with a strict content security policy", csp);
  await page.fill("#login-form input[name=org]", org);
  await page.fill("#login-form input[name=username]", manager);
  await page.fill("#login-form input[name=password]", password);
  await page.click("#login-form button[type=submit]");
  await page.waitForSelector("#app", { state: "visible" });
  await idle();
  await page.click(".view-tab[data-view=designer]");
  await page.waitForSelector("#designer-view", { state: "visible" });
  check(await page.locator("#reports-view").isHidden(), "the designer replaces the reports view");
  await idle();
  same(await page.$$eval("#palette li", (items) => items.map((i) => i.dataset.kind)),
    ["text", "number", "integer", "money", "date_time", "single_choice", "multi_choice", "yes_no", "rating",
      "photos", "barcode", "location", "signature", "product_table", "section"],
    "the palette offers every field kind");
  await page.fill("#form-title", TITLE);

  // --- build the form by dragging ------------------------------------------------------------
  await dragKind("section", end());
  await setLabel("Shelf");
  await dragKind("section", end());
  await setLabel("Stock");
  await dragKind("integer", end());
  await setLabel("Facings");
  same(await page.inputValue("#inspector input[name=key]"), "facings", "the key follows an ASCII label");
  await page.check("#inspector input[name=required]");
  await page.fill("#inspector input[name=min]", "0");
  await page.fill("#inspector input[name=max]", "200");
  same(await keys(), ["shelf", "stock", "facings"], "kinds dropped at the end land at the end");
  // Reorder by dragging: facings onto the upper half of the "Stock" heading, between the sections.
  await row("facings").dragTo(row("stock"), await spot(row("stock"), "before"));
  await page.waitForFunction(() => document.querySelector("#canvas > li:nth-child(2)")?.dataset.key === "facings");
  same(await keys(), ["shelf", "facings", "stock"], "a field dragged onto a section's upper half moves between the sections");
  check(await row("facings").evaluate((r) => r.classList.contains("in-section")), "a field after a heading is drawn inside its section");

  await dragKind("single_choice", end());
  await setLabel("Stock level");
  same(await page.inputValue("#inspector input[name=key]"), "stock_level", "a label of two words becomes a key with an underscore");
  await checked();
  const choiceProblem = await text(`#canvas > li[data-key="stock_level"] .problems`);
  check(choiceProblem.includes('"stock_level"') && choiceProblem.includes("choices"),
    "a choice field without choices is refused beside it, named", choiceProblem);
  check((await text("#design-problems")).includes('"stock_level"'), "the problem is listed above the form too");
  await page.click("#designer-publish");
  await page.waitForSelector("#designer-result[data-outcome=refused]");
  check((await text("#designer-result")).includes('"stock_level"'), "publishing the invalid design is refused naming the field",
    await text("#designer-result"));
  await checked();
  await shoot("01-refused.png");

  await row("stock_level").click();
  await page.fill("#inspector textarea[name=choices]", "in stock\nout of stock");
  await checked();
  same(await page.locator("#canvas .problems").count(), 0, "with its choices the field has no problem left");
  check(await page.locator("#design-problems").isHidden(), "and the list of problems is gone");

  // A text field between the choice and the end: a label that is not ASCII gets field_N.
  await dragKind("text", row("stock_level"), "after");
  await setLabel("原因 Why out");
  const autoKey = await page.inputValue("#inspector input[name=key]");
  check(/^field_\d+$/.test(autoKey), "a label that is not ASCII gets a field_N key", autoKey);
  await page.fill("#inspector input[name=key]", "why_out");
  await page.check("#inspector input[name=required]");
  await page.selectOption("#inspector select[name=show_if_field]", "stock_level");
  await page.selectOption("#inspector select[name=show_if_op]", "equals");
  await page.selectOption("#inspector select[name=show_if_value]", "out of stock");
  same(await keys(), ["shelf", "facings", "stock", "stock_level", "why_out"], "the form has its five fields in order");
  check((await text(`#canvas > li[data-key="why_out"] .cond`)).includes('stock_level equals "out of stock"'),
    "the condition is shown on the field");
  // The keyboard's way: up, then down again.
  await row("why_out").locator("button[data-move=up]").click();
  same(await keys(), ["shelf", "facings", "stock", "why_out", "stock_level"], "the ↑ button moves a field up");
  await row("why_out").locator("button[data-move=down]").click();
  same(await keys(), ["shelf", "facings", "stock", "stock_level", "why_out"], "the ↓ button moves it back");
  await row("why_out").focus();
  await page.keyboard.press("Alt+ArrowUp");
  same(await keys(), ["shelf", "facings", "stock", "why_out", "stock_level"], "Alt+↑ moves the focused field up");
  await page.keyboard.press("Alt+ArrowDown");
  same(await keys(), ["shelf", "facings", "stock", "stock_level", "why_out"], "Alt+↓ moves it back");
  // The palette's + adds after the selected field; ✕ removes.
  await row("stock_level").click();
  await page.click("#palette li[data-kind=yes_no] button");
  same(await keys(), ["shelf", "facings", "stock", "stock_level", "yes_no", "why_out"], "+ adds a kind after the selected field");
  await row("yes_no").locator("button[data-remove]").click();
  same(await keys(), ["shelf", "facings", "stock", "stock_level", "why_out"], "✕ removes a field");
  // Removing a field a condition names is a problem of the field with the condition.
  await row("stock_level").locator("button[data-remove]").click();
  await checked();
  const dangling = await text(`#canvas > li[data-key="why_out"] .problems`);
  check(dangling.includes('"why_out"') && dangling.includes('"stock_level"') && dangling.includes("not a field"),
    "a show-if on a field that is gone is refused beside the field with the condition", dangling);
  await page.click("#palette li[data-kind=single_choice] button");
  await setLabel("Stock level");
  await page.fill("#inspector textarea[name=choices]", "in stock\nout of stock");
  await row("stock_level").dragTo(row("why_out"), await spot(row("why_out"), "before"));
  same(await keys(), ["shelf", "facings", "stock", "stock_level", "why_out"], "the choice is back before the reason");
  await checked();
  same(await page.getAttribute("#designer-view", "data-problems"), "0", "the server finds no problem in the design");

  // --- preview as the phone shows it ---------------------------------------------------------
  const pv = (key) => page.locator(`#preview .pv-field[data-key="${key}"]`);
  check(await pv("shelf").locator("h4").isVisible() && await pv("stock").locator("h4").isVisible(), "sections are headings in the preview");
  check(await pv("why_out").isHidden(), "the field shown only if out of stock is hidden at first");
  await pv("stock_level").locator("input[value='out of stock']").check();
  check(await pv("why_out").isVisible(), "choosing out of stock shows it at once");
  await pv("stock_level").locator("input[value='in stock']").check();
  check(await pv("why_out").isHidden(), "choosing in stock hides it again");
  await pv("stock_level").locator("input[value='out of stock']").check();
  await pv("facings").locator("input").fill("250");
  await page.click("#preview-check");
  await page.waitForSelector("#preview-result[data-valid]");
  await idle();
  same(await page.getAttribute("#preview-result", "data-valid"), "false", "the server's validator refuses the preview's answers");
  const facingsError = await text(`#preview [data-error-for="facings"]`);
  check(facingsError.includes('"facings"') && facingsError.includes("at most 200"), "the out-of-range value is refused beside its field", facingsError);
  check((await text(`#preview [data-error-for="why_out"]`)).includes("required"), "the shown, required field is asked for");
  await page.locator("#designer-view .phone-panel").scrollIntoViewIfNeeded();
  await shoot("02-preview-refused.png");
  await pv("facings").locator("input").fill("12");
  await pv("why_out").locator("input").fill("断货");
  await page.click("#preview-check");
  await page.waitForSelector("#preview-result[data-valid=true]");
  same(await page.locator("#preview .pv-error:not(:empty)").count(), 0, "good answers leave no error beside any field");

  // --- publish, load again, publish version 2 --------------------------------------------------
  await page.click("#designer-publish");
  await page.waitForSelector("#designer-result[data-outcome=published]");
  await idle();
  same(await page.getAttribute("#designer-result", "data-version"), "1", "the first publish is version 1");
  const templateId = await page.getAttribute("#designer-result", "data-template");
  check(/^[0-9a-f-]{36}$/.test(templateId || ""), "the published template has an id", templateId);
  await page.waitForSelector(`#template-list tr[data-template="${templateId}"]`);
  same(await text(`#template-list tr[data-template="${templateId}"] td:nth-child(1)`), TITLE, "the template is listed by its title");
  await page.locator("#designer-view .designer-bar").scrollIntoViewIfNeeded();
  await shoot("03-published.png");

  await page.click("#designer-new");
  same(await keys(), [], "a new form starts empty");
  await page.click(`#template-list tr[data-template="${templateId}"] button`);
  await checked();
  same(await keys(), ["shelf", "facings", "stock", "stock_level", "why_out"], "the published form loads back into the designer");
  same(await page.inputValue("#form-title"), TITLE, "with its title");
  await row("facings").click();
  await setLabel("Facings (front)");
  same(await page.inputValue("#inspector input[name=key]"), "facings", "a loaded field keeps its key when relabelled");
  await page.click("#designer-publish");
  await page.waitForSelector("#designer-result[data-outcome=published][data-version='2']");
  await idle();
  same(await page.getAttribute("#designer-result", "data-template"), templateId, "the second publish is a version of the same template");
  same(await text(`#template-list tr[data-template="${templateId}"] td:nth-child(2)`), "2", "the list shows the latest version");
  await shoot("04-version-2.png");
  check(problems.length === 0, "no script error or content-security-policy violation", problems.join("; "));

  // --- the screenshots -------------------------------------------------------------------------
  for (const shot of shots) {
    const image = decodePng(readFileSync(shot.path));
    same([image.width, image.height], [VIEWPORT.width, VIEWPORT.height], `${shot.name} has the viewport's size`);
    check(imageStats(image).variance > 100, `${shot.name} is not blank`);
  }
  console.log(JSON.stringify({ ok: true, checks: checks.length, template_id: templateId, versions: [1, 2] }));
} catch (error) {
  await page.screenshot({ path: join(shotDir, "failure.png"), fullPage: true }).catch(() => {});
  console.error(`FAILED: ${error.message}`);
  if (problems.length) console.error(`page problems: ${problems.join("; ")}`);
  await browser.close();
  process.exit(1);
}
await browser.close();
