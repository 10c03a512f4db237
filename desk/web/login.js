/* The agent login page (a native ES module): POST /api/login, then the console. */
import { byId, requestJson, showMessage } from "./page.js";

var form = byId("login-form");
var button = byId("login-button");
var error = byId("login-error");

form.addEventListener("submit", function (event) {
  event.preventDefault();
  var username = form.username.value.trim();
  var password = form.password.value;
  if (!username || !password) {
    showMessage(error, "Enter your username and password.");
    return;
  }
  button.disabled = true;
  showMessage(error, "");
  requestJson("POST", "/api/login", { username: username, password: password })
    .then(function (response) {
      if (response.ok) {
        window.location.assign("/console");
        return;
      }
      if (response.status === 401 || response.status === 422) {
        showMessage(error, "Wrong username or password.");
      } else {
        showMessage(error, "Logging in failed (" + response.status + "). Try again in a moment.");
      }
      button.disabled = false;
      form.password.value = "";
      form.password.focus();
    }).catch(function () {
      showMessage(error, "The desk cannot be reached. Check your connection and try again.");
      button.disabled = false;
    });
});
