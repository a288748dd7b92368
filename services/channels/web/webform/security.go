package webform

import (
	"net"
	"net/http"
	"strings"
	"time"
)

// contentSecurityPolicy allows nothing but our own files: no inline script
// or style, no framing, forms only to ourselves; images from the map's tile
// server too, when the form has a map (tileOrigin, checked by tileOrigin()).
func contentSecurityPolicy(tileOrigin string) string {
	img := "img-src 'self' data:"
	if tileOrigin != "" {
		img += " " + tileOrigin
	}
	return "default-src 'self'; script-src 'self'; style-src 'self'; " + img + "; " +
		"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
}

func securityHeaders(csp string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", csp)
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		// Tracking codes are in URLs: never hand them to another site.
		hd.Set("Referrer-Policy", "no-referrer")
		// The form's map may ask for the citizen's position, when they
		// press its button; no other site may, framed or not.
		hd.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(self)")
		hd.Set("Cross-Origin-Opener-Policy", "same-origin")
		if strings.HasPrefix(r.URL.Path, "/static/") {
			hd.Set("Cache-Control", "public, max-age=3600")
		} else {
			hd.Set("Cache-Control", "no-store")
		}
		next.ServeHTTP(w, r)
	})
}

// limited refuses a client that submits too often with 429.
func (h *Handler) limited(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			host = r.RemoteAddr
		}
		if h.cfg.ClientIP != nil {
			host = h.cfg.ClientIP(r)
		}
		if !h.limiter.Allow(host, time.Now()) {
			w.Header().Set("Retry-After", "60")
			h.render(w, r, http.StatusTooManyRequests, "message", messagePage{Title: "Trop d'envois",
				Text: "Vous avez envoyé beaucoup de formulaires en peu de temps. Patientez une minute avant de réessayer ; rien de ce que vous avez déjà envoyé n'est perdu.",
				Back: r.URL.Path})
			return
		}
		next(w, r)
	}
}
