// Uploads a large file in pieces (web/routes/upload.py) with a progress bar: one request per piece,
// in order; a refused piece stops the upload with the server's words. Nothing is read whole.
"use strict";

(() => {
  const PIECE = 1024 * 1024;

  function hex(bytes) {
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  async function send(form) {
    const input = form.querySelector("input[type=file]");
    const bar = form.querySelector("progress");
    const status = form.querySelector("[data-upload-status]");
    const button = form.querySelector("button");
    const file = input.files && input.files[0];
    if (!file) {
      return;
    }
    const id = hex(crypto.getRandomValues(new Uint8Array(16)));
    button.disabled = true;
    bar.hidden = false;
    bar.max = file.size || 1;
    let offset = 0;
    try {
      do {
        const piece = file.slice(offset, offset + PIECE);
        const last = offset + piece.size >= file.size;
        const response = await fetch(form.action, {
          method: "POST",
          credentials: "same-origin",
          headers: {
            "Content-Type": "application/octet-stream",
            "X-CSRF-Token": form.dataset.csrf,
            "X-Upload-Id": id,
            "X-Upload-Offset": String(offset),
            "X-Upload-Last": last ? "1" : "0",
          },
          body: piece,
        });
        const body = await response.json().catch(() => ({}));
        if (!response.ok) {
          throw new Error(body.message || `refused (${response.status})`);
        }
        offset += piece.size;
        bar.value = offset;
        status.textContent = `${Math.floor((100 * offset) / (file.size || 1))}%: ${body.samples} samples read, ${body.stored} new`;
        if (body.done) {
          const repeats = body.samples - body.stored;
          const note = repeats ? ` (${repeats} were already stored)` : "";
          status.textContent = `Done: ${body.samples} samples read, ${body.stored} new${note}.`;
        }
      } while (offset < file.size);
    } catch (error) {
      status.textContent = `Stopped: ${error.message}. Nothing stored twice; choose the file again to retry.`;
    } finally {
      button.disabled = false;
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("form[data-upload]").forEach((form) => {
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        send(form);
      });
    });
  });
})();
