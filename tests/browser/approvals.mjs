// Drives the dashboard's approvals view in Debian's headless Chromium. The Shanghai manager
// finds a rep's large discount and leave request waiting, reads what is asked, and approves
// the discount with a comment (it moves on to the department head). A second tab of theirs,
// opened before and not refreshed, tries to approve it again: refused (403, not an approver
// of the step now), shown in the item. Signed out, East's manager finds both, approves the
// discount (now approved, both comments in order) and rejects the leave; the stale tab's
// reject of the leave is refused too (409, already final), and a refresh shows where each
// stands. Last, the admin sees both in their scope and nothing waiting for them.
//
//   node tests/browser/approvals.mjs <base_url> <org> <password> <screenshot_dir> \
//     <discount_id> <leave_id> <shanghai_manager> <east_manager> <admin>
//
// The last line of stdout is a JSON report: {ok, checks}. Exit status 0: every check passed;
// 1: a check failed (the message says which, failure.png shows the page); 2: the browser
// could not start. Run by tests/tests/approvals_dashboard.rs.

import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { checker, launchChromium } from "./lib.mjs";
import { decodePng, imageStats } from "./png.mjs";

const [baseUrl, org, password, shotDir, discountId, leaveId, shanghaiManager, eastManager, admin] = process.argv.slice(2);
if (!admin) {
  console.error("usage: node approvals.mjs <base_url> <org> <password> <screenshot_dir> <discount_id> <leave_id> <shanghai_manager> <east_manager> <admin>");
  process.exit(2);
}
const VIEWPORT = { width: 1400, height: 1000 };
const TIMEOUT_MS = 15000;
/** Display names the Rust test gave the people. */
const REP_NAME = "Li Lei";
const SHANGHAI_NAME = "Wang Wei";
const EAST_NAME = "Zhou Min";
const FIRST_COMMENT = "fine by me";
const SECOND_COMMENT = "within the quarter's budget";
const REJECT_COMMENT = "the quarter's closing week";

mkdirSync(shotDir, { recursive: true });
const { checks, check } = checker();
const shots = [];

function same(actual, wanted, what) {
  check(JSON.stringify(actual) === JSON.stringify(wanted), what, `shown ${JSON.stringify(actual)}, wanted ${JSON.stringify(wanted)}`);
}

const browser = await launchChromium();

const problems = [];

