// The request form's map (Leaflet, served from /static/leaflet/): a pin
// placed by a click or a tap and dragged, or put at the centre of the map
// from the keyboard, or at the citizen's position when they ask; its
// coordinates in the hidden fields lat and lon; the address, postal code
// and commune filled from it when the server finds them, never over what
// the citizen typed. Comfort only: without JavaScript or without Leaflet,
// nothing of the map shows and the address fields are there as ever.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var bloc = document.getElementById("carte-bloc");
    var L = window.L;
    if (!bloc || !L || typeof L.map !== "function") { return; }
    var lat = document.getElementById("lat");
    var lon = document.getElementById("lon");
    var statut = document.getElementById("carte-statut");
    var centre = document.getElementById("repere-centre");
    var retirer = document.getElementById("repere-retirer");
    var position = document.getElementById("ma-position");
    var sansFond = document.getElementById("carte-sans-fond");
    var adresse = document.getElementById("adresse");
    var cp = document.getElementById("code_postal");
    var commune = document.getElementById("commune");
    var lookupURL = bloc.getAttribute("data-adresse");
    var b = bloc.getAttribute("data-limites").split(",").map(Number); // south, west, north, east
    var limites = L.latLngBounds([b[0], b[1]], [b[2], b[3]]);

    bloc.hidden = false;
    var map = L.map("carte", {
      zoomControl: false,
      attributionControl: false, // the credit is written under the map
      scrollWheelZoom: false,    // the page scrolls over the map; + and − zoom
      maxBounds: limites,
      minZoom: 9,
      maxZoom: 19,
      keyboard: true
    });
    L.control.zoom({ zoomInTitle: "Zoomer", zoomOutTitle: "Dézoomer" }).addTo(map);
    var fond = L.tileLayer(bloc.getAttribute("data-tuiles"), { minZoom: 9, maxZoom: 19 });
    fond.once("tileerror", function () { sansFond.hidden = false; });
    fond.addTo(map);

    // say tells screen readers (and shows) what just happened.
    function say(text) {
      if (statut.textContent === text) {
        statut.textContent = "";
        window.setTimeout(function () { statut.textContent = text; }, 100);
        return;
      }
      statut.textContent = text;
    }

    // A field is the map's to fill when it is empty, or still holds what
    // the map put there.
    function fillable(el) { return el.value === "" || el.getAttribute("data-par-carte") === el.value; }
    // changed tells the other scripts (static/proches.js) that the map
    // changed a field: setting a value fires no event of its own.
    function changed(el) { el.dispatchEvent(new Event("change", { bubbles: true })); }
    function fill(el, value) {
      var before = el.value;
      el.value = value;
      el.setAttribute("data-par-carte", value);
      if (before !== value) { changed(el); }
    }
    function narrowCommunes() { cp.dispatchEvent(new Event("input", { bubbles: true })); }
    // unfill empties the fields that still hold what the map put there
    // (a pin moved where nothing is known), and says whether it did.
    function unfill(fields) {
      var emptied = false;
      fields.forEach(function (el) {
        var by = el.getAttribute("data-par-carte");
        if (by !== null && by === el.value && el.value !== "") { el.value = ""; emptied = true; }
        el.removeAttribute("data-par-carte");
      });
      if (fields.indexOf(cp) >= 0) { narrowCommunes(); }
      return emptied;
    }
    function offered(insee) {
      var o = commune.querySelector("option[value='" + insee + "']");
      return o && !o.disabled;
    }

    var marker = null;
    var asked = 0; // the last look-up: an older answer that arrives late is dropped

    // place puts the pin at ll; said is what to announce; look says
    // whether to look its address up.
    function place(ll, said, look) {
      ll = L.latLng(Math.round(ll.lat * 1e6) / 1e6, Math.round(ll.lng * 1e6) / 1e6);
      if (!limites.contains(ll)) {
        say("Ce point est hors de la Métropole Aix-Marseille-Provence : le repère n'a pas été placé.");
        return;
      }
      if (marker) {
        marker.setLatLng(ll);
      } else {
        marker = L.marker(ll, { draggable: true, keyboard: false, alt: "Repère du lieu concerné", title: "Repère : faites-le glisser pour le déplacer" }).addTo(map);
        marker.on("dragend", function () { place(marker.getLatLng(), "Repère déplacé.", true); });
      }
      lat.value = ll.lat.toFixed(6);
      lon.value = ll.lng.toFixed(6);
      changed(lat);
      retirer.hidden = false;
      if (look) { lookUp(ll, said); }
    }

    function lookUp(ll, said) {
      if (!lookupURL || !window.fetch) {
        say(said + " Indiquez l'adresse ci-dessous si vous le souhaitez.");
        return;
      }
      var n = ++asked;
      say(said + " Recherche de l'adresse…");
      fetch(lookupURL + "?lat=" + ll.lat.toFixed(6) + "&lon=" + ll.lng.toFixed(6), { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (r) { return r.json().then(function (body) { return { ok: r.ok, body: body }; }); })
        .then(function (res) {
          if (n !== asked) { return; }
          if (!res.ok) {
            var emptied = unfill([adresse, cp, commune]);
            say(said + " " + (res.body.erreur || "L'adresse n'a pas été trouvée ; indiquez-la ci-dessous si vous le souhaitez.") +
              (emptied ? " Les champs remplis depuis la carte ont été vidés." : ""));
            return;
          }
          say(said + " " + fillFrom(res.body));
        })
        .catch(function () {
          if (n !== asked) { return; }
          var emptied = unfill([adresse, cp, commune]);
          say(said + " L'adresse n'a pas pu être recherchée ; indiquez-la ci-dessous si vous le souhaitez." +
            (emptied ? " Les champs remplis depuis la carte ont été vidés." : ""));
        });
    }

    // fillFrom fills the empty fields (or those the map filled) from the
    // address found, and says what it did.
    function fillFrom(a) {
      var filled = [], kept = false;
      if (!a.adresse) {
        unfill([adresse]); // far from any address: the one of the last pin goes
      } else {
        if (fillable(adresse)) {
          if (adresse.value !== a.adresse) { filled.push("l'adresse"); }
          fill(adresse, a.adresse);
        } else if (adresse.value !== a.adresse) {
          kept = true;
        }
      }
      // The postal code and the commune go together: the postal code
      // narrows the list of communes, which must not drop a commune the
      // citizen chose.
      var before = commune.value, communeMine = fillable(commune);
      var cpOK = fillable(cp) || (a.code_postal && cp.value === a.code_postal);
      if (a.commune && cpOK && (communeMine || before === a.commune)) {
        if (!a.code_postal) {
          unfill([cp]); // the last pin's postal code may not be this commune's
        } else if (cp.value !== a.code_postal) {
          fill(cp, a.code_postal);
          filled.push("le code postal");
          narrowCommunes();
        }
        if (communeMine) {
          fill(commune, a.commune);
          if (before !== a.commune) { filled.push("la commune"); }
        }
      } else if (a.commune) {
        kept = true;
        if (communeMine && offered(a.commune)) { fill(commune, a.commune); filled.push("la commune"); }
      }
      var text = (a.adresse ? "Adresse trouvée : " : "Commune trouvée : ") + a.libelle + ".";
      if (filled.length) {
        text += " Champs remplis depuis la carte : " + filled.join(", ") + ".";
      }
      if (kept) {
        text += " Ce que vous avez saisi n'a pas été modifié.";
      }
      return text;
    }

    map.on("click", function (e) { place(e.latlng, "Repère placé.", true); });
    centre.addEventListener("click", function () { place(map.getCenter(), "Repère placé au centre de la carte.", true); });
    retirer.addEventListener("click", function () {
      asked++;
      if (marker) { map.removeLayer(marker); marker = null; }
      lat.value = "";
      lon.value = "";
      changed(lat);
      var emptied = unfill([adresse, cp, commune]);
      retirer.hidden = true;
      centre.focus();
      say(emptied ? "Repère retiré ; les champs remplis depuis la carte ont été vidés." : "Repère retiré.");
    });

    if (!navigator.geolocation) {
      position.hidden = true;
    } else {
      position.addEventListener("click", function () {
        say("Recherche de votre position…");
        navigator.geolocation.getCurrentPosition(function (p) {
          var ll = L.latLng(p.coords.latitude, p.coords.longitude);
          if (!limites.contains(ll)) {
            say("Votre position semble hors de la Métropole Aix-Marseille-Provence : placez le repère sur la carte, ou indiquez l'adresse.");
            return;
          }
          map.setView(ll, 17);
          place(ll, "Repère placé à votre position.", true);
        }, function (e) {
          say(e.code === 1 ?
            "Vous n'avez pas autorisé l'accès à votre position. Placez le repère sur la carte, ou indiquez l'adresse." :
            "Votre position n'a pas pu être trouvée. Placez le repère sur la carte, ou indiquez l'adresse.");
        }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 0 });
      });
    }

    // The form sent back with an error keeps its pin.
    var y = parseFloat(lat.value), x = parseFloat(lon.value);
    if (isFinite(y) && isFinite(x) && limites.contains([y, x])) {
      map.setView([y, x], 17);
      place(L.latLng(y, x), "", false);
    } else {
      lat.value = "";
      lon.value = "";
      map.fitBounds(limites);
    }
  });
})();
