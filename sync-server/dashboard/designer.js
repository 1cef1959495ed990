// The form designer: field kinds dragged from the palette into the form at a position (HTML5
// drag and drop; a "+" button per kind for the keyboard), reordered by dragging or with the
// ↑ ↓ buttons, edited in the inspector (label, key, required, limits, choices, show-if), and
// previewed as the phone renders it (show-if applied as values are typed; "Check" asks the
// server, which runs the domain's validator: the code the phone runs on submit). The server
// checks the design after every change (POST /v1/form-templates/check) and each problem is
// shown beside the field it names. "Publish" stores the form as a new template, or as the
// next version of the loaded one. Every piece of data reaches the page as text.

import * as api from "./api.js";
import { byId, el, fill, shortId } from "./view.js";

/** The field kinds of the palette, in its order, with each kind's defaults. */
const KINDS = [
  { type: "text", name: "Text" },
  { type: "number", name: "Number" },
  { type: "integer", name: "Integer" },
  { type: "money", name: "Money" },
  { type: "date_time", name: "Date and time" },
  { type: "single_choice", name: "Single choice", kind: () => ({ choices: [] }) },
  { type: "multi_choice", name: "Multiple choice", kind: () => ({ choices: [] }) },
  { type: "yes_no", name: "Yes / no" },
  { type: "rating", name: "Rating", kind: () => ({ max: 5 }) },
  { type: "photos", name: "Photos", kind: () => ({ min: 1, max: 3 }) },
  { type: "barcode", name: "Barcode" },
  { type: "location", name: "Location" },
  { type: "signature", name: "Signature" },
  { type: "product_table", name: "Product table", kind: () => ({ min_rows: 1, max_rows: 20 }) },
  { type: "section", name: "Section" },
];
const KIND_NAMES = new Map(KINDS.map((k) => [k.type, k.name]));
const CHOICE_KINDS = new Set(["single_choice", "multi_choice"]);
const NUMBER_KINDS = new Set(["number", "integer", "money", "rating"]);
const OPS = [
  ["equals", "equals"],
  ["one_of", "is one of"],
  ["is_set", "is answered"],
  ["is_true", "is yes"],
];
/** Milliseconds after the last change before the server checks the design. */
const CHECK_DELAY_MS = 300;
/** A place for the simulated location of the preview (central Shanghai, WGS-84). */
const PREVIEW_PLACE = { lat: 31.2304, lng: 121.4737 };

/** The design being edited. */
const d = {
  /** id of the loaded template (null: a new one) and its latest published version */
  templateId: null,
  latestVersion: null,
  title: "",
  /** `{uid, key, keyEdited, label, kind, required, rules, show_if}`, in display order */
  fields: [],
  /** uid of the field in the inspector */
  selected: null,
  /** the server's design problems of the latest check */
  problems: [],
  /** the preview's values by key (empty answers left out) */
  values: {},
  uidSeq: 0,
  checkGeneration: 0,
  checkTimer: null,
  /** what is being dragged: `{kind}` from the palette or `{uid}` of a field */
  dragging: null,
  /** every version of every template, as listed by the server */
  templates: [],
};

/** How the designer runs its calls (busy marker, errors reported): set by `initDesigner`. */
let host = { run: async (work) => work() };

// ---------------------------------------------------------------------------------------
// Fields and keys

function isAscii(text) {
  return /^[\x20-\x7e]*$/.test(text);
}

function keyTaken(key, self) {
  return d.fields.some((f) => f !== self && f.key === key);
}

/**
 * The key a field gets from its label: the label in lower-case ASCII with `_` between words
 * (`Shelf facings` → `shelf_facings`), else `field_N`; a number is added if it is taken.
 */
function autoKey(field) {
  const slug = isAscii(field.label) ? field.label.toLowerCase().replace(/[^a-z0-9]+/g, "_").replace(/^_+|_+$/g, "") : "";
  if (slug) {
    let key = slug;
    for (let n = 2; keyTaken(key, field); n += 1) key = `${slug}_${n}`;
    return key;
  }
  let n = 1;
  while (keyTaken(`field_${n}`, field)) n += 1;
  return `field_${n}`;
}

/** Renames a field's key, and the show-if conditions that name it. */
function rename(field, key) {
  const old = field.key;
  field.key = key;
  if (!old || old === key || keyTaken(old, field)) return;
  for (const f of d.fields) {
    if (f.show_if && f.show_if.field === old) f.show_if.field = key;
  }
  if (old in d.values) {
    d.values[key] = d.values[old];
    delete d.values[old];
  }
}

function newField(type) {
  const spec = KINDS.find((k) => k.type === type);
  const field = {
    uid: ++d.uidSeq,
    key: "",
    keyEdited: false,
    label: spec.name,
    kind: { type, ...(spec.kind ? spec.kind() : {}) },
    required: false,
    rules: {},
    show_if: null,
  };
  return field;
}

