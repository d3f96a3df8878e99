// Depth-frame viewer: the colormap picker closes on a choice and shows it. Without JS it is a disclosure of
// radio buttons and the Show button applies the choice.
(function () {
  "use strict";

  function picker() { return document.getElementById("frames-colormap"); }

  function showChoice(radio) {
    var details = picker();
    if (!details) return;
    var name = details.querySelector(".colormap-name");
    var current = details.querySelector("summary .cmap-swatch");
    var swatch = radio.parentElement.querySelector(".cmap-swatch");
    if (name) name.textContent = radio.value;
    if (swatch) {
      if (!current) {
        current = document.createElement("span");
        current.className = "cmap-swatch";
        current.setAttribute("aria-hidden", "true");
        name.before(current);
      }
      current.style.setProperty("--cmap", swatch.style.getPropertyValue("--cmap"));
    }
  }

  function close(focusSummary) {
    var details = picker();
    if (!details || !details.open) return;
    details.open = false;
    if (focusSummary) details.querySelector("summary").focus();
  }

  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches("#frames-colormap input[type=radio]")) showChoice(event.target);
  });
  // A pointer click picks and closes; arrow keys move the choice and leave the list open.
  document.addEventListener("click", function (event) {
    var details = picker();
    if (!details || !details.open) return;
    if (!details.contains(event.target)) { close(false); return; }
    if (event.detail > 0 && event.target.closest(".colormap-option")) close(true);
  });
  document.addEventListener("keydown", function (event) {
    var details = picker();
    if (!details || !details.open || !details.contains(event.target)) return;
    if (event.key === "Escape" || (event.key === "Enter" && event.target.type === "radio")) {
      if (event.key === "Enter") event.preventDefault();
      close(true);
    }
  });
  // On opening, the chosen colormap is in view.
  document.addEventListener("toggle", function (event) {
    if (event.target !== picker() || !event.target.open) return;
    // Centred in the list, with its group's heading above it; the page itself does not scroll.
    var checked = event.target.querySelector("input:checked");
    var panel = event.target.querySelector(".colormap-panel");
    if (checked && panel) {
      var option = checked.closest(".colormap-option");
      panel.scrollTop = option.offsetTop - (panel.clientHeight - option.offsetHeight) / 2;
    }
  }, true);
})();
