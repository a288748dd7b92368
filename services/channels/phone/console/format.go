package console

import (
	"strings"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/citizen"
)

// displayPhone writes a number the French way ([citizen.DisplayPhone]).
func displayPhone(e164 string) string { return citizen.DisplayPhone(e164) }

// placeText writes a place as the citizen gave it: "45 rue Paradis, 13006
// Marseille" (the commune named from its INSEE code, else from a postal
// code that covers one commune only).
func (h *Handler) placeText(l *schemas.Location) string {
	if l == nil {
		return ""
	}
	var commune string
	if c, ok := h.places.ByINSEE(l.CommuneINSEE); ok && l.CommuneINSEE != "" {
		commune = c.Name
	} else if cs := h.places.ByPostalCode(l.PostalCode); len(cs) == 1 {
		commune = cs[0].Name
	}
	town := strings.TrimSpace(l.PostalCode + " " + commune)
	// A commune already written in the address is not written twice.
	if addr := strings.ToLower(l.Address); commune != "" && strings.Contains(addr, strings.ToLower(commune)) {
		town = ""
		if !strings.Contains(addr, l.PostalCode) {
			town = l.PostalCode
		}
	}
	var parts []string
	for _, s := range []string{strings.TrimSpace(l.Address), town} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	if len(parts) == 0 && l.Lat != nil && l.Lon != nil {
		return "point sur la carte (coordonnées données, sans adresse)"
	}
	return strings.Join(parts, ", ")
}

// pieceURL is where the back office serves a request's file; "" for a
// digest that is none.
func pieceURL(sha string) string {
	if len(sha) != 64 || strings.Trim(sha, "0123456789abcdef") != "" {
		return ""
	}
	return "/bo/pieces/" + sha
}
