// Dali Studio: the little JavaScript the pages need. Everything works without it.
(function () {
  "use strict";

  function showToasts(root) {
    if (!window.bootstrap) return;
    root.querySelectorAll(".toast[data-autoshow]").forEach(function (el) {
      el.removeAttribute("data-autoshow");
      var toast = bootstrap.Toast.getOrCreateInstance(el, { delay: 6000 });
      el.addEventListener("hidden.bs.toast", function () { el.remove(); });
      toast.show();
    });
  }

  document.addEventListener("DOMContentLoaded", function () { showToasts(document); });
  document.addEventListener("htmx:afterSettle", function () { showToasts(document); });

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
    var text = status === 429 ? (throttleMessage(event.detail.xhr) || "Too many requests; wait a moment and try again.")
      : status >= 500 ? "Something went wrong on the server; nothing was lost. Try again."
      : "That request could not be completed (" + status + ").";
    addToast(text, "danger");
  });
  document.addEventListener("htmx:sendError", function () {
    addToast("The studio could not be reached. Check your connection and try again.", "danger");
  });

  // --- Content-Security-Policy: behaviour that used to be inline (scripts, on* attributes, hx-on) ---------
  // The server's 429 partial (studio/throttle.py) says which limit was passed and when to try again.
  function throttleMessage(xhr) {
    var doc = new DOMParser().parseFromString(xhr.responseText || "", "text/html");
    var el = doc.querySelector("[data-throttled]");
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

  function addToast(text, kind) {
    var container = document.getElementById("toasts");
    if (!container) return;
    var el = document.createElement("div");
    el.className = "toast align-items-center border-0 text-bg-" + kind;
    el.setAttribute("role", "alert");
    el.setAttribute("data-autoshow", "");
    var row = document.createElement("div");
    row.className = "d-flex";
    var body = document.createElement("div");
    body.className = "toast-body";
    body.textContent = text;
    var close = document.createElement("button");
    close.type = "button";
    close.className = "btn-close btn-close-white me-2 m-auto";
    close.setAttribute("data-bs-dismiss", "toast");
    close.setAttribute("aria-label", "Close");
    row.appendChild(body);
    row.appendChild(close);
    el.appendChild(row);
    container.appendChild(el);
    showToasts(container);
  }
  window.daliToast = addToast;
})();
