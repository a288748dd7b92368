package webform

import (
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
	"time"

	"github.com/ampmetropole/guichet/services/platform/htmlpage"

	"github.com/ampmetropole/guichet/services/cases/catalogue"
	"github.com/ampmetropole/guichet/services/cases/territory"
	"github.com/ampmetropole/guichet/services/platform/frtime"
)

func (h *Handler) funcs() template.FuncMap {
	return template.FuncMap{
		"date":      frtime.DateTime,
		"isoDate":   func(t time.Time) string { return t.In(frtime.Paris()).Format(time.RFC3339) },
		"service":   h.deps.Catalogue.ServiceFor,
		"state":     catalogue.StateLabel,
		"territory": territory.TerritoryName,
		"competence": func(code string) string {
			if k, ok := h.deps.Catalogue.Competence(code); ok {
				return k.Label
			}
			return "à déterminer"
		},
		"channel": func(c string) string {
			return map[string]string{"web": "formulaire en ligne", "phone": "téléphone", "mail": "courrier", "email": "courriel", "open311": "application"}[c]
		},
		"keep": h.keepToken,
		"paragraphs": func(s string) []string {
			var out []string
			for _, p := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n") {
				if p = strings.TrimSpace(p); p != "" {
					out = append(out, p)
				}
			}
			return out
		},
	}
}

// parsePages builds one template set per page, each with the layout.
func parsePages(funcs template.FuncMap) (map[string]*template.Template, error) {
	names, err := fs.Glob(templateFiles, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("webform: templates: %w", err)
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if base == "layout" {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFiles, "templates/layout.html", n)
		if err != nil {
			return nil, fmt.Errorf("webform: template %s: %w", n, err)
		}
		pages[base] = t
	}
	return pages, nil
}

// render writes a page.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, page string, data any) {
	htmlpage.Render(w, h.pages[page], status, data, h.deps.Log)
}
