package backoffice_test

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/staff/auth"
	"github.com/ampmetropole/guichet/services/staff/backoffice"
)

// routed is a request the router sends to a competence on the territory of
// a postal code.
func routed(competence, text, postal string) schemas.Request {
	return schemas.Request{Channel: schemas.ChannelWeb, Subject: text, Body: text, Location: &schemas.Location{PostalCode: postal},
		Citizen: &schemas.Citizen{Email: "lea@example.net"}, Hints: &schemas.Hints{Competence: competence}}
}

var openCount = regexp.MustCompile(`<strong>(\d+)</strong> dossiers? ouverts?`)

func opened(t *testing.T, page string) string {
	t.Helper()
	m := openCount.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no open count on the dashboard:\n%s", page)
	}
	return m[1]
}

// TestDashboardFiguresRefresh: the dashboard's figures are kept for the
// freshness given and say when they were computed; a new case shows once
// it has passed, and never figures older than five times it.
func TestDashboardFiguresRefresh(t *testing.T) {
	const fresh = 3 * time.Second
	p := servePilot(t, false, func(d *backoffice.Deps) { d.DashboardFresh = fresh })
	p.account(t, "nadia", auth.RoleSupervisor, nil, nil)
	p.submit(t, routed("voirie", "Nid-de-poule profond sur la chaussée devant le 12.", "13006"))
	nadia := p.signIn(t, "nadia")

	start := time.Now()
	code, page := nadia.get("/bo/tableau")
	if code != 200 || opened(t, page) != "1" {
		t.Fatalf("dashboard: %d, %s open", code, opened(t, page))
	}
	if !strings.Contains(page, "Chiffres calculés le ") || !strings.Contains(page, ", il y a moins de 15 secondes.") {
		t.Errorf("the dashboard does not say how old its figures are")
	}
	p.submit(t, routed("dechets", "Bac jaune cassé, le couvercle est arraché.", "13006"))
	if time.Since(start) >= figuresMaxAge(fresh) {
		t.Fatalf("routing a request took %s, past the figures' age: the test cannot tell kept figures from new ones", time.Since(start))
	}
	if _, page := nadia.get("/bo/tableau"); opened(t, page) != "1" {
		t.Fatalf("the figures were computed again within %s: %s open", fresh, opened(t, page))
	}
	deadline := time.Now().Add(figuresMaxAge(fresh) + 10*time.Second)
	for {
		_, page := nadia.get("/bo/tableau")
		if opened(t, page) == "2" {
			if took := time.Since(start); took < fresh {
				t.Errorf("new figures after %s, before the freshness (%s) passed", took, fresh)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the new case is not counted %s after the first view", time.Since(start))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func figuresMaxAge(fresh time.Duration) time.Duration { return 5 * fresh }

// TestDashboardFiguresKeptPerScope: figures kept for one supervisor are
// never shown to another whose scope differs, nor for another period.
func TestDashboardFiguresKeptPerScope(t *testing.T) {
	p := servePilot(t, false)
	p.account(t, "nadia", auth.RoleSupervisor, nil, nil)
	p.account(t, "aubagne", auth.RoleSupervisor, nil, []string{"pays-d-aubagne-etoile"})
	p.account(t, "chef-voirie", auth.RoleSupervisor, []string{"voirie"}, nil)
	p.submit(t, routed("voirie", "Nid-de-poule profond sur la chaussée devant le 12.", "13006"))
	p.submit(t, routed("voirie", "Chaussée effondrée rue de la République, nid-de-poule dangereux.", "13400"))
	p.submit(t, routed("dechets", "Bac jaune cassé, le couvercle est arraché.", "13006"))

	nadia, aubagne, roads := p.signIn(t, "nadia"), p.signIn(t, "aubagne"), p.signIn(t, "chef-voirie")
	for _, v := range []struct {
		who     person
		name    string
		open    string
		without string
	}{
		{nadia, "nadia", "3", ""},
		{aubagne, "aubagne", "1", ">Marseille-Provence<"},
		{roads, "chef-voirie", "2", ">Déchets<"},
		{nadia, "nadia again", "3", ""},
		{aubagne, "aubagne again", "1", ">Marseille-Provence<"},
	} {
		code, page := v.who.get("/bo/tableau")
		if code != 200 || opened(t, page) != v.open || (v.without != "" && strings.Contains(page, v.without)) {
			t.Errorf("%s: %d, %s open (want %s), %q shown: %v", v.name, code, opened(t, page), v.open, v.without, v.without != "" && strings.Contains(page, v.without))
		}
	}
	// Another period: other figures, not the month's.
	if _, page := nadia.get("/bo/tableau?jours=7"); !strings.Contains(page, "Demandes reçues par jour (8 derniers jours)") {
		t.Error("the week's dashboard shows another period's figures")
	}
}
