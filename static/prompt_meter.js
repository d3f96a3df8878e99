// Quick generate's prompt meters (quick_generate.html#row_meter): each row's length against the chosen provider
// and model's limit, live as the user types. Counted as the server counts (runs of spaces and line breaks as one
// space, characters rather than UTF-16 units); the limit and the provider's name come from
// #generator-prompt-limit, which the server swaps in when the provider or model changes. The server renders the
// same meter, so the page works without this script, and Generate refuses a prompt over the limit anyway.
(function () {
  "use strict";

  function measure(text) {
    var collapsed = text.trim().split(/\s+/).join(" ");
    return collapsed ? Array.from(collapsed).length : 0;
  }

  function update(meter) {
    var field = document.getElementById(meter.getAttribute("data-prompt-meter"));
    var source = document.getElementById("generator-prompt-limit");
    if (!field || !source) return;
    var limit = parseInt(source.getAttribute("data-prompt-limit"), 10) || 0;
    var provider = source.getAttribute("data-prompt-provider") || "";
    var length = measure(field.value);
    var over = length > limit;
    var percent = limit ? Math.min(100, Math.round(100 * length / limit)) : 100;
    var state = over ? "over" : "ok";

    var count = meter.querySelector(".prompt-meter-count");
    if (count) {
      count.textContent = length + " / " + limit + " characters";
      count.classList.toggle("text-bg-warning", over);
      count.classList.toggle("text-bg-light", !over);
    }
    var progress = meter.querySelector(".prompt-meter-bar");
    if (progress) {
      if (progress.hasAttribute("aria-valuenow")) progress.setAttribute("aria-valuenow", String(percent));
      var bar = progress.querySelector(".progress-bar");
      if (bar) {
        bar.style.width = percent + "%";
        bar.classList.toggle("bg-warning", over);
      }
    }
    // Written only when the state changes: the row sits in a live region, so crossing the limit is said once.
    var note = meter.querySelector(".prompt-meter-note");
    var message = over ? "Too long for " + provider + ": shorten it or choose another provider." : "";
    if (note && note.textContent !== message) note.textContent = message;
    if (meter.getAttribute("data-state") !== state) meter.setAttribute("data-state", state);
  }

  function updateAll() {
    document.querySelectorAll("[data-prompt-meter]").forEach(update);
  }

  document.addEventListener("input", function (event) {
    var field = event.target;
    if (!field || !field.id || field.name !== "prompt") return;
    var meter = document.querySelector('[data-prompt-meter="' + field.id + '"]');
    if (meter) update(meter);
  });
  // A provider or model change swaps in a new limit; Add and Remove re-render the rows (and their meters).
  document.addEventListener("htmx:afterSettle", updateAll);
  document.addEventListener("htmx:oobAfterSwap", updateAll);
  // The browser may restore typed text when the user comes back to the page.
  document.addEventListener("DOMContentLoaded", updateAll);
  window.addEventListener("pageshow", updateAll);
})();
