// The pairing page: fetch the state fragment again every few seconds, so a rotated QR code and every
// status change show without a reload. Without this script the page's Refresh link does the same.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const live = document.getElementById("pair-live");
  if (!live || !live.dataset.poll) return;
  const every = 3000;
  const refresh = async () => {
    if (document.hidden) return;
    try {
      const response = await fetch(live.dataset.poll, { credentials: "same-origin", cache: "no-store" });
      if (!response.ok || response.redirected) return;
      const doc = new DOMParser().parseFromString(await response.text(), "text/html");
      const fresh = doc.getElementById("pair-state");
      const current = document.getElementById("pair-state");
      if (fresh && current) current.replaceWith(document.importNode(fresh, true));
    } catch {
      // offline for a moment: the next tick tries again
    }
  };
  window.setInterval(refresh, every);
});
