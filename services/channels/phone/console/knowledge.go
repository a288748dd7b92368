package console

import (
	"bytes"
	"context"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/ampmetropole/guichet/services/cases/knowledge"
	"github.com/ampmetropole/guichet/services/cases/territory"
	"github.com/ampmetropole/guichet/services/platform/fault"
)

// Knowledge is the knowledge base as the console uses it (knowledge.Store).
type Knowledge interface {
	Search(ctx context.Context, q knowledge.Query) ([]knowledge.Entry, error)
	Get(ctx context.Context, id int64) (knowledge.Entry, error)
	RecordUse(ctx context.Context, u knowledge.Use) (knowledge.Entry, error)
}

// maxQuestion bounds the question typed in the panel (runes): a question,
// not a transcript. What the caller said, read for suggestions, may be
// longer (knowledge.MaxQuery).
const maxQuestion = 500

// fichesShown is how many entries the panel proposes.
const fichesShown = 5

// From where the panel's entries come.
const (
	fromQuestion = "question" // the question the agent typed in the panel
	fromSummary  = "resume"   // the summary of the call, as the agent types it
)

// knowledgePanel is what the console shows of the knowledge base: the
// entries that answer the caller's question without a case.
type knowledgePanel struct {
	On bool
	// Question is what the agent typed in the panel, kept as typed;
	// Territory the caller's territory chosen to narrow the answers.
	Question, Territory string
	Territories         []fichesOption
	// From says what the entries were found from (fromQuestion,
	// fromSummary); Searched that a search was made.
	From     string
	Searched bool
	Results  []fiche
	// Error is what is wrong with the question, shown beside it;
	// Unavailable that the knowledge base cannot be read.
	Error, Unavailable string
	// Used is the entry a call was just answered from.
	Used *knowledge.Entry
	// The console's state, carried by the panel's forms so that the page
	// comes back on the same caller and call.
	Caller, Query, CallID string
	CSRF                  template.HTML
}

// fichesOption is a choice of the panel's territory list.
type fichesOption struct{ Code, Name string }

// fiche is an entry as the panel shows it.
type fiche struct {
	knowledge.Entry
	CompetenceLabel, TerritoryLabel string
	// Suggested: its competence is the one the classifier read first in
	// what the caller said.
	Suggested bool
}

// knowledge fills the knowledge-base panel of the page: the entries for the
// question typed in the panel, else for the summary the agent posted with
// the call (a call refused comes back with its suggestions), and the
// notice of a call just answered from an entry.
func (h *Handler) knowledge(r *http.Request, p *page) {
	if h.deps.Knowledge == nil {
		return
	}
	k := &p.Fiches
	k.On = true
	k.Caller, k.Query, k.CallID = p.Caller, p.Query, p.CallID
	if k.Caller != "" {
		k.Query = ""
	}
	if h.deps.CSRF != nil {
		k.CSRF = h.deps.CSRF(r)
	}
	for _, c := range territory.Codes() {
		k.Territories = append(k.Territories, fichesOption{c, territory.TerritoryName(c)})
	}
	q := r.URL.Query()
	if id, err := strconv.ParseInt(q.Get("fiche"), 10, 64); err == nil && id > 0 {
		if e, err := h.deps.Knowledge.Get(r.Context(), id); err == nil {
			k.Used = &e
		}
	}
	text, from := q.Get("fq"), fromQuestion
	k.Question, k.Territory = text, q.Get("ft")
	if r.Method == http.MethodPost && strings.TrimSpace(text) == "" {
		text, from = p.Form.Summary, fromSummary
	}
	if msg, _ := checkQuestion(k.Question, k.Territory); msg != "" {
		k.Error = msg
		k.Question = clipRunes(strings.ReplaceAll(strings.ToValidUTF8(k.Question, ""), "\x00", ""), maxQuestion)
		if !slices.Contains(territory.Codes(), k.Territory) {
			k.Territory = ""
		}
		return
	}
	h.findFiches(r.Context(), k, text, from)
}

// checkQuestion says what is wrong with a question and territory from the
// panel, with the status to answer; "" when nothing is.
func checkQuestion(question, terr string) (string, int) {
	switch {
	case !utf8.ValidString(question) || strings.ContainsRune(question, 0):
		return "La question contient des caractères non permis : retapez-la.", http.StatusBadRequest
	case utf8.RuneCountInString(question) > maxQuestion:
		return fmt.Sprintf("La question est trop longue : %d caractères au plus. Gardez les mots de l'appelant qui disent ce qu'il cherche.", maxQuestion),
			http.StatusRequestEntityTooLarge
	case terr != "" && !slices.Contains(territory.Codes(), terr):
		return "Ce territoire n'existe pas : choisissez-en un dans la liste, ou « Tous les territoires ».", http.StatusBadRequest
	}
	return "", 0
}

