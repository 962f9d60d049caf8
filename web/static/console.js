// The console's only script (CSP: script-src 'self'). Progressive enhancement: every page works without it.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  // Show timestamps in the viewer's local time; the ISO value stays in the datetime attribute.
  for (const el of document.querySelectorAll("time[datetime]")) {
    const when = new Date(el.getAttribute("datetime"));
    if (!Number.isNaN(when.getTime())) {
      el.textContent = when.toLocaleString();
    }
  }
  // Ask before destructive form posts.
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) {
        event.preventDefault();
      }
    });
  }
});