/** A page in a context of its own (its own session storage), watched for script errors. */
async function openPage(name) {
  const context = await browser.newContext({ viewport: VIEWPORT, deviceScaleFactor: 1, timezoneId: "UTC" });
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT_MS);
  page.on("pageerror", (error) => problems.push(`${name}: page error: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() !== "error") return;
    const url = message.location()?.url || "";
    // The live view may not exist on this server: the page says so instead.
    if (url.endsWith("/v1/live") && message.text().includes("404")) return;
    // The reports behind the approvals: too little history for a forecast in a fresh org.
    if (url.includes("/v1/reports/forecast") && message.text().includes("422")) return;
    // The stale tab's decisions, refused on purpose.
    if (url.endsWith("/decisions") && /40[39]/.test(message.text())) return;
    // The trip asked for without a flow, refused on purpose.
    if (url.endsWith("/v1/approvals") && message.text().includes("422")) return;
    problems.push(`${name}: console error: ${message.text()} (${url})`);
  });
  return page;
}

const pageA = await openPage("first tab");
const pageB = await openPage("stale tab");

async function shoot(page, name) {
  const path = join(shotDir, name);
  await page.screenshot({ path });
  shots.push({ name, path });
}

const text = (page, selector) => page.locator(selector).innerText().then((t) => t.trim());

/** Waits until no call is in flight. */
async function idle(page) {
  await page.waitForFunction(() => document.documentElement.dataset.busy === "0");
}

async function signIn(page, username) {
  await page.fill("#login-form input[name=org]", org);
  await page.fill("#login-form input[name=username]", username);
  await page.fill("#login-form input[name=password]", password);
  await page.click("#login-form button[type=submit]");
  await page.waitForSelector("#app", { state: "visible" });
  await idle(page);
}

async function openApprovals(page) {
  await page.click(".view-tab[data-view=approvals]");
  await page.waitForSelector("#approvals-view[data-loaded]", { state: "visible" });
  await idle(page);
}

/** The request ids of a list, in order. */
async function ids(page, list) {
  return page.$$eval(`#${list} > article`, (items) => items.map((i) => i.dataset.request));
}

const item = (list, id) => `#${list} > article[data-request="${id}"]`;

/** The decisions shown in an item: [who, verdict, comment]. */
async function decisions(page, selector) {
  return page.$$eval(`${selector} [data-role=decisions] li`, (items) => items.map((li) => [
    li.querySelector("strong")?.textContent.trim(),
    li.dataset.verdict,
    li.querySelector("[data-role=comment]")?.textContent.trim() ?? "",
  ]));
}

/** Types `comment` in the waiting item `id` and presses its `verdict` button; waits for the lists again. */
async function decide(page, id, verdict, comment) {
  const selector = item("approvals-inbox", id);
  await page.fill(`${selector} textarea[name=comment]`, comment);
  await page.click(`${selector} button[data-verdict=${verdict}]`);
  await page.waitForSelector(`#approvals-result[data-request="${id}"][data-outcome=${verdict}]`);
  await idle(page);
}

try {
  // --- the second tab of the Shanghai manager, opened first and left as it is ---------------
  const response = await pageB.goto(`${baseUrl}/dashboard`);
  const csp = response.headers()["content-security-policy"] || "";
  check(csp.includes("script-src 'self'") && !csp.includes("unsafe"), "the page comes with a strict content security policy", csp);
  await signIn(pageB, shanghaiManager);
  check(await pageB.locator(".view-tab[data-view=approvals]").isVisible(), "a manager has the Approvals tab");
  await openApprovals(pageB);
  same(await ids(pageB, "approvals-inbox"), [leaveId, discountId], "the stale tab lists both requests waiting, newest first");

  // --- the Shanghai manager approves the discount ---------------------------------------------
  await pageA.goto(`${baseUrl}/dashboard`);
  await signIn(pageA, shanghaiManager);
  await openApprovals(pageA);
  check(await pageA.locator("#reports-view").isHidden() && await pageA.locator("#designer-view").isHidden(),
    "the approvals replace the other views");
  same(await ids(pageA, "approvals-inbox"), [leaveId, discountId], "the leave and the discount wait for the Shanghai manager, newest first");
  same(await ids(pageA, "approvals-all"), [leaveId, discountId], "both are in the manager's scope too");
  const discount = item("approvals-inbox", discountId);
  const leave = item("approvals-inbox", leaveId);
  same(await text(pageA, `${discount} [data-role=kind]`), "Discount 折扣", "the discount's kind is named for people");
  same(await text(pageA, `${discount} [data-role=requester]`), REP_NAME, "the requester is shown by name");
  const asked = await text(pageA, `${discount} [data-role=asked]`);
  check(asked.includes("800.00 CNY") && asked.includes("4000.00 CNY") && asked.includes("20.0 %"),
    "the discount and the order's total are shown in yuan with two decimals", asked);
  check((await text(pageA, `${discount} [data-role=reason]`)).includes("competitor's price"), "the reason is shown");
  check(/^submitted \d{4}-\d\d-\d\d \d\d:\d\d$/.test(await text(pageA, `${discount} [data-role=submitted]`)),
    "the submitted time is shown", await text(pageA, `${discount} [data-role=submitted]`));
  const discountStatus = await text(pageA, `${discount} [data-role=status]`);
  check(discountStatus.startsWith("pending at Manager") && discountStatus.includes(SHANGHAI_NAME),
    "the discount is pending at the flow's Manager step, with its approver", discountStatus);
  same(await text(pageA, `${discount} [data-role=decisions]`), "No decision yet.", "nobody decided the discount yet");
  same(await text(pageA, `${leave} [data-role=kind]`), "Leave 请假", "the leave's kind is named for people");
  same(await text(pageA, `${leave} [data-role=asked]`), "Leave 2027-01-04 – 2027-01-06 (3 days)", "the leave is shown as its dates");
  check((await text(pageA, `${leave} [data-role=status]`)).includes("Line manager or department head"),
    "the leave waits at its step, named by the flow");
  check(/^Deadline \d{4}-\d\d-\d\d \d\d:\d\d$/.test(await text(pageA, `${leave} [data-role=deadline]`)),
    "the leave's step shows its deadline");
  check(await pageA.locator(`${discount} [data-role=deadline]`).count() === 0, "a step without a time-out has no deadline");
  const flowText = await text(pageA, "#approval-flows [data-kind=order_discount]");
  check(flowText.includes("Department head") && flowText.includes("only when the amount is over 500.00")
    && flowText.includes("the head of the department 1 level up"), "the flows are shown with approvers and conditions", flowText);
  check((await text(pageA, "#approval-flows [data-kind=leave]")).includes("after 2 d goes to Stand-in"),
    "a step's time-out names the step it goes to");

  await decide(pageA, discountId, "approve", FIRST_COMMENT);
  same(await ids(pageA, "approvals-inbox"), [leaveId], "once approved the discount no longer waits for the Shanghai manager");
  const movedOn = item("approvals-all", discountId);
  check((await text(pageA, `${movedOn} [data-role=status]`)).startsWith("pending at Department head"),
    "the discount moves on to the department head", await text(pageA, `${movedOn} [data-role=status]`));
  same(await decisions(pageA, movedOn), [[SHANGHAI_NAME, "approve", FIRST_COMMENT]], "the decision is listed with its comment");
  await shoot(pageA, "01-shanghai-approved.png");

  // --- the stale tab, still showing the discount at the Shanghai manager's step: refused ------------
  const staleDiscount = item("approvals-inbox", discountId);
  await pageB.fill(`${staleDiscount} textarea[name=comment]`, "again");
  await pageB.click(`${staleDiscount} button[data-verdict=approve]`);
  await pageB.waitForSelector(`${staleDiscount} [data-role=error]:not([hidden])`);
  await idle(pageB);
  same(await pageB.getAttribute(`${staleDiscount} [data-role=error]`, "data-status"), "403", "deciding a step that is not yours any more is refused (403)");
  const forbidden = await text(pageB, `${staleDiscount} [data-role=error]`);
  check(forbidden.includes("not an approver of step head"), "the refusal is shown in the item as the server says it", forbidden);

  // --- East's manager approves the discount and rejects the leave ------------------------------
  await pageA.click("#logout");
  await pageA.waitForSelector("#login-panel", { state: "visible" });
  check(await pageA.locator("#approvals-inbox > article").count() === 0, "signing out forgets the lists");
  await signIn(pageA, eastManager);
  await openApprovals(pageA);
  same(await ids(pageA, "approvals-inbox"), [leaveId, discountId], "both wait for East's manager now");
  check((await text(pageA, `${discount} [data-role=status]`)).startsWith("pending at Department head"),
    "East's manager sees the discount at the department head's step");
  same(await text(pageA, `${discount} [data-role=requester]`), REP_NAME, "East's manager reads the requester's name too");
  same(await decisions(pageA, discount), [[SHANGHAI_NAME, "approve", FIRST_COMMENT]], "with the Shanghai manager's approval and comment");
  await decide(pageA, discountId, "approve", SECOND_COMMENT);
  same(await ids(pageA, "approvals-inbox"), [leaveId], "the approved discount leaves the inbox");
  const approved = item("approvals-all", discountId);
  same(await pageA.getAttribute(approved, "data-status"), "approved", "the discount is approved");
  same(await decisions(pageA, approved),
    [[SHANGHAI_NAME, "approve", FIRST_COMMENT], [EAST_NAME, "approve", SECOND_COMMENT]], "both approvals are listed in order");
  await decide(pageA, leaveId, "reject", REJECT_COMMENT);
  same(await ids(pageA, "approvals-inbox"), [], "nothing waits for East's manager any more");
  same(await text(pageA, "#approvals-inbox"), "Nothing waits for your decision.", "and the inbox says so");
  const rejected = item("approvals-all", leaveId);
  same(await pageA.getAttribute(rejected, "data-status"), "rejected", "the leave is rejected");
  check((await text(pageA, `${rejected} [data-role=status]`)).includes(`at Line manager or department head by ${EAST_NAME}`),
    "the rejection names the step and who", await text(pageA, `${rejected} [data-role=status]`));
  same(await decisions(pageA, rejected), [[EAST_NAME, "reject", REJECT_COMMENT]], "the rejection's comment is listed");
  await shoot(pageA, "02-east-decided.png");

  // --- the stale tab again: the leave is final now ---------------------------------------------
  const staleLeave = item("approvals-inbox", leaveId);
  await pageB.click(`${staleLeave} button[data-verdict=reject]`);
  await pageB.waitForSelector(`${staleLeave} [data-role=error]:not([hidden])`);
  await idle(pageB);
  same(await pageB.getAttribute(`${staleLeave} [data-role=error]`, "data-status"), "409", "deciding a final request is refused (409)");
  check((await text(pageB, `${staleLeave} [data-role=error]`)).includes("already final"), "the conflict is shown in the item",
    await text(pageB, `${staleLeave} [data-role=error]`));
  check(await pageB.locator("#status").isHidden(), "the refusals stay in their items, not in the page's status line");
  await shoot(pageB, "03-stale-refused.png");
  await pageB.click("#approvals-refresh");
  await pageB.waitForFunction(() => document.querySelectorAll("#approvals-inbox > article").length === 0);
  await idle(pageB);
  same(await pageB.getAttribute(item("approvals-all", discountId), "data-status"), "approved", "after a refresh the tab shows the discount approved");
  same(await pageB.getAttribute(item("approvals-all", leaveId), "data-status"), "rejected", "and the leave rejected");

  // --- the admin sees both, and nothing waits for them ---------------------------------------------
  await pageA.click("#logout");
  await pageA.waitForSelector("#login-panel", { state: "visible" });
  await signIn(pageA, admin);
  check(await pageA.locator(".view-tab[data-view=approvals]").isVisible(), "an admin has the Approvals tab");
  await openApprovals(pageA);
  same(await ids(pageA, "approvals-inbox"), [], "nothing waits for the admin (the stand-in step never came)");
  same(await ids(pageA, "approvals-all"), [leaveId, discountId], "the admin sees both requests of the org");
  same(await decisions(pageA, item("approvals-all", discountId)),
    [[SHANGHAI_NAME, "approve", FIRST_COMMENT], [EAST_NAME, "approve", SECOND_COMMENT]], "with their decisions by name");

  // --- the admin asks for leave from the form; a kind without a flow is refused -------------------
  await pageA.selectOption("#ask-kind", "leave");
  await pageA.fill("#ask-from", "2027-03-01");
  await pageA.fill("#ask-to", "2027-03-03");
  await pageA.fill("#ask-reason", "annual leave");
  await pageA.click("#approvals-ask button[type=submit]");
  await pageA.waitForSelector("#ask-result[data-outcome]");
  await idle(pageA);
  same(await pageA.getAttribute("#ask-result", "data-outcome"), "asked", "the form's leave was accepted");
  const askedLeave = await text(pageA, "#ask-result");
  check(askedLeave.includes("2027-03-01 – 2027-03-03 (3 days)") && askedLeave.includes("pending at"),
    "the result says what was asked, in whole days, and where it stands", askedLeave);
  const newLeave = await pageA.getAttribute("#ask-result", "data-request");
  same(await ids(pageA, "approvals-all"), [newLeave, leaveId, discountId], "the new request heads the admin's list");
  await pageA.selectOption("#ask-kind", "business_trip");
  check(await pageA.locator("#ask-destination-label").isVisible(), "a trip asks for its destination");
  await pageA.fill("#ask-destination", "Hangzhou");
  await pageA.click("#approvals-ask button[type=submit]");
  await pageA.waitForSelector("#ask-result[data-outcome=refused]");
  const refusedTrip = await text(pageA, "#ask-result");
  check(refusedTrip.includes("422") && refusedTrip.includes("business_trip"), "a kind without a flow is refused as the server says", refusedTrip);
  await shoot(pageA, "04-admin.png");
  check(problems.length === 0, "no script error or content-security-policy violation", problems.join("; "));

  // --- the screenshots ---------------------------------------------------------------------------
  for (const shot of shots) {
    const image = decodePng(readFileSync(shot.path));
    same([image.width, image.height], [VIEWPORT.width, VIEWPORT.height], `${shot.name} has the viewport's size`);
    check(imageStats(image).variance > 100, `${shot.name} is not blank`);
  }
  console.log(JSON.stringify({ ok: true, checks: checks.length }));
} catch (error) {
  await pageA.screenshot({ path: join(shotDir, "failure.png"), fullPage: true }).catch(() => {});
  await pageB.screenshot({ path: join(shotDir, "failure-stale-tab.png"), fullPage: true }).catch(() => {});
  console.error(`FAILED: ${error.message}`);
  if (problems.length) console.error(`page problems: ${problems.join("; ")}`);
  await browser.close();
  process.exit(1);
}
await browser.close();
