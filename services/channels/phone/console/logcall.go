package console

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ampmetropole/guichet/services/cases/caseref"
	"github.com/ampmetropole/guichet/services/cases/citizen"
	"github.com/ampmetropole/guichet/services/channels/phone/telephony"
	"github.com/ampmetropole/guichet/services/channels/phone/transcript"
	"github.com/ampmetropole/guichet/services/platform/fault"
)

// The console's words for what stops a call from being logged.
const (
	msgSummary     = "Indiquez le résumé de l'appel ou collez sa transcription."
	msgTarget      = "Choisissez le dossier auquel rattacher l'appel, ou « Nouvelle demande »."
	msgUnknownCase = "Ce dossier n'existe pas sous cette référence : choisissez un dossier de la liste ou « Nouvelle demande »."
	msgCompetence  = "Choisissez un domaine dans la liste, ou « À orienter »."
	msgDirection   = "Choisissez le sens de l'appel : entrant ou sortant."
	msgCaller      = "Ce numéro n'est pas un numéro de téléphone (exemple : 06 12 34 56 78) : corrigez-le, ou videz le champ si l'appelant masque son numéro."
	msgSummaryLong = "Le résumé est limité à 10 000 caractères : raccourcissez-le, ou collez le détail dans la transcription."
	msgNoAgent     = "Votre session ne dit pas qui vous êtes : reconnectez-vous, puis journalisez l'appel."
	msgCallID      = "L'identifiant de l'appel transmis par la téléphonie n'est pas valide : rouvrez la fiche depuis la téléphonie, ou rechargez la page."
	msgInvalid     = "Une information du formulaire n'a pas été acceptée : vérifiez-le et recommencez."
	msgTooLarge    = "La transcription dépasse 5 Mio : collez seulement l'essentiel, ou joignez un fichier plus petit. Rien n'a été journalisé."
	msgUnreadable  = "Le formulaire n'a pas pu être lu : rien n'a été journalisé. Rechargez la page et recommencez."
	msgFile        = "Le fichier de transcription n'a pas pu être lu : joignez-le de nouveau, ou collez son texte."
	msgDown        = "L'appel n'a pas pu être journalisé (incident technique). Votre saisie est conservée : réessayez dans quelques instants."
	maxSummary     = 10000
)

