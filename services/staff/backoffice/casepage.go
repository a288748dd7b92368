package backoffice

import (
	"fmt"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/caseref"
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/cases/catalogue"
	"github.com/ampmetropole/guichet/services/cases/lifecycle"
	"github.com/ampmetropole/guichet/services/cases/territory"
	"github.com/ampmetropole/guichet/services/outbound/letterpdf"
	"github.com/ampmetropole/guichet/services/platform/fault"
	"github.com/ampmetropole/guichet/services/platform/textcheck"
	"github.com/ampmetropole/guichet/services/staff/auth"
	"golang.org/x/text/collate"
	"golang.org/x/text/language"
)

// casePage is what the case page shows.
type casePage struct {
	page
	F           casestore.CaseFile
	Places      []place
	Timeline    []timelineItem
	Next        []string
	CanReroute  bool
	CanReply    bool
	CanMerge    bool
	CanAssign   bool
	Competences []catalogue.Competence
	Templates   []replyTemplate
	Reply       replyForm
	// Members are the people the case can be given to; Assignee names
	// who has it, Gone when they can no longer work it.
	Members       []auth.Member
	MembersError  bool
	AssigneeLogin string
	Assignee      string
	Gone          bool
	Selected      string // the member the assignment form proposes
	// Open is the action panel shown open: the one a refused form came
	// from, else the one the case most likely needs next.
	Open string
	// Form is what a refused form sent, to fill it in again.
	Form        url.Values
	Inserted    string // the template just added to the message (without script)
	Error, Done string
	// Incident is the case's incident (Ref "" when none); Suggestions the
	// incidents the router only proposed (incidents.go).
	Incident    casestore.IncidentBrief
	Suggestions []casestore.IncidentSuggestion
}

// Kept is what a refused form of panel sent in field, so that nothing
// typed is lost; "" for the other panels' forms.
func (c casePage) Kept(panel, field string) string {
	if c.Open != panel || c.Form == nil {
		return ""
	}
	return c.Form.Get(field)
}

// Action panels of the case page.
const (
	panelState   = "etat"
	panelReply   = "reponse"
	panelNote    = "note"
	panelAssign  = "attribution"
	panelMerge   = "fusion"
	panelReroute = "orientation"
)

