// Plaid Link: ask Aegis for a link token, open Plaid's window, hand the public token back to Aegis.
// Only this page's Content-Security-Policy lets in Plaid's script and frame. Nothing from Plaid is
// put into the page except fixed status text.
"use strict";

(() => {
  const button = document.getElementById("plaid-open");
  const status = document.getElementById("plaid-status");
  if (!button || !status) {
    return;
  }
  const say = (text) => { status.textContent = text; };

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

  async function open() {
    button.disabled = true;
    say("Asking Aegis for a link token…");
    let token;
    try {
      token = (await post("/api/integrations/plaid/connect/start")).link_token;
    } catch {
      say("Aegis could not create a link token. Check the Plaid integration's status.");
      button.disabled = false;
      return;
    }
    const handler = window.Plaid.create({
      token,
      onSuccess: async (publicToken) => {
        say("Connecting your bank…");
        try {
          await post("/api/integrations/plaid/connect/finish", { value: publicToken });
          window.location.assign("/integrations?notice=connected&i=plaid#plaid");
        } catch {
          say("Plaid finished, but Aegis could not store the connection. Nothing was saved.");
          button.disabled = false;
        }
      },
      onExit: (error) => {
        say(error ? "Plaid Link closed with an error. Nothing was saved." : "Plaid Link closed. Nothing was saved.");
        button.disabled = false;
      },
    });
    say("Plaid Link is open.");
    handler.open();
  }

  function ready() {
    if (!window.Plaid || typeof window.Plaid.create !== "function") {
      say("Plaid Link could not be loaded (it comes from cdn.plaid.com). Check this device's connection.");
      return;
    }
    say("Ready.");
    button.disabled = false;
    button.addEventListener("click", open);
  }

  ready();
})();
