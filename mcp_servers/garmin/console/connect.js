// Garmin: ask Aegis to sign in with the stored login; if Garmin sends a code, hand it to Aegis.
// The password and the tokens never reach this page; only fixed status text is shown.
"use strict";

(() => {
  const button = document.getElementById("garmin-login");
  const form = document.getElementById("garmin-code-form");
  const status = document.getElementById("garmin-status");
  if (!button || !form || !status) {
    return;
  }
  const say = (text) => { status.textContent = text; };
  const done = () => window.location.assign("/integrations?notice=connected&i=garmin#garmin");

  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": button.dataset.csrf },
      body: JSON.stringify(body || {}),
    });
    if (!response.ok) {
      throw new Error(`${response.status}`);
    }
    return response.json();
  }

  button.addEventListener("click", async () => {
    button.disabled = true;
    say("Signing in to Garmin…");
    try {
      const out = await post("/api/integrations/garmin/connect/start");
      if (out.needs_code) {
        form.hidden = false;
        document.getElementById("garmin-code").focus();
        say("Garmin sent you a code. Type it below.");
        return;
      }
      done();
    } catch {
      say("Garmin did not sign in. The Garmin entry on the Integrations page says why.");
      button.disabled = false;
    }
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    say("Finishing the sign-in…");
    try {
      await post("/api/integrations/garmin/connect/finish", { value: document.getElementById("garmin-code").value.trim() });
      done();
    } catch {
      say("Garmin did not accept the code. Log in again to get a new one.");
      form.hidden = true;
      button.disabled = false;
    }
  });
})();
