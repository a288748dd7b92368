package webform

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/ampmetropole/guichet/services/channels/web/geocode"
)

// reversePath is the address look-up the form's map calls: same origin, so
// the citizen's browser tells the point to nobody but Guichet, and Guichet
// to the geocoder.
const reversePath = "/adresse/inverse"

// reverseAnswer is the address look-up's answer: the fields of the form it
// fills, or what went wrong (Erreur, in French, for the citizen).
type reverseAnswer struct {
	Adresse    string `json:"adresse,omitempty"`     // street address, "" when far from one
	CodePostal string `json:"code_postal,omitempty"` // postal code
	Commune    string `json:"commune,omitempty"`     // the commune's INSEE code, the value of the form's list
	NomCommune string `json:"nom_commune,omitempty"` // its name
	Libelle    string `json:"libelle,omitempty"`     // all of it in one line, to announce
	Erreur     string `json:"erreur,omitempty"`
}

// reverseAddress answers GET /adresse/inverse?lat=…&lon=…: the address of
// the Métropole at the pin, in JSON.
func (h *Handler) reverseAddress(w http.ResponseWriter, r *http.Request) {
	m := h.carte
	if !m.perClient.Allow(h.clientAddr(r), time.Now()) {
		w.Header().Set("Retry-After", "60")
		writeJSON(w, http.StatusTooManyRequests, reverseAnswer{Erreur: "Trop de recherches d'adresse en peu de temps : patientez une minute. Le repère reste placé ; vous pouvez aussi indiquer l'adresse vous-même."})
		return
	}
	q := r.URL.Query()
	if len(r.URL.RawQuery) > 200 || len(q["lat"]) != 1 || len(q["lon"]) != 1 {
		writeJSON(w, http.StatusBadRequest, reverseAnswer{Erreur: "Indiquez une position et une seule : lat et lon, en degrés décimaux."})
		return
	}
	p, perr := parsePosition(q.Get("lat"), q.Get("lon"))
	switch {
	case perr != nil && perr.Outside:
		writeJSON(w, http.StatusUnprocessableEntity, reverseAnswer{Erreur: "Ce point est hors de la Métropole Aix-Marseille-Provence."})
		return
	case perr != nil || p == nil:
		writeJSON(w, http.StatusBadRequest, reverseAnswer{Erreur: "Indiquez une position et une seule : lat et lon, en degrés décimaux."})
		return
	}
	if !m.overall.Allow("", time.Now()) {
		w.Header().Set("Retry-After", "1")
		writeJSON(w, http.StatusServiceUnavailable, reverseAnswer{Erreur: "La recherche d'adresse est très demandée en ce moment. Le repère est bien placé ; indiquez l'adresse vous-même si vous le souhaitez."})
		return
	}
	a, err := m.geocoder.Reverse(r.Context(), p.Lat, p.Lon)
	switch {
	case errors.Is(err, geocode.ErrNotFound):
		writeJSON(w, http.StatusNotFound, reverseAnswer{Erreur: "Aucune adresse n'est connue à cet endroit. Le repère est bien placé ; indiquez l'adresse ci-dessous si vous la connaissez."})
		return
	case errors.Is(err, geocode.ErrOutside):
		writeJSON(w, http.StatusUnprocessableEntity, reverseAnswer{Erreur: "Cet endroit n'est pas dans une commune de la Métropole Aix-Marseille-Provence."})
		return
	case err != nil:
		h.deps.Log.Warn("reverse geocoding failed", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, reverseAnswer{Erreur: "La recherche de l'adresse ne répond pas pour le moment. Le repère est bien placé ; indiquez l'adresse ci-dessous si vous le souhaitez."})
		return
	}
	town := strings.TrimSpace(a.PostalCode + " " + a.CommuneName)
	label := town
	if a.Address != "" {
		label = a.Address + ", " + town
	}
	writeJSON(w, http.StatusOK, reverseAnswer{Adresse: a.Address, CodePostal: a.PostalCode, Commune: a.CommuneINSEE,
		NomCommune: a.CommuneName, Libelle: label})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
