package control_test

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/cases/control"
)

var monday = time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)

// count is one week's decisions of a channel and competence.
func count(week int, channel, competence string, routed, triage, auto, changed int) casestore.ControlCount {
	return casestore.ControlCount{Week: monday.AddDate(0, 0, 7*week), Channel: channel, Competence: competence,
		DecisionFigures: casestore.DecisionFigures{Routed: routed, ToTriage: triage, Auto: auto, Changed: changed}}
}

// steady is four weeks of voirie by phone, one of them quiet.
func steady() []casestore.ControlCount {
	return []casestore.ControlCount{count(0, "phone", "voirie", 100, 5, 95, 3), count(1, "phone", "voirie", 100, 6, 94, 4),
		count(2, "phone", "voirie", 3, 3, 0, 0), count(3, "phone", "voirie", 100, 4, 96, 2)}
}

// alertKeys are the alerts as dimension/key/measure.
func alertKeys(as []control.Alert) []string {
	var out []string
	for _, a := range as {
		out = append(out, string(a.Dimension)+"/"+a.Key+"/"+string(a.Measure))
	}
	return out
}

// TestControlAlerts: the latest week's shares against the band of the weeks
// before, for the whole week, each competence and each channel; quiet
// weeks and shares on too few decisions count for nothing.
func TestControlAlerts(t *testing.T) {
	for _, tc := range []struct {
		name string
		more []casestore.ControlCount
		want []string
	}{
		{"usual", []casestore.ControlCount{count(4, "phone", "voirie", 100, 5, 95, 3)}, nil},
		{"triage grows", []casestore.ControlCount{count(4, "phone", "voirie", 100, 30, 70, 2)},
			[]string{"week//triage", "competence/voirie/triage", "channel/phone/triage"}},
		{"people override more", []casestore.ControlCount{count(4, "phone", "voirie", 100, 5, 95, 20)},
			[]string{"week//override", "competence/voirie/override", "channel/phone/override"}},
		{"quiet week", []casestore.ControlCount{count(4, "phone", "voirie", 5, 5, 0, 0)}, nil},
		// Nine of ten left to triage: the triage share counts, the override
		// share (one routing) does not.
		{"few routings", []casestore.ControlCount{count(4, "phone", "voirie", 10, 9, 1, 1)},
			[]string{"week//triage", "competence/voirie/triage", "channel/phone/triage"}},
		// A new channel drowned in the week: the week and voirie stay in
		// their band, the new channel has no history.
		{"new channel", []casestore.ControlCount{count(4, "phone", "voirie", 100, 5, 95, 3), count(4, "web", "voirie", 10, 5, 5, 0)}, nil},
		// Éclairage alone leaves its band; the week as a whole does not.
		{"one competence", []casestore.ControlCount{
			count(0, "phone", "eclairage", 20, 2, 18, 0), count(1, "phone", "eclairage", 20, 2, 18, 0), count(3, "phone", "eclairage", 20, 2, 18, 0),
			count(0, "web", "eclairage", 20, 2, 18, 0),
			count(4, "phone", "voirie", 100, 5, 95, 3), count(4, "phone", "eclairage", 20, 6, 14, 0)},
			[]string{"competence/eclairage/triage"}},
		// The cases still waiting for triage are nobody's team.
		{"triage queue", []casestore.ControlCount{
			count(0, "phone", "triage", 10, 10, 0, 0), count(1, "phone", "triage", 10, 10, 0, 0), count(3, "phone", "triage", 10, 10, 0, 0),
			count(4, "phone", "voirie", 100, 5, 95, 3), count(4, "phone", "triage", 10, 5, 5, 2)}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep := control.Compute(append(steady(), tc.more...), control.Labels{})
			got := alertKeys(rep.Alerts)
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Fatalf("alerts %q, want %q", got, tc.want)
			}
			last := rep.Weeks[len(rep.Weeks)-1]
			if len(rep.Weeks) != 5 || last.TriageOut != strings.Contains(strings.Join(got, " "), "week//triage") ||
				last.OverrideOut != strings.Contains(strings.Join(got, " "), "week//override") {
				t.Errorf("weeks %+v", rep.Weeks)
			}
			for _, a := range rep.Alerts {
				if !a.Week.Equal(monday.AddDate(0, 0, 28)) || a.Share >= a.Low && a.Share <= a.High || a.High-a.Low < 0.05 {
					t.Errorf("alert %+v", a)
				}
			}
		})
	}
}