function fieldOf(uid) {
  return d.fields.find((f) => f.uid === uid) || null;
}

/** The field as the API takes it. */
function wireField(f) {
  const rules = {};
  for (const [name, value] of Object.entries(f.rules)) {
    if (value !== null && value !== undefined && value !== "") rules[name] = value;
  }
  const out = { key: f.key, label: f.label, kind: { ...f.kind }, required: f.kind.type === "section" ? false : f.required, rules };
  if (f.show_if) out.show_if = { ...f.show_if };
  return out;
}

/** The design as a draft for the API (no version: the server takes the next one). */
function draft() {
  const body = { title: d.title, fields: d.fields.map(wireField) };
  if (d.templateId) body.id = d.templateId;
  return body;
}

function fromWire(f) {
  return {
    uid: ++d.uidSeq,
    key: f.key,
    keyEdited: true,
    label: f.label,
    kind: { ...f.kind },
    required: Boolean(f.required),
    rules: { ...(f.rules || {}) },
    show_if: f.show_if ? { ...f.show_if } : null,
  };
}

// ---------------------------------------------------------------------------------------
// Changes

/** Inserts a new field of `type` at `index` and selects it. */
function insertKind(type, index) {
  const field = newField(type);
  d.fields.splice(Math.max(0, Math.min(index, d.fields.length)), 0, field);
  field.key = autoKey(field);
  d.selected = field.uid;
  changed({ inspector: true });
}

/** Moves field `uid` to insertion point `index` (a position in the list before the move). */
function moveTo(uid, index) {
  const from = d.fields.findIndex((f) => f.uid === uid);
  if (from < 0) return;
  let to = Math.max(0, Math.min(index, d.fields.length));
  if (to === from || to === from + 1) return;
  const [field] = d.fields.splice(from, 1);
  if (to > from) to -= 1;
  d.fields.splice(to, 0, field);
  changed({});
}

function moveBy(uid, delta) {
  const from = d.fields.findIndex((f) => f.uid === uid);
  const to = from + delta;
  if (from < 0 || to < 0 || to >= d.fields.length) return;
  const [field] = d.fields.splice(from, 1);
  d.fields.splice(to, 0, field);
  changed({});
  byId("canvas").querySelector(`li[data-uid="${uid}"] button[data-move="${delta < 0 ? "up" : "down"}"]`)?.focus();
}

function remove(uid) {
  const field = fieldOf(uid);
  if (!field) return;
  d.fields = d.fields.filter((f) => f.uid !== uid);
  delete d.values[field.key];
  if (d.selected === uid) d.selected = null;
  changed({ inspector: true });
}

function select(uid) {
  if (d.selected === uid) return;
  d.selected = uid;
  renderCanvas();
  renderInspector();
}

/** After a change of the design: redraw, and have the server check it shortly. */
function changed({ inspector = false }) {
  renderCanvas();
  if (inspector) renderInspector();
  renderPreview();
  scheduleCheck();
}

// ---------------------------------------------------------------------------------------
// The server's design check

function scheduleCheck() {
  const view = byId("designer-view");
  view.dataset.check = "pending";
  // An answer to a check of the design before this change is stale.
  d.checkGeneration += 1;
  clearTimeout(d.checkTimer);
  d.checkTimer = setTimeout(checkNow, CHECK_DELAY_MS);
}

async function checkNow() {
  clearTimeout(d.checkTimer);
  const generation = ++d.checkGeneration;
  const view = byId("designer-view");
  view.dataset.check = "pending";
  await host.run(async () => {
    const answer = await api.post("/v1/form-templates/check", draft());
    if (generation !== d.checkGeneration) return;
    d.problems = answer.problems;
    renderProblems();
    renderCanvas();
    const result = byId("designer-result");
    if (!d.problems.length && result.dataset.outcome === "refused") {
      // The refusal shown was of a design that has since been fixed.
      result.textContent = "";
      delete result.dataset.outcome;
    }
    view.dataset.check = "done";
  });
}

/** The problems of field `f` at position `index`: by position, else by key. */
function problemsOf(f, index) {
  return d.problems.filter((p) => p.field === f.key && (p.index === index
    || ((p.index === null || p.index === undefined || d.fields[p.index]?.key !== p.field) && d.fields.findIndex((x) => x.key === p.field) === index)));
}

function renderProblems() {
  const list = byId("design-problems");
  byId("designer-view").dataset.problems = String(d.problems.length);
  fill(list, d.problems.map((p) => el("li", { dataset: { field: p.field, code: p.code } }, p.message)));
  list.hidden = d.problems.length === 0;
}

// ---------------------------------------------------------------------------------------
// Drag and drop

