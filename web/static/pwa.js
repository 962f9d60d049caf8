// Installable PWA: register the service worker (it caches only the app shell and the offline page).
"use strict";

if ("serviceWorker" in navigator && window.isSecureContext) {
  window.addEventListener("load", () => {
    navigator.serviceWorker.register("/static/sw.js", { scope: "/" }).catch(() => {
      // No service worker: the console works the same, just without the offline page.
    });
  });
}
