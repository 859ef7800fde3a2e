// Copy buttons of the console's settings: a button with data-copy="ID"
// copies the value of the readonly input ID to the clipboard. The buttons
// are hidden until this script runs: without it, people select the field
// and copy by hand.
(function () {
  "use strict";
  function copied(button, input, ok) {
    var status = document.getElementById(input.id + "-copied");
    if (status) {
      status.textContent = ok ? "Copied to the clipboard." : "Select the text and copy it (Ctrl+C or ⌘C).";
    }
  }
  function copy(button) {
    var input = document.getElementById(button.getAttribute("data-copy"));
    if (!input) {
      return;
    }
    input.focus();
    input.select();
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(
        function () { copied(button, input, true); },
        function () { copied(button, input, document.execCommand("copy")); });
      return;
    }
    copied(button, input, document.execCommand("copy"));
  }
  function start() {
    var buttons = document.querySelectorAll("button[data-copy]");
    for (var i = 0; i < buttons.length; i++) {
      buttons[i].hidden = false;
      buttons[i].addEventListener("click", function (ev) { copy(ev.currentTarget); });
    }
    var inputs = document.querySelectorAll(".copy-field input[readonly]");
    for (var j = 0; j < inputs.length; j++) {
      inputs[j].addEventListener("focus", function (ev) { ev.currentTarget.select(); });
    }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