function startDrag(event, payload) {
  d.dragging = payload;
  const text = payload.kind ? `kind:${payload.kind}` : `field:${payload.uid}`;
  event.dataTransfer.setData("text/plain", text);
  event.dataTransfer.effectAllowed = payload.kind ? "copy" : "move";
  if (payload.uid) event.currentTarget.classList.add("dragging");
  event.stopPropagation();
}

function payloadOf(event) {
  const text = event.dataTransfer?.getData("text/plain") || "";
  if (text.startsWith("kind:") && KIND_NAMES.has(text.slice(5))) return { kind: text.slice(5) };
  if (text.startsWith("field:")) return { uid: Number(text.slice(6)) };
  return d.dragging;
}

function clearMarks() {
  for (const node of document.querySelectorAll(".drop-before, .drop-after, .drop-end.active, .dragging")) {
    node.classList.remove("drop-before", "drop-after", "active", "dragging");
  }
}

/** Where a drop at `event` inserts: `{index, row, before}`. */
function dropPoint(event) {
  const row = event.target instanceof Element ? event.target.closest("#canvas > li") : null;
  if (!row) return { index: d.fields.length, row: null, before: false };
  const box = row.getBoundingClientRect();
  const before = event.clientY < box.top + box.height / 2;
  const index = Number(row.dataset.index) + (before ? 0 : 1);
  return { index, row, before };
}

function onDragOver(event) {
  if (!d.dragging && !event.dataTransfer?.types.includes("text/plain")) return;
  event.preventDefault();
  event.dataTransfer.dropEffect = d.dragging?.uid ? "move" : "copy";
  const point = dropPoint(event);
  for (const node of document.querySelectorAll(".drop-before, .drop-after, .drop-end.active")) {
    node.classList.remove("drop-before", "drop-after", "active");
  }
  if (point.row) point.row.classList.add(point.before ? "drop-before" : "drop-after");
  else byId("canvas-end").classList.add("active");
}

function onDrop(event) {
  event.preventDefault();
  const payload = payloadOf(event);
  const point = dropPoint(event);
  d.dragging = null;
  clearMarks();
  if (!payload) return;
  if (payload.kind) insertKind(payload.kind, point.index);
  else moveTo(payload.uid, point.index);
}

// ---------------------------------------------------------------------------------------
// Palette and canvas

function renderPalette() {
  fill(byId("palette"), KINDS.map((k) => el("li", {
    class: "palette-item", draggable: "true", dataset: { kind: k.type },
    ondragstart: (event) => startDrag(event, { kind: k.type }),
    ondragend: () => { d.dragging = null; clearMarks(); },
  },
  el("span", {}, k.name),
  el("button", { type: "button", class: "secondary small", title: `Add ${k.name.toLowerCase()} after the selected field`, "aria-label": `Add ${k.name}`, onclick: () => addFromPalette(k.type) }, "+"))));
}

function addFromPalette(type) {
  const at = d.fields.findIndex((f) => f.uid === d.selected);
  insertKind(type, at < 0 ? d.fields.length : at + 1);
}

function conditionText(c) {
  const op = OPS.find(([o]) => o === c.op)?.[1] || c.op;
  if (c.op === "equals") return `shown if ${c.field} ${op} ${JSON.stringify(c.value)}`;
  if (c.op === "one_of") return `shown if ${c.field} ${op} ${(c.values || []).map((v) => JSON.stringify(v)).join(", ")}`;
  return `shown if ${c.field} ${op}`;
}

function rowButton(label, title, onclick, data = {}) {
  return el("button", {
    type: "button", class: "secondary small", title, "aria-label": title, dataset: data,
    onclick: (event) => { event.stopPropagation(); onclick(); },
  }, label);
}

function renderCanvas() {
  let inSection = false;
  fill(byId("canvas"), d.fields.map((f, i) => {
    const section = f.kind.type === "section";
    if (section) inSection = true;
    const problems = problemsOf(f, i);
    const classes = ["field-row", section ? "section" : (inSection ? "in-section" : ""),
      f.uid === d.selected ? "selected" : "", problems.length ? "has-problem" : ""].filter(Boolean).join(" ");
    return el("li", {
      class: classes, draggable: "true", tabindex: "0",
      dataset: { uid: String(f.uid), index: String(i), key: f.key, kind: f.kind.type },
      onclick: () => select(f.uid),
      onkeydown: (event) => {
        if (event.target !== event.currentTarget) return;
        if (event.key === "Enter") select(f.uid);
        // Alt+↑ / Alt+↓ move the focused field, as dragging does.
        if (event.altKey && (event.key === "ArrowUp" || event.key === "ArrowDown")) {
          event.preventDefault();
          moveBy(f.uid, event.key === "ArrowUp" ? -1 : 1);
          byId("canvas").querySelector(`li[data-uid="${f.uid}"]`)?.focus();
        }
      },
      ondragstart: (event) => startDrag(event, { uid: f.uid }),
      ondragend: () => { d.dragging = null; clearMarks(); },
    },
    el("div", { class: "row-head" },
      el("span", { class: "kind" }, KIND_NAMES.get(f.kind.type) || f.kind.type),
      el("span", { class: "row-label" }, f.label || "(no label)"),
      f.required && !section ? el("span", { class: "req", title: "required" }, "required") : null,
      el("code", { class: "row-key" }, f.key || "(no key)"),
      el("span", { class: "row-buttons" },
        rowButton("↑", `Move ${f.key} up`, () => moveBy(f.uid, -1), { move: "up" }),
        rowButton("↓", `Move ${f.key} down`, () => moveBy(f.uid, 1), { move: "down" }),
        rowButton("✕", `Remove ${f.key}`, () => remove(f.uid), { remove: "1" }))),
    f.show_if ? el("div", { class: "cond" }, conditionText(f.show_if)) : null,
    problems.length ? el("ul", { class: "problems" }, problems.map((p) => el("li", { dataset: { code: p.code } }, p.message))) : null);
  }));
  byId("canvas-end").textContent = d.fields.length
    ? "Drop here to add at the end"
    : "Drag fields from the palette and drop them here";
}