// findFiches searches the knowledge base for text (at most
// knowledge.MaxQuery runes of it are read), the entries of the competences
// the classifier reads in it first.
func (h *Handler) findFiches(ctx context.Context, k *knowledgePanel, text, from string) {
	text = clipRunes(strings.TrimSpace(text), knowledge.MaxQuery)
	if text == "" {
		return
	}
	k.Searched, k.From = true, from
	var comps []string
	if h.deps.Suggest != nil {
		comps = h.deps.Suggest(ctx, text)
	}
	entries, err := h.deps.Knowledge.Search(ctx, knowledge.Query{Text: text, Competences: comps, Territory: k.Territory, Limit: fichesShown})
	if err != nil {
		if fault.KindOf(err) == fault.Invalid {
			k.Error = "La question contient des caractères non permis : retapez-la."
			return
		}
		h.deps.Log.Error("console: knowledge search", "err", err)
		k.Searched, k.Unavailable = false, "Les réponses types sont momentanément indisponibles : réessayez dans quelques instants."
		return
	}
	for _, e := range entries {
		f := fiche{Entry: e, CompetenceLabel: "Toutes compétences", TerritoryLabel: "Tous territoires"}
		if e.Competence != "" {
			f.CompetenceLabel = h.competenceLabel(e.Competence)
		}
		if e.Territory != "" {
			f.TerritoryLabel = territory.TerritoryName(e.Territory)
		}
		f.Suggested = len(comps) > 0 && e.Competence == comps[0]
		k.Results = append(k.Results, f)
	}
}

// knowledgeRoutes mounts the console's knowledge-base routes.
func (h *Handler) knowledgeRoutes() {
	if h.deps.Knowledge == nil {
		return
	}
	h.mux.HandleFunc("GET /agent/connaissances", h.searchFiches)
	h.mux.HandleFunc("GET /agent/connaissances/suggestions", h.suggestFiches)
	h.mux.HandleFunc("POST /agent/connaissances/{id}/reponse", h.answeredWith)
}

// searchFiches is the panel's search without JavaScript: the console as
// the screen-pop shows it, with the entries for the question.
func (h *Handler) searchFiches(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if _, status := checkQuestion(q.Get("fq"), q.Get("ft")); status != 0 {
		// The console itself, the question refused beside its field (see
		// knowledge), under the status that says so.
		h.show(statusWriter{ResponseWriter: w, status: status}, r)
		return
	}
	h.show(w, r)
}

// statusWriter answers status where the page would have answered 200.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s statusWriter) WriteHeader(code int) {
	if code == http.StatusOK {
		code = s.status
	}
	s.ResponseWriter.WriteHeader(code)
}

// suggestFiches answers the panel's results alone, as HTML, for fiches.js:
// the entries for what the caller said (?texte=, at most
// knowledge.MaxQuery characters) or for the question typed.
func (h *Handler) suggestFiches(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	k := knowledgePanel{On: true, Territory: q.Get("ft"), Caller: clipRunes(q.Get("caller"), 40), Query: clipRunes(q.Get("q"), 200),
		CallID: clipRunes(q.Get("appel"), 128)}
	if h.deps.CSRF != nil {
		k.CSRF = h.deps.CSRF(r)
	}
	text, from := q.Get("texte"), fromSummary
	if q.Get("origine") == fromQuestion {
		from, k.Question = fromQuestion, text
	}
	msg, status := checkQuestion("", k.Territory)
	switch {
	case !utf8.ValidString(text) || strings.ContainsRune(text, 0):
		msg, status = "Le texte contient des caractères non permis.", http.StatusBadRequest
	case utf8.RuneCountInString(text) > knowledge.MaxQuery:
		msg, status = fmt.Sprintf("Le texte est trop long : %d caractères au plus.", knowledge.MaxQuery), http.StatusRequestEntityTooLarge
	}
	if msg != "" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(status)
		fmt.Fprintln(w, msg)
		return
	}
	h.findFiches(r.Context(), &k, text, from)
	var buf bytes.Buffer
	if err := h.page.ExecuteTemplate(&buf, "fiches-resultats", k); err != nil {
		h.deps.Log.Error("console: knowledge results", "err", err)
		http.Error(w, "Les réponses types n'ont pas pu être affichées.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if k.Unavailable != "" {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	_, _ = buf.WriteTo(w)
}

// answeredWith records that the call was answered from an entry — counted,
// with no case opened and nothing of the caller kept — and comes back to
// the console, which says so.
func (h *Handler) answeredWith(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		h.shell.Error(w, h.viewer(r), http.StatusNotFound, "Cette réponse type n'existe pas.")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		h.shell.Error(w, h.viewer(r), http.StatusBadRequest, "")
		return
	}
	agent := h.agent(r, "")
	if agent == "" {
		agent = "centre d'appels"
	}
	e, err := h.deps.Knowledge.RecordUse(r.Context(), knowledge.Use{Entry: id, Agent: agent, Channel: knowledge.ChannelPhone})
	switch {
	case fault.KindOf(err) == fault.NotFound:
		h.shell.Error(w, h.viewer(r), http.StatusNotFound, "Cette réponse type n'existe pas ou vient d'être archivée : cherchez-en une autre.")
		return
	case err != nil:
		h.deps.Log.Error("console: knowledge use", "err", err)
		h.shell.Error(w, h.viewer(r), http.StatusServiceUnavailable, "La réponse n'a pas pu être enregistrée : réessayez dans quelques instants.")
		return
	}
	// Back on the same caller, call and search.
	v := url.Values{"fiche": {strconv.FormatInt(e.ID, 10)}}
	for _, f := range []struct {
		name string
		max  int
	}{{"caller", 40}, {"q", 200}, {"appel", 128}, {"fq", maxQuestion}, {"ft", 40}} {
		if s := strings.TrimSpace(r.PostForm.Get(f.name)); s != "" && utf8.ValidString(s) {
			v.Set(f.name, clipRunes(s, f.max))
		}
	}
	http.Redirect(w, r, "/agent/connaissances?"+v.Encode()+"#fiches", http.StatusSeeOther)
}

// clipRunes keeps the first n runes of s.
func clipRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}
