// Approvals: small enhancements only; the forms work without script.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  for (const form of document.querySelectorAll("#approve-form, #reject-form")) {
    form.addEventListener("submit", () => {
      // One decision per click: a second submit would spend another authenticator code.
      window.setTimeout(() => {
        for (const button of document.querySelectorAll(".decide button")) {
          button.disabled = true;
        }
      }, 0);
    });
  }
  const code = document.getElementById("step_up_code");
  if (code && window.matchMedia("(min-width: 48rem)").matches) {
    code.focus({ preventScroll: true });
  }
});