// ---------------------------------------------------------------------------------------
// Inspector

function numberOrNull(text) {
  if (text.trim() === "") return null;
  const n = Number(text);
  return Number.isFinite(n) ? n : null;
}

function numberInput(label, name, value, onchange, attrs = {}) {
  return el("label", {}, label, el("input", {
    type: "number", name, value: value ?? "", step: "any", ...attrs,
    oninput: (event) => onchange(numberOrNull(event.target.value)),
  }));
}

/** Edits of `f` that change only what it shows: redraw everything but the inspector. */
function edited() {
  changed({});
}

function ruleInputs(f) {
  const t = f.kind.type;
  const rule = (name) => (value) => {
    if (value === null) delete f.rules[name];
    else f.rules[name] = value;
    edited();
  };
  const kindValue = (name) => (value) => {
    f.kind[name] = value === null ? 0 : Math.max(0, Math.round(value));
    edited();
  };
  const out = [];
  if (t === "text" || t === "barcode") {
    out.push(numberInput("Fewest characters", "min_length", f.rules.min_length, rule("min_length"), { min: 0, step: 1 }));
    out.push(numberInput("Most characters", "max_length", f.rules.max_length, rule("max_length"), { min: 0, step: 1 }));
    out.push(el("label", {}, "Pattern (regular expression)", el("input", {
      name: "pattern", value: f.rules.pattern ?? "",
      oninput: (event) => rule("pattern")(event.target.value === "" ? null : event.target.value),
    })));
  } else if (t === "number" || t === "integer") {
    out.push(numberInput("Minimum", "min", f.rules.min, rule("min")));
    out.push(numberInput("Maximum", "max", f.rules.max, rule("max")));
  } else if (t === "money") {
    out.push(numberInput("Minimum (minor units)", "min", f.rules.min, rule("min"), { step: 1 }));
    out.push(numberInput("Maximum (minor units)", "max", f.rules.max, rule("max"), { step: 1 }));
  } else if (t === "multi_choice") {
    out.push(numberInput("Fewest choices", "min", f.rules.min, rule("min"), { min: 0, step: 1 }));
    out.push(numberInput("Most choices", "max", f.rules.max, rule("max"), { min: 0, step: 1 }));
  } else if (t === "rating") {
    out.push(numberInput("Highest rating", "rating_max", f.kind.max, kindValue("max"), { min: 1, max: 10, step: 1 }));
  } else if (t === "photos") {
    out.push(numberInput("Fewest photos", "photos_min", f.kind.min, kindValue("min"), { min: 0, step: 1 }));
    out.push(numberInput("Most photos", "photos_max", f.kind.max, kindValue("max"), { min: 0, step: 1 }));
  } else if (t === "product_table") {
    out.push(numberInput("Fewest rows", "min_rows", f.kind.min_rows, kindValue("min_rows"), { min: 0, step: 1 }));
    out.push(numberInput("Most rows", "max_rows", f.kind.max_rows, kindValue("max_rows"), { min: 0, step: 1 }));
  }
  if (CHOICE_KINDS.has(t)) {
    out.push(el("label", { class: "wide" }, "Choices (one per line)", el("textarea", {
      name: "choices", rows: 4,
      oninput: (event) => {
        f.kind.choices = event.target.value.split("\n").map((c) => c.trim()).filter((c) => c !== "");
        edited();
      },
    }, f.kind.choices.join("\n"))));
  }
  return out;
}

/** A condition value typed as text, as the JSON value the tested field holds. */
function typedValue(target, text) {
  const type = target?.kind.type;
  if (NUMBER_KINDS.has(type)) {
    const n = Number(text);
    return text.trim() !== "" && Number.isFinite(n) ? n : text;
  }
  if (type === "yes_no") return text === "true" || text === "yes";
  return text;
}

