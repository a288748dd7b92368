// The console's knowledge-base panel, live: the answers are proposed as the
// agent types the call's summary (while no question is typed in the panel),
// and the panel's search answers without reloading the page — so nothing
// typed in the call form is lost. Without this script the panel's form
// reloads the console with its results.
(function () {
  "use strict";
  var form = document.getElementById("fiches-recherche");
  var results = document.getElementById("fiches-resultats");
  var status = document.getElementById("fiches-etat");
  if (!form || !results || !status || !window.fetch || !window.URLSearchParams) {
    return;
  }
  var question = document.getElementById("fq");
  var territory = document.getElementById("ft");
  var summary = document.querySelector("textarea[name=resume]");
  var endpoint = form.getAttribute("data-suggestions");
  var maxText = 2000; // knowledge.MaxQuery
  var timer = null;
  var last = "";
  var pending = null;

  // params are the panel's hidden state (caller, call) with the text.
  function params(text, origin) {
    var p = new URLSearchParams();
    Array.prototype.forEach.call(form.querySelectorAll("input[type=hidden]"), function (i) {
      p.append(i.name, i.value);
    });
    p.set("texte", text.slice(0, maxText));
    p.set("origine", origin);
    p.set("ft", territory ? territory.value : "");
    return p;
  }

  // show asks for the results and puts them in the panel; false when the
  // server refused (the form then submits the ordinary way).
  function show(text, origin) {
    var key = origin + "\u0000" + (territory ? territory.value : "") + "\u0000" + text;
    if (key === last) {
      return Promise.resolve(true);
    }
    if (pending) {
      pending.abort();
    }
    pending = new AbortController();
    return fetch(endpoint + "?" + params(text, origin).toString(), {
      credentials: "same-origin",
      headers: { "Accept": "text/html" },
      signal: pending.signal
    }).then(function (resp) {
      if (!resp.ok) {
        return false;
      }
      return resp.text().then(function (html) {
        last = key;
        results.innerHTML = html;
        var count = results.querySelector("[data-nombre]");
        var n = count ? parseInt(count.getAttribute("data-nombre"), 10) : 0;
        var words = n === 0 ? "Aucune réponse type" : n === 1 ? "1 réponse type" : n + " réponses types";
        status.textContent = words + (origin === "resume" ? " d'après le résumé de l'appel." : " pour votre question.");
        return true;
      });
    }).catch(function (err) {
      return err && err.name === "AbortError";
    });
  }

  form.addEventListener("submit", function (ev) {
    var text = question ? question.value.trim() : "";
    var origin = "question";
    if (text === "" && summary && summary.value.trim() !== "") {
      text = summary.value.trim();
      origin = "resume";
    }
    if (text === "" || text.length > 500 && origin === "question") {
      return; // the server says what is wrong, beside the field
    }
    ev.preventDefault();
    show(text, origin).then(function (ok) {
      if (!ok) {
        form.submit();
      }
    });
  });

  if (summary) {
    summary.addEventListener("input", function () {
      if (question && question.value.trim() !== "") {
        return; // the agent's own question wins
      }
      clearTimeout(timer);
      timer = setTimeout(function () {
        var text = summary.value.trim();
        if (text.length >= 8) {
          show(text, "resume");
        }
      }, 600);
    });
  }
})();
