package backoffice

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/ampmetropole/guichet/services/cases/footprint"
	"github.com/ampmetropole/guichet/services/platform/frtime"
)

// StorageMeter measures the storage per case (footprint.Meter, which
// keeps its figures 15 minutes so that the dashboard stays fast).
type StorageMeter interface {
	Storage(ctx context.Context) (footprint.Storage, error)
}

// footprintView is the dashboard's « Sobriété » panel: the report
// `guichet footprint` recorded last (nil: none), and the storage per case
// measured live (nil: not measured here). Figures are written the French
// way beforehand, the template only places them.
type footprintView struct {
	Report  *footprintReportView
	Storage *storageView
}

type footprintReportView struct {
	Date, Machine, Requests string
	GuichetCPU, PGCPU       string // "3,09 ms"
	CPUSeconds, Wh, CO2e    string // per 1 000 requests
	Factors                 []factorRow
	Sources                 string // when they are not one per factor
	Pages                   []pageRow
}

type factorRow struct{ Name, Value, Source string }

type pageRow struct{ Path, Weight string }

type storageView struct {
	Date, Cases string // Cases: "environ 1 200 000" when estimated
	Rows        []storageRow
}

type storageRow struct {
	Place          string
	PerCase, Total string
	Measured       bool
}

// footprintPanel gathers the panel; a figure it cannot read is left out
// and logged, the rest of the dashboard is shown all the same.
func (h *Handler) footprintPanel(ctx context.Context) footprintView {
	var v footprintView
	rec, ok, err := h.deps.Store.LatestFootprint(ctx)
	if err != nil {
		h.deps.Log.Error("dashboard: footprint report", "err", err)
	} else if ok {
		v.Report = reportView(rec.Report)
	}
	if h.deps.Storage != nil {
		if s, err := h.deps.Storage.Storage(ctx); err != nil {
			h.deps.Log.Error("dashboard: storage per case", "err", err)
		} else {
			v.Storage = storageViewOf(s)
		}
	}
	return v
}

var fr = message.NewPrinter(language.French)

// frDecimal writes f with n decimals and a decimal comma: "3,09".
func frDecimal(f float64, n int) string { return fr.Sprintf(fmt.Sprintf("%%.%df", n), f) }

// frBytes writes a size in octets, then in ko, Mo or Go (powers of 1 000)
// with one decimal: "9 988 octets", "30,1 Mo".
func frBytes(n int64) string {
	switch {
	case n < 10_000:
		return fr.Sprintf("%d octets", n)
	case n < 1_000_000:
		return frDecimal(float64(n)/1e3, 1) + " ko"
	case n < 1_000_000_000:
		return frDecimal(float64(n)/1e6, 1) + " Mo"
	}
	return frDecimal(float64(n)/1e9, 1) + " Go"
}

func reportView(r footprint.Report) *footprintReportView {
	v := &footprintReportView{Date: frtime.DateTime(r.MeasuredAt), Machine: r.Machine, Requests: fr.Sprint(r.Requests),
		GuichetCPU: frDecimal(r.GuichetCPU, 2) + " ms", PGCPU: frDecimal(r.PGCPU, 2) + " ms",
		CPUSeconds: frDecimal(r.CPUSecondsPer1000, 2) + " s", Wh: frDecimal(r.WhPer1000, 3) + " Wh", CO2e: frDecimal(r.CO2eGPer1000, 4) + " g CO2e"}
	// The command writes its sources "watts : … ; PUE : … ; réseau : …":
	// each goes beside its factor, or all together below when another
	// version wrote them otherwise.
	sources := map[string]string{}
	for part := range strings.SplitSeq(r.Factors.Sources, " ; ") {
		if k, s, ok := strings.Cut(part, " : "); ok {
			sources[strings.TrimSpace(k)] = strings.TrimSpace(s)
		}
	}
	v.Factors = []factorRow{
		{"Puissance d'un processeur occupé", frDecimal(r.Factors.WattsPerCPU, 2) + " W", sources["watts"]},
		{"Efficacité énergétique du centre de données (PUE)", frDecimal(r.Factors.PUE, 2), sources["PUE"]},
		{"Intensité carbone de l'électricité", frDecimal(r.Factors.GridGPerKWh, 0) + " g CO2e par kWh", sources["réseau"]},
	}
	if len(sources) != 3 || sources["watts"] == "" || sources["PUE"] == "" || sources["réseau"] == "" {
		for i := range v.Factors {
			v.Factors[i].Source = ""
		}
		v.Sources = r.Factors.Sources
	}
	paths := make([]string, 0, len(r.PageBytes))
	for p := range r.PageBytes {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	for _, p := range paths {
		v.Pages = append(v.Pages, pageRow{Path: p, Weight: frBytes(int64(r.PageBytes[p]))})
	}
	return v
}

func storageViewOf(s footprint.Storage) *storageView {
	v := &storageView{Date: frtime.DateTime(s.MeasuredAt), Cases: fr.Sprint(s.Cases)}
	if s.CasesEstimated {
		v.Cases = "environ " + v.Cases
	}
	row := func(place string, p *footprint.Place) storageRow {
		if p == nil {
			return storageRow{Place: place}
		}
		r := storageRow{Place: place, Total: frBytes(p.Bytes), Measured: true, PerCase: "aucun dossier"}
		if s.Cases > 0 {
			r.PerCase = frBytes(p.PerCase)
		}
		return r
	}
	v.Rows = []storageRow{
		row("Lignes PostgreSQL (tables et index)", &s.Rows),
		row("Pièces jointes et scans (magasin d'objets NATS JetStream)", s.Objects),
		row("Flux NATS JetStream (demandes, événements des dossiers, lettres mortes)", s.Streams),
	}
	return v
}
