// The sign-in page posts its one-time link at once (link previewers fetch but never post).
document.addEventListener("DOMContentLoaded", function () {
  var form = document.getElementById("sign-in");
  if (form) { form.submit(); }
});