function valueText(value) {
  return typeof value === "string" ? value : JSON.stringify(value ?? "");
}

function conditionInputs(f) {
  const others = d.fields.filter((x) => x !== f && x.kind.type !== "section");
  const c = f.show_if;
  const target = c ? d.fields.find((x) => x.key === c.field) : null;
  const fieldSelect = el("select", {
    name: "show_if_field",
    onchange: (event) => {
      const key = event.target.value;
      if (!key) {
        f.show_if = null;
      } else {
        const to = d.fields.find((x) => x.key === key);
        const first = to && CHOICE_KINDS.has(to.kind.type) ? to.kind.choices[0] : undefined;
        f.show_if = to?.kind.type === "yes_no" ? { field: key, op: "is_true" } : { field: key, op: "equals", value: first ?? "" };
      }
      edited();
      renderInspector();
    },
  },
  el("option", { value: "" }, "(always shown)"),
  others.map((x) => el("option", { value: x.key, selected: c && c.field === x.key }, `${x.label} (${x.key})`)),
  c && !others.some((x) => x.key === c.field) ? el("option", { value: c.field, selected: true }, `${c.field} (not a field)`) : null);
  const parts = [el("label", {}, "Show only if", fieldSelect)];
  if (!c) return parts;
  parts.push(el("label", {}, "Test", el("select", {
    name: "show_if_op",
    onchange: (event) => {
      const op = event.target.value;
      const first = target && CHOICE_KINDS.has(target.kind.type) ? target.kind.choices[0] ?? "" : "";
      if (op === "equals") f.show_if = { field: c.field, op, value: c.value ?? first };
      else if (op === "one_of") f.show_if = { field: c.field, op, values: c.value !== undefined ? [c.value] : [] };
      else f.show_if = { field: c.field, op };
      edited();
      renderInspector();
    },
  }, OPS.map(([op, name]) => el("option", { value: op, selected: c.op === op }, name)))));
  const choices = target && CHOICE_KINDS.has(target.kind.type) ? target.kind.choices : null;
  if (c.op === "equals") {
    if (choices) {
      parts.push(el("label", {}, "Value", el("select", {
        name: "show_if_value",
        onchange: (event) => { f.show_if.value = event.target.value; edited(); },
      }, choices.map((x) => el("option", { value: x, selected: c.value === x }, x)),
      choices.includes(c.value) ? null : el("option", { value: valueText(c.value), selected: true }, valueText(c.value)))));
    } else if (target?.kind.type === "yes_no") {
      parts.push(el("label", {}, "Value", el("select", {
        name: "show_if_value",
        onchange: (event) => { f.show_if.value = event.target.value === "true"; edited(); },
      }, el("option", { value: "true", selected: c.value === true }, "yes"), el("option", { value: "false", selected: c.value === false }, "no"))));
    } else {
      parts.push(el("label", {}, "Value", el("input", {
        name: "show_if_value", value: valueText(c.value),
        oninput: (event) => { f.show_if.value = typedValue(target, event.target.value); edited(); },
      })));
    }
  } else if (c.op === "one_of") {
    if (choices) {
      parts.push(el("fieldset", { class: "choices" }, el("legend", {}, "Values"), choices.map((x) => el("label", { class: "inline" },
        el("input", {
          type: "checkbox", name: "show_if_values", value: x, checked: (c.values || []).includes(x),
          onchange: (event) => {
            const set = new Set(f.show_if.values || []);
            if (event.target.checked) set.add(x); else set.delete(x);
            f.show_if.values = choices.filter((y) => set.has(y));
            edited();
          },
        }), x))));
    } else {
      parts.push(el("label", { class: "wide" }, "Values (one per line)", el("textarea", {
        name: "show_if_values", rows: 3,
        oninput: (event) => {
          f.show_if.values = event.target.value.split("\n").filter((v) => v.trim() !== "").map((v) => typedValue(target, v.trim()));
          edited();
        },
      }, (c.values || []).map(valueText).join("\n"))));
    }
  }
  return parts;
}

