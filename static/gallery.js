// Galleries: the lightbox (with arrow-key navigation) and bulk selection. Without JS, cards link to the
// portrait page and the bulk form posts the ticked boxes. On the portrait's own page (no lightbox), the arrow
// keys follow its Newer / Older links.
(function () {
  "use strict";

  var lastChecked = null;
  var opener = null;  // the card link that opened the lightbox: focus goes back there when it closes

  function lightbox() { return document.getElementById("lightbox"); }
  function modal() { return window.bootstrap ? bootstrap.Modal.getOrCreateInstance(lightbox()) : null; }
  function lightboxOpen() { var el = lightbox(); return !!el && el.classList.contains("show"); }

  // stepping: the lightbox is already open (arrow keys, refresh). Only a first open shows the modal, so a
  // step still loading when the user presses Escape can never reopen it.
  function openLightbox(url, stepping) {
    var body = document.getElementById("lightbox-body");
    if (!body || !window.htmx || !modal()) return false;
    body.setAttribute("aria-busy", "true");
    htmx.ajax("GET", url, { target: body, swap: "innerHTML" }).then(function () {
      body.removeAttribute("aria-busy");
      if (!stepping && !lightboxOpen()) {
        modal().show();
        // The address bar shows the portrait: a link to share, and Back closes the lightbox.
        history.pushState({ lightbox: url }, "", url);
        pushed = true;
      } else if (lightboxOpen()) {
        lightbox().focus();  // the swapped-out content had the focus
        if (pushed) history.replaceState({ lightbox: url }, "", url);
      }
    });
    return true;
  }

  var pushed = false;  // the open lightbox has its own history entry
  var closingFromHistory = false;

  // Back while the lightbox is open: close it (the gallery's own address is already back in the bar).
  window.addEventListener("popstate", function () {
    if (!pushed || !lightboxOpen()) return;
    pushed = false;
    closingFromHistory = true;
    modal().hide();
  });

  document.addEventListener("click", function (event) {
    var link = event.target.closest("a[data-lightbox]");
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
    if (!link.closest("#lightbox")) opener = link;
    if (openLightbox(link.getAttribute("href"))) event.preventDefault();
  });

  function arrowTarget(event) {
    return event.key === "ArrowLeft" ? "[data-lightbox-prev]" : event.key === "ArrowRight" ? "[data-lightbox-next]" : null;
  }

  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    if (event.target.matches && event.target.matches("input, textarea, select")) return;
    var which = arrowTarget(event);
    if (!lightbox()) {  // the standalone portrait page: step by following its links
      var step = which && document.querySelector(".lightbox " + which);
      if (step) { event.preventDefault(); window.location.assign(step.href); }
      return;
    }
    if (!lightboxOpen()) return;
    if (event.key === "Escape") { event.preventDefault(); modal().hide(); return; }
    if (!which) return;
    var link = document.querySelector("#lightbox-body " + which);
    if (link) { event.preventDefault(); openLightbox(link.getAttribute("href"), true); }
  });

  // Closed: focus the card of the portrait last shown (the user may have stepped away from the one they
  // opened), else the link that opened it, so keyboard users carry on where they were.
  document.addEventListener("hidden.bs.modal", function (event) {
    if (event.target !== lightbox()) return;
    // Closed by the user (Escape, the close button): drop the lightbox's history entry too.
    if (pushed && !closingFromHistory) history.back();
    pushed = false;
    closingFromHistory = false;
    var shown = document.querySelector("#lightbox-body .lightbox");
    var pk = shown && shown.getAttribute("data-portrait");
    var card = pk && document.querySelector("#card-" + pk + " a[data-lightbox]");
    var target = card || (opener && document.contains(opener) ? opener : null);
    opener = null;
    if (target) target.focus();
  });

  // A delete made inside the lightbox closes it. Other changes (visibility, likes, favourites) answer with
  // out-of-band swaps of what they change: reloading the whole lightbox as well raced a click made meanwhile
  // (a Like right after Make public was swapped into a button the reload had already replaced).
  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt.closest && event.detail.elt.closest("#lightbox-body form");
    if (form && event.detail.successful && form.hasAttribute("data-close-lightbox")) modal().hide();
  });

  // A change made in the lightbox names the grid card of its portrait when the grid has that card loaded (the
  // lightbox may have stepped past the last card loaded): the answer then updates the card too, out of band,
  // and never names one that is not on the page, which htmx reports as an error. (An hx-include of the card
  // would log an error of its own when the card is missing.)
  document.addEventListener("htmx:configRequest", function (event) {
    if (event.detail.verb === "get") return;
    var shown = event.detail.elt.closest && event.detail.elt.closest("#lightbox-body .lightbox");
    var pk = shown && shown.getAttribute("data-portrait");
    if (pk && document.getElementById("card-" + pk)) event.detail.parameters.card = pk;
  });

  // Bulk selection: click, shift-click for a range, select all loaded.
  function boxes() { return Array.prototype.slice.call(document.querySelectorAll(".gallery-select")); }
  function updateCount() {
    var label = document.getElementById("selected-count");
    if (!label) return;
    var count = boxes().filter(function (box) { return box.checked; }).length;
    label.textContent = count ? count + " selected" : "Tick portraits to act on them (shift-click selects a range).";
    document.querySelectorAll(".gallery-bulk [name=action]").forEach(function (button) { button.disabled = count === 0; });
  }
  document.addEventListener("click", function (event) {
    var box = event.target.closest(".gallery-select");
    if (box) {
      if (event.shiftKey && lastChecked && lastChecked !== box && document.contains(lastChecked)) {
        var all = boxes();
        var a = all.indexOf(lastChecked), b = all.indexOf(box);
        all.slice(Math.min(a, b), Math.max(a, b) + 1).forEach(function (other) { other.checked = box.checked; });
      }
      lastChecked = box;
      updateCount();
      return;
    }
    if (event.target.closest("#select-all")) {
      var list = boxes();
      var every = list.length > 0 && list.every(function (b) { return b.checked; });
      list.forEach(function (b) { b.checked = !every; });
      updateCount();
    }
  });
  document.addEventListener("DOMContentLoaded", function () {
    updateCount();
  });
  document.addEventListener("htmx:afterSettle", updateCount);
  document.body && document.body.addEventListener("portraitsChanged", updateCount);
})();
