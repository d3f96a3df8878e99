// Dali Studio: the little JavaScript the pages need. Everything works without it.
(function () {
  "use strict";

  // Toasts. Successes and notes fade by themselves; warnings and errors stay until dismissed (the markup's
  // data-bs-autohide says which). Each toast that arrives with an HTMX response remembers the form that asked
  // for it, and the next toasts for that form replace it: a later "2 prompts queued." takes the place of
  // "Some prompts need attention", and likes do not pile up.
  function showToasts(root) {
    if (!window.bootstrap) return;
    root.querySelectorAll(".toast[data-autoshow]").forEach(function (el) {
      el.removeAttribute("data-autoshow");
      var toast = bootstrap.Toast.getOrCreateInstance(el, { delay: 5000 });
      el.addEventListener("hidden.bs.toast", function () { el.remove(); });
      toast.show();
    });
  }

  function toastSource(detail) {
    var elt = detail.elt;
    if (!elt || !elt.closest) return null;
    var form = elt.form || elt.closest("form");
    if (form) return "form:" + (form.id || form.getAttribute("action") || "");
    return detail.pathInfo && detail.pathInfo.requestPath ? "path:" + detail.pathInfo.requestPath : null;
  }

  function replaceEarlierToasts(source) {
    var container = document.getElementById("toasts");
    if (!container || !source) return;
    var fresh = container.querySelectorAll(".toast[data-autoshow]");
    if (!fresh.length) return;
    container.querySelectorAll(".toast:not([data-autoshow])").forEach(function (old) {
      if (old.getAttribute("data-toast-source") === source) old.remove();
    });
    fresh.forEach(function (el) { el.setAttribute("data-toast-source", source); });
  }

  document.addEventListener("DOMContentLoaded", function () { showToasts(document); });
  // The response's toasts are in the page (swapped out of band) by the time htmx:afterRequest fires.
  document.addEventListener("htmx:afterRequest", function (event) {
    replaceEarlierToasts(toastSource(event.detail));
    showToasts(document);
  });
  document.addEventListener("htmx:afterSettle", function () { showToasts(document); });

  // Toasts sit just below the navbar, which grows when its menu opens on a phone.
  function trackNavbar() {
    var nav = document.querySelector(".app-navbar");
    if (!nav) return;
    var update = function () {
      document.documentElement.style.setProperty("--dali-nav-height", nav.getBoundingClientRect().height + "px");
    };
    update();
    if (window.ResizeObserver) new ResizeObserver(update).observe(nav);
  }

  // The colour-mode menu in the navbar (theme.js applies the choice).
  var THEME_ICONS = { light: "bi-sun-fill", dark: "bi-moon-stars-fill", auto: "bi-circle-half" };
  function showThemeChoice() {
    if (!window.daliTheme) return;
    var choice = window.daliTheme.get();
    document.querySelectorAll("[data-theme-value]").forEach(function (item) {
      var on = item.getAttribute("data-theme-value") === choice;
      item.setAttribute("aria-pressed", on ? "true" : "false");
    });
    document.querySelectorAll(".theme-current").forEach(function (el) { el.textContent = choice; });
    document.querySelectorAll(".theme-icon").forEach(function (icon) {
      icon.className = "bi theme-icon " + THEME_ICONS[choice];
    });
  }
  document.addEventListener("click", function (event) {
    var item = event.target.closest("[data-theme-value]");
    if (!item || !window.daliTheme) return;
    window.daliTheme.set(item.getAttribute("data-theme-value"));
  });
  document.addEventListener("dali:theme", showThemeChoice);

  // The gallery lightbox is dark whatever the page's mode, so portraits are judged on a neutral ground.
  function darkLightbox() {
    var lightbox = document.getElementById("lightbox");
    if (lightbox) lightbox.setAttribute("data-bs-theme", "dark");
  }

  document.addEventListener("DOMContentLoaded", function () {
    trackNavbar();
    showThemeChoice();
    darkLightbox();
  });

  // A "Cancel" link that simply closes an inline panel when JS is on (it navigates when JS is off).
  document.addEventListener("click", function (event) {
    var link = event.target.closest("[data-dismiss-closest]");
    if (!link) return;
    var panel = link.closest(link.getAttribute("data-dismiss-closest"));
    if (panel) { event.preventDefault(); panel.remove(); }
  });

  // A failed HTMX request gets a toast instead of silence.
  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr.status;
    var text = serverMessage(event.detail.xhr)
      || (status === 429 ? "Too many requests; wait a moment and try again."
        : status >= 500 ? "Something went wrong on the server; nothing was lost. Try again."
        : "That request could not be completed (" + status + ").");
    addToast(text, "error");
  });
  document.addEventListener("htmx:sendError", function () {
    addToast("The studio could not be reached. Check your connection and try again.", "error");
  });

  // --- Content-Security-Policy: behaviour that used to be inline (scripts, on* attributes, hx-on) ---------
  // The server's own sentence for a failed request: the 429 partial (studio/throttle.py) says which limit was
  // passed and when to try again; an expired form's 403 (studio/errors.py csrf_failure) says to reload.
  function serverMessage(xhr) {
    var doc = new DOMParser().parseFromString(xhr.responseText || "", "text/html");
    var el = doc.querySelector("[data-throttled], [data-error-message]");
    return el ? el.textContent.trim() : "";
  }

  // <form data-confirm="Delete this?">: asks before submitting (submits without asking when JS is off).
  document.addEventListener("submit", function (event) {
    var form = event.target.closest("form[data-confirm]");
    if (form && !window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
  }, true);

  // <form data-upload-progress> with a <progress> inside: the upload's progress while HTMX sends it.
  document.addEventListener("htmx:xhr:progress", function (event) {
    var form = event.target.closest && event.target.closest("[data-upload-progress]");
    var bar = form && form.querySelector("progress");
    if (bar && event.detail.total) bar.value = Math.round(event.detail.loaded / event.detail.total * 100);
  });
  // --- end Content-Security-Policy ------------------------------------------------------------------------

  var TOAST_ICONS = {
    success: "bi-check-circle-fill", error: "bi-x-circle-fill", warning: "bi-exclamation-triangle-fill",
    info: "bi-info-circle-fill",
  };

  // kind: success, info, warning or error, as Django's message level tags.
  function addToast(text, kind) {
    var container = document.getElementById("toasts");
    if (!container) return;
    if (kind === "danger") kind = "error";
    var lasting = kind === "error" || kind === "warning";
    var el = document.createElement("div");
    el.className = "toast toast-" + kind;
    el.setAttribute("role", lasting ? "alert" : "status");
    el.setAttribute("data-bs-autohide", lasting ? "false" : "true");
    el.setAttribute("data-autoshow", "");
    var row = document.createElement("div");
    row.className = "toast-row";
    var icon = document.createElement("i");
    icon.className = "bi toast-icon " + (TOAST_ICONS[kind] || TOAST_ICONS.info);
    icon.setAttribute("aria-hidden", "true");
    var body = document.createElement("div");
    body.className = "toast-text";
    body.textContent = text;
    var close = document.createElement("button");
    close.type = "button";
    close.className = "btn-close";
    close.setAttribute("data-bs-dismiss", "toast");
    close.setAttribute("aria-label", "Close");
    row.appendChild(icon);
    row.appendChild(body);
    row.appendChild(close);
    el.appendChild(row);
    container.appendChild(el);
    showToasts(container);
  }
  window.daliToast = addToast;
})();

// The generator panel (quick_generate.html): each change asks the server for what depends on the changed
// field only. Without eval (the Content-Security-Policy forbids it), the field's name travels as `changed`;
// a change of the character's references (an event, not a field) counts as a change of model.
document.addEventListener("htmx:configRequest", function (event) {
  var elt = event.detail.elt;
  if (!elt || !elt.hasAttribute || !elt.hasAttribute("data-generator-changes")) return;
  var trigger = event.detail.triggeringEvent;
  var target = trigger && trigger.target;
  event.detail.parameters.changed = target && target.name ? target.name : "model";
});

// The queue badge polls only on pages without a poller of their own (base.html). A trigger filter would need
// eval, which the Content-Security-Policy forbids: the timed request is cancelled here instead.
document.addEventListener("htmx:confirm", function (event) {
  var elt = event.detail.elt;
  var trigger = event.detail.triggeringEvent;
  if (!elt || !elt.hasAttribute || !elt.hasAttribute("data-poll-unless-page-polls")) return;
  // A timed request comes with no triggering event; an event (portraitsChanged, jobsChanged) always goes through.
  if (!trigger && document.querySelector("[data-page-poller]")) event.preventDefault();
});
