// The customer deletion page: Confirm stays disabled until the username is
// typed exactly. The server checks again: this only helps.
(function () {
  "use strict";
  var form = document.getElementById("delete-user");
  if (!form) { return; }
  var want = form.getAttribute("data-confirm");
  var input = document.getElementById("confirm");
  var button = document.getElementById("confirm-delete");
  function update() { button.disabled = input.value !== want; }
  input.addEventListener("input", update);
  update();
})();
