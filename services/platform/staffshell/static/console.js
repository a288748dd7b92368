// Console d'appels (/agent) : raccourcis clavier, et la référence du
// dossier d'un appel dès que le routeur l'a créé. La page fonctionne sans
// ce script : il ne fait qu'épargner des gestes.
(function () {
  "use strict";
  var form = document.getElementById("journal");
  if (!form) {
    return;
  }
  // What only works with this script is shown by it.
  Array.prototype.forEach.call(document.querySelectorAll(".js-seul"), function (e) {
    e.hidden = false;
  });

  function go(id) {
    var e = document.getElementById(id);
    if (!e) {
      return false;
    }
    var fold = e.closest("details");
    if (fold) {
      fold.open = true;
    }
    e.focus();
    if (e.type === "search") {
      e.select();
    }
    return true;
  }

  // Alt + a letter no browser menu and no screen reader takes (AltGr is
  // Ctrl + Alt, left alone); by the key's place, whatever the layout.
  var shortcuts = {
    KeyR: function () { return go("q"); },
    KeyJ: function () { return go("resume"); },
    KeyL: function () {
      var c = form.querySelector("input[name=cible]:checked") || form.querySelector("input[name=cible]");
      if (!c) {
        return false;
      }
      c.focus();
      return true;
    },
    KeyN: function () {
      var n = document.getElementById("cible-nouvelle");
      if (!n) {
        return false;
      }
      n.checked = true;
      targetTouched = true;
      return go("competence");
    }
  };

  var sent = false;
  form.addEventListener("submit", function (e) {
    // One call, one post: a second Ctrl + Entrée waits for the first.
    if (sent) {
      e.preventDefault();
    }
    sent = true;
  });
  window.addEventListener("pageshow", function () { sent = false; });

  document.addEventListener("keydown", function (e) {
    if (e.defaultPrevented || e.isComposing) {
      return;
    }
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey) && !e.altKey && !e.shiftKey) {
      var other = e.target.closest && e.target.closest("form");
      if (other && other !== form) {
        return; // the search, a call-back, a knowledge entry: their own forms
      }
      e.preventDefault();
      if (form.requestSubmit) {
        form.requestSubmit();
      } else {
        form.submit();
      }
      return;
    }
    if (e.altKey && !e.ctrlKey && !e.metaKey && !e.shiftKey) {
      var act = shortcuts[e.code];
      if (act && act()) {
        e.preventDefault();
      }
    }
  });

  var typed = false;
  var targetTouched = false;
  form.addEventListener("input", function () { typed = true; });
  form.addEventListener("change", function (e) {
    if (e.target.name === "cible") {
      targetTouched = true;
    }
  });

  // A new request's case is created by the router a moment after the call
  // is logged: ask for it, and show it as soon as it exists.
  var waiting = document.getElementById("dossier-appel");
  var url = waiting && waiting.getAttribute("data-suivi");
  if (!url || !window.fetch) {
    return;
  }
  var tries = 0;
  function found(ref, link) {
    var a = document.createElement("a");
    a.href = link;
    a.id = "dossier-appel";
    a.className = "ref-lue";
    a.textContent = ref;
    var refresh = waiting.nextElementSibling;
    if (refresh && refresh.tagName === "A") {
      refresh.remove();
    }
    waiting.replaceWith(a);
    if (!typed) {
      window.location.reload(); // the caller's cards, with the case preselected
      return;
    }
    if (document.getElementById("cible-" + ref)) {
      return;
    }
    // The agent is typing: the case joins the choices, chosen unless the
    // agent chose already.
    var nouvelle = document.getElementById("cible-nouvelle");
    var option = document.createElement("div");
    option.className = "option";
    var radio = document.createElement("input");
    radio.type = "radio";
    radio.name = "cible";
    radio.id = "cible-" + ref;
    radio.value = ref;
    var label = document.createElement("label");
    label.htmlFor = radio.id;
    label.textContent = ref + " — dossier de la demande qui vient d'être journalisée";
    option.appendChild(radio);
    option.appendChild(document.createTextNode(" "));
    option.appendChild(label);
    nouvelle.parentNode.parentNode.insertBefore(option, nouvelle.parentNode);
    if (!targetTouched) {
      radio.checked = true;
    }
  }
  function poll() {
    tries++;
    window.fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (s) {
        if (s && s.dossier) {
          found(s.dossier, s.lien);
        } else if (tries < 20) {
          window.setTimeout(poll, 1500);
        }
      })
      .catch(function () {
        if (tries < 20) {
          window.setTimeout(poll, 3000);
        }
      });
  }
  window.setTimeout(poll, 1000);
})();