// logCall records a call from the console: onto the case the agent chose,
// or as a new request with a domain; it waits (CaseWait at most) for the
// router to give the call its case, then shows the console again with the
// case reference and the tracking code to read back.
func (h *Handler) logCall(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, transcript.MaxSize+1<<20)
	if err := r.ParseMultipartForm(1 << 20); err != nil && !errors.Is(err, http.ErrNotMultipart) {
		p := page{}
		h.who(r, &p, "")
		p.preselect()
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			p.Errors = []fieldError{{Key: "transcription", Anchor: "transcription", Message: msgTooLarge}}
			h.render(w, r, http.StatusRequestEntityTooLarge, p)
			return
		}
		p.Errors = []fieldError{{Message: msgUnreadable}}
		h.render(w, r, http.StatusBadRequest, p)
		return
	}
	if r.MultipartForm != nil {
		defer r.MultipartForm.RemoveAll()
	}
	f := r.PostFormValue
	p := page{Query: clip(f("q"), maxQuery), CallID: clip(strings.TrimSpace(f("call_id")), 200),
		Form: logForm{Target: strings.TrimSpace(f("cible")), Competence: f("competence"), Summary: f("resume"), Transcript: f("transcription"),
			Format: f("format"), Direction: f("direction"), CallerText: clip(f("caller"), 100),
			Place: clip(f("lieu"), maxPlace), Incident: clip(strings.TrimSpace(f("incident")), 40)}}
	h.who(r, &p, f("agent"))
	agent := h.agent(r, f("agent"))
	number := strings.TrimSpace(p.Form.CallerText)
	if e164, err := citizen.NormalizePhone(number); err == nil {
		p.Caller = e164
	}
	content := []byte(p.Form.Transcript)
	if file, _, err := r.FormFile("fichier"); err == nil {
		content, err = io.ReadAll(io.LimitReader(file, transcript.MaxSize+1))
		file.Close()
		if err != nil {
			p.Errors = append(p.Errors, fieldError{Key: "transcription", Anchor: "fichier", Message: msgFile})
		}
	}
	if f("etape") == "proches" {
		// « Voir ce qui est déjà signalé » without script: the console
		// again, with the list, and nothing logged.
		p.NearbyAsked = true
		h.refuse(w, r, http.StatusOK, p)
		return
	}
	p.Errors = append(p.Errors, h.check(p.Form, agent, number, content)...)
	incidentCompetence := ""
	if p.Form.Incident != "" {
		comp, bad := h.joinIncident(r.Context(), p.Form)
		if bad != nil {
			p.Errors = append(p.Errors, *bad)
		}
		incidentCompetence = comp
	}
	if len(p.Errors) > 0 {
		h.refuse(w, r, http.StatusUnprocessableEntity, p)
		return
	}
	now := time.Now().UTC()
	call := telephony.Call{CallID: p.CallID, CallerNumber: number, AgentID: agent, Direction: p.Form.Direction,
		StartedAt: now, EndedAt: now, Summary: p.Form.Summary}
	if p.Form.Target != "nouvelle" {
		call.CaseRef = p.Form.Target
	} else {
		call.Competence = p.Form.Competence
		if incidentCompetence != "" {
			// The caller reports what the team already handles: the
			// request joins the incident, in its domain.
			call.Incident, call.Competence = p.Form.Incident, incidentCompetence
		}
	}
	if strings.TrimSpace(string(content)) != "" {
		call.Transcript = telephony.FileTranscript(p.Form.Format, content)
	}
	accepted, err := h.deps.Calls.Accept(r.Context(), call, telephony.From{Adapter: "agent-console"})
	if err != nil {
		status := http.StatusUnprocessableEntity
		switch fault.KindOf(err) {
		case fault.Invalid:
			h.deps.Log.Info("console: call refused", "err", err)
			p.Errors = callErrors(err.Error())
		case fault.TooLarge:
			status, p.Errors = http.StatusRequestEntityTooLarge, []fieldError{{Key: "transcription", Anchor: "transcription", Message: msgTooLarge}}
		default:
			h.deps.Log.Error("console log call", "err", err)
			status, p.Errors = http.StatusServiceUnavailable, []fieldError{{Message: msgDown}}
			w.Header().Set("Retry-After", "5")
		}
		h.refuse(w, r, status, p)
		return
	}
	h.waitForCase(r.Context(), accepted.RequestID)
	http.Redirect(w, r, again(p.Caller, p.Query, url.Values{"journalise": {accepted.TrackingCode}}), http.StatusSeeOther)
}

// refuse shows the console again with what the agent typed and why the
// call was not logged.
func (h *Handler) refuse(w http.ResponseWriter, r *http.Request, status int, p page) {
	h.search(r.Context(), &p)
	h.withNearby(r.Context(), &p)
	p.Targets, _ = targets(p.Cards)
	p.Choose = len(p.Cards) > 1 && len(p.Targets) > 0
	// The target's errors lead to its first choice.
	for i, e := range p.Errors {
		if e.Anchor == "cible" {
			p.Errors[i].Anchor = "cible-nouvelle"
			if len(p.Targets) > 0 {
				p.Errors[i].Anchor = "cible-" + p.Targets[0].Ref
			}
		}
	}
	h.render(w, r, status, p)
}

// check finds what the console can tell before the phone channel does, all
// at once, each next to its field.
func (h *Handler) check(f logForm, agent, number string, content []byte) []fieldError {
	var errs []fieldError
	if agent == "" {
		errs = append(errs, fieldError{Message: msgNoAgent})
	}
	switch {
	case f.Target == "":
		errs = append(errs, fieldError{Key: "cible", Anchor: "cible", Message: msgTarget})
	case f.Target != "nouvelle":
		if _, ok := caseref.Normalize(f.Target); !ok {
			errs = append(errs, fieldError{Key: "cible", Anchor: "cible", Message: msgUnknownCase})
		}
	case f.Competence != "" && !h.deps.Catalogue.Known(f.Competence):
		errs = append(errs, fieldError{Key: "competence", Anchor: "competence", Message: msgCompetence})
	}
	if f.Direction != "inbound" && f.Direction != "outbound" {
		errs = append(errs, fieldError{Key: "direction", Anchor: "dir-in", Message: msgDirection})
	}
	// A number with digits must be one; words ("masqué") are the phone
	// channel's to judge.
	if strings.ContainsAny(number, "0123456789") {
		if _, err := citizen.NormalizePhone(number); err != nil {
			errs = append(errs, fieldError{Key: "caller", Anchor: "caller", Message: msgCaller})
		}
	}
	switch {
	case strings.TrimSpace(f.Summary) == "" && strings.TrimSpace(string(content)) == "":
		errs = append(errs, fieldError{Key: "resume", Anchor: "resume", Message: msgSummary})
	case utf8.RuneCountInString(f.Summary) > maxSummary:
		errs = append(errs, fieldError{Key: "resume", Anchor: "resume", Message: msgSummaryLong})
	}
	return errs
}

