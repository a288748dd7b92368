package webform

import (
	"net/http"

	"github.com/ampmetropole/guichet/services/cases/catalogue"
	"github.com/ampmetropole/guichet/services/platform/fault"
	"github.com/ampmetropole/guichet/services/platform/mailer"
)

type homePage struct {
	Title string
	Org   catalogue.Organisation
}

func (h *Handler) showHome(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusOK, "home", homePage{Title: "Vos demandes à la Métropole", Org: h.deps.Catalogue.Organisation})
}

type outboxPage struct {
	Title    string
	Messages []mailer.Stored
	Message  *mailer.Stored
}

func (h *Handler) showOutbox(w http.ResponseWriter, r *http.Request) {
	msgs, err := h.deps.Outbox.List(r.Context(), 200)
	if err != nil {
		h.unavailable(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, "outbox", outboxPage{Title: "Courriels envoyés (développement)", Messages: msgs})
}

func (h *Handler) showOutboxMessage(w http.ResponseWriter, r *http.Request) {
	m, err := h.deps.Outbox.Get(r.Context(), r.PathValue("id"))
	if k := fault.KindOf(err); k == fault.NotFound || k == fault.Invalid {
		h.notFound(w, r)
		return
	}
	if err != nil {
		h.unavailable(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, "outbox", outboxPage{Title: m.Subject, Message: &m})
}
