// Comfort only: the form works without it.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    // Bring the error summary to the keyboard and screen reader at once.
    var summary = document.getElementById("erreurs");
    if (summary) {
      summary.focus();
      // A link of the summary puts the focus in the field, not only the view.
      summary.addEventListener("click", function (e) {
        var a = e.target.closest("a[href^='#']");
        var field = a && document.getElementById(a.getAttribute("href").slice(1));
        if (!field) { return; }
        e.preventDefault();
        if (field.tagName === "FIELDSET") { field = field.querySelector("input") || field; }
        field.focus();
        var label = document.querySelector("label[for='" + field.id + "']");
        (label || field).scrollIntoView({ block: "center" });
      });
    }

    // The postal code narrows the list of communes.
    var cp = document.getElementById("code_postal");
    var commune = document.getElementById("commune");
    if (!cp || !commune) { return; }
    var options = Array.prototype.slice.call(commune.options, 1);
    function narrow() {
      var code = cp.value.replace(/\s/g, "");
      var matching = options.filter(function (o) {
        return code.length < 5 || (" " + o.getAttribute("data-cp") + " ").indexOf(" " + code + " ") >= 0;
      });
      options.forEach(function (o) {
        var show = matching.indexOf(o) >= 0;
        o.hidden = !show;
        o.disabled = !show;
      });
      if (commune.selectedIndex > 0 && commune.options[commune.selectedIndex].disabled) {
        commune.selectedIndex = 0;
      }
      if (code.length === 5 && matching.length === 1) {
        commune.value = matching[0].value;
      }
    }
    cp.addEventListener("input", narrow);
    narrow();
  });
})();
