// The voice page: microphone -> /voice/ws as 16 kHz PCM; transcript, state and spoken reply back.
// Everything from the server is shown with textContent (the model's words are untrusted).
(() => {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const stateEl = $("voice-state");
  const startBtn = $("voice-start");
  const holdBtn = $("voice-hold");
  const stopBtn = $("voice-stop");
  const log = $("voice-log");
  if (!stateEl || !startBtn || !holdBtn) return;

  const LABELS = { off: "Off", connecting: "Connecting…", listening: "Listening", thinking: "Thinking", speaking: "Speaking" };
  let ctx = null, ws = null, mic = null, node = null;
  let mode = "hands-free", holding = false, conversation = null;
  let playing = [], playHead = 0, assistantLine = null;

  function setState(s) {
    stateEl.dataset.state = s;
    stateEl.textContent = LABELS[s] || s;
    stopBtn.disabled = s !== "speaking" && s !== "thinking";
  }
  function line(kind, text) {
    const li = document.createElement("li");
    li.className = kind;
    li.textContent = text;
    log.appendChild(li);
    return li;
  }
  function stopPlayback() {
    for (const src of playing) { try { src.stop(); } catch (_) { /* already ended */ } }
    playing = [];
    playHead = 0;
  }
  function play(buf, rate) {
    const pcm = new Int16Array(buf);
    const audio = ctx.createBuffer(1, pcm.length, rate);
    const ch = audio.getChannelData(0);
    for (let i = 0; i < pcm.length; i++) ch[i] = pcm[i] / 32768;
    const src = ctx.createBufferSource();
    src.buffer = audio;
    src.connect(ctx.destination);
    const at = Math.max(ctx.currentTime + 0.02, playHead);
    src.start(at);
    playHead = at + audio.duration;
    playing.push(src);
    src.onended = () => { playing = playing.filter((s) => s !== src); };
  }

  let rate = 24000;
  function onMessage(ev) {
    if (typeof ev.data !== "string") { play(ev.data, rate); return; }
    const m = JSON.parse(ev.data);
    if (m.type === "state") {
      if (m.rate) rate = m.rate;
      if (m.state === "thinking") assistantLine = null;
      setState(m.state);
    } else if (m.type === "transcript") {
      if (m.text) line("owner", m.text);
    } else if (m.type === "reply") {
      if (!assistantLine) assistantLine = line("assistant", "");
      assistantLine.textContent += m.text;
    } else if (m.type === "stop") {
      stopPlayback();
      if (assistantLine) { assistantLine.textContent = m.heard ? m.heard + " (interrupted)" : "(interrupted)"; }
      assistantLine = null;
    } else if (m.type === "approval") {
      const li = line("note", "Waiting for your approval: ");
      const a = document.createElement("a");
      a.href = m.url;
      a.textContent = "open the card";
      a.className = "approval-link";
      li.appendChild(a);
    } else if (m.type === "conversation") {
      conversation = m.id;
      $("voice-chat-link").href = m.url;
      $("voice-conversation").hidden = false;
    } else if (m.type === "timing") {
      stateEl.dataset.firstAudio = String(m.first_audio);
    } else if (m.type === "error") {
      line("note", m.message);
    }
  }

  async function connect() {
    if (ws && ws.readyState <= 1) return;
    setState("connecting");
    ctx = ctx || new AudioContext();
    await ctx.resume();
    if (!mic) {
      mic = await navigator.mediaDevices.getUserMedia({
        audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true },
      });
      await ctx.audioWorklet.addModule("/static/voice-worklet.js");
      node = new AudioWorkletNode(ctx, "pcm-downsampler");
      node.port.onmessage = (e) => {
        if (ws && ws.readyState === 1 && (mode === "hands-free" || holding)) ws.send(e.data);
      };
      ctx.createMediaStreamSource(mic).connect(node);
    }
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const query = conversation ? "?c=" + encodeURIComponent(conversation) : "";
    ws = new WebSocket(scheme + "://" + location.host + "/voice/ws" + query);
    ws.binaryType = "arraybuffer";
    ws.onmessage = onMessage;
    ws.onclose = () => { setState("off"); stopPlayback(); ws = null; };
    await new Promise((ok, fail) => { ws.onopen = ok; ws.onerror = fail; });
    ws.send(JSON.stringify({ type: "hello", rate: 16000, mode: mode === "hold" ? "hold" : "hands-free" }));
  }

  startBtn.addEventListener("click", async () => {
    if (ws && mode === "hands-free") { ws.close(); startBtn.textContent = "Start hands-free"; return; }
    if (ws) ws.close();
    mode = "hands-free";
    try { await connect(); startBtn.textContent = "End hands-free"; } catch (e) { line("note", "Could not start: " + e); setState("off"); }
  });
  async function press(e) {
    e.preventDefault();
    if (mode !== "hold" && ws) { ws.close(); ws = null; startBtn.textContent = "Start hands-free"; }
    mode = "hold";
    try { await connect(); } catch (err) { line("note", "Could not start: " + err); setState("off"); return; }
    holding = true;
    holdBtn.setAttribute("aria-pressed", "true");
    stopPlayback();
    ws.send(JSON.stringify({ type: "start" }));
    setState("listening");
  }
  function release() {
    if (!holding) return;
    holding = false;
    holdBtn.setAttribute("aria-pressed", "false");
    if (ws && ws.readyState === 1) ws.send(JSON.stringify({ type: "end" }));
  }
  holdBtn.addEventListener("pointerdown", press);
  holdBtn.addEventListener("pointerup", release);
  holdBtn.addEventListener("pointercancel", release);
  holdBtn.addEventListener("pointerleave", release);
  stopBtn.addEventListener("click", () => {
    stopPlayback();
    if (ws && ws.readyState === 1) ws.send(JSON.stringify({ type: "stop" }));
  });
})();
