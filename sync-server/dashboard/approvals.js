// The approvals view: what waits for the signed-in manager or admin ("Waiting for you",
// GET /v1/approvals?to_decide=true) with a comment box and Approve / Reject on each, every
// request of their scope ("All in my scope", GET /v1/approvals) with where it stands and the
// decisions so far, the org's flows read-only (GET /v1/approval-flows), and a form to ask for
// leave or a business trip for oneself (POST /v1/approvals, whole days in the org's time
// zone). A decision is
// POST /v1/approvals/{id}/decisions; the server's refusal (403 not an approver of the step,
// 409 already decided or final) is shown as text in the item. Every piece of data reaches
// the page as text.

import * as api from "./api.js";
import { byId, distance, el, fill, localTime, money, shortId } from "./view.js";

const DAY_MS = 86400000;

/** Kinds of request for people. */
const KIND_NAMES = {
  out_of_range_check_in: "Out-of-range check-in 范围外签到",
  new_customer: "New customer 新客户",
  order_discount: "Discount 折扣",
  leave: "Leave 请假",
  business_trip: "Business trip 出差",
  task_step: "Task step 任务审批",
};

const VERDICT_NAMES = { approve: "approved", reject: "rejected" };

/** Given by app.js: `run(work)` (busy marker and error reporting), `offsetMin()`. */
let host = null;

/** What the view knows while signed in. */
const state = {
  /** user id → display name (GET /v1/users: the caller's scope) */
  names: new Map(),
  /** customer id → name (GET /v1/customers) */
  customers: new Map(),
  /** kind → current flow */
  flows: new Map(),
  /** whether the people above were loaded for this session */
  loaded: false,
  /** generation of the latest refresh: older answers are dropped */
  generation: 0,
};

// ---------------------------------------------------------------------------------------
// Names and texts

function kindName(kind) {
  return KIND_NAMES[kind] || kind;
}

function userName(id) {
  const me = api.session()?.user;
  if (me && me.id === id) return me.display_name || me.username || "you";
  return state.names.get(id) || `user ${shortId(id)}`;
}

function when(ms) {
  return localTime(ms, host.offsetMin());
}

/** The title of step `id` in the current flow of `kind` (the step's id if it has none). */
function stepTitle(kind, id) {
  const step = state.flows.get(kind)?.steps.find((s) => s.id === id);
  return step?.title || id;
}

/** Minor units without a currency, two decimals. */
function decimal(minor) {
  return money(minor, "").trim();
}

/** Whether `ms` is a midnight in the org's time. */
function isLocalMidnight(ms) {
  return (ms + host.offsetMin() * 60000) % DAY_MS === 0;
}

/** A time range: whole local days as dates (the end inclusive), otherwise with the times. */
function rangeText(range) {
  const days = (range.end_ms - range.start_ms) / DAY_MS;
  const length = Number.isInteger(days) ? `${days} ${days === 1 ? "day" : "days"}` : `${days.toFixed(1)} days`;
  if (isLocalMidnight(range.start_ms) && isLocalMidnight(range.end_ms)) {
    const first = when(range.start_ms).slice(0, 10);
    const last = when(range.end_ms - DAY_MS).slice(0, 10);
    return first === last ? `${first} (${length})` : `${first} – ${last} (${length})`;
  }
  return `${when(range.start_ms)} – ${when(range.end_ms)} (${length})`;
}

/** What a request asks for, in words. */
function askedText(subject) {
  switch (subject.kind) {
    case "order_discount": {
      const customer = state.customers.get(subject.customer_id);
      const share = subject.order_total_minor > 0
        ? ` (${((subject.discount_minor * 100) / subject.order_total_minor).toFixed(1)} %)` : "";
      return `A discount of ${money(subject.discount_minor, subject.currency)} on an order of `
        + `${money(subject.order_total_minor, subject.currency)}${share}`
        + (customer ? ` for ${customer}` : "");
    }
    case "leave":
      return `Leave ${rangeText(subject.range)}`;
    case "business_trip":
      return `A trip to ${subject.destination || "(no destination)"}, ${rangeText(subject.range)}`;
    case "out_of_range_check_in": {
      const customer = state.customers.get(subject.customer_id) || `customer ${shortId(subject.customer_id)}`;
      return `A check-in ${distance(subject.distance_m)} from ${customer}`;
    }
    case "new_customer":
      return `A new customer (proposal ${shortId(subject.proposal_id)})`;
    case "task_step":
      return `Step “${subject.step}” of task ${shortId(subject.task_id)}`
        + (subject.amount_minor === null || subject.amount_minor === undefined ? "" : `, amount ${decimal(subject.amount_minor)}`);
    default:
      return subject.kind;
  }
}

