package backoffice

import (
	"strings"
	"testing"
	"time"

	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/cases/catalogue"
)

// TestControlPanelAlerts: weekly shares from the counts; the latest ended
// week is flagged, with an alert in words for the week, its competence and
// its channel, when its triage or override share leaves the band of the
// weeks before; quiet weeks count for nothing; a week in progress is shown
// but not judged.
func TestControlPanelAlerts(t *testing.T) {
	cat, err := catalogue.Default()
	if err != nil {
		t.Fatal(err)
	}
	h := &Handler{deps: Deps{Catalogue: cat}}
	monday := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	week := func(i, routed, triage, auto, changed int) casestore.ControlCount {
		return casestore.ControlCount{Week: monday.AddDate(0, 0, 7*i), Channel: "phone", Competence: "voirie",
			DecisionFigures: casestore.DecisionFigures{Routed: routed, ToTriage: triage, Auto: auto, Changed: changed}}
	}
	steady := []casestore.ControlCount{week(0, 100, 5, 95, 3), week(1, 100, 6, 94, 4), week(2, 3, 3, 0, 0), week(3, 100, 4, 96, 2)}
	for _, tc := range []struct {
		name           string
		last           casestore.ControlCount
		triage, change bool
	}{
		{"usual", week(4, 100, 5, 95, 3), false, false},
		{"triage grows", week(4, 100, 30, 70, 2), true, false},
		{"people override more", week(4, 100, 5, 95, 20), false, true},
		{"quiet week", week(4, 5, 5, 0, 0), false, false},
	} {
		counts := append(append([]casestore.ControlCount{}, steady...), tc.last)
		if early := h.controlPanel(counts, monday.AddDate(0, 0, 7*4+1)); len(early.Alerts) != 0 || len(early.Weeks) != 5 {
			t.Errorf("%s: the week in progress judged: %q", tc.name, early.Alerts)
		}
		v := h.controlPanel(counts, monday.AddDate(0, 0, 7*5+1))
		last := v.Weeks[len(v.Weeks)-1]
		if len(v.Weeks) != 5 || last.TriageOut != tc.triage || last.OverrideOut != tc.change {
			t.Errorf("%s: last week %+v", tc.name, last)
		}
		want := 0
		for _, b := range []bool{tc.triage, tc.change} {
			if b {
				want++
			}
		}
		// The week, its one competence and its one channel.
		want *= 3
		if len(v.Alerts) != want || want > 0 && (!strings.Contains(v.Alerts[0], "sort de sa fourchette habituelle") ||
			!strings.Contains(strings.Join(v.Alerts, " "), "Voirie : ") || !strings.Contains(strings.Join(v.Alerts, " "), "Canal appel : ")) {
			t.Errorf("%s: alerts %q", tc.name, v.Alerts)
		}
		if len(v.Competences) != 1 || v.Competences[0].Label != "Voirie" || len(v.Channels) != 1 || v.Channels[0].Label != "appel" {
			t.Errorf("%s: rows %+v %+v", tc.name, v.Competences, v.Channels)
		}
	}
}
