// Content page: a live length counter under each draft. The page works without it; the engine's
// length check (shown when the page loads and after Save) is the count that decides.
"use strict";

// Characters as typed; a network may count some differently (the engine's check asks the network's
// own rules), so this is an estimate while typing.
function length(text) {
  return Array.from(text.normalize("NFC")).length;
}

document.addEventListener("DOMContentLoaded", () => {
  for (const area of document.querySelectorAll("textarea[data-counter]")) {
    const counter = document.getElementById(area.dataset.counter);
    const value = counter && counter.querySelector(".count-value");
    const limit = Number(area.dataset.limit);
    if (!value || !limit) {
      continue;
    }
    const original = area.value;
    const checked = value.textContent;
    const update = () => {
      // Browsers send line breaks as CR LF; the console saves them as LF, as counted here.
      const text = area.value.replace(/\r\n?/g, "\n").trim();
      if (area.value === original) {
        value.textContent = checked;
        counter.classList.toggle("over", counter.dataset.over === "true");
        return;
      }
      const n = length(text);
      value.textContent = `about ${n} of ${limit} (counted exactly when you save)`;
      counter.classList.toggle("over", n > limit);
    };
    counter.dataset.over = String(counter.classList.contains("over"));
    area.addEventListener("input", update);
  }
});

// One action per click: a second submit while the first is on its way would ask twice.
document.addEventListener("submit", (event) => {
  const draft = event.target instanceof HTMLFormElement ? event.target.closest(".draft") : null;
  if (!draft || event.defaultPrevented) {
    return; // not a draft's form, or the owner said no to "Discard this draft?"
  }
  window.setTimeout(() => {
    for (const button of draft.querySelectorAll("button")) {
      button.disabled = true;
    }
  }, 0);
});
// Coming back with the browser's Back button shows the buttons usable again.
window.addEventListener("pageshow", () => {
  for (const button of document.querySelectorAll(".draft button")) {
    button.disabled = false;
  }
});
