// The printable page's Print button (shown only when scripts run; the browser's own Print works too).
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const button = document.getElementById("print-page");
  if (!button) return;
  button.hidden = false;
  button.addEventListener("click", () => window.print());
});
