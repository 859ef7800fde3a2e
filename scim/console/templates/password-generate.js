// The new customer form's Generate button: it fills the temporary password
// field with a random password like the page's suggestion: 16 letters and
// digits not easily mistaken for one another, in four groups (about 79
// bits), shows it so that it can be
// copied, and says so. The button is hidden until this script runs: without
// it, the page's own suggestion is there to copy.
(function () {
  "use strict";
  var alphabet = "abcdefghjkmnpqrstuvwxyz23456789";
  function generate() {
    var out = "";
    var limit = 256 - (256 % alphabet.length); // no bias: bytes past it are drawn again
    var bytes = new Uint8Array(32);
    while (out.length < 16) {
      window.crypto.getRandomValues(bytes);
      for (var i = 0; i < bytes.length && out.length < 16; i++) {
        if (bytes[i] < limit) {
          out += alphabet.charAt(bytes[i] % alphabet.length);
        }
      }
    }
    return out.match(/.{4}/g).join("-");
  }
  function start() {
    var buttons = document.querySelectorAll("button[data-generate]");
    for (var i = 0; i < buttons.length; i++) {
      buttons[i].hidden = false;
      buttons[i].addEventListener("click", function (ev) {
        var button = ev.currentTarget;
        var field = document.getElementById(button.getAttribute("data-generate"));
        if (!field) {
          return;
        }
        field.type = "text";
        field.value = generate();
        field.dispatchEvent(new Event("input", {bubbles: true}));
        field.focus();
        field.select();
        var status = document.getElementById(field.id + "-generated");
        if (status) {
          status.textContent = "A password was generated and is shown in the field: copy it to give it to the customer.";
        }
      });
    }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
