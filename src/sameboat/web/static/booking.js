// Booking pages: use the device's time zone so times read right (no build step; CSP allows only our own files).
(function () {
  "use strict";
  var zone;
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
  if (!zone) { return; }
  // A listener setting availability for the first time: suggest their device's zone.
  var input = document.querySelector("[data-detect-zone]");
  if (input && (!input.value || input.value === "UTC") && input.defaultValue === "UTC") { input.value = zone; }
  // A member choosing a time: reload once in the device's zone if we didn't know it yet.
  var book = document.getElementById("book");
  if (book && !book.dataset.knownZone && book.dataset.zone !== zone) {
    var url = new URL(window.location.href);
    if (!url.searchParams.get("tz")) {
      url.searchParams.set("tz", zone);
      window.location.replace(url.toString());
    }
  }
})();
