// Alerts that cannot be missed: a chime, a red title badge, and the list refreshed as soon as anything changes.
(function () {
  "use strict";
  const root = document.getElementById("supervise");
  if (!root) return;
  let known = Number(root.dataset.open || 0);
  let lastKey = null;

  function chime() {
    try {
      const Ctx = window.AudioContext || window.webkitAudioContext;
      const audio = new Ctx();
      [0, 0.25].forEach(function (start) {
        const osc = audio.createOscillator();
        const gain = audio.createGain();
        osc.frequency.value = 880;
        gain.gain.setValueAtTime(0.2, audio.currentTime + start);
        gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + start + 0.2);
        osc.connect(gain).connect(audio.destination);
        osc.start(audio.currentTime + start);
        osc.stop(audio.currentTime + start + 0.2);
      });
    } catch (e) { /* no audio device: the title and colour still change */ }
  }

  window.SameboatLive(root.dataset.stateUrl, function (state) {
    const key = JSON.stringify(state);
    if (lastKey === null) { lastKey = key; return; }
    if (key === lastKey) return;
    lastKey = key;
    if (state.open_count > known) chime();
    known = state.open_count;
    // Re-render the console from the server (no client-side templates to keep in step).
    fetch("/supervise", { credentials: "same-origin" }).then(function (r) { return r.text(); }).then(function (html) {
      const doc = new DOMParser().parseFromString(html, "text/html");
      const fresh = doc.getElementById("supervise");
      if (fresh) root.innerHTML = fresh.innerHTML;
      document.title = doc.title;
    });
  });
})();
