package backoffice

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/caseref"
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/cases/catalogue"
	"github.com/ampmetropole/guichet/services/cases/lifecycle"
	"github.com/ampmetropole/guichet/services/outbound/letterpdf"
	"github.com/ampmetropole/guichet/services/platform/fault"
	"github.com/ampmetropole/guichet/services/platform/textcheck"
	"github.com/ampmetropole/guichet/services/staff/auth"
)

type casePage struct {
	page
	F           casestore.CaseFile
	Timeline    []timelineItem
	Next        []string
	CanReroute  bool
	CanReply    bool
	CanMerge    bool
	CanAssign   bool
	Me          string
	Competences []catalogue.Competence
	Templates   []catalogue.Template
	Reply       replyForm
	Error, Done string
}

// replyForm is the answer being written, kept when it is refused.
type replyForm struct {
	Channel, To, Subject, Message string
	RequestID                     string // the contact answered; "": chosen from the recipient
}

// loadCase reads a case the person may see; another team's case is not
// found, so that its existence does not leak.
func (h *Handler) loadCase(w http.ResponseWriter, r *http.Request) (casestore.CaseFile, auth.Principal, bool) {
	p, _ := auth.FromContext(r.Context())
	ref := r.PathValue("ref")
	f, err := h.deps.Store.CaseFile(r.Context(), ref)
	if fault.KindOf(err) == fault.NotFound {
		h.notFound(w, r, "")
		return f, p, false
	}
	if err != nil {
		h.deps.Log.Error("back office case", "ref", ref, "err", err)
		h.unavailable(w, r, "Dossier momentanément indisponible : réessayez dans quelques instants.")
		return f, p, false
	}
	terr := ""
	if f.Territory != nil {
		terr = *f.Territory
	}
	if !p.SeesCase(f.Competence, terr) {
		h.notFound(w, r, "")
		return f, p, false
	}
	// The citizen's other cases: only those this person may see.
	if f.Citizen != nil {
		var seen []casestore.CaseSummary
		for _, c := range f.Citizen.Cases {
			if p.SeesCase(c.Competence, c.Territory) {
				seen = append(seen, c)
			}
		}
		f.Citizen.Cases = seen
	}
	return f, p, true
}

func (h *Handler) caseFile(w http.ResponseWriter, r *http.Request) {
	f, p, ok := h.loadCase(w, r)
	if !ok {
		return
	}
	h.showCase(w, r, f, p, http.StatusOK, "", r.URL.Query().Get("fait"))
}

func (h *Handler) showCase(w http.ResponseWriter, r *http.Request, f casestore.CaseFile, p auth.Principal, status int, errMsg, done string) {
	pg, _ := h.base(r, "Dossier "+f.Ref, "dossiers")
	data := casePage{page: pg, F: f, Competences: h.deps.Catalogue.Competences, Error: errMsg, Done: doneLabel(done),
		CanReroute: p.Can(auth.PermCaseReroute) && !lifecycle.Final(f.State),
		CanMerge:   p.Can(auth.PermCaseMerge), CanAssign: p.Can(auth.PermCaseTransition) && !lifecycle.Final(f.State), Me: p.Name}
	if p.Can(auth.PermCaseTransition) {
		data.Next = lifecycle.Next(f.State, p.Role)
	}
	if data.CanReply = p.Can(auth.PermReply); data.CanReply {
		data.Templates = h.deps.Catalogue.Templates(f.Competence)
		data.Reply = h.replyDraft(r, f)
	}
	for i := range f.Requests {
		data.Timeline = append(data.Timeline, timelineItem{At: f.Requests[i].ReceivedAt, Request: &f.Requests[i]})
	}
	for i := range f.Events {
		e := &f.Events[i]
		if e.RequestID != "" && (e.Type == schemas.EventCreated || e.Type == schemas.EventRequestLinked) {
			continue // the contact itself stands for it
		}
		data.Timeline = append(data.Timeline, timelineItem{At: e.At, Event: e})
	}
	slices.SortStableFunc(data.Timeline, func(a, b timelineItem) int { return a.At.Compare(b.At) })
	if err := h.deps.Guard.Audit(r.Context(), p, "case.view", f.Ref, nil); err != nil {
		h.deps.Log.Warn("audit log not written", "err", err)
	}
	h.render(w, "case", status, data)
}

