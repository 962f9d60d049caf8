// Content page: a live length counter under each draft. The page works without it; the engine's
// length check (shown when the page loads and after Save) is the count that decides.
"use strict";

// X counts most Latin, Greek, Cyrillic and common punctuation as 1, everything else (CJK, emoji) as 2,
// and every link as 23 (its weighted counting, approximated here).
const LIGHT = [[0, 4351], [8192, 8205], [8208, 8223], [8242, 8247]];
const LINK = /https?:\/\/\S+/gi;

function xLength(text) {
  let total = 0;
  const rest = text.normalize("NFC").replace(LINK, () => {
    total += 23;
    return "";
  });
  for (const ch of rest) {
    const cp = ch.codePointAt(0);
    total += LIGHT.some(([lo, hi]) => cp >= lo && cp <= hi) ? 1 : 2;
  }
  return total;
}

function length(text, network) {
  return network === "x" ? xLength(text) : Array.from(text.normalize("NFC")).length;
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
      const n = length(text, area.dataset.network);
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
