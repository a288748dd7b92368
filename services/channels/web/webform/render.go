package webform

import (
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/catalogue"
	"github.com/ampmetropole/guichet/services/cases/personaldata"
	"github.com/ampmetropole/guichet/services/cases/territory"
	"github.com/ampmetropole/guichet/services/platform/frtime"
	"github.com/ampmetropole/guichet/services/platform/htmlpage"
)

func (h *Handler) funcs() template.FuncMap {
	return template.FuncMap{
		// notes labels the satisfaction scale, from 1 to 5.
		"notes": func() map[int]string {
			return map[int]string{1: "pas du tout satisfait(e)", 2: "peu satisfait(e)", 3: "moyennement satisfait(e)", 4: "satisfait(e)", 5: "très satisfait(e)"}
		},
		"date": frtime.DateTime,
		"add":  func(a, b int) int { return a + b },
		"pct": func(x float64) string {
			return strings.Replace(strconv.FormatFloat(x*100, 'f', 1, 64), ".", ",", 1) + " %"
		},
		"share": func(n, of int) string {
			if of == 0 {
				return "—"
			}
			return strings.Replace(strconv.FormatFloat(float64(n)*100/float64(of), 'f', 1, 64), ".", ",", 1) + " %"
		},
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
			return map[string]string{"web": "formulaire en ligne", "phone": "téléphone", "mail": "courrier", "email": "courriel", "open311": "application", "counter": "accueil de votre mairie"}[c]
		},
		"keep": h.keepToken,
		// org is the organisation (catalogue), for the layout's header and
		// footer whatever the page.
		"org":         func() catalogue.Organisation { return h.deps.Catalogue.Organisation },
		"conformance": func() string { return conformance },
		"place":       h.place,
		"thumbnail":   thumbnail,
		"size":        fileSize,
		"telURI": func(phone string) template.URL {
			return template.URL("tel:" + strings.Map(func(r rune) rune {
				if (r >= '0' && r <= '9') || r == '+' {
					return r
				}
				return -1
			}, phone))
		},
		"paragraphs": func(s string) []string {
			var out []string
			for _, p := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n") {
				if p = strings.TrimSpace(p); p != "" {
					out = append(out, p)
				}
			}
			return out
		},
		// What is kept of a request, how long and how to ask for it, from
		// the catalogue's retention schedule (RGPD articles 13 and 15-17).
		"conservation":  func() string { kept, _ := personaldata.CitizenNotice(h.deps.Catalogue); return kept },
		"droits":        func() string { _, rights := personaldata.CitizenNotice(h.deps.Catalogue); return rights },
		"conservations": func() []personaldata.Period { return personaldata.Schedule(h.deps.Catalogue) },
		"duree":         personaldata.Duration,
	}
}

// place writes a request's location as the citizen gave it: the address
// typed, the postal code and the commune's name ("" when none was given).
func (h *Handler) place(loc *schemas.Location) string {
	if loc == nil {
		return ""
	}
	var parts []string
	if a := strings.TrimSpace(loc.Address); a != "" {
		parts = append(parts, a)
	}
	town := loc.PostalCode
	if c, ok := h.deps.Places.ByINSEE(loc.CommuneINSEE); ok {
		town = strings.TrimSpace(town + " " + c.Name)
	}
	if town != "" {
		parts = append(parts, town)
	}
	if len(parts) == 0 && loc.Lat != nil && loc.Lon != nil {
		parts = append(parts, strings.ReplaceAll(fmt.Sprintf("position %.5f ; %.5f", *loc.Lat, *loc.Lon), ".", ","))
	}
	return strings.Join(parts, ", ")
}

// fileSize writes a file's size in French, as the status page lists files.
func fileSize(n int64) string {
	switch {
	case n < 1024:
		return fmt.Sprintf("%d octets", n)
	case n < 1024*1024:
		return fmt.Sprintf("%d Ko", (n+1023)/1024)
	default:
		return strings.Replace(fmt.Sprintf("%.1f Mo", float64(n)/(1024*1024)), ".", ",", 1)
	}
}

// errorTitle is the title of a page that comes back with errors: screen
// readers say the title first, so it tells at once that something is to be
// corrected, and how much.
func errorTitle(title string, n int) string {
	switch n {
	case 0:
		return "Erreur : " + title
	case 1:
		return "Erreur : " + title + " (1 point à corriger)"
	default:
		return fmt.Sprintf("Erreur : %s (%d points à corriger)", title, n)
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