// transition changes the state of a case from its page.
func (h *Handler) transition(w http.ResponseWriter, r *http.Request) {
	f, p, ok := h.form(w, r, 16<<10)
	if !ok {
		return
	}
	to := r.PostFormValue("vers")
	_, err := h.deps.Store.Transition(r.Context(), casestore.TransitionRequest{Ref: f.Ref, To: to, Role: p.Role,
		Change:    casestore.Change{Actor: p.Name, Reason: strings.TrimSpace(r.PostFormValue("motif"))},
		WaitingOn: r.PostFormValue("attente"), RedirectTo: r.PostFormValue("organisme"),
		Required: h.deps.Catalogue.RequiredBeforeQualification(f.Competence), Now: time.Now()}, h.deps.Clock)
	if err != nil {
		status, msg := http.StatusUnprocessableEntity, "Changement refusé : "+strings.TrimPrefix(strings.TrimPrefix(err.Error(), "casestore: "), "lifecycle: ")
		switch fault.KindOf(err) {
		case fault.Conflict:
			status = http.StatusConflict
		case fault.Forbidden:
			status = http.StatusForbidden
		case fault.Invalid:
		default:
			h.deps.Log.Error("back office transition", "ref", f.Ref, "err", err)
			status, msg = http.StatusServiceUnavailable, "Le changement n'a pas pu être enregistré : réessayez dans quelques instants."
		}
		h.showCase(w, r, f, p, status, msg, "")
		return
	}
	h.done(w, r, p, "case.transition", f.Ref, f.Ref, "etat", map[string]any{"from": f.State, "to": to})
}

