(function () {
  "use strict";
  const root = document.getElementById("waiting");
  if (!root) return;
  const statusEl = document.getElementById("wait-status");
  const detailEl = document.getElementById("wait-detail");
  const alternatives = document.getElementById("wait-alternatives");
  window.SameboatLive(root.dataset.stateUrl, function (state) {
    if (state.conversation_url) { window.location.assign(state.conversation_url); return; }
    if (statusEl.textContent !== state.headline) statusEl.textContent = state.headline;
    detailEl.textContent = state.detail || "";
    alternatives.hidden = !state.offer_alternatives;
  });
})();
