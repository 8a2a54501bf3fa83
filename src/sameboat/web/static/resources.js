// The listener's "Share something from the library" form: posts without leaving the chat page. The shared
// card then arrives over the conversation socket like any other event (chat.js draws it).
(function () {
  "use strict";
  const form = document.getElementById("share-form");
  if (!form || !window.fetch) return;
  const status = document.getElementById("share-status");
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    status.textContent = "Sharing…";
    fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      headers: { "X-Requested-With": "fetch" },
      credentials: "same-origin",
    }).then(function (response) {
      return response.json().then(function (body) {
        status.textContent = response.ok ? "Shared." : (body.detail || "That didn't work. Please try again.");
      });
    }).catch(function () {
      status.textContent = "We couldn't reach Sameboat. Check your connection and try again.";
    });
  });
})();
