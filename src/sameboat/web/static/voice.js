// Sameboat voice calls (WebRTC audio): no framework, no build step.
// Sameboat relays only the signalling (invite, offer, answer, ICE candidates, hang-up) over the conversation
// socket, which chat.js owns; the audio goes straight between the browsers, or through the operator's TURN
// server. Nothing is recorded. A call's start and end are conversation events (both sides and the transcript
// agree on them); everything else is ephemeral. See docs/voice.md.
(function () {
  "use strict";
  const panel = document.getElementById("call");
  const root = document.getElementById("chat");
  if (!panel || !root) return;
  const me = root.dataset.role;
  const otherName = root.dataset.otherName;
  const supervising = me === "supervisor";
  const other = me === "member" ? "listener" : "member";
  const $ = function (id) { return document.getElementById(id); };
  const idleRow = $("call-idle"), incomingRow = $("call-incoming"), activeRow = $("call-active");
  const startButton = $("call-start"), listenButton = $("call-listen");
  const acceptButton = $("call-accept"), declineButton = $("call-decline");
  const muteButton = $("call-mute"), hangupButton = $("call-hangup");
  const stateEl = $("call-state"), timerEl = $("call-timer"), messageEl = $("call-message");
  const qualityEl = $("call-quality"), qualityText = $("call-quality-text"), audioBox = $("call-audio");
  const noteEl = $("call-note");
  const GENERIC_NOTE = "You can switch between voice and chat at any time; the chat stays open. " +
    "Calls go straight between you two and are never recorded.";
  const INVITE_TIMEOUT_MS = 45000;
  const CONNECT_TIMEOUT_MS = 40000;
  const STATS_EVERY_MS = 2000;

  let send = function () { return false; };
  let call = null; // this page's call: {id, phase, stream, pcs, queued, rtcConfig, ...}
  let openCallId = null; // a call going on in this conversation (maybe not on this page), from the events
  let listening = false; // a supervisor is listening to the open call
  let ended = root.dataset.ended === "true";

  const MIC_MESSAGES = {
    NotAllowedError: "Your browser blocked the microphone, so the call can't start. You can keep chatting here, " +
      "or allow the microphone for this site in your browser's settings and try again.",
    NotFoundError: "We couldn't find a microphone, so the call can't start. You can keep chatting here, " +
      "or connect a microphone and try again.",
    NotReadableError: "Your microphone is busy in another app, so the call can't start. You can keep chatting " +
      "here, or close the other app and try again.",
    NotSupportedError: "This browser can't make calls here (calls need a secure https address and a recent " +
      "browser). You can keep chatting here."
  };
  MIC_MESSAGES.SecurityError = MIC_MESSAGES.NotAllowedError;
  MIC_MESSAGES.OverconstrainedError = MIC_MESSAGES.NotFoundError;
  MIC_MESSAGES.TypeError = MIC_MESSAGES.NotSupportedError;
  const FAILED = "The call connection failed, so we've switched back to chat. You can keep chatting here, " +
    "or try calling again.";

  function newId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return String(Date.now()) + Math.random().toString(16).slice(2);
  }
  function callIdOf(event) { return (event.client_id || "").split(":")[0]; }
  function frame(action, extra) {
    const f = { type: "call", action: action, call_id: call ? call.id : "" };
    for (const k in extra || {}) f[k] = extra[k];
    return send(f);
  }

  // --- what the panel shows ---------------------------------------------------------------------------
  function show(row) {
    [idleRow, incomingRow, activeRow].forEach(function (r) { r.hidden = r !== row; });
  }
  function message(text, kind) {
    messageEl.textContent = text || "";
    messageEl.hidden = !text;
    messageEl.className = "alert call-message " + (kind || "info");
  }
  function setState(text) { stateEl.textContent = text; }
  function refreshIdle() {
    if (ended) { panel.hidden = true; return; }
    if (supervising) {
      listenButton.hidden = !openCallId || !!call;
      noteEl.textContent = openCallId
        ? "A voice call is going on. If you listen in, both people are told first; nothing is recorded."
        : "When a voice call is going on you can listen in. Both people are told first; nothing is recorded.";
      return;
    }
    startButton.disabled = false;
    // After a first call the "you asked to talk by voice" prompt has done its job.
    if (openCallId || call) noteEl.textContent = GENERIC_NOTE;
    // A call that this page isn't part of (another window, or a page that closed without hanging up).
    startButton.dataset.action = openCallId && !call ? "end-other" : "start";
    startButton.lastChild.textContent = openCallId && !call ? " End the open call" : " Start voice call";
  }

  // --- media ------------------------------------------------------------------------------------------
  async function microphone() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      const err = new Error("no getUserMedia"); err.name = "NotSupportedError"; throw err;
    }
    return navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true }, video: false
    });
  }
  // The RTCConfiguration for this call: STUN/TURN servers with fresh credentials, and whether audio must go
  // through TURN (the operator's choice: then neither side learns the other's IP address).
  async function rtcConfig() {
    const config = { iceServers: [], iceTransportPolicy: "all" };
    try {
      const response = await fetch(panel.dataset.iceUrl, { credentials: "same-origin", cache: "no-store" });
      if (!response.ok) return config;
      const body = await response.json();
      config.iceServers = (body.ice_servers || []).map(function (s) {
        const server = { urls: s.urls };
        if (s.username) { server.username = s.username; server.credential = s.credential; }
        return server;
      });
      if (body.ice_transport_policy === "relay") config.iceTransportPolicy = "relay";
    } catch (e) { /* no STUN/TURN: calls still work on one machine or a LAN */ }
    return config;
  }

  function peer(role, sending) {
    const pc = new RTCPeerConnection(call.rtcConfig || { iceServers: [] });
    call.pcs[role] = pc;
    call.queued[role] = call.queued[role] || [];
    if (sending && call.stream) {
      call.stream.getAudioTracks().forEach(function (t) { pc.addTrack(t, call.stream); });
    }
    pc.onicecandidate = function (e) {
      if (e.candidate) frame("ice", { to: role, candidate: e.candidate.toJSON() });
    };
    pc.ontrack = function (e) {
      let audio = audioBox.querySelector('audio[data-role="' + role + '"]');
      if (!audio) {
        audio = document.createElement("audio");
        audio.autoplay = true;
        audio.dataset.role = role;
        audioBox.append(audio);
      }
      audio.srcObject = e.streams[0] || new MediaStream([e.track]);
      const playing = audio.play();
      if (playing && playing.catch) playing.catch(function () {});
    };
    pc.onconnectionstatechange = function () { connectionChanged(role, pc); };
    return pc;
  }

  function mainRole() { return supervising ? null : other; }

  function connectionChanged(role, pc) {
    if (!call || call.pcs[role] !== pc) return;
    const state = pc.connectionState;
    const main = role === mainRole() || (supervising && Object.keys(call.pcs).length);
    if (state === "connected") {
      if (!call.connectedAt) { call.connectedAt = Date.now(); tick(); }
      call.phase = "active";
      setState(supervising ? "Listening to the call. Both people have been told." : "On a call with " + otherName);
      startStats();
    } else if (state === "disconnected" && main) {
      setState("The connection is unsteady. Trying to keep the call going…");
    } else if (state === "failed") {
      if (role === "supervisor") { closePeer(role); return; } // the supervisor's leg only
      if (supervising) { frame("unlisten"); finishCall("Listening didn't work: the connection failed.", "error"); return; }
      frame("hangup", { reason: "failed" });
      finishCall(FAILED, "error");
    }
  }

  async function flushCandidates(role) {
    const pc = call && call.pcs[role];
    if (!pc || !pc.remoteDescription) return;
    const waiting = call.queued[role] || [];
    call.queued[role] = [];
    for (const c of waiting) {
      try { await pc.addIceCandidate(c); } catch (e) { /* a stale candidate: ignore */ }
    }
  }

  async function offerTo(role) {
    const pc = peer(role, true);
    await pc.setLocalDescription(await pc.createOffer());
    frame("offer", { to: role, sdp: pc.localDescription.sdp });
  }

  function closePeer(role) {
    if (!call || !call.pcs[role]) return;
    try { call.pcs[role].close(); } catch (e) { /* already closed */ }
    delete call.pcs[role];
    const audio = audioBox.querySelector('audio[data-role="' + role + '"]');
    if (audio) { audio.srcObject = null; audio.remove(); }
  }

  // --- the call's lifecycle -----------------------------------------------------------------------------
  function begin(id, phase) {
    call = { id: id, phase: phase, stream: null, pcs: {}, queued: {}, rtcConfig: null, connectedAt: 0, muted: false };
    message("");
    refreshIdle();
  }

  function finishCall(text, kind) {
    if (!call) return;
    Object.keys(call.pcs).forEach(closePeer);
    if (call.stream) call.stream.getTracks().forEach(function (t) { t.stop(); });
    clearTimeout(call.inviteTimer);
    clearTimeout(call.connectTimer);
    clearInterval(call.timer);
    clearInterval(call.statsTimer);
    call = null;
    timerEl.textContent = "";
    qualityEl.dataset.quality = "unknown";
    qualityText.textContent = "Connection: checking…";
    if (muteButton) { muteButton.setAttribute("aria-pressed", "false"); muteButton.textContent = "Mute"; }
    show(idleRow);
    refreshIdle();
    message(text, kind);
  }

  function tick() {
    clearInterval(call.timer);
    const update = function () {
      if (!call || !call.connectedAt) return;
      const s = Math.floor((Date.now() - call.connectedAt) / 1000);
      timerEl.textContent = String(Math.floor(s / 60)).padStart(2, "0") + ":" + String(s % 60).padStart(2, "0");
    };
    update();
    call.timer = setInterval(update, 1000);
  }

  async function startCall() {
    if (call || ended) return;
    startButton.disabled = true;
    message("Checking your microphone…");
    const id = newId();
    const servers = rtcConfig();
    let stream;
    try {
      stream = await microphone();
    } catch (err) {
      startButton.disabled = false;
      message(MIC_MESSAGES[err.name] || MIC_MESSAGES.NotFoundError, "error");
      focusChat();
      return;
    }
    begin(id, "inviting");
    call.stream = stream;
    call.rtcConfig = await servers;
    show(activeRow);
    setState("Calling " + otherName + "…");
    hangupButton.textContent = "Cancel call";
    if (!frame("invite")) { finishCall("You're offline right now, so the call can't start. Try again in a moment.", "error"); return; }
    call.inviteTimer = setTimeout(function () {
      if (call && call.phase === "inviting") {
        frame("cancel", { reason: "no_answer" });
        finishCall(otherName + " didn't answer. You can keep chatting, or try again later.");
      }
    }, INVITE_TIMEOUT_MS);
  }

  async function acceptCall() {
    if (!call || call.phase !== "ringing") return;
    call.phase = "accepting";
    acceptButton.disabled = declineButton.disabled = true;
    const servers = rtcConfig();
    try {
      call.stream = await microphone();
    } catch (err) {
      frame("decline", { reason: "no_microphone" });
      finishCall(MIC_MESSAGES[err.name] || MIC_MESSAGES.NotFoundError, "error");
      focusChat();
      return;
    }
    call.rtcConfig = await servers;
    if (!call) return; // cancelled meanwhile
    show(activeRow);
    hangupButton.textContent = "Hang up";
    setState("Connecting…");
    frame("accept");
    watchConnecting();
  }

  // ICE can sit in "checking" for a long time when no route exists (no TURN, strict NATs): give up clearly.
  function watchConnecting() {
    const id = call.id;
    clearTimeout(call.connectTimer);
    call.connectTimer = setTimeout(function () {
      if (call && call.id === id && !call.connectedAt) {
        if (supervising) { frame("unlisten"); finishCall("Listening didn't work: the connection failed.", "error"); return; }
        frame("hangup", { reason: "failed" });
        finishCall(FAILED, "error");
      }
    }, CONNECT_TIMEOUT_MS);
  }

  function declineCall() {
    if (!call || call.phase !== "ringing") return;
    frame("decline");
    finishCall("");
    focusChat();
  }

  function hangUp() {
    if (!call) return;
    if (supervising) { frame("unlisten"); finishCall("You stopped listening."); return; }
    if (call.phase === "inviting") { frame("cancel"); finishCall("Call cancelled."); return; }
    frame("hangup");
    finishCall("You hung up. The chat is still here.");
    focusChat();
  }

  function toggleMute() {
    if (!call || !call.stream) return;
    call.muted = !call.muted;
    call.stream.getAudioTracks().forEach(function (t) { t.enabled = !call.muted; });
    muteButton.setAttribute("aria-pressed", call.muted ? "true" : "false");
    muteButton.textContent = call.muted ? "Unmute" : "Mute";
    frame("mute", { muted: call.muted });
  }

  async function listenIn() {
    if (call || !openCallId) return;
    begin(openCallId, "listening");
    listenButton.hidden = true;
    call.rtcConfig = await rtcConfig();
    show(activeRow);
    setState("Asking to listen… both people will be told.");
    frame("listen");
    watchConnecting();
  }

  function focusChat() {
    const input = document.getElementById("chat-input");
    if (input && !input.closest("[hidden]")) input.focus();
  }

  // --- call quality from getStats ----------------------------------------------------------------------
  async function measure(pc, previous) {
    const out = { state: pc.connectionState, bytesSent: 0, bytesReceived: 0, packetsLost: 0, packetsReceived: 0,
      rtt: null, jitter: null, loss: null };
    const report = await pc.getStats();
    report.forEach(function (s) {
      if (s.type === "outbound-rtp" && s.kind === "audio") out.bytesSent += s.bytesSent || 0;
      if (s.type === "inbound-rtp" && s.kind === "audio") {
        out.bytesReceived += s.bytesReceived || 0;
        out.packetsLost += s.packetsLost || 0;
        out.packetsReceived += s.packetsReceived || 0;
        if (s.jitter != null) out.jitter = Math.max(out.jitter || 0, s.jitter);
      }
      if (s.type === "candidate-pair" && s.nominated && s.state === "succeeded" && s.currentRoundTripTime != null) {
        out.rtt = s.currentRoundTripTime;
      }
      if (s.type === "remote-inbound-rtp" && s.kind === "audio" && s.roundTripTime != null && out.rtt == null) {
        out.rtt = s.roundTripTime;
      }
    });
    // Loss over the last interval, not since the start (an old burst shouldn't colour the whole call).
    const lost = out.packetsLost - (previous ? previous.packetsLost : 0);
    const got = out.packetsReceived - (previous ? previous.packetsReceived : 0);
    out.loss = lost + got > 0 ? Math.max(0, lost) / (Math.max(0, lost) + got) : null;
    return out;
  }

  function grade(m) {
    if (m.rtt == null && m.jitter == null && m.loss == null) return "unknown";
    const rtt = m.rtt || 0, jitter = m.jitter || 0, loss = m.loss || 0;
    if (rtt > 0.5 || loss > 0.08 || jitter > 0.1) return "poor";
    if (rtt > 0.25 || loss > 0.02 || jitter > 0.04) return "fair";
    return "good";
  }

  function startStats() {
    if (!call || call.statsTimer) return;
    let previous = null;
    call.statsTimer = setInterval(async function () {
      if (!call) return;
      const pc = supervising ? call.pcs.member || call.pcs.listener : call.pcs[other];
      if (!pc) return;
      try {
        const m = await measure(pc, previous);
        previous = m;
        const q = grade(m);
        qualityEl.dataset.quality = q;
        const words = { good: "good", fair: "fair, some delay or gaps", poor: "poor, you may hear gaps", unknown: "checking…" };
        qualityText.textContent = "Connection: " + words[q];
        qualityEl.title = "Round trip " + (m.rtt == null ? "?" : Math.round(m.rtt * 1000) + " ms") +
          " · loss " + (m.loss == null ? "?" : (m.loss * 100).toFixed(1) + "%") +
          " · jitter " + (m.jitter == null ? "?" : Math.round(m.jitter * 1000) + " ms");
      } catch (e) { /* the connection closed meanwhile */ }
    }, STATS_EVERY_MS);
  }

  // --- from the socket ---------------------------------------------------------------------------------
  function onEvent(event) {
    const id = callIdOf(event);
    const mine = call && call.id === id;
    if (event.kind === "call_started") {
      openCallId = id;
      listening = false;
      if (mine && call.phase === "inviting") {
        clearTimeout(call.inviteTimer);
        call.phase = "connecting";
        hangupButton.textContent = "Hang up";
        setState("Connecting…");
        offerTo(other).catch(function () { frame("hangup", { reason: "failed" }); finishCall(FAILED, "error"); });
        watchConnecting();
      } else if (call && call.phase === "ringing" && !mine) {
        finishCall("");
      } else if (call && call.phase === "ringing") {
        finishCall("You answered in another window.");
      }
    } else if (event.kind === "call_ended") {
      if (openCallId === id) openCallId = null;
      listening = false;
      if (mine) {
        const who = event.from === me ? "You" : (supervising ? event.name : otherName);
        if (event.reason === "failed") finishCall(supervising ? "The call's connection failed." : FAILED, "error");
        else finishCall(who + " ended the call." + (supervising ? "" : " The chat is still here."));
        if (!supervising) focusChat();
      }
    } else if (event.kind === "listen_started") {
      listening = true;
      if (supervising && mine) setState("Connecting… both people have been told you're listening.");
      // The notice is in the chat for both; only then does audio go to the supervisor.
      if (!supervising && mine && call.stream) {
        closePeer("supervisor");
        offerTo("supervisor").catch(function () { closePeer("supervisor"); });
      }
    } else if (event.kind === "listen_ended") {
      listening = false;
      if (!supervising && call) closePeer("supervisor");
    } else if (event.kind === "ended") {
      ended = true;
      openCallId = null;
      if (call) finishCall("");
      panel.hidden = true;
      return;
    }
    refreshIdle();
  }

  async function onFrame(f) {
    if (f.type === "error") {
      // Errors about an old call (a late ICE candidate after hanging up) or a passing hiccup mid-call are not news.
      if (call && f.call_id === call.id && call.phase !== "active" && f.code !== "rate_limited") {
        finishCall(f.message + (supervising ? "" : " You can keep chatting here."), "error");
      }
      return;
    }
    const a = f.action;
    if (a === "invite") {
      if (supervising) return;
      if (call) {
        // Both pressed "call" at once: the listener's side gives way and answers the member's call.
        if (call.phase === "inviting" && me === "listener") {
          const stream = call.stream, servers = call.rtcConfig;
          frame("cancel");
          clearTimeout(call.inviteTimer);
          call = { id: f.call_id, phase: "accepting", stream: stream, pcs: {}, queued: {}, rtcConfig: servers,
            connectedAt: 0, muted: false };
          setState("Connecting…");
          hangupButton.textContent = "Hang up";
          send({ type: "call", action: "accept", call_id: f.call_id });
          watchConnecting();
        } else if (call.phase !== "inviting") {
          send({ type: "call", action: "decline", call_id: f.call_id, reason: "busy" });
        }
        return;
      }
      begin(f.call_id, "ringing");
      acceptButton.disabled = declineButton.disabled = false;
      show(incomingRow);
      acceptButton.focus();
      return;
    }
    if (!call || f.call_id !== call.id) return;
    if (a === "cancel" && call.phase === "ringing") {
      finishCall(otherName + " stopped calling. You can keep chatting here.");
    } else if (a === "decline" && call.phase === "inviting") {
      const text = f.reason === "no_microphone"
        ? otherName + "'s microphone isn't available, so the call couldn't start. You can keep chatting here."
        : f.reason === "busy" ? otherName + " is on another call. You can keep chatting here."
          : otherName + " can't take a call right now. You can keep chatting here.";
      finishCall(text);
    } else if (a === "offer") {
      const pc = call.pcs[f.from] || peer(f.from, !supervising);
      await pc.setRemoteDescription({ type: "offer", sdp: f.sdp });
      // A supervisor only listens: nothing is sent back.
      if (supervising) pc.getTransceivers().forEach(function (t) { t.direction = "recvonly"; });
      await pc.setLocalDescription(await pc.createAnswer());
      await flushCandidates(f.from);
      frame("answer", { to: f.from, sdp: pc.localDescription.sdp });
    } else if (a === "answer") {
      const pc = call.pcs[f.from];
      if (pc && pc.signalingState === "have-local-offer") {
        await pc.setRemoteDescription({ type: "answer", sdp: f.sdp });
        await flushCandidates(f.from);
      }
    } else if (a === "ice" && f.candidate) {
      call.queued[f.from] = call.queued[f.from] || [];
      call.queued[f.from].push(f.candidate);
      await flushCandidates(f.from);
    } else if (a === "mute") {
      setState(f.muted ? otherName + " muted their microphone." : "On a call with " + otherName);
    }
  }

  // --- wiring -------------------------------------------------------------------------------------------
  if (startButton) {
    startButton.addEventListener("click", function () {
      if (startButton.dataset.action === "end-other" && openCallId) {
        send({ type: "call", action: "hangup", call_id: openCallId });
        return;
      }
      startCall();
    });
  }
  if (listenButton) listenButton.addEventListener("click", listenIn);
  acceptButton.addEventListener("click", acceptCall);
  declineButton.addEventListener("click", declineCall);
  if (muteButton) muteButton.addEventListener("click", toggleMute);
  hangupButton.addEventListener("click", hangUp);
  // Saving notes or sending a report mid-call mustn't reload the page (that would end the call): send those
  // forms in the background while a call is on, and say so where the page would have.
  document.querySelectorAll("form[data-keep-call]").forEach(function (form) {
    form.addEventListener("submit", async function (e) {
      if (!call) return;
      e.preventDefault();
      let note = form.querySelector(".kept-call-status");
      if (!note) {
        note = document.createElement("p");
        note.className = "alert kept-call-status";
        note.setAttribute("role", "status");
        form.prepend(note);
      }
      try {
        const response = await fetch(form.action, { method: "POST", body: new FormData(form), credentials: "same-origin" });
        note.className = "alert kept-call-status " + (response.ok ? "success" : "error");
        note.textContent = response.ok ? form.dataset.keepCall : "That didn't save. Try again in a moment.";
      } catch (err) {
        note.className = "alert kept-call-status error";
        note.textContent = "That didn't save. Try again in a moment.";
      }
    });
  });
  window.addEventListener("beforeunload", function (e) {
    if (call && call.phase !== "ringing") { e.preventDefault(); e.returnValue = ""; } // "leave and end the call?"
  });
  // Closing or reloading the page ends this page's part of the call (best effort), so nobody waits on a ghost.
  window.addEventListener("pagehide", function () {
    if (!call) return;
    if (supervising) frame("unlisten");
    else if (call.phase === "inviting") frame("cancel");
    else if (call.phase === "ringing") frame("decline");
    else frame("hangup", { reason: "left" });
  });
  refreshIdle();

  window.SameboatVoice = {
    attach: function (sendFrame) { send = sendFrame; },
    onEvent: onEvent,
    onFrame: function (f) {
      onFrame(f).catch(function () {
        if (call && call.phase !== "active") {
          if (!supervising) frame("hangup", { reason: "failed" });
          finishCall(FAILED, "error");
        }
      });
    },
    // The numbers behind the quality indicator (also read by the browser tests).
    snapshot: async function (role) {
      const pc = call && call.pcs[role || (supervising ? "member" : other)];
      if (!pc) return null;
      const m = await measure(pc, null);
      m.quality = grade(m);
      m.phase = call.phase;
      return m;
    }
  };
})();
