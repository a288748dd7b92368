// The case page (/bo/dossiers/{ref}), in a browser with script:
// - "Insérer le modèle" puts the chosen reply template into the message
//   where the cursor is, without reloading the page and without losing what
//   was typed (without script, the same button posts the form to
//   /bo/dossiers/{ref}/modele, which sends it back with the template added);
// - leaving the page (another form, a link) with a reply typed and not
//   recorded asks first.
(function () {
  "use strict";
  var form = document.getElementById("form-reponse");
  var message = document.getElementById("message");
  if (!form || !message) { return; }
  var choice = document.getElementById("modele");
  var insert = form.querySelector("button[data-inserer]");
  var subject = document.getElementById("objet");
  var status = document.getElementById("modele-statut");
  var typedSubject = false;
  if (subject) { subject.addEventListener("input", function () { typedSubject = true; }); }

  // The cursor of the message is where the person left it; before they
  // ever touch the message, the end.
  var touched = false;
  ["focus", "keyup", "mouseup", "select"].forEach(function (t) {
    message.addEventListener(t, function () { touched = true; });
  });

  function put(text) {
    var at = touched ? message.selectionEnd : message.value.length;
    var before = message.value.slice(0, at), after = message.value.slice(at);
    // A template is whole paragraphs: a blank line around it.
    var lead = "";
    if (before.trim() !== "") { lead = /\n\n$/.test(before) ? "" : (/\n$/.test(before) ? "\n" : "\n\n"); }
    var tail = after.trim() !== "" && !/^\n/.test(after) ? "\n\n" : "";
    var piece = lead + text + tail;
    message.focus();
    message.setSelectionRange(at, at);
    // insertText keeps the browser's undo (Ctrl+Z); setRangeText where it
    // is not supported.
    var done = false;
    try { done = document.execCommand("insertText", false, piece); } catch (e) { done = false; }
    if (!done || message.value.indexOf(text) < 0) {
      message.setRangeText(piece, at, at, "end");
      message.dispatchEvent(new Event("input", { bubbles: true }));
    }
    var end = at + lead.length + text.length;
    message.setSelectionRange(end, end);
    touched = true;
  }

  if (choice && insert) {
    insert.addEventListener("click", function (ev) {
      ev.preventDefault();
      var opt = choice.options[choice.selectedIndex];
      if (!opt || !opt.value) {
        status.textContent = "Choisissez d'abord un modèle dans la liste.";
        choice.focus();
        return;
      }
      var text = opt.getAttribute("data-texte") || "";
      put(text);
      if (subject && !typedSubject && opt.getAttribute("data-objet")) { subject.value = opt.getAttribute("data-objet"); }
      status.textContent = "Modèle « " + opt.textContent + " » inséré dans le message" +
        (text.indexOf("…") >= 0 ? " : remplacez les « … » et relisez avant d'enregistrer." : " : relisez-le avant d'enregistrer.");
    });
  }

  // A reply typed and not recorded is not lost by leaving the page unawares.
  var initial = message.value;
  var sending = false;
  form.addEventListener("submit", function () { sending = true; });
  window.addEventListener("beforeunload", function (ev) {
    if (!sending && message.value.trim() !== "" && message.value !== initial) {
      ev.preventDefault();
      ev.returnValue = "";
    }
  });
})();
