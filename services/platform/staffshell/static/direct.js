// Live notice of the back office's queue and triage page: a stream of
// server-sent events (/bo/direct) says how many cases of the viewer's queue
// arrived or changed; this script says so in a polite live region with a
// button to reload. It never reloads by itself, so that nothing typed and
// no focus is lost. The page works without it.
//
// A stream ends after some minutes; another is opened only if the person
// used the page recently, so that an unattended screen lets its session
// expire as it would without the script.
(function () {
  "use strict";
  var zone = document.querySelector(".direct[data-direct]");
  if (!zone || !window.EventSource) {
    return;
  }
  var url = zone.getAttribute("data-direct");
  var page = zone.getAttribute("data-page");
  var idle = 20 * 60 * 1000; // no reconnection after 20 minutes without use
  var lastUse = Date.now();
  var fresh = 0;
  var changed = 0;
  var source = null;
  var paused = false;
  var title = document.title;
  var text = null;

  function count(n, one, many) {
    return n + "\u00a0" + (n > 1 ? many : one);
  }

  function show() {
    var parts = [];
    if (fresh > 0) {
      parts.push(count(fresh, "nouveau dossier", "nouveaux dossiers"));
    }
    if (changed > 0) {
      parts.push(count(changed, "dossier modifié", "dossiers modifiés"));
    }
    if (parts.length === 0) {
      return;
    }
    if (!text) {
      text = document.createElement("span");
      var button = document.createElement("button");
      button.type = "button";
      button.className = "second";
      button.textContent = "Actualiser";
      button.addEventListener("click", function () {
        if (page) {
          window.location.assign(page);
        } else {
          window.location.reload();
        }
      });
      zone.appendChild(text);
      zone.appendChild(button);
    }
    text.textContent = parts.join(" et ") + " depuis l'affichage de la page.";
    document.title = (fresh > 0 ? "(" + fresh + ") " : "") + title;
  }

  function later(delay) {
    if (Date.now() - lastUse < idle) {
      window.setTimeout(connect, delay);
    } else {
      paused = true;
      zone.setAttribute("data-etat", "pause");
    }
  }

  function connect() {
    paused = false;
    source = new window.EventSource(url);
    source.addEventListener("pret", function () {
      zone.setAttribute("data-etat", "connecte");
    });
    source.addEventListener("change", function (e) {
      var d;
      try {
        d = JSON.parse(e.data);
      } catch (err) {
        return;
      }
      fresh += d.nouveaux || 0;
      changed += d.modifies || 0;
      show();
    });
    source.addEventListener("fin", function () {
      source.close();
      zone.setAttribute("data-etat", "fin");
      later(2000);
    });
    source.addEventListener("error", function () {
      // The browser retries by itself while the stream is CONNECTING; a
      // refusal (signed out, too many pages, server stopping) closes it.
      if (source.readyState === window.EventSource.CLOSED) {
        zone.setAttribute("data-etat", "ferme");
        later(60000);
      }
    });
  }

  function used() {
    lastUse = Date.now();
    if (paused) {
      connect();
    }
  }
  ["keydown", "pointerdown", "focusin"].forEach(function (type) {
    document.addEventListener(type, used, { passive: true });
  });
  window.addEventListener("scroll", used, { passive: true });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") {
      used();
    }
  });
  connect();
})();
