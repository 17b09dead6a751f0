// Insight's one script. Every page works without it; it only
// - filters a long picker as you type (an input with data-filter="<select id>"),
// - says at once which fields cannot take the chosen value (a field picker's
//   options carry data-refuses: {"<value source>": "why"}), and
// - asks before a removal (a form with data-confirm="<question>"),
// - copies a link (a hidden button with data-copy="<id of the element holding it>"),
// - keeps a survey's "k of n questions answered" up to date as it is answered.
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

// A question counts as answered once any of its inputs holds an answer.
function trackProgress(form, box) {
  const bar = box.querySelector("progress");
  const text = box.querySelector(".progress-text");
  const update = () => {
    const questions = form.querySelectorAll("fieldset.question");
    let answered = 0;
    for (const q of questions) {
      const inputs = q.querySelectorAll("input, textarea");
      if (Array.from(inputs).some((i) => (i.type === "radio" || i.type === "checkbox" ? i.checked : i.value.trim() !== ""))) answered++;
    }
    bar.value = answered;
    text.textContent = `${answered} of ${questions.length} questions answered`;
  };
  form.addEventListener("input", update);
  form.addEventListener("change", update);
}

document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll("button[data-copy]")) copyButton(button);
  for (const form of document.querySelectorAll("form.survey-form")) {
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