// TestControlAlertWords: the sentence names what left its band, the share, the
// week and the band; the same alert has the same ID whenever computed.
func TestControlAlertWords(t *testing.T) {
	counts := append(steady(), count(4, "phone", "voirie", 100, 30, 70, 2))
	labels := control.Labels{Competence: func(string) string { return "voirie et pluvial" }, Channel: func(string) string { return "appel" }}
	rep := control.Compute(counts, labels)
	if len(rep.Alerts) != 3 {
		t.Fatalf("alerts %+v", rep.Alerts)
	}
	for i, want := range []string{
		"La part des demandes laissées au tri, 30 % la semaine du 30 novembre 2026, sort de sa fourchette habituelle (0 % à 10 %).",
		"Voirie et pluvial : la part des demandes laissées au tri, 30 % la semaine du 30 novembre 2026, sort de sa fourchette habituelle (0 % à 10 %).",
		"Canal appel : la part des demandes laissées au tri, 30 % la semaine du 30 novembre 2026, sort de sa fourchette habituelle (0 % à 10 %).",
	} {
		if got := strings.ReplaceAll(rep.Alerts[i].Text, "\u00a0", " "); got != want {
			t.Errorf("alert %d:\n got %q\nwant %q", i, got, want)
		}
	}
	if id := rep.Alerts[1].ID(); id != "2026-11-30/competence/voirie/triage" || control.Compute(counts, control.Labels{}).Alerts[1].ID() != id {
		t.Errorf("id %q", id)
	}
}

// TestControlRows: weekly rows oldest first, competence and channel rows over the
// weeks by code, with their shares.
func TestControlRows(t *testing.T) {
	rep := control.Compute([]casestore.ControlCount{
		count(1, "web", "voirie", 4, 1, 3, 1), count(0, "phone", "voirie", 2, 0, 2, 0), count(1, "phone", "eclairage", 2, 1, 1, 0),
	}, control.Labels{})
	if len(rep.Weeks) != 2 || !rep.Weeks[0].Week.Equal(monday) || rep.Weeks[1].Routed != 6 || math.Abs(rep.Weeks[1].Triage-1.0/3) > 1e-9 ||
		rep.Weeks[1].Override != 0.25 || rep.Routed != 8 || rep.Auto != 6 {
		t.Errorf("weeks %+v, %d routed, %d auto", rep.Weeks, rep.Routed, rep.Auto)
	}
	if len(rep.Competences) != 2 || rep.Competences[0].Key != "eclairage" || rep.Competences[1].Routed != 6 ||
		len(rep.Channels) != 2 || rep.Channels[0].Key != "phone" || rep.Channels[0].Override != 0 {
		t.Errorf("rows %+v %+v", rep.Competences, rep.Channels)
	}
	if len(rep.Alerts) != 0 {
		t.Errorf("alerts %+v", rep.Alerts)
	}
	if r := control.Compute(nil, control.Labels{}); len(r.Weeks) != 0 || len(r.Alerts) != 0 {
		t.Errorf("empty %+v", r)
	}
}

// TestControlEnded: the week in progress (Paris time) is left out of what is
// e-mailed, its shares not settled yet.
func TestControlEnded(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	week := func(y int, m time.Month, d int) casestore.ControlCount {
		return casestore.ControlCount{Week: time.Date(y, m, d, 0, 0, 0, 0, paris), Channel: "web", Competence: "voirie"}
	}
	counts := []casestore.ControlCount{week(2026, 11, 16), week(2026, 11, 23), week(2026, 11, 30)}
	for _, tc := range []struct {
		now  time.Time
		want int
	}{
		{time.Date(2026, 11, 29, 23, 59, 0, 0, paris), 1},    // Sunday night: the week of the 23rd is not over
		{time.Date(2026, 11, 29, 23, 30, 0, 0, time.UTC), 2}, // Monday 00:30 in Paris
		{time.Date(2026, 12, 2, 12, 0, 0, 0, paris), 2},
		{time.Date(2026, 11, 23, 0, 0, 0, 0, paris), 1},
	} {
		if got := control.Ended(counts, tc.now); len(got) != tc.want {
			t.Errorf("%s: %d weeks ended", tc.now, len(got))
		}
	}
	if m := control.Monday(time.Date(2026, 3, 29, 12, 0, 0, 0, paris)); !m.Equal(time.Date(2026, 3, 23, 0, 0, 0, 0, paris)) {
		t.Errorf("Monday of 29 March 2026 (summer time that day): %s", m)
	}
}
