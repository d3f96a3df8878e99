// Character form on a phone: the sticky bar's Preview button shows the live preview as a sheet over the form
// (and hides it again); the link behind it jumps to the preview when there is no JS.
(function () {
  "use strict";
  var PHONE = window.matchMedia("(max-width: 991.98px)");

  function parts() {
    return { panel: document.getElementById("preview-panel"), toggle: document.querySelector(".preview-toggle") };
  }

  function setOpen(open) {
    var p = parts();
    if (!p.panel || !p.toggle) return;
    p.panel.classList.toggle("is-open", open);
    p.toggle.setAttribute("aria-expanded", open ? "true" : "false");
    p.toggle.classList.toggle("active", open);
    // Fields focused or scrolled to while the sheet is open stop above it, not behind it.
    document.documentElement.style.scrollPaddingBottom = open ? p.panel.getBoundingClientRect().height + 16 + "px" : "";
  }

  function trackBar() {
    var bar = document.querySelector(".character-form-bar");
    if (!bar) return;
    var update = function () {
      document.documentElement.style.setProperty("--dali-form-bar-height", bar.getBoundingClientRect().height + "px");
    };
    update();
    if (window.ResizeObserver) new ResizeObserver(update).observe(bar);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var p = parts();
    if (!p.toggle) return;
    p.toggle.setAttribute("aria-expanded", "false");
    p.toggle.setAttribute("role", "button");
    trackBar();
    p.toggle.addEventListener("click", function (event) {
      if (!PHONE.matches) return;
      event.preventDefault();
      setOpen(!parts().panel.classList.contains("is-open"));
    });
    // A link acting as a button answers Space as a button does.
    p.toggle.addEventListener("keydown", function (event) {
      if (event.key !== " ") return;
      event.preventDefault();
      p.toggle.click();
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && parts().panel.classList.contains("is-open")) {
        setOpen(false);
        parts().toggle.focus();
      }
    });
    PHONE.addEventListener("change", function () { if (!PHONE.matches) setOpen(false); });
  });
})();
