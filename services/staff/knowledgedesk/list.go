package knowledgedesk

import (
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/ampmetropole/guichet/services/cases/knowledge"
	"github.com/ampmetropole/guichet/services/platform/fault"
)

// listLimit is how many entries the list shows: a knowledge base is
// hundreds of entries, not thousands.
const listLimit = 200

type listPage struct {
	page
	Q        string
	Archived bool
	Due      bool
	// QError is what is wrong with the search, shown beside its field.
	QError  string
	Error   string
	Entries []knowledge.Entry
	Capped  bool
}

// showList lists the entries: live or archived, those to review, those
// matching the words searched.
func (h *Handler) showList(w http.ResponseWriter, r *http.Request) {
	pg := h.base(r, "Réponses types")
	q := r.URL.Query()
	data := listPage{page: pg, Q: strings.TrimSpace(q.Get("q")), Archived: q.Get("archives") == "1", Due: q.Get("a_revoir") == "1"}
	if data.Archived {
		data.Title = "Réponses types archivées"
	}
	status := http.StatusOK
	switch n := utf8.RuneCountInString(data.Q); {
	case !utf8.ValidString(data.Q) || strings.ContainsRune(data.Q, 0):
		status, data.QError, data.Q = http.StatusBadRequest, "La recherche contient des caractères non permis.", ""
	case n > knowledge.MaxQuery:
		status = http.StatusRequestEntityTooLarge
		data.QError = fmt.Sprintf("La recherche est trop longue : %d caractères au plus. Gardez quelques mots.", knowledge.MaxQuery)
		data.Q = string([]rune(data.Q)[:knowledge.MaxQuery])
	}
	if status != http.StatusOK {
		data.Title = "Erreur – " + data.Title
		h.render(w, h.list, status, data)
		return
	}
	entries, err := h.deps.Store.List(r.Context(), knowledge.ListQuery{Text: data.Q, Archived: data.Archived, Due: data.Due, Limit: listLimit})
	if err != nil {
		if k := fault.KindOf(err); k == fault.Invalid || k == fault.TooLarge {
			data.QError = "Cette recherche n'a pas pu être lue : gardez des mots."
			h.render(w, h.list, http.StatusBadRequest, data)
			return
		}
		h.deps.Log.Error("knowledge list", "err", err)
		data.Error = "La liste est momentanément indisponible : réessayez dans quelques instants."
		h.render(w, h.list, http.StatusServiceUnavailable, data)
		return
	}
	data.Entries, data.Capped = entries, len(entries) == listLimit
	h.render(w, h.list, http.StatusOK, data)
}
