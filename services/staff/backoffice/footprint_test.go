package backoffice_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/footprint"
	"github.com/ampmetropole/guichet/services/platform/frtime"
	"github.com/ampmetropole/guichet/services/staff/auth"
)

// sampleFootprint is a report as `guichet footprint` records it, with the
// figures of docs/performance.md.
func sampleFootprint(at time.Time) footprint.Report {
	return footprint.Report{Machine: "poste-dev, 2 processeurs, linux", MeasuredAt: at.Truncate(time.Second), Requests: 1000,
		GuichetCPU: 3.09, PGCPU: 2.55, CPUSecondsPer1000: 5.64, WhPer1000: 0.0087, CO2eGPer1000: 0.00046,
		Factors: footprint.Factors{WattsPerCPU: 3.5, PUE: 1.58, GridGPerKWh: 52,
			Sources: "watts : Cloud Carbon Footprint, puissance maximale par vCPU ; PUE : Uptime Institute, enquête mondiale 2023 ; réseau : ADEME Base Empreinte, électricité, mix moyen France continentale"},
		PageBytes: map[string]int{"/demande": 211_024, "/suivi": 15_500}}
}

// section is the footprint panel of a dashboard page.
func footprintSection(t *testing.T, page string) string {
	t.Helper()
	i := strings.Index(page, `<section aria-labelledby="g-empreinte"`)
	if i < 0 {
		t.Fatalf("no footprint panel on the dashboard")
	}
	return page[i : i+strings.Index(page[i:], "</section>")]
}

// TestDashboardFootprintPanel: the « Sobriété » panel says how to produce
// a report while none is recorded, then shows the latest recorded — CPU
// per request, per 1 000 requests with each factor and its source, the
// pages' weight — in French figures; the storage per case in its three
// places is measured live. Only those who see the dashboard see it.
func TestDashboardFootprintPanel(t *testing.T) {
	p := servePilot(t, false)
	ctx := context.Background()
	p.account(t, "nadia", auth.RoleSupervisor, nil, nil)
	p.account(t, "julie", auth.RoleTeam, []string{"voirie"}, nil)
	p.submit(t, schemas.Request{Channel: schemas.ChannelWeb, Subject: "Nid-de-poule", Body: "Nid-de-poule profond devant le 12.",
		Location: &schemas.Location{PostalCode: "13006"}, Citizen: &schemas.Citizen{Email: "lea@example.net"}, Hints: &schemas.Hints{Competence: "voirie"}})
	p.submit(t, schemas.Request{Channel: schemas.ChannelWeb, Subject: "Bac cassé", Body: "Bac jaune cassé, couvercle arraché.",
		Location: &schemas.Location{PostalCode: "13400"}, Citizen: &schemas.Citizen{Email: "lea@example.net"}, Hints: &schemas.Hints{Competence: "dechets"}})
	nadia := p.signIn(t, "nadia")

	code, page := nadia.get("/bo/tableau")
	if code != http.StatusOK {
		t.Fatalf("dashboard: %d", code)
	}
	panel := footprintSection(t, page)
	for _, want := range []string{"Sobriété : empreinte du service", "Aucune mesure de l'empreinte n'est enregistrée", "<code>guichet footprint</code>",
		`id="empreinte-stockage"`, "Stockage par dossier (2 dossiers, mesuré le", "Lignes PostgreSQL", "Pièces jointes et scans", "Flux NATS JetStream"} {
		if !strings.Contains(panel, want) {
			t.Errorf("without a report, the panel lacks %q:\n%s", want, panel)
		}
	}
	if strings.Contains(panel, "non mesuré") || strings.Contains(panel, `id="empreinte-calcul"`) {
		t.Errorf("without a report:\n%s", panel)
	}

	at := time.Date(2026, 12, 7, 14, 5, 0, 0, time.UTC)
	if _, err := footprint.Record(ctx, p.st.Store.DB(), sampleFootprint(at)); err != nil {
		t.Fatal(err)
	}
	_, page = nadia.get("/bo/tableau")
	panel = footprintSection(t, page)
	for _, want := range []string{"Dernière mesure le " + frtime.DateTime(at) + ", sur poste-dev, 2 processeurs, linux (1\u00a0000 demandes routées)",
		">3,09 ms<", ">2,55 ms<", ">5,64 s<", ">0,009 Wh<", ">0,0005 g CO2e<",
		">3,50 W</td><td>Cloud Carbon Footprint, puissance maximale par vCPU<", ">1,58</td><td>Uptime Institute, enquête mondiale 2023<",
		">52 g CO2e par kWh</td><td>ADEME Base Empreinte", ">/demande</th><td class=\"nombre\">211,0 ko<", ">/suivi</th><td class=\"nombre\">15,5 ko<",
		"Stockage par dossier (2 dossiers"} {
		if !strings.Contains(panel, want) {
			t.Errorf("with a report, the panel lacks %q:\n%s", want, panel)
		}
	}
	if strings.Contains(panel, "Aucune mesure") {
		t.Errorf("a report recorded and the panel says there is none")
	}

	// A later report whose sources are not one per factor: all of them,
	// below the factors.
	later := sampleFootprint(at.Add(time.Hour))
	later.Factors.Sources = "mesures du service informatique"
	later.PageBytes = nil
	if _, err := footprint.Record(ctx, p.st.Store.DB(), later); err != nil {
		t.Fatal(err)
	}
	_, page = nadia.get("/bo/tableau")
	panel = footprintSection(t, page)
	if !strings.Contains(panel, "Sources : mesures du service informatique") || strings.Contains(panel, `<th scope="col">Source</th>`) ||
		!strings.Contains(panel, frtime.DateTime(at.Add(time.Hour))) || !strings.Contains(panel, "poids des pages du demandeur n'a pas été mesuré") {
		t.Errorf("the later report:\n%s", panel)
	}

	// A team member does not see the dashboard, nor the panel.
	julie := p.signIn(t, "julie")
	if code, page := julie.get("/bo/tableau"); code != http.StatusForbidden || strings.Contains(page, "Sobriété") || strings.Contains(page, "3,09") {
		t.Errorf("a team member on the dashboard: %d", code)
	}
}
