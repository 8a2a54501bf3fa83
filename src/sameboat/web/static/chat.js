// Sameboat chat client: no framework, no build step.
// Every message gets a client_id; unacknowledged messages are resent after a reconnect (the server stores
// each client_id once), and the client resumes from the last sequence number it saw.
(function () {
  "use strict";
  const root = document.getElementById("chat");
  if (!root) return;
  const conversationId = root.dataset.conversation;
  const me = root.dataset.role;
  const log = document.getElementById("chat-log");
  const form = document.getElementById("chat-form");
  const input = document.getElementById("chat-input");
  const statusEl = document.getElementById("chat-status");
  const typingEl = document.getElementById("chat-typing");
  const endButton = document.getElementById("chat-end");
  const endedPanel = document.getElementById("chat-ended");
  let lastSeq = 0;
  let socket = null;
  let retry = 0;
  let ended = root.dataset.ended === "true";
  const pending = new Map(); // client_id -> {body, element}
  let typingTimer = null;
  let lastTypingSent = 0;
  // Voice calls (static/voice.js, loaded first) share this socket: call events and frames are handed to it.
  const voice = window.SameboatVoice || null;
  const CALL_KINDS = ["call_started", "call_ended", "listen_started", "listen_ended"];

  function setStatus(text, state) {
    statusEl.textContent = text;
    statusEl.dataset.state = state;
  }

  function newId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return String(Date.now()) + Math.random().toString(16).slice(2);
  }

  function timeOf(iso) {
    try { return new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }); } catch (e) { return ""; }
  }

  function bubble(event, mine) {
    const li = document.createElement("li");
    li.className = event.kind === "message" ? "msg " + (mine ? "mine" : "theirs") : "msg notice";
    if (event.seq) li.dataset.seq = event.seq;
    const who = document.createElement("span");
    who.className = "who";
    who.textContent = mine ? "You" : event.name;
    const body = document.createElement("p");
    body.className = "body";
    body.textContent = event.body || "";
    const meta = document.createElement("span");
    meta.className = "meta";
    meta.textContent = event.at ? timeOf(event.at) : "Sending…";
    if (event.kind === "message") { li.append(who, body, meta); } else { li.append(body); }
    return li;
  }

  function notice(text) {
    return bubble({ kind: "notice", body: text }, false);
  }

  // A library resource shared by the listener: a link card (the title comes from the server, never HTML).
  function resourceCard(event, mine) {
    const li = document.createElement("li");
    li.className = "msg resource-share " + (mine ? "mine" : "theirs");
    li.dataset.seq = event.seq;
    const who = document.createElement("span");
    who.className = "who";
    who.textContent = mine ? "You shared" : event.name + " shared";
    li.append(who);
    if (event.resource) {
      const link = document.createElement("a");
      link.href = "/resources/" + encodeURIComponent(event.resource.slug);
      link.target = "_blank";
      link.rel = "noopener";
      link.textContent = event.resource.title;
      const meta = document.createElement("span");
      meta.className = "meta";
      meta.textContent = event.resource.kind + " · " + event.resource.minutes + " min · opens in a new tab";
      li.append(link, meta);
    } else {
      li.append(document.createTextNode("a resource that is no longer available"));
    }
    return li;
  }

  function show(event) {
    if (event.seq <= lastSeq) return;
    lastSeq = event.seq;
    const mine = event.from === me;
    if (event.kind === "message") {
      const waiting = mine && event.client_id && pending.get(event.client_id);
      if (waiting) {
        waiting.element.dataset.seq = event.seq;
        waiting.element.querySelector(".meta").textContent = timeOf(event.at);
        pending.delete(event.client_id);
      } else {
        log.append(bubble(event, mine));
      }
      if (!mine) { typingEl.textContent = ""; send({ type: "read", seq: event.seq }); }
    } else if (event.kind === "joined") {
      log.append(notice(event.from === "supervisor" ? event.body
        : event.name + (event.from === "listener" ? " joined the conversation." : " joined.")));
    } else if (event.kind === "notice") {
      log.append(notice(event.body));
    } else if (event.kind === "resource") {
      log.append(resourceCard(event, mine));
    } else if (event.kind === "protocol" || event.kind === "resources") {
      // Safety cards: the protocol for the listener, crisis resources for the member (never the other way).
      const card = document.createElement("li");
      card.className = "msg safety-card " + event.kind;
      card.setAttribute("role", "alert");
      const title = document.createElement("strong");
      title.textContent = event.kind === "protocol" ? "Safety protocol" : "Help is here right now";
      const body = document.createElement("p");
      body.textContent = event.body;
      card.append(title, body);
      log.append(card);
    } else if (CALL_KINDS.indexOf(event.kind) >= 0) {
      log.append(notice(event.body || ""));
      if (voice) voice.onEvent(event);
    } else if (event.kind === "ended") {
      log.append(notice(mine ? "You ended the conversation." : event.name + " ended the conversation."));
      if (voice) voice.onEvent(event);
      finish();
    }
    log.scrollTop = log.scrollHeight;
  }

  function finish() {
    ended = true;
    form.hidden = true;
    if (endButton) endButton.hidden = true;
    if (endedPanel) endedPanel.hidden = false;
    setStatus("Conversation ended", "ended");
    if (socket) socket.close(1000);
  }

  function send(frame) {
    if (socket && socket.readyState === WebSocket.OPEN) { socket.send(JSON.stringify(frame)); return true; }
    return false;
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + location.host + "/ws/conversations/" + conversationId + "?after=" + lastSeq);
    setStatus(retry ? "Reconnecting…" : "Connecting…", "connecting");
    socket.onopen = function () {
      retry = 0;
      setStatus("Connected", "open");
      pending.forEach(function (item, clientId) { send({ type: "send", client_id: clientId, body: item.body }); });
    };
    socket.onmessage = function (message) {
      const frame = JSON.parse(message.data);
      if (frame.type === "call" || (frame.type === "error" && frame.call)) {
        if (voice) voice.onFrame(frame);
        return;
      }
      if (frame.type === "event") show(frame);
      else if (frame.type === "ack") {
        const item = pending.get(frame.client_id);
        if (item) {
          item.element.dataset.seq = frame.seq;
          item.element.querySelector(".meta").textContent = frame.hidden
            ? "Not delivered: " + frame.warning : timeOf(frame.at);
          if (frame.hidden) item.element.classList.add("failed");
          pending.delete(frame.client_id);
        }
        if (frame.seq === lastSeq + 1) lastSeq = frame.seq;
      } else if (frame.type === "typing") {
        typingEl.textContent = (me === "member" ? root.dataset.otherName : root.dataset.otherName) + " is typing…";
        clearTimeout(typingTimer);
        typingTimer = setTimeout(function () { typingEl.textContent = ""; }, 4000);
      } else if (frame.type === "receipt" && frame.kind === "read") {
        log.querySelectorAll(".msg.mine").forEach(function (el) {
          if (Number(el.dataset.seq) <= frame.seq) el.classList.add("seen");
        });
      } else if (frame.type === "error") {
        const item = frame.client_id && pending.get(frame.client_id);
        if (item && frame.code !== "rate_limited") {
          item.element.querySelector(".meta").textContent = "Not sent: " + frame.message;
          item.element.classList.add("failed");
          pending.delete(frame.client_id);
        } else {
          log.append(notice(frame.message));
        }
      }
    };
    socket.onclose = function (event) {
      if (ended) return;
      if (event.code === 4401 || event.code === 4403 || event.code === 4404) {
        setStatus("Can't connect: " + (event.reason || "please sign in again"), "closed");
        return;
      }
      retry += 1;
      const delay = Math.min(10000, 500 * Math.pow(2, retry - 1));
      setStatus("Connection lost. Reconnecting…", "connecting");
      setTimeout(connect, delay);
    };
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    const body = input.value.trim();
    if (!body) return;
    const clientId = newId();
    const element = bubble({ kind: "message", body: body, from: me }, true);
    log.append(element);
    log.scrollTop = log.scrollHeight;
    pending.set(clientId, { body: body, element: element });
    send({ type: "send", client_id: clientId, body: body });
    input.value = "";
    input.focus();
  });
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); form.requestSubmit(); return; }
    const now = Date.now();
    if (now - lastTypingSent > 2500) { lastTypingSent = now; send({ type: "typing" }); }
  });
  if (endButton) {
    endButton.addEventListener("click", function () {
      if (window.confirm("End this conversation?")) send({ type: "end" });
    });
  }
  if (voice) voice.attach(send);
  connect(); // an ended conversation still loads its transcript, then shows the ended panel
})();
