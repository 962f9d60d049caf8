// Passkeys: add one (the passkeys page), log in with one (the login page), approve with one (an
// approval card). The server sends WebAuthn options as JSON with base64url bytes; this converts them.
"use strict";

const b64uToBytes = (text) => {
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4);
  return Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
};

const bytesToB64u = (buffer) => {
  let text = "";
  for (const byte of new Uint8Array(buffer)) {
    text += String.fromCharCode(byte);
  }
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
};

const descriptors = (list) => (list || []).map((d) => ({ ...d, id: b64uToBytes(d.id) }));

async function createCredential(options) {
  const publicKey = {
    ...options,
    challenge: b64uToBytes(options.challenge),
    user: { ...options.user, id: b64uToBytes(options.user.id) },
    excludeCredentials: descriptors(options.excludeCredentials),
  };
  const cred = await navigator.credentials.create({ publicKey });
  return JSON.stringify({
    id: cred.id,
    rawId: bytesToB64u(cred.rawId),
    type: cred.type,
    response: {
      clientDataJSON: bytesToB64u(cred.response.clientDataJSON),
      attestationObject: bytesToB64u(cred.response.attestationObject),
      transports: cred.response.getTransports ? cred.response.getTransports() : [],
    },
    clientExtensionResults: cred.getClientExtensionResults(),
    authenticatorAttachment: cred.authenticatorAttachment,
  });
}

async function getAssertion(options) {
  const publicKey = {
    ...options,
    challenge: b64uToBytes(options.challenge),
    allowCredentials: descriptors(options.allowCredentials),
  };
  const cred = await navigator.credentials.get({ publicKey });
  const r = cred.response;
  return JSON.stringify({
    id: cred.id,
    rawId: bytesToB64u(cred.rawId),
    type: cred.type,
    response: {
      clientDataJSON: bytesToB64u(r.clientDataJSON),
      authenticatorData: bytesToB64u(r.authenticatorData),
      signature: bytesToB64u(r.signature),
      userHandle: r.userHandle ? bytesToB64u(r.userHandle) : null,
    },
    clientExtensionResults: cred.getClientExtensionResults(),
    authenticatorAttachment: cred.authenticatorAttachment,
  });
}

async function postJson(url, body, headers) {
  const response = await fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", ...headers },
    body: JSON.stringify(body || {}),
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw new Error(data.message || "The passkey step did not work.");
  }
  return data;
}

function say(id, text) {
  const el = document.getElementById(id);
  if (el) {
    el.textContent = text;
    el.hidden = !text;
  }
}

function csrfOf(form) {
  const field = form.querySelector("input[name=csrf_token]");
  return field ? field.value : "";
}

// The passkeys page: a name and a fresh authenticator code, then the browser makes the passkey.
function setUpAdd() {
  const form = document.getElementById("add-passkey");
  if (!form) {
    return;
  }
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    say("passkey-status", "Follow your browser's prompt…");
    try {
      const headers = { "X-CSRF-Token": csrfOf(form), "X-Step-Up-Code": form.elements.step_up_code.value };
      const started = await postJson("/api/passkeys/options", {}, headers);
      const credential = await createCredential(started.options);
      const body = { challenge_id: started.challenge_id, name: form.elements.name.value, credential };
      await postJson("/api/passkeys", body, { "X-CSRF-Token": csrfOf(form) });
      window.location.assign("/passkeys");
    } catch (error) {
      say("passkey-status", error.message || "The passkey was not added.");
    }
  });
}

// A form (login, approval) whose code can be replaced by a passkey: fill its hidden fields, submit.
function setUpAssertion(buttonId, formId, optionsUrl) {
  const button = document.getElementById(buttonId);
  const form = document.getElementById(formId);
  if (!button || !form || !window.PublicKeyCredential) {
    return;
  }
  button.hidden = false;
  button.addEventListener("click", async () => {
    say("passkey-status", "Follow your browser's prompt…");
    try {
      const started = await postJson(optionsUrl, {}, { "X-CSRF-Token": csrfOf(form) });
      form.elements.passkey_credential.value = await getAssertion(started.options);
      form.elements.passkey_challenge.value = started.challenge_id;
      const code = form.querySelector("input[name=code], input[name=step_up_code]");
      if (code) {
        code.value = "";
      }
      button.disabled = true;
      form.submit();
    } catch (error) {
      say("passkey-status", error.message || "No passkey was used.");
    }
  });
}

document.addEventListener("DOMContentLoaded", () => {
  setUpAdd();
  setUpAssertion("passkey-login", "login-form", "/auth/passkey-options");
  const approve = document.getElementById("approve-form");
  if (approve) {
    setUpAssertion("passkey-approve", "approve-form", approve.action.replace(/\/approve$/, "/passkey-options"));
  }
});
