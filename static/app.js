// Progressive enhancements; every page works without this file.
(function () {
  "use strict";

  // The menu folds behind its button on narrow screens only when this script runs.
  document.documentElement.classList.add("js");
  document.addEventListener("click", function (event) {
    var toggle = event.target.closest && event.target.closest(".menu-toggle");
    if (!toggle) return;
    var menu = document.getElementById(toggle.getAttribute("aria-controls"));
    var open = toggle.getAttribute("aria-expanded") !== "true";
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
    menu.classList.toggle("open", open);
  });

  // A table wider than its box scrolls inside it: the box takes the keyboard focus, so arrow
  // keys scroll it too.
  function markScrollingTables() {
    Array.prototype.forEach.call(document.querySelectorAll(".table-wrap"), function (box) {
      if (box.scrollWidth > box.clientWidth) box.setAttribute("tabindex", "0");
      else box.removeAttribute("tabindex");
    });
  }
  document.addEventListener("DOMContentLoaded", markScrollingTables);
  window.addEventListener("resize", markScrollingTables);
  document.addEventListener("htmx:load", markScrollingTables);

  // A form with data-confirm asks before it submits (cancel, delete, rollback, reset).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var submitter = event.submitter;
    var message = (submitter && submitter.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  // htmx requests from such forms ask too (htmx listens to submit itself).
  document.addEventListener("htmx:confirm", function (event) {
    var elt = event.detail.elt;
    var message = elt && elt.getAttribute && elt.getAttribute("data-confirm");
    if (!message) return;
    event.preventDefault();
    if (window.confirm(message)) event.detail.issueRequest(true);
  });

  // Transcript and evidence timestamps seek the player instead of opening the audio file.
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[data-seek]");
    var player = document.getElementById("player");
    if (!link || !player) return;
    event.preventDefault();
    player.currentTime = parseFloat(link.getAttribute("data-seek")) || 0;
    var playing = player.play();
    if (playing && playing.catch) playing.catch(function () {});
  });

  // Highlight the segment being heard.
  document.addEventListener("DOMContentLoaded", function () {
    var player = document.getElementById("player");
    if (!player) return;
    var segments = Array.prototype.slice.call(document.querySelectorAll(".segment"));
    player.addEventListener("timeupdate", function () {
      var t = player.currentTime, current = null;
      segments.forEach(function (seg) {
        var start = parseFloat(seg.querySelector("a[data-seek]").getAttribute("data-seek"));
        if (start <= t) current = seg;
      });
      segments.forEach(function (seg) { seg.classList.toggle("current", seg === current); });
    });
  });
})();
