package api

import (
	"io"
	"net/http"

	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/intake"
	"github.com/ampmetropole/guichet/services/platform/fault"
	"github.com/ampmetropole/guichet/services/staff/auth"
)

// submitRequest takes a request in the common schema and answers 202 once
// JetStream has stored it.
func (h *Handler) submitRequest(w http.ResponseWriter, r *http.Request) {
	// The body is parsed as JSON whatever the Content-Type says: `curl -d`
	// sends a form type by default, and the schema check is what matters.
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxRequestBody))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	p, _ := auth.FromContext(r.Context())
	receipt, err := h.deps.Intake.SubmitJSON(r.Context(), body, intake.From{Adapter: "api", System: p.Submitter()})
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/requests/"+receipt.ID)
	writeJSON(w, http.StatusAccepted, receipt)
}

// showRequest answers where a request stands, to the system that submitted
// it and to those who see its case; to anyone else it does not exist.
func (h *Handler) showRequest(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	id := r.PathValue("id")
	if !uuidPattern.MatchString(id) {
		writeJSONError(w, http.StatusBadRequest, "identifiant de demande invalide (UUID attendu) : "+truncate(id, 64), nil)
		return
	}
	st, err := h.deps.Store.RequestStatus(r.Context(), id)
	if fault.KindOf(err) == fault.NotFound {
		// Acknowledged a moment ago, its record not written yet.
		if req, ok := h.deps.Intake.Pending(id); ok {
			st, err = casestore.RequestStatus{ID: req.ID, Status: "received", Channel: string(req.Channel), ReceivedAt: req.ReceivedAt,
				System: req.Source.System}, nil
		}
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	mine := st.System != "" && st.System == p.Submitter()
	// Staff who see every case (the mailroom following its scans) see it
	// before routing too; others once it is in a case of their scope.
	inScope := p.Can(auth.PermCaseRead) && (p.Scope().All || st.Competence != "" && p.SeesCase(st.Competence, st.Territory))
	if !mine && !inScope {
		writeJSONError(w, http.StatusNotFound, "introuvable", nil)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}
