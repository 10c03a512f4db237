/*
 * The desk's login page (a native ES module): POST /api/login, then the user's own page: the
 * branch page for branch staff, the console for everyone else (the desk redirects a wrong
 * guess too).
 */
import { byId, requestJson, showMessage } from "./page.js";

var form = byId("login-form");
var button = byId("login-button");
var error = byId("login-error");

/** Where a user lands after logging in: their role's page. */
function landingPage(user) {
  return user && user.role === "branch_staff" ? "/branch" : "/console";
}

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
        window.location.assign(landingPage(response.body));
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
