/* The agent login page: POST /api/login, then the console. */
(function () {
  "use strict";
  var form = document.getElementById("login-form");
  var button = document.getElementById("login-button");
  var error = document.getElementById("login-error");

  function showError(text) {
    error.textContent = text;
    error.hidden = !text;
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var username = form.username.value.trim();
    var password = form.password.value;
    if (!username || !password) {
      showError("Enter your username and password.");
      return;
    }
    button.disabled = true;
    showError("");
    window.fetch("/api/login", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      credentials: "same-origin",
      body: JSON.stringify({ username: username, password: password })
    }).then(function (response) {
      if (response.ok) {
        window.location.assign("/console");
        return;
      }
      if (response.status === 401 || response.status === 422) {
        showError("Wrong username or password.");
      } else {
        showError("Logging in failed (" + response.status + "). Try again in a moment.");
      }
      button.disabled = false;
      form.password.value = "";
      form.password.focus();
    }).catch(function () {
      showError("The desk cannot be reached. Check your connection and try again.");
      button.disabled = false;
    });
  });
}());
