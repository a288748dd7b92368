// Package htmlpage writes server-rendered pages: rendered into a buffer
// first, so that a template error becomes a clean 500 rather than half a
// page, then sent with its status.
package htmlpage

import (
	"bytes"
	"html/template"
	"log/slog"
	"net/http"
)

// Render executes t with data and writes it with status.
func Render(w http.ResponseWriter, t *template.Template, status int, data any, log *slog.Logger) {
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		log.Error("render page", "template", t.Name(), "err", err)
		http.Error(w, "Erreur interne : la page n'a pas pu être affichée.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

// StaffCSP is the content policy of the staff pages: our own files only.
const StaffCSP = "default-src 'self'; script-src 'self'; style-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'self'"

// Protect serves next with the security headers of a page that shows
// personal data (never cached, never framed elsewhere, no referrer) and
// refuses cross-site posts.
func Protect(next http.Handler, csp string) http.Handler {
	guarded := http.NewCrossOriginProtection().Handler(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", csp)
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("Cache-Control", "no-store")
		guarded.ServeHTTP(w, r)
	})
}
