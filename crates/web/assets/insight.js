// Insight's one script. Every page works without it; it only
// - filters a long picker as you type (an input with data-filter="<select id>"),
// - says at once which fields cannot take the chosen value (a field picker's
//   options carry data-refuses: {"<value source>": "why"}), and
// - asks before a removal (a form with data-confirm="<question>"),
// - copies a link (a hidden button with data-copy="<id of the element holding it>"),
// - keeps a survey's "k of n questions answered" up to date as it is answered,
// - shows a question with display logic only while its condition holds (the
//   server decides the same on submission and ignores answers to the hidden).
"use strict";

function filterPicker(input) {
  const select = document.getElementById(input.dataset.filter);
  if (!select) return;
  const q = input.value.trim().toLowerCase();
  let first = null;
  for (const option of select.options) {
    const show = q === "" || option.textContent.toLowerCase().includes(q) || option.value.toLowerCase().includes(q);
    option.hidden = !show;
    if (show && first === null) first = option;
  }
  if (first && (select.selectedOptions.length === 0 || select.selectedOptions[0].hidden)) first.selected = true;
}

function markRefusals(form) {
  const source = form.querySelector("select[name=source]");
  const field = form.querySelector("select[name=field]");
  if (!source || !field) return;
  for (const option of field.options) {
    if (!option.dataset.refuses) continue;
    if (option.dataset.label === undefined) option.dataset.label = option.textContent;
    const why = JSON.parse(option.dataset.refuses)[source.value];
    option.disabled = Boolean(why);
    option.textContent = why ? option.dataset.label + " — cannot take it: " + why : option.dataset.label;
    option.title = why || "";
  }
  if (field.selectedOptions.length && field.selectedOptions[0].disabled) {
    const usable = Array.from(field.options).find((o) => !o.disabled);
    if (usable) usable.selected = true;
  }
}

// A backfill's progress bar follows the outbox; once done, the page is
// shown again with the outcome.
function pollProgress(bar) {
  const tick = async () => {
    try {
      const r = await fetch(bar.dataset.poll, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (!r.ok) return;
      const p = await r.json();
      bar.max = Math.max(p.total, 1);
      bar.value = p.done;
      const done = document.querySelector("[data-testid=backfill-done]");
      if (done) done.textContent = String(p.done);
      if (!p.running) {
        window.location.reload();
        return;
      }
    } catch (e) {
      // The next tick tries again.
    }
    setTimeout(tick, 1000);
  };
  setTimeout(tick, 1000);
}

// The button is hidden without the script: the link stays plain text to select.
function copyButton(button) {
  const source = document.getElementById(button.dataset.copy);
  const status = document.querySelector(`[data-copied-for="${button.dataset.copy}"]`);
  if (!source) return;
  button.hidden = false;
  button.addEventListener("click", async () => {
    const text = source.textContent.trim();
    let copied = false;
    try {
      await navigator.clipboard.writeText(text);
      copied = true;
    } catch (e) {
      // No clipboard (a page over plain http): select the link instead.
      const range = document.createRange();
      range.selectNodeContents(source);
      const selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
    }
    if (status) status.textContent = copied ? "Copied" : "Selected: press Ctrl+C (or ⌘C) to copy";
  });
}

// The non-blank values a question's inputs hold.
function answersOf(fieldset) {
  const values = [];
  for (const i of fieldset.querySelectorAll("input, textarea")) {
    if (i.type === "radio" || i.type === "checkbox") {
      if (i.checked) values.push(i.value);
    } else if (i.value.trim() !== "") {
      values.push(i.value.trim());
    }
  }
  return values;
}

// domain::display_logic::ConditionTest::holds, for the answers on the page.
function conditionHolds(test, kind, values) {
  const one = values.length === 1 ? values[0] : null;
  const number = one !== null && one !== "" && Number.isFinite(Number(one)) ? Number(one) : null;
  const same = () => one !== null && (kind === "single_choice" ? one === test.value : one.toLowerCase() === String(test.value).trim().toLowerCase());
  switch (test.op) {
    case "answered": return values.length > 0;
    case "not_answered": return values.length === 0;
    case "is": return same();
    case "is_not": return !same();
    case "includes": return values.includes(test.value);
    case "excludes": return !values.includes(test.value);
    case "equals": return number === test.value;
    case "not_equals": return number !== test.value;
    case "at_least": return number !== null && number >= test.value;
    case "at_most": return number !== null && number <= test.value;
    default: return true;
  }
}

// Shows each question whose condition holds (and whose earlier question is
// shown), hides and disables the others, and numbers the shown ones.
function applyDisplayLogic(form) {
  const shown = new Map();
  let n = 0;
  for (const fieldset of form.querySelectorAll("fieldset.question")) {
    let show = true;
    if (fieldset.dataset.showIf) {
      const condition = JSON.parse(fieldset.dataset.showIf);
      const source = shown.get(condition.question);
      show = Boolean(source) && conditionHolds(condition.test, source.dataset.kind, answersOf(source));
      const note = fieldset.querySelector(".show-if-note");
      if (note) note.hidden = true;
    }
    fieldset.hidden = !show;
    fieldset.disabled = !show;
    if (show) {
      shown.set(fieldset.dataset.questionId, fieldset);
      const num = fieldset.querySelector(".qnum");
      if (num) num.textContent = `${++n}. `;
    }
  }
}

// A question counts as answered once any of its inputs holds an answer;
// only the questions shown count.
function trackProgress(form, box) {
  const bar = box.querySelector("progress");
  const text = box.querySelector(".progress-text");
  const update = () => {
    const questions = form.querySelectorAll("fieldset.question:not([hidden])");
    let answered = 0;
    for (const q of questions) {
      const inputs = q.querySelectorAll("input, textarea");
      if (Array.from(inputs).some((i) => (i.type === "radio" || i.type === "checkbox" ? i.checked : i.value.trim() !== ""))) answered++;
    }
    bar.max = Math.max(questions.length, 1);
    bar.value = answered;
    text.textContent = `${answered} of ${questions.length} questions answered`;
  };
  form.addEventListener("input", update);
  form.addEventListener("change", update);
  update();
}

document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll("button[data-copy]")) copyButton(button);
  for (const form of document.querySelectorAll("form.survey-form")) {
    if (form.querySelector("fieldset[data-show-if]")) {
      form.addEventListener("input", () => applyDisplayLogic(form));
      form.addEventListener("change", () => applyDisplayLogic(form));
      applyDisplayLogic(form);
    }
    const box = form.querySelector("#survey-progress");
    if (box) trackProgress(form, box);
  }
  for (const input of document.querySelectorAll("input[data-filter]")) {
    input.addEventListener("input", () => filterPicker(input));
    filterPicker(input);
  }
  for (const form of document.querySelectorAll("form.add-rule")) {
    const source = form.querySelector("select[name=source]");
    if (source) source.addEventListener("change", () => markRefusals(form));
    markRefusals(form);
  }
  for (const bar of document.querySelectorAll("progress[data-poll]")) pollProgress(bar);
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  }
});