function renderInspector() {
  const box = byId("inspector");
  const f = fieldOf(d.selected);
  if (!f) {
    box.dataset.uid = "";
    fill(box, el("p", { class: "note" }, "Select a field in the form to edit it."));
    return;
  }
  box.dataset.uid = String(f.uid);
  const section = f.kind.type === "section";
  const keyInput = el("input", {
    name: "key", value: f.key, spellcheck: "false", pattern: "[a-z0-9_]+",
    oninput: (event) => {
      f.keyEdited = true;
      rename(f, event.target.value);
      edited();
    },
  });
  fill(box,
    el("p", { class: "sub" }, KIND_NAMES.get(f.kind.type)),
    el("div", { class: "stack" },
      el("label", {}, section ? "Heading" : "Label", el("input", {
        name: "label", value: f.label, maxlength: 200,
        oninput: (event) => {
          f.label = event.target.value;
          if (!f.keyEdited) {
            rename(f, autoKey(f));
            keyInput.value = f.key;
          }
          edited();
        },
      })),
      el("label", {}, "Key (letters a–z, digits, _)", keyInput),
      section ? null : el("label", { class: "inline" }, el("input", {
        type: "checkbox", name: "required", checked: f.required,
        onchange: (event) => { f.required = event.target.checked; edited(); },
      }), "Required"),
      ruleInputs(f),
      section ? null : conditionInputs(f),
      el("div", { class: "row-buttons" },
        el("button", { type: "button", class: "secondary", onclick: () => moveBy(f.uid, -1) }, "Move up"),
        el("button", { type: "button", class: "secondary", onclick: () => moveBy(f.uid, 1) }, "Move down"),
        el("button", { type: "button", class: "secondary danger", name: "remove", onclick: () => remove(f.uid) }, "Remove"))));
}

// ---------------------------------------------------------------------------------------
// Preview: the form as the phone shows it

