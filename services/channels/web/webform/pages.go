package webform

import (
	"net/http"

	"github.com/ampmetropole/guichet/services/cases/catalogue"
	"github.com/ampmetropole/guichet/services/platform/fault"
	"github.com/ampmetropole/guichet/services/platform/mailer"
	"github.com/ampmetropole/guichet/services/platform/sms"
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
	Mail     bool // e-mails are written to the outbox
	Messages []mailer.Stored
	Message  *mailer.Stored
	SMS      []sms.Stored
	HasSMS   bool // SMS are written to the outbox
}

// showOutbox lists what development wrote instead of sending: the e-mails
// and the SMS, newest first.
func (h *Handler) showOutbox(w http.ResponseWriter, r *http.Request) {
	page := outboxPage{Title: "Courriels et SMS envoyés (développement)"}
	if h.deps.Outbox != nil {
		msgs, err := h.deps.Outbox.List(r.Context(), 200)
		if err != nil {
			h.unavailable(w, r, err)
			return
		}
		page.Mail, page.Messages = true, msgs
	}
	if h.deps.SMSOutbox != nil {
		texts, err := h.deps.SMSOutbox.List(r.Context(), 200)
		if err != nil {
			h.unavailable(w, r, err)
			return
		}
		page.HasSMS, page.SMS = true, texts
	}
	h.render(w, r, http.StatusOK, "outbox", page)
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
	h.render(w, r, http.StatusOK, "outbox", outboxPage{Title: m.Subject, Mail: true, Message: &m})
}

// infoPage is one of the pages every page's footer links to: legal notice,
// personal data, accessibility statement.
type infoPage struct {
	Title string
	Org   catalogue.Organisation
	// The accessibility statement's facts (see accessibility).
	Conformance string
	StatementOn string
	Axe         string
	// TileOrigin is the server the form's map tiles come from ("": no map),
	// which the personal-data page names.
	TileOrigin string
}

// conformance is the RGAA conformance state of the citizen pages, as every
// footer and the accessibility statement state it. The RGAA allows
// "partiellement conforme" or "totalement conforme" only on the results of
// a conformance audit (at least 50 % or all of its criteria met): none has
// been done yet, and automated checks are no audit, so the state is "non
// conforme" until one is.
const conformance = "non conforme"

// statementOn is when the accessibility statement was written; axeVersion
// is the version of axe-core the browser tests check the pages with
// (services/testkit/browser, which tests may import and this package may
// not: a test holds the two equal).
const (
	statementOn = "7 décembre 2026"
	axeVersion  = "4.14.1"
)

func (h *Handler) info(title string) infoPage {
	return infoPage{Title: title, Org: h.deps.Catalogue.Organisation, Conformance: conformance, StatementOn: statementOn, Axe: axeVersion}
}

func (h *Handler) showLegalNotice(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusOK, "legal", h.info("Mentions légales"))
}

func (h *Handler) showPersonalData(w http.ResponseWriter, r *http.Request) {
	p := h.info("Données personnelles")
	p.TileOrigin = h.carte.tileOrigin // the map's tiles come from there, when it has one
	h.render(w, r, http.StatusOK, "privacy", p)
}

func (h *Handler) showAccessibility(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusOK, "accessibility", h.info("Déclaration d'accessibilité"))
}

// showFavicon serves the icon browsers ask for at /favicon.ico; pages also
// link the SVG one (static/icone.svg).
func (h *Handler) showFavicon(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "image/x-icon")
	w.Header().Set("Cache-Control", "public, max-age=86400")
	http.ServeFileFS(w, r, staticFiles, "static/favicon.ico")
}
