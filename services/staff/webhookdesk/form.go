package webhookdesk

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/ampmetropole/guichet/services/cases/territory"
	"github.com/ampmetropole/guichet/services/outbound/webhook"
	"github.com/ampmetropole/guichet/services/platform/fault"
	"github.com/ampmetropole/guichet/services/staff/auth"
)

// ids are the fields' ids in the page, by the store's field names: the
// error summary links to them.
var ids = map[string]string{
	webhook.FieldName:        "nom",
	webhook.FieldURL:         "url",
	webhook.FieldCompetences: "competences",
	webhook.FieldTerritories: "territoires",
	webhook.FieldCommunes:    "communes",
	webhook.FieldEventTypes:  "evenements",
}

// option is a choice of a filter, ticked or not.
type option struct {
	Code, Name string
	Checked    bool
}

// fieldError is an error of the summary, linked to its field.
type fieldError struct{ ID, Message string }

type formPage struct {
	page
	Name, URL, Communes string
	Competences         []option
	Territories         []option
	EventTypes          []option
	Errors              []fieldError
	Err                 map[string]string
	MaxName, MaxURL     int
}

func (h *Handler) newForm(w http.ResponseWriter, r *http.Request) {
	h.renderForm(w, r, http.StatusOK, webhook.Draft{}, "", nil)
}

// renderForm answers the form with what was typed; errs say why it came
// back.
func (h *Handler) renderForm(w http.ResponseWriter, r *http.Request, status int, d webhook.Draft, communes string, errs webhook.Invalid) {
	title := "Nouvel abonnement"
	if errs != nil {
		title = "Erreur – " + title
	}
	data := formPage{page: h.base(r, title), Name: d.Name, URL: d.URL, Communes: communes, Err: map[string]string{},
		MaxName: webhook.MaxName, MaxURL: webhook.MaxURL}
	for _, fe := range errs {
		data.Errors = append(data.Errors, fieldError{ID: ids[fe.Field], Message: fe.Message})
		data.Err[ids[fe.Field]] = fe.Message
	}
	if h.deps.Catalogue != nil {
		for _, c := range h.deps.Catalogue.Competences {
			data.Competences = append(data.Competences, option{c.Code, c.Label, slices.Contains(d.Competences, c.Code)})
		}
	}
	for _, c := range territory.Codes() {
		data.Territories = append(data.Territories, option{c, territory.TerritoryName(c), slices.Contains(d.Territories, c)})
	}
	for _, t := range webhook.EventTypes {
		data.EventTypes = append(data.EventTypes, option{t.Code, t.Label, slices.Contains(d.EventTypes, t.Code)})
	}
	h.render(w, "formulaire", status, data)
}

// splitList reads a list typed in one field: commas, semicolons or new
// lines between the items.
func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' || r == '\n' || r == '\r' })
}

type secretPage struct {
	page
	Subscription webhook.Subscription
	Secret       string
}

func (h *Handler) create(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		status, text := http.StatusBadRequest, "Le formulaire envoyé n'a pas pu être lu. Revenez à la page précédente et recommencez."
		if errors.As(err, &tooBig) {
			status, text = http.StatusRequestEntityTooLarge, "Le formulaire envoyé est trop volumineux : un nom, une adresse et quelques filtres suffisent."
		}
		h.shell.Error(w, h.deps.Guard.Viewer(r), status, text)
		return
	}
	f := r.PostForm
	communes := f.Get("communes")
	d := webhook.Draft{Name: f.Get("nom"), URL: f.Get("url"), Competences: f["competences"], Territories: f["territoires"],
		Communes: splitList(communes), EventTypes: f["evenements"]}
	p, _ := auth.FromContext(r.Context())
	sub, secret, err := h.deps.Store.Create(r.Context(), d, p.Name)
	if err != nil {
		var inv webhook.Invalid
		switch {
		case errors.As(err, &inv):
			status := http.StatusUnprocessableEntity
			if fault.KindOf(err) == fault.TooLarge {
				status = http.StatusRequestEntityTooLarge
			}
			h.renderForm(w, r, status, d, communes, inv)
		case errors.Is(err, webhook.ErrNameTaken):
			h.renderForm(w, r, http.StatusConflict, d, communes, webhook.Invalid{{Field: webhook.FieldName,
				Message: "Un abonnement porte déjà ce nom : choisissez-en un autre."}})
		default:
			h.unavailable(w, r, err)
		}
		return
	}
	h.audit(r, p, ActionCreate, sub.ID, map[string]any{"subscription": sub.Name, "url": sub.URL, "competences": sub.Competences,
		"territories": sub.Territories, "communes": sub.Communes, "event_types": sub.EventTypes})
	// Answered here, not after a redirect: the secret is in no URL, no
	// session, no log, and never shown again.
	h.render(w, "secret", http.StatusCreated, secretPage{page: h.base(r, "Abonnement créé : son secret"), Subscription: sub, Secret: secret})
}