function sameJson(a, b) {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Whether condition `c` holds for `value` (the domain's rule: `forms/visibility.rs`). */
function holds(c, value, multi) {
  const set = value !== undefined && value !== null;
  switch (c.op) {
    case "is_set": return set;
    case "is_true": return value === true;
    case "equals": return set && sameJson(value, c.value);
    case "one_of": {
      const values = c.values || [];
      if (Array.isArray(value) && multi) return value.some((v) => values.some((w) => sameJson(v, w)));
      return set && values.some((w) => sameJson(value, w));
    }
    default: return false;
  }
}

/** The keys shown for `values`: show-if followed through chains; a cycle hides its fields. */
function visibleKeys(values) {
  const byKey = new Map();
  for (const f of d.fields) if (!byKey.has(f.key)) byKey.set(f.key, f);
  const known = new Map();
  const resolve = (key, depth) => {
    const f = byKey.get(key);
    if (!f) return false;
    if (known.has(key)) return known.get(key);
    const c = f.show_if;
    const shown = depth <= d.fields.length && (!c || (resolve(c.field, depth + 1)
      && holds(c, values[c.field], byKey.get(c.field)?.kind.type === "multi_choice")));
    known.set(key, shown);
    return shown;
  };
  return new Set(d.fields.map((f) => f.key).filter((k) => resolve(k, 0)));
}

/** The values of the shown fields: what the phone keeps (hidden answers are dropped). */
function shownValues() {
  const shown = visibleKeys(d.values);
  return Object.fromEntries(Object.entries(d.values).filter(([k]) => shown.has(k)));
}

function setValue(key, value) {
  const empty = value === undefined || value === null || value === "" || (Array.isArray(value) && value.length === 0);
  if (empty) delete d.values[key];
  else d.values[key] = value;
  applyVisibility();
}

function applyVisibility() {
  const shown = visibleKeys(d.values);
  for (const node of byId("preview").querySelectorAll(".pv-field")) {
    node.hidden = !shown.has(node.dataset.key);
  }
}

/** A fake SHA-256 (64 hex digits) standing for a photo or a signature taken in the preview. */
function fakeHash(n) {
  return (n.toString(16) + "f".repeat(64)).slice(0, 64);
}

function control(f) {
  const key = f.key;
  const value = d.values[key];
  const name = `pv-${f.uid}`;
  const input = (attrs, parse) => el("input", {
    name, ...attrs, "aria-label": f.label,
    oninput: (event) => setValue(key, parse(event.target.value)),
  });
  const number = (text) => (text.trim() === "" ? undefined : Number(text));
  switch (f.kind.type) {
    case "text": return input({ value: value ?? "" }, (t) => t);
    case "barcode": return input({ value: value ?? "", placeholder: "Scan or type the code" }, (t) => t);
    case "number": return input({ type: "number", step: "any", value: value ?? "" }, number);
    case "integer": return input({ type: "number", step: "1", value: value ?? "" }, number);
    case "money": return el("span", { class: "money" }, input({ type: "number", step: "0.01", value: value === undefined ? "" : value / 100 },
      (t) => (t.trim() === "" ? undefined : Math.round(Number(t) * 100))), " CNY");
    case "date_time": return input({ type: "datetime-local" }, (t) => (t ? Date.parse(`${t}:00Z`) : undefined));
    case "single_choice": return f.kind.choices.length === 0 ? noChoices() : el("div", { class: "pv-options" }, f.kind.choices.map((c) => el("label", { class: "inline" },
      el("input", { type: "radio", name, value: c, checked: value === c, onchange: () => setValue(key, c) }), c)));
    case "multi_choice": return f.kind.choices.length === 0 ? noChoices() : el("div", { class: "pv-options" }, f.kind.choices.map((c) => el("label", { class: "inline" },
      el("input", {
        type: "checkbox", name, value: c, checked: Array.isArray(value) && value.includes(c),
        onchange: (event) => {
          const now = new Set(d.values[key] || []);
          if (event.target.checked) now.add(c); else now.delete(c);
          setValue(key, f.kind.choices.filter((x) => now.has(x)));
        },
      }), c)));
    case "yes_no": return el("div", { class: "pv-options" }, [[true, "Yes"], [false, "No"]].map(([v, text]) => el("label", { class: "inline" },
      el("input", { type: "radio", name, value: String(v), checked: value === v, onchange: () => setValue(key, v) }), text)));
    case "rating": return el("div", { class: "pv-options" }, Array.from({ length: f.kind.max }, (_, i) => i + 1).map((n) => el("label", { class: "inline" },
      el("input", { type: "radio", name, value: String(n), checked: value === n, onchange: () => setValue(key, n) }), `${n}★`)));
    case "photos": return counter(f, "Take a photo", (n) => Array.from({ length: n }, (_, i) => fakeHash(i + 1)), (v) => v.length, "photo");
    case "product_table": return counter(f, "Add a product row",
      (n) => Array.from({ length: n }, (_, i) => ({ product_id: `01900000-0000-7000-8000-${String(i + 1).padStart(12, "0")}`, quantity: 1 })), (v) => v.length, "row");
    case "signature": return toggle(f, "Sign (simulated)", fakeHash(99));
    case "location": return toggle(f, "Use my location (simulated)", { ...PREVIEW_PLACE });
    default: return null;
  }
}

function noChoices() {
  return el("p", { class: "note" }, "(no choices yet)");
}

/** A capture button for a list value (photos, product rows) with a count and a clear button. */
function counter(f, label, make, count, noun) {
  const shown = el("span", { class: "sub" });
  const update = () => {
    const n = d.values[f.key] ? count(d.values[f.key]) : 0;
    shown.textContent = `${n} ${noun}${n === 1 ? "" : "s"}`;
  };
  update();
  return el("div", { class: "pv-options" },
    el("button", { type: "button", class: "secondary small", onclick: () => { setValue(f.key, make((d.values[f.key] ? count(d.values[f.key]) : 0) + 1)); update(); } }, label),
    el("button", { type: "button", class: "secondary small", onclick: () => { setValue(f.key, undefined); update(); } }, "Clear"),
    shown);
}

/** A capture button for a single device value (signature, location) that can be undone. */
function toggle(f, label, value) {
  return el("label", { class: "inline" }, el("input", {
    type: "checkbox", name: `pv-${f.uid}`, checked: d.values[f.key] !== undefined,
    onchange: (event) => setValue(f.key, event.target.checked ? value : undefined),
  }), label);
}

function renderPreview() {
  const screen = byId("preview");
  fill(screen,
    el("h3", { class: "pv-title" }, d.title || "(untitled form)"),
    d.fields.length ? null : el("p", { class: "note" }, "The form is empty."),
    d.fields.map((f) => {
      if (f.kind.type === "section") {
        return el("div", { class: "pv-field pv-section", dataset: { key: f.key } }, el("h4", {}, f.label));
      }
      return el("div", { class: "pv-field", dataset: { key: f.key, kind: f.kind.type } },
        el("div", { class: "pv-label" }, f.label, f.required ? el("span", { class: "req" }, " *") : null),
        control(f),
        el("p", { class: "pv-error", dataset: { errorFor: f.key } }));
    }));
  applyVisibility();
  const result = byId("preview-result");
  result.textContent = "";
  delete result.dataset.valid;
}

/** "Check" in the preview: the server validates the shown values against this design. */
async function checkPreview() {
  await host.run(async () => {
    const answer = await api.post("/v1/form-templates/preview", { template: draft(), values: shownValues() });
    for (const node of byId("preview").querySelectorAll(".pv-error")) node.textContent = "";
    for (const node of byId("preview").querySelectorAll(".pv-field")) node.classList.remove("pv-bad");
    const unplaced = [];
    for (const error of answer.errors) {
      const node = byId("preview").querySelector(`.pv-field[data-key="${CSS.escape(error.field)}"]`);
      if (node && !node.hidden) {
        node.classList.add("pv-bad");
        const line = node.querySelector(".pv-error");
        line.textContent = line.textContent ? `${line.textContent}; ${error.message}` : error.message;
      } else {
        unplaced.push(error.message);
      }
    }
    const result = byId("preview-result");
    result.dataset.valid = String(answer.valid);
    if (answer.valid) {
      result.textContent = "A phone would accept this response.";
    } else {
      const n = answer.errors.length;
      result.textContent = `A phone would refuse this response: ${n} ${n === 1 ? "problem" : "problems"}.${unplaced.length ? ` ${unplaced.join("; ")}` : ""}`;
    }
  });
}

// ---------------------------------------------------------------------------------------
// Publishing and the list of templates

async function publish() {
  const result = byId("designer-result");
  if (!d.title.trim()) {
    result.textContent = "Give the form a title before publishing.";
    result.dataset.outcome = "refused";
    byId("form-title").focus();
    return;
  }
  await host.run(async () => {
    let stored;
    try {
      stored = await api.post("/v1/form-templates", draft());
    } catch (error) {
      if (error instanceof api.ApiError && error.status === 422) {
        result.textContent = `Not published: ${error.message}`;
        result.dataset.outcome = "refused";
        await checkNow();
        return;
      }
      throw error;
    }
    d.templateId = stored.id;
    d.latestVersion = stored.version;
    result.textContent = `Published version ${stored.version} of “${stored.title}”; reps receive it at their next sync.`;
    result.dataset.outcome = "published";
    result.dataset.version = String(stored.version);
    result.dataset.template = stored.id;
    showVersion();
    await loadTemplates();
  });
}

function showVersion() {
  byId("designer-version").textContent = d.templateId
    ? `Template ${shortId(d.templateId)}, latest version ${d.latestVersion}: publishing makes version ${d.latestVersion + 1}.`
    : "A new form: publishing makes version 1.";
}

async function loadTemplates() {
  d.templates = await api.get("/v1/form-templates");
  const byId_ = new Map();
  for (const t of d.templates) {
    const versions = byId_.get(t.id) || [];
    versions.push(t);
    byId_.set(t.id, versions);
  }
  const rows = [...byId_.values()].map((versions) => {
    versions.sort((a, b) => a.version - b.version);
    return versions[versions.length - 1];
  }).sort((a, b) => a.title.localeCompare(b.title));
  fill(byId("template-list").querySelector("tbody"), rows.length ? rows.map((t) => el("tr", {
    dataset: { template: t.id }, class: t.id === d.templateId ? "selected" : null,
  },
  el("td", {}, t.title),
  el("td", { class: "num" }, String(t.version)),
  el("td", { class: "num" }, String(t.fields.length)),
  el("td", {}, el("button", { type: "button", class: "secondary small", onclick: () => load(t) }, "Edit")))) : el("tr", {}, el("td", { colspan: 4, class: "note" }, "No form templates yet.")));
}

/** Loads the latest version of a template into the designer. */
function load(t) {
  reset();
  d.templateId = t.id;
  d.latestVersion = t.version;
  d.title = t.title;
  d.fields = t.fields.map(fromWire);
  byId("form-title").value = d.title;
  byId("designer-result").textContent = `Editing “${t.title}” version ${t.version}.`;
  showVersion();
  changed({ inspector: true });
  for (const row of byId("template-list").querySelectorAll("tbody tr")) {
    row.classList.toggle("selected", row.dataset.template === t.id);
  }
}

function reset() {
  clearTimeout(d.checkTimer);
  d.checkGeneration += 1;
  Object.assign(d, { templateId: null, latestVersion: null, title: "", fields: [], selected: null, problems: [], values: {} });
  byId("form-title").value = "";
  const result = byId("designer-result");
  result.textContent = "";
  for (const name of ["outcome", "version", "template"]) delete result.dataset[name];
  showVersion();
  renderProblems();
  renderCanvas();
  renderInspector();
  renderPreview();
  byId("designer-view").dataset.check = "done";
}

// ---------------------------------------------------------------------------------------
// Start

/** Wires the designer once; `run` runs work with the page's busy marker and error report. */
export function initDesigner(options) {
  host = options;
  renderPalette();
  for (const target of [byId("canvas"), byId("canvas-end")]) {
    target.addEventListener("dragenter", onDragOver);
    target.addEventListener("dragover", onDragOver);
    target.addEventListener("drop", onDrop);
  }
  byId("canvas").addEventListener("dragleave", (event) => {
    if (!byId("canvas").contains(event.relatedTarget)) clearMarks();
  });
  byId("form-title").addEventListener("input", (event) => {
    d.title = event.target.value;
    byId("preview").querySelector(".pv-title").textContent = d.title || "(untitled form)";
  });
  byId("designer-new").addEventListener("click", () => reset());
  byId("designer-check").addEventListener("click", () => checkNow());
  byId("designer-publish").addEventListener("click", () => publish());
  byId("preview-check").addEventListener("click", () => checkPreview());
  byId("preview-clear").addEventListener("click", () => { d.values = {}; renderPreview(); });
  reset();
}

/** Shows the designer: the list of templates is read again. */
export async function openDesigner() {
  await host.run(loadTemplates);
}

/** Forgets the design (on sign-out). */
export function resetDesigner() {
  reset();
  fill(byId("template-list").querySelector("tbody"));
}
