package webform

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/ampmetropole/guichet/services/cases/opendata"
	"github.com/ampmetropole/guichet/services/platform/frtime"
)

// OpenData is the day's open-data files (opendata.Publisher).
type OpenData interface {
	Files(ctx context.Context) (*opendata.Published, error)
}

// donneesPage is /donnees: what is published, the downloads, and a chart
// of the last months with its table.
type donneesPage struct {
	Title     string
	Rows      int
	Until     string // the last month published, in French
	At        string
	Threshold int
	Bars      []bar
	Chart     chart
}

// bar is a month in the chart (an SVG drawn here: no script, no library).
type bar struct {
	Month, Label, Short string
	Received, Finished  int
	X, Y, H, FY, FH     int // the received bar, then the finished one
}

type chart struct {
	Width, Height, Base, Max int
}

// chartMonths is how many months the chart shows.
const chartMonths = 12

func (h *Handler) showDonnees(w http.ResponseWriter, r *http.Request) {
	files, err := h.deps.OpenData.Files(r.Context())
	if err != nil {
		h.unavailable(w, r, err)
		return
	}
	p := donneesPage{Title: "Données ouvertes", Rows: len(files.Rows), At: frtime.DateTime(files.At), Threshold: opendata.DefaultThreshold,
		Until: frtime.Month(files.Until.AddDate(0, -1, 0))}
	months := opendata.Months(files.Rows)
	if len(months) > chartMonths {
		months = months[len(months)-chartMonths:]
	}
	c := chart{Width: 720, Height: 280, Base: 240}
	for _, m := range months {
		c.Max = max(c.Max, m.Received, m.Finished)
	}
	step := 0
	if len(months) > 0 {
		step = (c.Width - 60) / len(months)
	}
	for i, m := range months {
		t, err := time.ParseInLocation("2006-01", m.Month, frtime.Paris())
		if err != nil {
			continue
		}
		b := bar{Month: m.Month, Label: frtime.Month(t), Short: shortMonth(t), Received: m.Received, Finished: m.Finished, X: 50 + i*step}
		if c.Max > 0 {
			b.H = m.Received * 200 / c.Max
			b.FH = m.Finished * 200 / c.Max
		}
		b.Y, b.FY = c.Base-b.H, c.Base-b.FH
		p.Bars = append(p.Bars, b)
	}
	p.Chart = c
	h.render(w, r, http.StatusOK, "donnees", p)
}

var shortMonths = []string{"janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc."}

func shortMonth(t time.Time) string {
	return fmt.Sprintf("%s %02d", shortMonths[t.Month()-1], t.Year()%100)
}

// showDonneesFile serves the day's CSV or its descriptor.
func (h *Handler) showDonneesFile(w http.ResponseWriter, r *http.Request) {
	files, err := h.deps.OpenData.Files(r.Context())
	if err != nil {
		h.unavailable(w, r, err)
		return
	}
	body, ctype := files.CSV, "text/csv; charset=utf-8"
	name := opendata.FileName
	if r.PathValue("file") == "demandes.schema.json" {
		body, ctype, name = files.Schema, "application/json; charset=utf-8", "demandes.schema.json"
	} else if r.PathValue("file") != opendata.FileName {
		h.notFound(w, r)
		return
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Header().Set("Last-Modified", files.At.UTC().Format(http.TimeFormat))
	_, _ = w.Write(body)
}
