// Dali Studio: the colour mode, set on <html> before the first paint (this file loads without defer, first in
// <head>; it is a file, not an inline script, so a Content-Security-Policy needs no 'unsafe-inline').
// The choice ("light", "dark" or "auto", which follows the OS) is remembered in localStorage; the navbar's
// menu (app.js) calls daliTheme.set. The "js" class lets the CSS tell pages with scripts from pages without.
(function () {
  "use strict";
  var KEY = "dali-theme";
  var root = document.documentElement;
  var media = window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)") : null;
  root.classList.add("js");

  function stored() {
    var value = null;
    try { value = window.localStorage.getItem(KEY); } catch (error) { /* storage blocked: auto */ }
    return value === "light" || value === "dark" ? value : "auto";
  }

  function apply(choice) {
    var dark = choice === "dark" || (choice === "auto" && !!media && media.matches);
    root.setAttribute("data-bs-theme", dark ? "dark" : "light");
    root.setAttribute("data-theme-choice", choice);
    document.dispatchEvent(new CustomEvent("dali:theme", { detail: { choice: choice, dark: dark } }));
  }

  function set(choice) {
    try {
      if (choice === "auto") window.localStorage.removeItem(KEY);
      else window.localStorage.setItem(KEY, choice);
    } catch (error) { /* storage blocked: the choice lasts for this page */ }
    apply(choice);
  }

  apply(stored());
  if (media) {
    var follow = function () { if (root.getAttribute("data-theme-choice") === "auto") apply("auto"); };
    if (media.addEventListener) media.addEventListener("change", follow);
    else if (media.addListener) media.addListener(follow);
  }
  // Another tab changed it.
  window.addEventListener("storage", function (event) { if (event.key === KEY) apply(stored()); });

  window.daliTheme = { get: function () { return root.getAttribute("data-theme-choice") || "auto"; }, set: set };
})();
