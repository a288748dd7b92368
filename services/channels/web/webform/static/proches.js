// « Déjà signalé près d'ici » as the citizen types: once the domain and a
// place (postal code, commune or the map's pin) are given, the open
// incidents near it are asked of /incidents-proches and shown in
// #proches-bloc with the same markup as templates/form.html. Comfort only:
// on any failure nothing changes, and the button « Voir d'abord ce qui est
// déjà signalé près d'ici » still shows the list without JavaScript.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var bloc = document.getElementById("proches-bloc");
    var url = bloc && bloc.getAttribute("data-proches");
    if (!url || !window.fetch || !window.AbortController) { return; }
    var field = {};
    ["competence", "code_postal", "commune", "lat", "lon"].forEach(function (id) { field[id] = document.getElementById(id); });
    if (!field.competence) { return; }
    var refPattern = /^INC-[0-9]{4}-[0-9]{6,9}$/;

    // The server's error about a chosen incident stays until the form is
    // sent again, as the server renders it (with the list or alone).
    var errorNode = document.getElementById("incident-erreur");
    var errorText = errorNode ? errorNode.textContent.replace(/^Erreur : /, "") : "";

    // A polite live region, there before anything is said into it.
    var statut = document.createElement("p");
    statut.className = "sr";
    statut.id = "proches-statut";
    statut.setAttribute("role", "status");
    statut.setAttribute("aria-live", "polite");
    bloc.parentNode.insertBefore(statut, bloc.nextSibling);

    // What is shown: the server's list at first, so that an answer equal
    // to it changes nothing and says nothing.
    function refsShown() {
      return Array.prototype.slice.call(bloc.querySelectorAll("input[name='incident']"))
        .map(function (r) { return r.value; }).filter(function (v) { return v !== ""; });
    }
    var shownRefs = refsShown().join(" ");
    var shownData = null; // the JSON of the list last rendered here

    function chosen() {
      var r = bloc.querySelector("input[name='incident']:checked");
      return r ? r.value : "";
    }

    function el(tag, attrs, text) {
      var n = document.createElement(tag);
      Object.keys(attrs || {}).forEach(function (k) { n.setAttribute(k, attrs[k]); });
      if (text !== undefined) { n.textContent = text; }
      return n;
    }

    function option(id, value, checked, label) {
      var div = el("div", { "class": "option" });
      var input = el("input", { type: "radio", name: "incident", id: id });
      input.value = value;
      input.checked = checked;
      div.appendChild(input);
      var l = el("label", { "for": id });
      label.forEach(function (part) { l.appendChild(typeof part === "string" ? document.createTextNode(part) : part); });
      div.appendChild(l);
      return div;
    }

    // render replaces the list by these incidents (the same markup as the
    // template), keeping the citizen's choice when it is still listed.
    function render(list) {
      var data = JSON.stringify(list);
      if (data === shownData) { return; }
      shownData = data;
      var keep = chosen();
      var refs = list.map(function (i) { return i.ref; });
      var lost = keep !== "" && refs.indexOf(keep) < 0;
      while (bloc.firstChild) { bloc.removeChild(bloc.firstChild); }
      if (list.length > 0 || errorText) {
        var fs = el("fieldset", { "class": "champ" + (errorText ? " en-erreur" : ""), id: "incident" });
        if (errorText) { fs.setAttribute("aria-describedby", "incident-erreur"); }
        fs.appendChild(el("legend", {}, "Déjà signalé près d'ici"));
        fs.appendChild(el("p", { "class": "aide" }, "Ces problèmes ont déjà été signalés. Si c'est le même, choisissez-le : votre demande s'y ajoute, et vous recevez votre propre code de suivi et les avis de son traitement."));
        if (errorText) {
          var e = el("p", { "class": "erreur-champ", id: "incident-erreur" });
          e.appendChild(el("span", { "class": "sr" }, "Erreur : "));
          e.appendChild(document.createTextNode(errorText));
          fs.appendChild(e);
        }
        list.forEach(function (i) {
          var label = ["C'est le même problème : ", el("strong", {}, i.label || "signalement")];
          if (i.place) { label.push(", " + i.place); }
          label.push(" — signalé depuis le " + i.since + ", " + i.reports + " signalement(s)");
          fs.appendChild(option("incident-" + i.ref, i.ref, i.ref === keep, label));
        });
        fs.appendChild(option("incident-aucun", "", refs.indexOf(keep) < 0, ["Non, c'est un autre problème"]));
        bloc.appendChild(fs);
      }
      // Said only when what is listed changes, and only when there is
      // something to choose (or a choice went away).
      var key = refs.join(" ");
      if (key === shownRefs && !lost) { return; }
      shownRefs = key;
      var said = "";
      if (list.length === 1) {
        said = "1 problème déjà signalé près d'ici dans ce domaine.";
      } else if (list.length > 1) {
        said = list.length + " problèmes déjà signalés près d'ici dans ce domaine.";
      }
      if (lost) {
        said += (said ? " " : "") + "Le problème que vous aviez choisi n'est plus dans la liste.";
      }
      statut.textContent = said;
    }

    // valid keeps what the server promises: a reference of the right shape
    // and plain text; anything else is left out.
    function valid(i) {
      return i && typeof i.ref === "string" && refPattern.test(i.ref) && typeof i.since === "string" &&
        (i.label === undefined || typeof i.label === "string") && (i.place === undefined || typeof i.place === "string") &&
        typeof i.reports === "number";
    }

    function value(id) { return field[id] ? field[id].value.trim() : ""; }

    var timer = 0, pending = null, asked = 0;
    function look() {
      if (pending) { pending.abort(); pending = null; }
      var q = { competence: value("competence"), code_postal: value("code_postal").replace(/\s/g, ""),
        commune: value("commune"), lat: value("lat"), lon: value("lon") };
      var placed = /^[0-9]{5}$/.test(q.code_postal) || q.commune !== "" || (q.lat !== "" && q.lon !== "");
      var n = ++asked;
      if (q.competence === "" || !placed) {
        render([]);
        return;
      }
      var query = Object.keys(q).filter(function (k) { return q[k] !== ""; })
        .map(function (k) { return encodeURIComponent(k) + "=" + encodeURIComponent(q[k]); }).join("&");
      var ctrl = new AbortController();
      pending = ctrl;
      var stop = window.setTimeout(function () { ctrl.abort(); }, 3000);
      fetch(url + "?" + query, { headers: { Accept: "application/json" }, credentials: "same-origin", signal: ctrl.signal })
        .then(function (r) {
          if (!r.ok) { throw new Error("HTTP " + r.status); }
          return r.json();
        })
        .then(function (body) {
          if (n !== asked || !body || !Array.isArray(body.incidents)) { return; }
          render(body.incidents.filter(valid));
        })
        .catch(function () { /* the button still works: nothing to say */ })
        .then(function () {
          window.clearTimeout(stop);
          if (pending === ctrl) { pending = null; }
        });
    }

    function changed(e) {
      var t = e.target;
      if (!t || !t.id || !field[t.id] || field[t.id] !== t) { return; }
      window.clearTimeout(timer);
      timer = window.setTimeout(look, 400);
    }
    // The map (static/carte.js) sends change on #lat and the fields it
    // fills; the postal code narrows the communes (static/guichet.js).
    document.addEventListener("input", changed);
    document.addEventListener("change", changed);
  });
})();