/** Who approves, for people: `[{type: manager}]` → "the requester's manager". */
function approverText(a) {
  switch (a.type) {
    case "manager":
      return "the requester's manager";
    case "department_head":
      return a.levels_up === 0
        ? "the head of the requester's department"
        : `the head of the department ${a.levels_up} ${a.levels_up === 1 ? "level" : "levels"} up`;
    case "role":
      return `every ${a.role}`;
    case "group":
      return `group “${a.group}”`;
    case "users":
      return (a.users || []).map(userName).join(", ");
    default:
      return a.type;
  }
}

function conditionText(c) {
  if (!c) return "";
  switch (c.type) {
    case "amount_over":
      return `only when the amount is over ${decimal(c.minor)}`;
    case "distance_over":
      return `only when the distance is over ${c.metres} m`;
    case "duration_over":
      return `only when it lasts more than ${c.days} ${c.days === 1 ? "day" : "days"}`;
    default:
      return `only when ${c.type}`;
  }
}

function durationText(ms) {
  if (ms % DAY_MS === 0) return `${ms / DAY_MS} d`;
  if (ms % 3600000 === 0) return `${ms / 3600000} h`;
  if (ms % 60000 === 0) return `${ms / 60000} min`;
  return `${(ms / 1000).toFixed(1)} s`;
}

// ---------------------------------------------------------------------------------------
// Loading

async function loadPeople() {
  const [users, customers] = await Promise.all([api.get("/v1/users"), api.get("/v1/customers")]);
  state.names = new Map(users.map((u) => [u.id, u.display_name || u.username]));
  state.customers = new Map(customers.map((c) => [c.id, c.name]));
  state.loaded = true;
}

/** Reads the flows and both lists again and draws them. */
async function refresh() {
  const generation = ++state.generation;
  if (!state.loaded) await loadPeople();
  const [flows, waiting, all] = await Promise.all([
    api.get("/v1/approval-flows"),
    api.get(api.withQuery("/v1/approvals", { to_decide: true })),
    api.get("/v1/approvals"),
  ]);
  if (generation !== state.generation) return;
  state.flows = new Map(flows.map((f) => [f.kind, f]));
  // The people a request involves (approvers above the caller's scope among them).
  for (const item of [...waiting, ...all]) {
    for (const [id, name] of Object.entries(item.names || {})) state.names.set(id, name);
  }
  const newestFirst = (list) => [...list].sort((a, b) => b.request.submitted_ms - a.request.submitted_ms);
  const inbox = byId("approvals-inbox");
  fill(inbox, waiting.length
    ? newestFirst(waiting).map((item) => card(item, true))
    : el("p", { class: "note" }, "Nothing waits for your decision."));
  inbox.dataset.count = String(waiting.length);
  const listed = byId("approvals-all");
  fill(listed, all.length
    ? newestFirst(all).map((item) => card(item, false))
    : el("p", { class: "note" }, "No request in your scope."));
  listed.dataset.count = String(all.length);
  renderFlows(flows);
  byId("approvals-view").dataset.loaded = String(generation);
}

// ---------------------------------------------------------------------------------------
// Drawing

function statusLine(item) {
  const { request, status } = item;
  const kind = request.subject.kind;
  const parts = [el("span", { class: `badge ${status.status}` }, status.status)];
  if (status.status === "pending") {
    parts.push(" at ", el("strong", { dataset: { role: "step" } }, stepTitle(kind, status.step)));
    if (status.standing_in_for) parts.push(` (standing in for ${stepTitle(kind, status.standing_in_for)})`);
    const approvers = status.approvers || [];
    parts.push(approvers.length
      ? ` — ${status.rule === "all_of" ? "all of" : "any of"}: ${approvers.map(userName).join(", ")}`
      : " — nobody can decide it yet");
    if ((status.approved_by || []).length) parts.push(`; approved so far by ${status.approved_by.map(userName).join(", ")}`);
  } else if (status.status === "approved") {
    parts.push(` ${when(status.at_ms)}`);
  } else if (status.status === "rejected") {
    parts.push(` ${when(status.at_ms)} at `, el("strong", { dataset: { role: "step" } }, stepTitle(kind, status.step)),
      ` by ${userName(status.by)}`);
  }
  return el("p", { class: "approval-status", dataset: { role: "status" } }, parts);
}

