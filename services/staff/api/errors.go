package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/platform/fault"
)

type errorBody struct {
	Error    string            `json:"error"`
	Problems []schemas.Problem `json:"problems,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

func writeJSONError(w http.ResponseWriter, status int, msg string, problems []schemas.Problem) {
	writeJSON(w, status, errorBody{Error: msg, Problems: problems})
}

// writeError answers err with the status its kind calls for; the message of
// an unexpected error stays in the logs.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var ve *schemas.ValidationError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		writeJSONError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("corps de la requête trop volumineux (limite %d octets)", mbe.Limit), nil)
	case errors.As(err, &ve):
		writeJSONError(w, http.StatusBadRequest, ve.Error(), ve.Problems)
	default:
		switch fault.KindOf(err) {
		case fault.Invalid:
			writeJSONError(w, http.StatusBadRequest, err.Error(), nil)
		case fault.NotFound:
			writeJSONError(w, http.StatusNotFound, "introuvable", nil)
		case fault.Conflict:
			writeJSONError(w, http.StatusConflict, err.Error(), nil)
		case fault.TooLarge:
			writeJSONError(w, http.StatusRequestEntityTooLarge, err.Error(), nil)
		case fault.Forbidden:
			writeJSONError(w, http.StatusForbidden, err.Error(), nil)
		case fault.TooMany:
			w.Header().Set("Retry-After", "60")
			writeJSONError(w, http.StatusTooManyRequests, err.Error(), nil)
		case fault.Transient:
			h.deps.Log.Warn("dependency unavailable", "path", r.URL.Path, "err", err)
			w.Header().Set("Retry-After", "5")
			writeJSONError(w, http.StatusServiceUnavailable, "service momentanément indisponible, réessayez dans quelques secondes", nil)
		default:
			h.deps.Log.Error("request failed", "path", r.URL.Path, "err", err)
			writeJSONError(w, http.StatusInternalServerError, "erreur interne", nil)
		}
	}
}