// panelOf names the panel whose form was posted to r.
func panelOf(r *http.Request) string {
	if r.Method != http.MethodPost {
		return ""
	}
	switch path.Base(r.URL.Path) {
	case "etat":
		return panelState
	case "reponse", "modele":
		return panelReply
	case "note":
		return panelNote
	case "attribution":
		return panelAssign
	case "separer", "fusionner", "defusionner":
		return panelMerge
	case "orienter":
		return panelReroute
	}
	return ""
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
	if !p.SeesCase(f.Competence, territoryOf(f)) {
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

func territoryOf(f casestore.CaseFile) string {
	if f.Territory == nil {
		return ""
	}
	return *f.Territory
}

func (h *Handler) caseFile(w http.ResponseWriter, r *http.Request) {
	f, p, ok := h.loadCase(w, r)
	if !ok {
		return
	}
	h.showCase(w, r, f, p, http.StatusOK, "", r.URL.Query().Get("fait"))
}

func (h *Handler) showCase(w http.ResponseWriter, r *http.Request, f casestore.CaseFile, p auth.Principal, status int, errMsg, done string) {
	data := h.caseView(r, f, p)
	data.Error, data.Done = errMsg, doneLabel(done)
	if errMsg != "" {
		if panel := panelOf(r); panel != "" {
			data.Open, data.Form = panel, r.PostForm
		}
	}
	h.renderCase(w, r, data, status)
}

// caseView gathers what the case page shows.
func (h *Handler) caseView(r *http.Request, f casestore.CaseFile, p auth.Principal) casePage {
	pg, _ := h.base(r, "Dossier "+f.Ref, "dossiers")
	final := lifecycle.Final(f.State)
	data := casePage{page: pg, F: f, Competences: h.deps.Catalogue.Competences, Places: places(f.Requests),
		CanReroute: p.Can(auth.PermCaseReroute) && !final,
		CanMerge:   p.Can(auth.PermCaseMerge), CanAssign: p.Can(auth.PermCaseTransition) && !final}
	if p.Can(auth.PermCaseTransition) {
		data.Next = lifecycle.Next(f.State, p.Role)
	}
	data.Incident, data.Suggestions = h.caseIncidents(r, f, p)
	if data.CanReply = p.Can(auth.PermReply); data.CanReply {
		data.Templates = h.replyTemplates(f)
		data.Reply = h.replyDraft(r, f)
	}
	if f.Assignee != nil {
		data.AssigneeLogin, data.Assignee = *f.Assignee, *f.Assignee
	}
	if data.CanAssign {
		h.members(r, f, p, &data)
	}
	switch {
	case len(data.Next) > 0 && f.State == lifecycle.Received:
		data.Open = panelState // a new case is qualified (or sent elsewhere) first
	case data.CanReply && !final:
		data.Open = panelReply
	case len(data.Next) > 0:
		data.Open = panelState
	}
	for i := range f.Requests {
		req := &f.Requests[i]
		item := timelineItem{At: req.ReceivedAt, Request: req}
		for _, a := range req.Attachments {
			pc := pieceOf(a)
			switch {
			case req.Channel == schemas.ChannelMail && a.ExtractedText != "":
				pc.Text = a.ExtractedText
				item.Scans = append(item.Scans, pc)
			case pc.Image:
				item.Photos = append(item.Photos, pc)
			default:
				item.Files = append(item.Files, pc)
			}
		}
		data.Timeline = append(data.Timeline, item)
	}
	for i := range f.Events {
		e := &f.Events[i]
		if e.RequestID != "" && (e.Type == schemas.EventCreated || e.Type == schemas.EventRequestLinked) {
			continue // the contact itself stands for it
		}
		data.Timeline = append(data.Timeline, timelineItem{At: e.At, Event: e, Label: caseEventLabel(e.Type)})
	}
	slices.SortStableFunc(data.Timeline, func(a, b timelineItem) int { return a.At.Compare(b.At) })
	return data
}

// members fills the assignment form: the people who can work the case,
// who has it, and whom the form proposes (who has it, else the person
// signed in when they can work it).
func (h *Handler) members(r *http.Request, f casestore.CaseFile, p auth.Principal, data *casePage) {
	ms, err := h.deps.Guard.Members(r.Context(), f.Competence, territoryOf(f))
	if err != nil {
		h.deps.Log.Error("back office members", "ref", f.Ref, "err", err)
		data.MembersError = true
		return
	}
	data.Members = ms
	data.Gone = data.AssigneeLogin != ""
	for _, m := range ms {
		if m.Login == data.AssigneeLogin {
			data.Assignee, data.Gone, data.Selected = m.DisplayName+" ("+m.Login+")", false, m.Login
		}
		if data.AssigneeLogin == "" && m.Login == p.Name {
			data.Selected = m.Login
		}
	}
}

func (h *Handler) renderCase(w http.ResponseWriter, r *http.Request, data casePage, status int) {
	p, _ := auth.FromContext(r.Context())
	if err := h.deps.Guard.Audit(r.Context(), p, "case.view", data.F.Ref, nil); err != nil {
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
	organisme, mairie := strings.TrimSpace(r.PostFormValue("organisme")), r.PostFormValue("mairie")
	if mairie != "" {
		// A communal matter: the case goes to the mairie, which its desk,
		// its e-mail address and its partners' webhooks are told of.
		c, ok := h.commune(mairie)
		if !ok || to != lifecycle.Redirected {
			h.showCase(w, r, f, p, http.StatusUnprocessableEntity, "Changement refusé : une mairie se choisit pour l'état « réorienté », dans la liste des communes.", "etat")
			return
		}
		if organisme == "" {
			organisme = "la mairie de " + c.Name
		}
	}
	_, err := h.deps.Store.Transition(r.Context(), casestore.TransitionRequest{Ref: f.Ref, To: to, Role: p.Role,
		Change:    casestore.Change{Actor: p.Name, Reason: strings.TrimSpace(r.PostFormValue("motif"))},
		WaitingOn: r.PostFormValue("attente"), RedirectTo: organisme, RedirectCommune: mairie,
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
	details := map[string]any{"from": f.State, "to": to}
	if mairie != "" {
		details["commune"] = mairie
	}
	h.done(w, r, p, "case.transition", f.Ref, f.Ref, "etat", details)
}

// communes lists the communes a case may be handed over to, by name.
func (h *Handler) communes() []*territory.Commune {
	if h.deps.Places == nil {
		return nil
	}
	list := slices.Clone(h.deps.Places.Communes())
	order := collate.New(language.French) // Éguilles among the E
	slices.SortFunc(list, func(a, b *territory.Commune) int { return order.CompareString(a.Name, b.Name) })
	return list
}

// commune is one of the communes, by INSEE code.
func (h *Handler) commune(insee string) (*territory.Commune, bool) {
	if h.deps.Places == nil || !h.deps.Places.IsCommune(insee) {
		return nil, false
	}
	return h.deps.Places.ByINSEE(insee)
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

// note adds an internal note to the case.
func (h *Handler) note(w http.ResponseWriter, r *http.Request) {
	f, p, ok := h.form(w, r, 64<<10)
	if !ok {
		return
	}
	if _, err := h.deps.Store.AddNote(r.Context(), f.Ref, lines(r.PostFormValue("note")), casestore.Change{Actor: p.Name}); err != nil {
		h.refused(w, r, f, p, err, "Note refusée : ")
		return
	}
	h.done(w, r, p, "case.note", f.Ref, f.Ref, "note", nil)
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
	// The sign-in guard may have read the form already (for its CSRF
	// token, up to 1 Mio): the limit is checked on what was read.
	if err := r.ParseForm(); err != nil || formSize(r.PostForm) > limit {
		r.PostForm = nil // nothing of it is shown again
		h.showCase(w, r, f, p, http.StatusRequestEntityTooLarge, "Formulaire trop volumineux : rien n'a été enregistré.", "")
		return f, p, false
	}
	if field := textcheck.Values(r.PostForm); field != "" {
		h.showCase(w, r, f, p, http.StatusBadRequest, "Le champ « "+field+" » contient un caractère non permis (caractère nul ou encodage invalide) : rien n'a été enregistré.", "")
		return f, p, false
	}
	return f, p, true
}

// lines gives a textarea's text the line breaks of the rest of Guichet:
// browsers send CR LF.
func lines(s string) string { return strings.ReplaceAll(s, "\r\n", "\n") }

// formSize is the size of a form's names and values.
func formSize(v url.Values) int64 {
	var n int64
	for k, vs := range v {
		for _, x := range vs {
			n += int64(len(k) + len(x) + 2)
		}
	}
	return n
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
	if who != "" {
		// Only someone whose scope holds the case may be given it.
		ms, err := h.deps.Guard.Members(r.Context(), f.Competence, territoryOf(f))
		if err != nil {
			h.refused(w, r, f, p, err, "Attribution refusée : ")
			return
		}
		if !slices.ContainsFunc(ms, func(m auth.Member) bool { return m.Login == who }) {
			h.showCase(w, r, f, p, http.StatusUnprocessableEntity, "Attribution refusée : « "+who+" » ne fait pas partie des personnes qui traitent ce dossier (compétence ou territoire). Choisissez dans la liste.", "")
			return
		}
	}
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
	if err != nil || !p.SeesCase(target.Competence, territoryOf(target)) {
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
	// A contact's files: photos shown as thumbnails, scanned letters
	// beside their text, other files as links.
	Photos, Scans, Files []piece
	Event                *schemas.CaseEvent
	Label                string // the event in words
}

// caseEventLabel names an event of the history.
func caseEventLabel(t string) string {
	if t == schemas.EventAssigned {
		return "attribution"
	}
	return eventLabel(t)
}

// piece is a file of a contact as the page shows it.
type piece struct {
	ID, Name, Kind, Size string
	Image                bool   // Chromium, Firefox and Safari show it in an img
	Text                 string // of a scanned letter: the text read on it
}

// imageTypes are the photos a browser shows; HEIC is offered as a file.
var imageTypes = map[string]bool{"image/jpeg": true, "image/png": true, "image/webp": true, "image/gif": true}

func pieceOf(a schemas.Attachment) piece {
	id := strings.TrimPrefix(a.ObjectKey, "sha256/")
	if id == a.ObjectKey || id == "" {
		id = a.SHA256
	}
	return piece{ID: id, Name: a.Name, Kind: fileKind(a.ContentType), Size: fileSize(a.Size), Image: imageTypes[a.ContentType]}
}

// fileKind names a content type in words.
func fileKind(contentType string) string {
	switch contentType {
	case "image/jpeg":
		return "photo JPEG"
	case "image/png":
		return "image PNG"
	case "image/webp":
		return "image WebP"
	case "image/gif":
		return "image GIF"
	case "image/heic", "image/heif":
		return "photo HEIC (à télécharger)"
	case "application/pdf":
		return "document PDF"
	case "text/plain":
		return "texte"
	case "":
		return "fichier"
	}
	return "fichier " + contentType
}

// fileSize writes a size the French way: 820 octets, 1,2 Ko, 3,4 Mo.
func fileSize(n int64) string {
	switch {
	case n < 1024:
		return fmt.Sprintf("%d octets", n)
	case n < 1<<20:
		return strings.Replace(fmt.Sprintf("%.1f Ko", float64(n)/1024), ".", ",", 1)
	}
	return strings.Replace(fmt.Sprintf("%.1f Mo", float64(n)/(1<<20)), ".", ",", 1)
}

// place is where a contact says the request is about, as the citizen gave
// it, the commune named from its code (or its postal code when only one
// commune has it).
type place struct {
	Address, PostalCode, Commune string
	Coordinates, MapURL          string
}

// communes names the communes of places; loaded once, from embedded data.
var communes = sync.OnceValues(territory.Load)

// places lists the distinct places of a case's contacts, first given first.
func places(reqs []schemas.Request) []place {
	var out []place
	dir, err := communes()
	for _, req := range reqs {
		l := req.Location
		if l == nil {
			continue
		}
		pl := place{Address: strings.TrimSpace(l.Address), PostalCode: strings.TrimSpace(l.PostalCode)}
		if err == nil {
			if c, ok := dir.ByINSEE(l.CommuneINSEE); ok && l.CommuneINSEE != "" {
				pl.Commune = c.Name
			} else if cs := dir.ByPostalCode(pl.PostalCode); len(cs) == 1 {
				pl.Commune = cs[0].Name
			}
		}
		if l.Lat != nil && l.Lon != nil && *l.Lat >= -90 && *l.Lat <= 90 && *l.Lon >= -180 && *l.Lon <= 180 {
			lat, lon := strconv.FormatFloat(*l.Lat, 'f', 5, 64), strconv.FormatFloat(*l.Lon, 'f', 5, 64)
			pl.Coordinates = "latitude " + strings.Replace(lat, ".", ",", 1) + ", longitude " + strings.Replace(lon, ".", ",", 1)
			pl.MapURL = "https://www.openstreetmap.org/?mlat=" + lat + "&mlon=" + lon + "#map=18/" + lat + "/" + lon
		}
		if pl == (place{}) || slices.Contains(out, pl) {
			continue
		}
		out = append(out, pl)
	}
	return out
}