function decisionList(item) {
  if (!item.decisions.length) return el("p", { class: "note", dataset: { role: "decisions" } }, "No decision yet.");
  return el("ol", { class: "decisions", dataset: { role: "decisions" } }, item.decisions.map((d) =>
    el("li", { dataset: { approver: d.approver_id, verdict: d.verdict } },
      el("span", { class: `badge ${VERDICT_NAMES[d.verdict] || d.verdict}` }, VERDICT_NAMES[d.verdict] || d.verdict),
      " ", el("strong", {}, userName(d.approver_id)),
      ` ${when(d.at_ms)}`,
      d.comment ? [": ", el("q", { dataset: { role: "comment" } }, d.comment)] : " (no comment)")));
}

/** The steps a request went through that ended without a decision of their own. */
function historyNotes(item) {
  const kind = item.request.subject.kind;
  const notes = item.history.filter((h) => ["timed_out", "skipped"].includes(h.outcome.outcome)).map((h) => {
    const title = stepTitle(kind, h.step);
    if (h.outcome.outcome === "skipped") return `${title}: skipped (nobody could decide it)`;
    const to = h.outcome.escalated_to ? `, passed to ${stepTitle(kind, h.outcome.escalated_to)}` : ", passed over";
    return `${title}: timed out ${when(h.ended_ms)}${to}`;
  });
  return notes.length ? el("ul", { class: "history" }, notes.map((n) => el("li", {}, n))) : null;
}

function card(item, actionable) {
  const { request, status } = item;
  const error = el("p", { class: "approval-error", role: "alert", dataset: { role: "error" }, hidden: true });
  const deadline = status.status === "pending" && status.deadline_ms
    ? el("p", { class: "deadline", dataset: { role: "deadline" } }, `Deadline ${when(status.deadline_ms)}`) : null;
  return el("article", {
    class: "approval",
    dataset: { request: request.id, kind: request.subject.kind, status: status.status, step: status.step || "" },
  },
  el("header", { class: "approval-head" },
    el("span", { class: "kind-label", dataset: { role: "kind" } }, kindName(request.subject.kind)),
    el("strong", { dataset: { role: "requester" } }, userName(request.requester_id)),
    el("span", { class: "sub", dataset: { role: "submitted" } }, `submitted ${when(request.submitted_ms)}`),
    !actionable && item.may_decide ? el("span", { class: "badge mine" }, "waiting for you") : null),
  el("p", { class: "asked", dataset: { role: "asked" } }, askedText(request.subject)),
  el("p", { class: "reason", dataset: { role: "reason" } }, request.reason ? `Reason: ${request.reason}` : "No reason given."),
  statusLine(item),
  deadline,
  historyNotes(item),
  decisionList(item),
  actionable ? decideBox(item, error) : null,
  error);
}

function decideBox(item, error) {
  const comment = el("textarea", { name: "comment", rows: 2, maxlength: 2000, placeholder: "Comment (optional)" });
  const box = el("div", { class: "decide" },
    el("label", {}, "Comment", comment),
    el("div", { class: "decide-buttons" },
      el("button", { type: "button", dataset: { verdict: "approve" } }, "Approve"),
      el("button", { type: "button", class: "secondary danger", dataset: { verdict: "reject" } }, "Reject")));
  for (const button of box.querySelectorAll("button")) {
    button.addEventListener("click", () => decide(item, button.dataset.verdict, comment, box, error));
  }
  return box;
}

/** Records a decision; on success the lists are read again, on a refusal it is shown here. */
async function decide(item, verdict, comment, box, error) {
  const buttons = [...box.querySelectorAll("button")];
  for (const b of buttons) b.disabled = true;
  error.hidden = true;
  await host.run(async () => {
    try {
      await api.post(`/v1/approvals/${item.request.id}/decisions`, { verdict, comment: comment.value.trim() });
    } catch (e) {
      if (!(e instanceof api.ApiError) || e.code === "unauthenticated") throw e;
      error.textContent = `Not recorded (${e.status}): ${e.message}. Refresh to see where it stands.`;
      error.dataset.status = String(e.status);
      error.hidden = false;
      for (const b of buttons) b.disabled = false;
      return;
    }
    const result = byId("approvals-result");
    result.textContent = `You ${VERDICT_NAMES[verdict]} the ${kindName(item.request.subject.kind)} request of ${userName(item.request.requester_id)}.`;
    result.dataset.outcome = verdict;
    result.dataset.request = item.request.id;
    await refresh();
  });
}

