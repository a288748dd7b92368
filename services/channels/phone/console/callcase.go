package console

import (
	"encoding/json"
	"net/http"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/intake"
	"github.com/ampmetropole/guichet/services/platform/fault"
)

// callState is what GET /agent/appels/{code} answers: the case of a call
// logged, "" while the router has not given it one.
type callState struct {
	Code    string `json:"code"`
	CaseRef string `json:"dossier"`
	Link    string `json:"lien,omitempty"`
}

// callCase tells console.js whether a call just logged has its case yet,
// so that the page shows the reference to read back as soon as it exists.
// Only calls: another channel's code is unknown here.
func (h *Handler) callCase(w http.ResponseWriter, r *http.Request) {
	raw := r.PathValue("code")
	code, ok := intake.NormalizeTrackingCode(raw)
	if len(raw) > 40 || !ok {
		jsonError(w, http.StatusBadRequest, "Ce code de suivi est illisible : 12 lettres et chiffres attendus, comme ABCD-EFGH-JKMN.")
		return
	}
	tr, err := h.deps.Store.Tracking(r.Context(), code)
	switch {
	case fault.KindOf(err) == fault.NotFound, err == nil && tr.Request.Channel != schemas.ChannelPhone:
		jsonError(w, http.StatusNotFound, "Aucun appel n'a été journalisé sous ce code de suivi.")
		return
	case err != nil:
		h.deps.Log.Error("console: call's case", "err", err)
		w.Header().Set("Retry-After", "5")
		jsonError(w, http.StatusServiceUnavailable, "Le dossier de l'appel est momentanément introuvable : réessayez dans quelques instants.")
		return
	}
	st := callState{Code: tr.Code}
	if tr.Case != nil {
		st.CaseRef, st.Link = tr.Case.Ref, "/bo/dossiers/"+tr.Case.Ref
	}
	writeJSON(w, http.StatusOK, st)
}

func jsonError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
