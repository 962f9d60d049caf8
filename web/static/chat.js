// Chat: follows a running turn over Server-Sent Events (CSP: script-src 'self', no inline script).
// Everything the model or a tool produced is untrusted: it is only ever put in the page with
// textContent (never innerHTML), and URLs become inert text that shows their full host.
"use strict";

(() => {
  const URL_RE = /\b(?:https?:\/\/|www\.)[^\s<>"'`]+/gi;
  const TRAILING = /[.,;:!?)\]}'"]+$/;

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      node.setAttribute(name, value);
    }
    if (text !== undefined && text !== null) {
      node.textContent = String(text);
    }
    return node;
  }

  function hostOf(url) {
    try {
      return new URL(/^www\./i.test(url) ? `https://${url}` : url).hostname || "?";
    } catch {
      return "?";
    }
  }

  // Plain text, with each memory citation "[memory:ID]" a link to that memory's page here.
  const MEMORY_RE = /\[memory:([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\]/gi;
  function appendText(target, chunk) {
    let pos = 0;
    for (const match of chunk.matchAll(MEMORY_RE)) {
      if (match.index > pos) {
        target.append(document.createTextNode(chunk.slice(pos, match.index)));
      }
      target.append(el("a", { class: "memory-cite", href: `/memory/${match[1].toLowerCase()}` }, "[memory]"));
      pos = match.index + match[0].length;
    }
    if (pos < chunk.length) {
      target.append(document.createTextNode(chunk.slice(pos)));
    }
  }

  // Model prose: plain text, each URL an inert span followed by its host.
  function renderProse(target, text) {
    target.replaceChildren();
    let pos = 0;
    for (const match of text.matchAll(URL_RE)) {
      const url = match[0].replace(TRAILING, "");
      if (match.index > pos) {
        appendText(target, text.slice(pos, match.index));
      }
      const host = hostOf(url);
      target.append(
        el("span", { class: "inert-link", title: `A link from the assistant: not clickable. Copy it only if you trust ${host}.` }, url),
        document.createTextNode(" "),
        el("span", { class: "link-host" }, `[link to ${host}]`),
      );
      pos = match.index + url.length;
    }
    if (pos < text.length) {
      appendText(target, text.slice(pos));
    }
  }

  function labelNode(label) {
    const dd = el("dd", { class: "tool-label" });
    if (!label) {
      dd.append(el("span", { class: "muted" }, "no label (nothing was returned)"));
      return dd;
    }
    dd.append("integrity ", el("strong", {}, label.integrity), ", confidentiality ", el("strong", {}, label.conf));
    if (label.readers) {
      dd.append(`, readable by ${label.readers}`);
    }
    if (label.sources && label.sources.length) {
      const list = el("ul", { class: "sources" });
      for (const source of label.sources) {
        list.append(el("li", {}, source));
      }
      dd.append(list);
    } else {
      dd.append(" ", el("span", { class: "muted" }, "(no third-party sources)"));
    }
    return dd;
  }

  function fillTool(details, view) {
    // A sentence first (web/plain_words.py), an inline approval link, then the internals.
    const summary = el("summary");
    summary.append(el("span", { class: "tool-sentence" }, view.sentence || view.tool));
    if (view.approval_id) {
      summary.append(" ", el("a", { class: "approval-inline", href: `/approvals/${encodeURIComponent(view.approval_id)}` }, "Review it"));
    }
    const internals = el("span", { class: "tool-internals" });
    internals.append(el("span", { class: "tool-name" }, view.tool), " ");
    internals.append(el("span", { class: `tool-status status-${view.status}` }, view.status));
    summary.append(" ", internals);
    const dl = el("dl", { class: "tool-detail" });
    const args = el("dd");
    args.append(el("pre", { class: "tool-args" }, view.args));
    dl.append(el("dt", {}, "Arguments"), args);
    dl.append(el("dt", {}, "Rules that fired"));
    dl.append(el("dd", { class: "tool-rules" }, view.rules && view.rules.length ? view.rules.join(", ") : "none recorded"));
    dl.append(el("dt", {}, "Provenance of the result"), labelNode(view.label));
    if (view.approval_id) {
      const dd = el("dd");
      dd.append(el("a", { class: "approval-link", href: `/approvals/${encodeURIComponent(view.approval_id)}` }, "Review this action in Approvals"));
      dl.append(el("dt", {}, "Approval"), dd);
    }
    const result = el("dd");
    result.append(el("pre", { class: "tool-result" }, view.result === null || view.result === undefined ? "(running…)" : view.result));
    dl.append(el("dt", {}, "Result"), result);
    details.replaceChildren(summary, dl);
  }

  // After the turn: swap the streamed plain text for the console's own Markdown rendering of the
  // stored reply (sanitised on the server, web/markdown.py; parsed inert by DOMParser, no innerHTML).
  async function formatFinished(live) {
    const bodies = [...live.querySelectorAll("p.body")];
    if (!bodies.length) {
      return;
    }
    try {
      const response = await fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } });
      if (!response.ok) {
        return;
      }
      const doc = new DOMParser().parseFromString(await response.text(), "text/html");
      const rendered = [...doc.querySelectorAll("#thread li.msg.assistant:not(.live) .body.md")].slice(-bodies.length);
      if (rendered.length !== bodies.length) {
        return;
      }
      bodies.forEach((body, i) => body.replaceWith(document.importNode(rendered[i], true)));
      live.dataset.formatted = "1";
    } catch {
      // Keep the plain text.
    }
  }

  function follow(live) {
    const status = live.querySelector("#live-status");
    const tools = new Map();
    let prose = null;
    let proseText = "";
    const source = new EventSource(live.dataset.events);

    const on = (kind, handler) => source.addEventListener(kind, (event) => handler(JSON.parse(event.data)));
    const say = (text, cls) => {
      status.textContent = text;
      status.className = `status ${cls || "muted"}`;
    };
    on("text", (data) => {
      if (prose === null) {
        prose = el("p", { class: "body" });
        proseText = "";
        live.insertBefore(prose, status);
      }
      proseText += data.text;
      renderProse(prose, proseText);
    });
    on("tool_call", (data) => {
      prose = null;  // text after the tools goes in a new paragraph
      const details = el("details", { class: "tool", "data-call": data.id });
      fillTool(details, data);
      tools.set(data.id, { details, view: data });
      live.insertBefore(details, status);
      say(`Running ${data.tool}…`);
    });
    on("tool_result", (data) => {
      const found = tools.get(data.id);
      if (found) {
        const view = Object.assign({}, found.view, data, { tool: found.view.tool });
        const open = found.details.open;
        fillTool(found.details, view);
        found.details.open = open;
        found.view = view;
      }
      say("Working…");
    });
    on("stopped", (data) => say(data.reason, "notice"));
    on("failed", (data) => say(data.message, "error"));
    on("done", () => say("Done.", "ok"));
    on("end", (data) => {
      source.close();
      if (data.stale) {
        window.location.reload();
        return;
      }
      live.classList.remove("live");
      live.dataset.finished = "1";
      formatFinished(live);
      const stop = document.getElementById("stop-form");
      if (stop) {
        stop.remove();
      }
      for (const field of document.querySelectorAll("#composer textarea, #composer button")) {
        field.disabled = document.getElementById("no-model") !== null;
      }
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    const live = document.getElementById("live");
    if (live && live.dataset.events) {
      follow(live);
    }
    const composer = document.getElementById("composer");
    if (composer) {
      composer.addEventListener("submit", () => {
        const send = composer.querySelector("button[type=submit]");
        if (send) {
          window.setTimeout(() => { send.disabled = true; }, 0);  // no double send
        }
      });
    }
  });
})();