function renderFlows(flows) {
  const box = byId("approval-flows");
  const sorted = [...flows].sort((a, b) => kindName(a.kind).localeCompare(kindName(b.kind)));
  if (!sorted.length) {
    fill(box, el("p", { class: "note" }, "The org has no approval flow yet (an admin defines them)."));
    return;
  }
  fill(box, sorted.map((flow) => el("div", { class: "flow", dataset: { kind: flow.kind } },
    el("h3", {}, `${kindName(flow.kind)} `, el("span", { class: "sub" }, `version ${flow.version}`)),
    el("ol", {}, flow.steps.map((s) => el("li", { dataset: { step: s.id } },
      el("strong", {}, s.title || s.id),
      s.escalation_only ? " (stand-in on a time-out only)" : "",
      `: ${s.rule === "all_of" ? "all of" : "any of"} ${s.approvers.map(approverText).join("; ")}`,
      s.condition ? el("span", { class: "cond" }, ` — ${conditionText(s.condition)}`) : null,
      s.timeout
        ? el("span", { class: "sub" }, ` — after ${durationText(s.timeout.after_ms)} goes to `
          + (s.timeout.escalate_to.type === "step" ? stepTitle(flow.kind, s.timeout.escalate_to.step) : "the next step"))
        : null))),
    flow.when_no_approver === "skip" ? el("p", { class: "note" }, "A step nobody can decide is skipped.") : null)));
}

/** Unix ms of the org-local midnight starting `date` (`YYYY-MM-DD`). */
function localMidnight(date) {
  const [y, m, d] = date.split("-").map(Number);
  return Date.UTC(y, m - 1, d) - host.offsetMin() * 60000;
}

/** Sends the ask form: a leave or trip over whole days, for the signed-in user. */
async function ask(event) {
  event.preventDefault();
  const kind = byId("ask-kind").value;
  const range = { start_ms: localMidnight(byId("ask-from").value), end_ms: localMidnight(byId("ask-to").value) + DAY_MS };
  const subject = kind === "business_trip"
    ? { kind, range, destination: byId("ask-destination").value.trim() }
    : { kind, range };
  const result = byId("ask-result");
  await host.run(async () => {
    let made;
    try {
      made = await api.post("/v1/approvals", { subject, reason: byId("ask-reason").value.trim() });
    } catch (e) {
      if (!(e instanceof api.ApiError) || e.code === "unauthenticated") throw e;
      result.textContent = `Not asked (${e.status}): ${e.message}`;
      result.dataset.outcome = "refused";
      return;
    }
    const status = made.status.status === "pending" ? `pending at ${stepTitle(kind, made.status.step)}` : made.status.status;
    result.textContent = `Asked for ${kindName(kind)} ${rangeText(range)}: ${status}.`;
    result.dataset.outcome = "asked";
    result.dataset.request = made.request.id;
    await refresh();
  });
}

// ---------------------------------------------------------------------------------------
// Entry points for app.js

/** Wires the view once: `options` = {run, offsetMin}. */
export function initApprovals(options) {
  host = options;
  byId("approvals-refresh").addEventListener("click", () => host.run(refresh));
  byId("approvals-ask").addEventListener("submit", ask);
  byId("ask-kind").addEventListener("change", () => {
    byId("ask-destination-label").hidden = byId("ask-kind").value !== "business_trip";
  });
}

/** Shows the view's current state (on opening the tab). */
export async function openApprovals() {
  await host.run(refresh);
}

/** Forgets everything (on sign-out). */
export function resetApprovals() {
  state.generation += 1;
  state.names.clear();
  state.customers.clear();
  state.flows.clear();
  state.loaded = false;
  for (const id of ["approvals-inbox", "approvals-all", "approval-flows"]) fill(byId(id));
  for (const result of [byId("approvals-result"), byId("ask-result")]) {
    result.textContent = "";
    delete result.dataset.outcome;
    delete result.dataset.request;
  }
  byId("approvals-ask").reset();
  byId("ask-destination-label").hidden = true;
  delete byId("approvals-view").dataset.loaded;
}
