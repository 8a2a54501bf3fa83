// Shared by the waiting room and the listener console: a WebSocket that pokes ("something changed"),
// a heartbeat, and polling as a fallback. The page always re-reads its state from the server.
window.SameboatLive = function (stateUrl, onState) {
  "use strict";
  let socket = null;
  let retry = 0;
  let heartbeat = null;
  let fetching = false;

  function refresh() {
    if (fetching) return;
    fetching = true;
    fetch(stateUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (state) { if (state) onState(state); })
      .catch(function () {})
      .finally(function () { fetching = false; });
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + location.host + "/ws/me");
    socket.onopen = function () {
      retry = 0;
      refresh();
      clearInterval(heartbeat);
      heartbeat = setInterval(function () {
        if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: "ping" }));
      }, 10000);
    };
    socket.onmessage = function () { refresh(); };
    socket.onclose = function (event) {
      clearInterval(heartbeat);
      if (event.code === 4401) return;
      retry += 1;
      setTimeout(connect, Math.min(10000, 500 * Math.pow(2, retry - 1)));
    };
  }

  connect();
  setInterval(refresh, 5000);
  return { refresh: refresh };
};