// callFields are the phone channel's names of the call's fields (its
// errors begin with them), in French next to the console's fields.
var callFields = []struct {
	prefix string
	err    fieldError
}{
	{"transcript ou summary", fieldError{Key: "resume", Anchor: "resume", Message: msgSummary}},
	{"caller_number", fieldError{Key: "caller", Anchor: "caller", Message: msgCaller}},
	{"case_ref", fieldError{Key: "cible", Anchor: "cible", Message: msgUnknownCase}},
	{"competence", fieldError{Key: "competence", Anchor: "competence", Message: msgCompetence}},
	{"summary", fieldError{Key: "resume", Anchor: "resume", Message: msgSummaryLong}},
	{"direction", fieldError{Key: "direction", Anchor: "dir-in", Message: msgDirection}},
	{"agent_id", fieldError{Message: msgNoAgent}},
	{"call_id", fieldError{Message: msgCallID}},
}

// callErrors turns the phone channel's refusal of a call ("appel invalide
// : caller_number : … ; competence : …", "transcript : …") into the
// console's French errors, each tied to its field.
func callErrors(msg string) []fieldError {
	if detail, ok := strings.CutPrefix(msg, "transcript : "); ok {
		return []fieldError{{Key: "transcription", Anchor: "transcription",
			Message: "La transcription n'a pas pu être lue (" + truncate(frenchOnly(detail), 300) + ") : vérifiez le format choisi, ou collez seulement le texte."}}
	}
	if strings.HasPrefix(msg, "transcript") && !strings.HasPrefix(msg, "transcript ou summary") {
		return []fieldError{{Key: "transcription", Anchor: "transcription", Message: "La transcription n'a pas pu être lue : collez son texte, ou joignez-la de nouveau."}}
	}
	var out []fieldError
	seen := map[string]bool{}
	for _, part := range strings.Split(strings.TrimPrefix(msg, "appel invalide : "), " ; ") {
		for _, f := range callFields {
			if strings.HasPrefix(part, f.prefix+" :") {
				if !seen[f.err.Message] {
					seen[f.err.Message] = true
					out = append(out, f.err)
				}
				break
			}
		}
	}
	if len(out) == 0 {
		out = []fieldError{{Message: msgInvalid}}
	}
	return out
}

// frenchOnly cuts a transcript error where the transcript reader hands on
// the words of Go's JSON or text decoders, which are English: "JSON
// invalide (ligne 1, colonne 1) : invalid character…" says enough without
// them.
func frenchOnly(detail string) string {
	detail = strings.TrimPrefix(detail, "transcript: ")
	for _, marker := range []string{"JSON invalide", "UTF-16 illisible", "ni UTF-8 ni Windows-1252"} {
		if i := strings.Index(detail, marker); i >= 0 {
			if j := strings.Index(detail[i:], " : "); j >= 0 {
				return detail[:i+j]
			}
		}
	}
	return detail
}

// waitForCase waits, CaseWait at most, until the router has given the
// request its case (or failed it).
func (h *Handler) waitForCase(ctx context.Context, requestID string) {
	ctx, cancel := context.WithTimeout(ctx, h.deps.CaseWait)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		st, err := h.deps.Store.RequestStatus(ctx, requestID)
		switch {
		case err == nil && (st.CaseRef != nil || st.Status == "failed"):
			return
		case err != nil && fault.KindOf(err) != fault.NotFound:
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