// reroute gives the case to another competence (from triage or the case page).
func (h *Handler) reroute(w http.ResponseWriter, r *http.Request) {
	f, p, ok := h.form(w, r, 16<<10)
	if !ok {
		return
	}
	competence := r.PostFormValue("competence")
	if !h.deps.Catalogue.Known(competence) {
		h.showCase(w, r, f, p, http.StatusUnprocessableEntity, "Choisissez une compétence de la liste.", "")
		return
	}
	reason := strings.TrimSpace(r.PostFormValue("motif"))
	if _, err := h.deps.Store.Reroute(r.Context(), f.Ref, competence, "", casestore.Change{Actor: p.Name, Reason: reason}); err != nil {
		status := http.StatusUnprocessableEntity
		if k := fault.KindOf(err); k != fault.Invalid && k != fault.Conflict {
			h.deps.Log.Error("back office reroute", "ref", f.Ref, "err", err)
			status = http.StatusServiceUnavailable
		}
		h.showCase(w, r, f, p, status, "Réorientation refusée : "+strings.TrimPrefix(err.Error(), "casestore: "), "")
		return
	}
	if err := h.deps.Guard.Audit(r.Context(), p, "case.reroute", f.Ref, map[string]any{"to": competence}); err != nil {
		h.deps.Log.Warn("audit log not written", "err", err)
	}
	back := "/bo/dossiers/" + url.PathEscape(f.Ref) + "?fait=orientation"
	if r.PostFormValue("retour") == "/bo/tri" {
		back = "/bo/tri?fait=" + url.QueryEscape(f.Ref)
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}

// replyDraft prepares the answer form: the citizen's e-mail (else phone,
// else postal address) and, when a template was chosen (?modele=), its text
// filled in.
func (h *Handler) replyDraft(r *http.Request, f casestore.CaseFile) replyForm {
	var d replyForm
	if v := r.PostFormValue("message"); r.Method == http.MethodPost && v != "" {
		return replyForm{Channel: r.PostFormValue("canal"), To: r.PostFormValue("destinataire"), Subject: r.PostFormValue("objet"), Message: v,
			RequestID: r.PostFormValue("demande")}
	}
	d.Channel, d.Subject = casestore.ReplyEmail, "Votre demande "+f.Ref
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
	id := r.URL.Query().Get("modele")
	for _, t := range h.deps.Catalogue.Templates(f.Competence) {
		if t.ID == id {
			org := h.deps.Catalogue.Organisation
			d.Subject = t.Title + " — dossier " + f.Ref
			d.Message = strings.NewReplacer("{{ref}}", f.Ref, "{{service}}", h.deps.Catalogue.ServiceFor(f.Competence),
				"{{phone}}", org.Phone, "{{details}}", "…", "{{redirect_to}}", deref(f.RedirectTo)).Replace(t.Body)
		}
	}
	return d
}

func deref(s *string) string {
	if s == nil {
		return "…"
	}
	return *s
}

// note adds an internal note to the case.
func (h *Handler) note(w http.ResponseWriter, r *http.Request) {
	f, p, ok := h.form(w, r, 64<<10)
	if !ok {
		return
	}
	if _, err := h.deps.Store.AddNote(r.Context(), f.Ref, r.PostFormValue("note"), casestore.Change{Actor: p.Name}); err != nil {
		h.refused(w, r, f, p, err, "Note refusée : ")
		return
	}
	h.done(w, r, p, "case.note", f.Ref, f.Ref, "note", nil)
}

// reply records an answer to the citizen: by e-mail (sent by the
// notifier), as a letter to print, or as a call-back task.
func (h *Handler) reply(w http.ResponseWriter, r *http.Request) {
	f, p, ok := h.form(w, r, 128<<10)
	if !ok {
		return
	}
	_, err := h.deps.Store.Reply(r.Context(), f.Ref, casestore.ReplyRequest{Channel: r.PostFormValue("canal"), To: r.PostFormValue("destinataire"),
		Subject: r.PostFormValue("objet"), Message: r.PostFormValue("message"), RequestID: r.PostFormValue("demande")}, casestore.Change{Actor: p.Name})
	if err != nil {
		h.refused(w, r, f, p, err, "Réponse refusée : ")
		return
	}
	h.done(w, r, p, "case.reply", f.Ref, f.Ref, "reponse", map[string]any{"channel": r.PostFormValue("canal")})
}

// refused shows the case again with why an action was refused.
func (h *Handler) refused(w http.ResponseWriter, r *http.Request, f casestore.CaseFile, p auth.Principal, err error, prefix string) {
	status, msg := http.StatusUnprocessableEntity, prefix+strings.TrimPrefix(err.Error(), "casestore: ")
	if k := fault.KindOf(err); k != fault.Invalid && k != fault.Conflict {
		h.deps.Log.Error("back office action", "ref", f.Ref, "err", err)
		status, msg = http.StatusServiceUnavailable, "L'action n'a pas pu être enregistrée : réessayez dans quelques instants."
	}
	h.showCase(w, r, f, p, status, msg, "")
}

// form loads the case an action is about and reads its form, of at most
// limit bytes.
func (h *Handler) form(w http.ResponseWriter, r *http.Request, limit int64) (casestore.CaseFile, auth.Principal, bool) {
	f, p, ok := h.loadCase(w, r)
	if !ok {
		return f, p, false
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	if err := r.ParseForm(); err != nil {
		h.showCase(w, r, f, p, http.StatusRequestEntityTooLarge, "Formulaire trop volumineux.", "")
		return f, p, false
	}
	if field := textcheck.Values(r.PostForm); field != "" {
		h.showCase(w, r, f, p, http.StatusBadRequest, "Le champ « "+field+" » contient un caractère non permis (caractère nul ou encodage invalide) : rien n'a été enregistré.", "")
		return f, p, false
	}
	return f, p, true
}

func (h *Handler) done(w http.ResponseWriter, r *http.Request, p auth.Principal, action, ref, goTo, what string, details map[string]any) {
	if err := h.deps.Guard.Audit(r.Context(), p, action, ref, details); err != nil {
		h.deps.Log.Warn("audit log not written", "err", err)
	}
	http.Redirect(w, r, "/bo/dossiers/"+url.PathEscape(goTo)+"?fait="+what, http.StatusSeeOther)
}

// assign gives the case to someone of the team (empty: nobody).
func (h *Handler) assign(w http.ResponseWriter, r *http.Request) {
	f, p, ok := h.form(w, r, 16<<10)
	if !ok {
		return
	}
	who := strings.TrimSpace(r.PostFormValue("a"))
	if _, err := h.deps.Store.Assign(r.Context(), f.Ref, who, casestore.Change{Actor: p.Name}); err != nil {
		h.refused(w, r, f, p, err, "Attribution refusée : ")
		return
	}
	h.done(w, r, p, "case.assign", f.Ref, f.Ref, "attribution", map[string]any{"assignee": who})
}

// split takes the requests ticked into a new case (one: undoing a link).
func (h *Handler) split(w http.ResponseWriter, r *http.Request) {
	f, p, ok := h.form(w, r, 16<<10)
	if !ok {
		return
	}
	dest, _, err := h.deps.Store.MoveRequests(r.Context(), f.Ref, r.PostForm["demande"], "", casestore.Change{Actor: p.Name, Reason: strings.TrimSpace(r.PostFormValue("motif"))})
	if err != nil {
		h.refused(w, r, f, p, err, "Séparation refusée : ")
		return
	}
	h.done(w, r, p, "case.split", f.Ref, dest, "separation", map[string]any{"to": dest})
}

// merge puts the case into another one the person may see.
func (h *Handler) merge(w http.ResponseWriter, r *http.Request) {
	f, p, ok := h.form(w, r, 16<<10)
	if !ok {
		return
	}
	into := strings.TrimSpace(r.PostFormValue("dans"))
	if ref, ok := caseref.Normalize(into); ok {
		into = ref.String()
	}
	target, err := h.deps.Store.CaseFile(r.Context(), into)
	terr := ""
	if err == nil && target.Territory != nil {
		terr = *target.Territory
	}
	if err != nil || !p.SeesCase(target.Competence, terr) {
		h.showCase(w, r, f, p, http.StatusUnprocessableEntity, "Fusion refusée : le dossier « "+into+" » est introuvable.", "")
		return
	}
	if _, err := h.deps.Store.Merge(r.Context(), f.Ref, into, casestore.Change{Actor: p.Name, Reason: strings.TrimSpace(r.PostFormValue("motif"))}); err != nil {
		h.refused(w, r, f, p, err, "Fusion refusée : ")
		return
	}
	h.done(w, r, p, "case.merge", f.Ref, into, "fusion", map[string]any{"into": into})
}

// unmerge gives a merged case its requests back.
func (h *Handler) unmerge(w http.ResponseWriter, r *http.Request) {
	f, p, ok := h.form(w, r, 16<<10)
	if !ok {
		return
	}
	if _, err := h.deps.Store.Unmerge(r.Context(), f.Ref, casestore.Change{Actor: p.Name, Reason: strings.TrimSpace(r.PostFormValue("motif"))}); err != nil {
		h.refused(w, r, f, p, err, "Annulation refusée : ")
		return
	}
	h.done(w, r, p, "case.unmerge", f.Ref, f.Ref, "defusion", nil)
}

// letter renders a reply by post as a PDF for the mailroom to print.
func (h *Handler) letter(w http.ResponseWriter, r *http.Request) {
	f, p, ok := h.loadCase(w, r)
	if !ok {
		return
	}
	id := strings.TrimSuffix(r.PathValue("event"), ".pdf")
	for _, e := range f.Events {
		if e.ID != id || e.Type != schemas.EventReplied || e.Data["channel"] != casestore.ReplyLetter {
			continue
		}
		str := func(k string) string { v, _ := e.Data[k].(string); return v }
		org := h.deps.Catalogue.Organisation
		service := h.deps.Catalogue.ServiceFor(f.Competence)
		pdf, err := letterpdf.Render(letterpdf.Letter{
			From: append([]string{org.Name, service}, strings.Split(org.Address, ", ")...),
			To:   str("to"), Place: "Marseille", Date: e.At, Ref: f.Ref, Subject: str("subject"), Body: str("message"),
			Signoff: service, Contact: fmt.Sprintf("%s — %s, %s — dossier %s", org.ServiceDesk, org.Phone, org.Hours, f.Ref),
		})
		if err != nil {
			h.deps.Log.Error("reply letter", "ref", f.Ref, "err", err)
			http.Error(w, "Le courrier n'a pas pu être mis en page.", http.StatusInternalServerError)
			return
		}
		if err := h.deps.Guard.Audit(r.Context(), p, "case.letter", f.Ref, map[string]any{"event": id}); err != nil {
			h.deps.Log.Warn("audit log not written", "err", err)
		}
		w.Header().Set("Content-Type", "application/pdf")
		w.Header().Set("Content-Disposition", `inline; filename="`+f.Ref+`-courrier.pdf"`)
		_, _ = w.Write(pdf)
		return
	}
	h.notFound(w, r, "")
}

// piece shows an attachment or a scanned letter of a case's request, to
// someone who may see a case that holds it; to anyone else it does not
// exist. Every file shown is in the audit log.
func (h *Handler) piece(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	sha := r.PathValue("sha")
	if len(sha) != 64 || strings.Trim(sha, "0123456789abcdef") != "" {
		h.notFound(w, r, "")
		return
	}
	holders, err := h.deps.Store.FileHolders(r.Context(), sha)
	if err != nil {
		h.deps.Log.Error("piece holders", "err", err)
		h.unavailable(w, r, "Pièce momentanément indisponible.")
		return
	}
	var in *casestore.Holder
	for i, c := range holders {
		if c.CaseRef != "" && p.SeesCase(c.Competence, c.Territory) || c.CaseRef == "" && p.Scope().All {
			in = &holders[i]
			break
		}
	}
	if in == nil {
		h.notFound(w, r, "")
		return
	}
	data, err := h.deps.Files.Get(r.Context(), "sha256/"+sha)
	if fault.KindOf(err) == fault.NotFound {
		h.notFound(w, r, "")
		return
	}
	if err != nil {
		h.unavailable(w, r, "Pièce momentanément indisponible.")
		return
	}
	if err := h.deps.Guard.Audit(r.Context(), p, "attachment.view", in.CaseRef, map[string]any{"sha256": sha, "request": in.RequestID}); err != nil {
		h.deps.Log.Warn("audit log not written", "err", err)
	}
	w.Header().Set("Content-Type", http.DetectContentType(data))
	w.Header().Set("Content-Disposition", "inline")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; sandbox")
	_, _ = w.Write(data)
}

// timelineItem is a contact or an action of the case, in time order.
type timelineItem struct {
	At      time.Time
	Request *schemas.Request
	Event   *schemas.CaseEvent
}
