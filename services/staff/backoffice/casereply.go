package backoffice

// The answer to the citizen on the case page: the form and its draft, the
// catalogue's templates written out for the case, and recording it.

import (
	"net/http"
	"strings"

	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/cases/catalogue"
)

// replyForm is the answer being written, kept when it is refused.
type replyForm struct {
	Channel, To, Subject, Message string
	RequestID                     string // the contact answered; "": chosen from the recipient
}

// replyTemplate is a catalogue template written out for this case, which
// dossier.js inserts where the cursor is.
type replyTemplate struct {
	ID, Title, Subject, Text string
}

// replyDraft prepares the answer form: as it was posted when a reply form
// comes back (refused, or a template inserted), else the citizen's e-mail
// (else phone, else postal address) and, when a template was asked for in
// the address (?modele=), its text.
func (h *Handler) replyDraft(r *http.Request, f casestore.CaseFile) replyForm {
	if panelOf(r) == panelReply && r.PostForm.Has("canal") {
		return replyForm{Channel: r.PostFormValue("canal"), To: lines(r.PostFormValue("destinataire")), Subject: r.PostFormValue("objet"),
			Message: lines(r.PostFormValue("message")), RequestID: r.PostFormValue("demande")}
	}
	d := replyForm{Channel: casestore.ReplyEmail, Subject: defaultSubject(f)}
	if c := f.Citizen; c != nil {
		switch {
		case c.Email != "":
			d.To = c.Email
		case c.Phone != "":
			d.Channel, d.To = casestore.ReplyCallback, c.Phone
		}
	}
	if d.To == "" {
		for _, req := range f.Requests {
			if req.Citizen != nil && req.Citizen.Address != nil {
				d.Channel = casestore.ReplyLetter
				d.To = strings.Join(append(append([]string{req.Citizen.Name}, req.Citizen.Address.Lines...), req.Citizen.Address.PostalCode+" "+req.Citizen.Address.City), "\n")
				break
			}
		}
	}
	if t, ok := h.replyTemplate(f, r.URL.Query().Get("modele")); ok {
		d.Subject, d.Message = t.Subject, t.Text
	}
	return d
}

func defaultSubject(f casestore.CaseFile) string { return "Votre demande " + f.Ref }

// replyTemplates are the templates of the case's competence written out
// for it: greeting the citizen by name when known, naming the service with
// its article.
func (h *Handler) replyTemplates(f casestore.CaseFile) []replyTemplate {
	fill := catalogue.Filling{Ref: f.Ref, Competence: f.Competence, Name: citizenName(f)}
	if f.RedirectTo != nil {
		fill.RedirectTo = *f.RedirectTo
	}
	var out []replyTemplate
	for _, t := range h.deps.Catalogue.Templates(f.Competence) {
		out = append(out, replyTemplate{ID: t.ID, Title: t.Title, Subject: t.Title + " — dossier " + f.Ref, Text: h.deps.Catalogue.Fill(t, fill)})
	}
	return out
}

func (h *Handler) replyTemplate(f casestore.CaseFile, id string) (replyTemplate, bool) {
	if id == "" {
		return replyTemplate{}, false
	}
	for _, t := range h.replyTemplates(f) {
		if t.ID == id {
			return t, true
		}
	}
	return replyTemplate{}, false
}

// citizenName is the name the citizen gave, as they gave it: the case's
// citizen, else the first contact that names one.
func citizenName(f casestore.CaseFile) string {
	if f.Citizen != nil && strings.TrimSpace(f.Citizen.Name) != "" {
		return f.Citizen.Name
	}
	for _, req := range f.Requests {
		if req.Citizen != nil && strings.TrimSpace(req.Citizen.Name) != "" {
			return req.Citizen.Name
		}
	}
	return ""
}

// insertTemplate adds a template to the reply being written, for a browser
// without script (dossier.js does it in place): the form comes back with
// what was typed followed by the template. Nothing is sent or recorded.
func (h *Handler) insertTemplate(w http.ResponseWriter, r *http.Request) {
	f, p, ok := h.form(w, r, 128<<10)
	if !ok {
		return
	}
	t, found := h.replyTemplate(f, r.PostFormValue("modele"))
	if !found {
		h.showCase(w, r, f, p, http.StatusUnprocessableEntity, "Choisissez un modèle dans la liste, puis « Insérer le modèle » : rien n'a été envoyé, votre texte est conservé.", "")
		return
	}
	data := h.caseView(r, f, p)
	data.Open, data.Inserted = panelReply, t.Title
	data.Reply.Message = appendParagraph(data.Reply.Message, t.Text)
	if s := strings.TrimSpace(data.Reply.Subject); s == "" || s == defaultSubject(f) {
		data.Reply.Subject = t.Subject
	}
	h.renderCase(w, r, data, http.StatusOK)
}

// appendParagraph adds text after what was typed, a blank line between.
func appendParagraph(typed, text string) string {
	typed = strings.TrimRight(typed, " \t\r\n")
	if typed == "" {
		return text
	}
	return typed + "\n\n" + text
}

// reply records an answer to the citizen: by e-mail (sent by the
// notifier), as a letter to print, or as a call-back task.
func (h *Handler) reply(w http.ResponseWriter, r *http.Request) {
	f, p, ok := h.form(w, r, 128<<10)
	if !ok {
		return
	}
	_, err := h.deps.Store.Reply(r.Context(), f.Ref, casestore.ReplyRequest{Channel: r.PostFormValue("canal"), To: lines(r.PostFormValue("destinataire")),
		Subject: r.PostFormValue("objet"), Message: lines(r.PostFormValue("message")), RequestID: r.PostFormValue("demande")}, casestore.Change{Actor: p.Name})
	if err != nil {
		h.refused(w, r, f, p, err, "Réponse refusée : ")
		return
	}
	h.done(w, r, p, "case.reply", f.Ref, f.Ref, "reponse", map[string]any{"channel": r.PostFormValue("canal")})
}
