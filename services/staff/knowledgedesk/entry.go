package knowledgedesk

import (
	"net/http"
	"strconv"

	"github.com/ampmetropole/guichet/services/cases/knowledge"
	"github.com/ampmetropole/guichet/services/platform/fault"
	"github.com/ampmetropole/guichet/services/staff/auth"
)

type entryPage struct {
	page
	Entry knowledge.Entry
	// Notice says what was just done ("Fiche enregistrée.").
	Notice string
}

// notices are the messages a redirect after a change asks for (?fait=…).
var notices = map[string]string{
	"creee":     "Fiche créée : les agents la trouvent dès maintenant dans la console.",
	"modifiee":  "Modifications enregistrées.",
	"archivee":  "Fiche archivée : elle n'est plus proposée dans la console. Ses utilisations restent comptées.",
	"restauree": "Fiche remise en service : elle est de nouveau proposée dans la console.",
}

// showEntry shows an entry, archived or not, with what editors may do.
func (h *Handler) showEntry(w http.ResponseWriter, r *http.Request) {
	e, ok := h.load(w, r)
	if !ok {
		return
	}
	pg := h.base(r, e.Title)
	h.render(w, h.entry, http.StatusOK, entryPage{page: pg, Entry: e, Notice: notices[r.URL.Query().Get("fait")]})
}

// load reads the entry of the path, or answers 404 (a malformed id is an
// unknown one) or 503.
func (h *Handler) load(w http.ResponseWriter, r *http.Request) (knowledge.Entry, bool) {
	id, ok := entryID(r)
	if !ok {
		h.notFound(w, r)
		return knowledge.Entry{}, false
	}
	e, err := h.deps.Store.Get(r.Context(), id)
	switch {
	case fault.KindOf(err) == fault.NotFound:
		h.notFound(w, r)
		return knowledge.Entry{}, false
	case err != nil:
		h.unavailable(w, r, err)
		return knowledge.Entry{}, false
	}
	return e, true
}

func (h *Handler) archive(w http.ResponseWriter, r *http.Request) {
	h.setArchived(w, r, true)
}

func (h *Handler) restore(w http.ResponseWriter, r *http.Request) {
	h.setArchived(w, r, false)
}

// setArchived archives or restores the entry of the path and comes back to
// it.
func (h *Handler) setArchived(w http.ResponseWriter, r *http.Request, archived bool) {
	id, ok := entryID(r)
	if !ok {
		h.notFound(w, r)
		return
	}
	p, _ := auth.FromContext(r.Context())
	change, action, done := h.deps.Store.Restore, ActionRestore, "restauree"
	if archived {
		change, action, done = h.deps.Store.Archive, ActionArchive, "archivee"
	}
	before, err := h.deps.Store.Get(r.Context(), id)
	if err == nil {
		var e knowledge.Entry
		if e, err = change(r.Context(), id, p.Name); err == nil && e.Version != before.Version {
			h.audit(r, p, action, e)
		}
	}
	switch {
	case fault.KindOf(err) == fault.NotFound:
		h.notFound(w, r)
	case err != nil:
		h.unavailable(w, r, err)
	default:
		http.Redirect(w, r, Base+"/"+strconv.FormatInt(id, 10)+"?fait="+done, http.StatusSeeOther)
	}
}
