// Aegis service worker. It caches the app shell (styles, scripts, icons) and the offline page, and
// nothing else: pages and API responses carry personal data and are never stored. A navigation
// that fails because the network is down gets the offline page instead.
"use strict";

const CACHE = "aegis-shell-v1";
const SHELL = [
  "/static/offline.html",
  "/static/console.css",
  "/static/console.js",
  "/static/pwa.js",
  "/static/manifest.webmanifest",
  "/static/icons/icon-192.png",
  "/static/icons/icon-512.png",
];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((key) => key !== CACHE).map((key) => caches.delete(key))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") {
    return;
  }
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) {
    return;
  }
  if (request.mode === "navigate") {
    // Always the network (never a cached page); the offline page only when it is unreachable.
    event.respondWith(fetch(request).catch(() => caches.match("/static/offline.html")));
    return;
  }
  if (SHELL.includes(url.pathname)) {
    // The shell: network first so updates show at once, the cached copy when offline.
    event.respondWith(fetch(request).catch(() => caches.match(url.pathname)));
  }
  // Anything else (API calls, event streams, other static files) goes to the network untouched.
});
