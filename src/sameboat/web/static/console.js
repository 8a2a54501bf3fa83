(function () {
  "use strict";
  const root = document.getElementById("console");
  if (!root) return;
  const offersEl = document.getElementById("offers");
  const template = document.getElementById("offer-template");
  const activeEl = document.getElementById("active");
  let shownOffer = null;
  let countdown = null;
  let originalTitle = document.title;

  function renderOffer(offer) {
    if (!offer) {
      offersEl.textContent = "";
      shownOffer = null;
      clearInterval(countdown);
      document.title = originalTitle;
      return;
    }
    if (shownOffer === offer.id) return;
    shownOffer = offer.id;
    const card = template.content.firstElementChild.cloneNode(true);
    card.querySelector(".offer-name").textContent = offer.name;
    card.querySelector(".offer-topic").textContent = offer.topic ? "· " + offer.topic : "";
    card.querySelector(".offer-text").textContent = offer.text;
    card.querySelector(".accept-form").action = "/console/offers/" + offer.id + "/accept";
    card.querySelector(".decline-form").action = "/console/offers/" + offer.id + "/decline";
    offersEl.textContent = "";
    offersEl.append(card);
    card.querySelector(".accept-form button").focus();
    document.title = "(1) Someone needs to talk · Sameboat";
    const deadline = Date.now() + offer.expires_in_seconds * 1000;
    const counter = card.querySelector(".offer-countdown");
    clearInterval(countdown);
    function tick() {
      const left = Math.max(0, Math.round((deadline - Date.now()) / 1000));
      counter.textContent = left > 0 ? left + " seconds left to answer" : "This offer has expired.";
      if (left === 0) clearInterval(countdown);
    }
    tick();
    countdown = setInterval(tick, 1000);
  }

  function renderConversations(items) {
    activeEl.textContent = "";
    if (!items.length) {
      const li = document.createElement("li");
      li.className = "muted";
      li.textContent = "None right now.";
      activeEl.append(li);
    }
    items.forEach(function (c) {
      const li = document.createElement("li");
      const a = document.createElement("a");
      a.href = "/conversations/" + c.id;
      a.textContent = c.name;
      const status = document.createElement("span");
      status.className = "muted small";
      status.textContent = " " + c.status;
      li.append(a, status);
      activeEl.append(li);
    });
  }

  window.SameboatLive(root.dataset.stateUrl, function (state) {
    renderOffer(state.offer);
    renderConversations(state.conversations);
  });
})();
