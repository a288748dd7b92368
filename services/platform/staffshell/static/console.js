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

// « Déjà signalé près d'ici » : la liste suit le domaine et la commune à
// mesure que l'agent les saisit (sans ce script, le bouton « Voir ce qui
// est déjà signalé » l'affiche). Rien des personnes qui ont signalé.
(function () {
  "use strict";
  var bloc = document.getElementById("proches-bloc");
  var domaine = document.getElementById("competence");
  var lieu = document.getElementById("lieu");
  var statut = document.getElementById("proches-statut");
  if (!bloc || !domaine || !lieu || !window.fetch || !window.AbortController) {
    return;
  }
  var minuterie = null;
  var enCours = null;
  var dernier = "";

  function option(id, value, checked, build) {
    var div = document.createElement("div");
    div.className = "option";
    var input = document.createElement("input");
    input.type = "radio";
    input.name = "incident";
    input.id = id;
    input.value = value;
    input.checked = checked;
    var label = document.createElement("label");
    label.htmlFor = id;
    build(label);
    div.appendChild(input);
    div.appendChild(label);
    return div;
  }

  function afficher(incidents) {
    var choisi = bloc.querySelector("input[name=incident]:checked");
    var garde = choisi ? choisi.value : "";
    bloc.textContent = "";
    if (!incidents.length) {
      statut.textContent = "";
      return;
    }
    var fs = document.createElement("fieldset");
    fs.id = "incident";
    var legend = document.createElement("legend");
    legend.textContent = "Déjà signalé près d'ici";
    fs.appendChild(legend);
    var listed = false;
    incidents.forEach(function (inc) {
      listed = listed || inc.ref === garde;
      fs.appendChild(option("incident-" + inc.ref, inc.ref, inc.ref === garde, function (label) {
        label.appendChild(document.createTextNode("Le même problème : "));
        var strong = document.createElement("strong");
        strong.textContent = inc.label || "signalement";
        label.appendChild(strong);
        label.appendChild(document.createTextNode((inc.place ? ", " + inc.place : "") +
          " — depuis le " + inc.since + ", " + inc.reports + " signalement(s)"));
      }));
    });
    fs.appendChild(option("incident-aucun", "", !listed, function (label) {
      label.textContent = "Non, c'est un autre problème";
    }));
    bloc.appendChild(fs);
    statut.textContent = incidents.length === 1 ? "1 problème déjà signalé près d'ici dans ce domaine" :
      incidents.length + " problèmes déjà signalés près d'ici dans ce domaine";
  }

  function demander() {
    var q = "competence=" + encodeURIComponent(domaine.value) + "&lieu=" + encodeURIComponent(lieu.value.trim());
    if (q === dernier) {
      return;
    }
    dernier = q;
    if (enCours) {
      enCours.abort();
    }
    if (!domaine.value || !lieu.value.trim()) {
      afficher([]);
      return;
    }
    var ctl = new AbortController();
    enCours = ctl;
    var delai = setTimeout(function () { ctl.abort(); }, 3000);
    fetch(bloc.getAttribute("data-proches") + "?" + q, { signal: ctl.signal, credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : { incidents: [] }; })
      .then(function (data) {
        if (enCours === ctl) {
          afficher(Array.isArray(data.incidents) ? data.incidents : []);
        }
      })
      .catch(function () { /* la liste reste telle quelle ; le bouton demeure */ })
      .then(function () { clearTimeout(delai); });
  }

  function bientot() {
    clearTimeout(minuterie);
    minuterie = setTimeout(demander, 400);
  }
  domaine.addEventListener("change", bientot);
  lieu.addEventListener("input", bientot);
}());
