package routeeval_test

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/ampmetropole/guichet/services/cases/territory"
	"github.com/ampmetropole/guichet/services/language/extract"
	"github.com/ampmetropole/guichet/services/routing/classify"
	"github.com/ampmetropole/guichet/services/routing/incident"
	"github.com/ampmetropole/guichet/services/routing/router"
	"github.com/ampmetropole/guichet/services/tools/corpus"
	"github.com/ampmetropole/guichet/services/tools/routeeval"
)

func engine(t *testing.T) (*router.Engine, *corpus.Builder) {
	t.Helper()
	m, err := classify.DefaultModel()
	if err != nil {
		t.Fatal(err)
	}
	places, err := territory.Load()
	if err != nil {
		t.Fatal(err)
	}
	return router.NewEngine(router.EngineConfig{}, classify.New(m, nil), places), corpus.NewBuilder(extract.New(places))
}

func TestRun(t *testing.T) {
	f, err := os.Open("testdata/small.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := corpus.Read(f, "small.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	e, b := engine(t)
	rep, err := routeeval.Run(context.Background(), recs, b, e)
	if err != nil {
		t.Fatal(err)
	}
	// T2 follows T1 by phone and cites it; T3 cites an older case; T5 is
	// T1's author about another matter and must not join T1's case.
	if rep.N != 6 || rep.CitationRecall != 1 || rep.FollowupAccuracy != 1 || rep.FalseLinkRate != 0 {
		t.Errorf("links: %+v", rep)
	}
	if rep.TerritoryAccuracy != 1 {
		t.Errorf("territory accuracy %.2f: %+v", rep.TerritoryAccuracy, rep.Misses)
	}
	if rep.Accuracy < 0.8 || rep.MacroF1 <= 0 || rep.AutoPrecision < rep.Accuracy {
		t.Errorf("classification: accuracy %.2f macro-F1 %.2f auto-precision %.2f: %+v", rep.Accuracy, rep.MacroF1, rep.AutoPrecision, rep.Misses)
	}
	total := 0
	for _, row := range rep.Confusion {
		for _, n := range row {
			total += n
		}
	}
	if total != 6 || rep.PerCompetence["voirie"].Support != 2 {
		t.Errorf("confusion %v, per competence %v", rep.Confusion, rep.PerCompetence)
	}
	// Per channel: four web records (T3 cites a case), one call that
	// follows T1 up, one letter; the gap is the spread of their accuracy.
	web, phone, mail := rep.PerChannel["web"], rep.PerChannel["phone"], rep.PerChannel["mail"]
	if len(rep.PerChannel) != 3 || web.N != 4 || phone.N != 1 || mail.N != 1 || phone.FollowupAccuracy != 1 || mail.FalseLinkRate != 0 {
		t.Errorf("per channel %+v", rep.PerChannel)
	}
	lo, hi := 1.0, 0.0
	for _, f := range rep.PerChannel {
		lo, hi = min(lo, f.Accuracy), max(hi, f.Accuracy)
	}
	if rep.ChannelGap != hi-lo || rep.PerRegister != nil {
		t.Errorf("channel gap %.3f (accuracies from %.3f to %.3f), registers %+v", rep.ChannelGap, lo, hi, rep.PerRegister)
	}
	var out bytes.Buffer
	rep.Print(&out, true)
	for _, want := range []string{"Exactitude de la compétence", "Matrice de confusion", "voirie", "Rattachements à tort", "Par canal (écart"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}

func TestBadRecords(t *testing.T) {
	for name, line := range map[string]string{
		"not JSON":        `{"id":`,
		"unknown channel": `{"id":"X","channel":"fax","competence":"voirie"}`,
		"empty letter":    `{"id":"X","channel":"mail","competence":"voirie","letter":" "}`,
		"no id":           `{"channel":"web","competence":"voirie","body":"x"}`,
	} {
		if _, err := corpus.Read(strings.NewReader(line+"\n"), "bad.jsonl"); err == nil || !strings.Contains(err.Error(), "bad.jsonl:1") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestIncidents routes a small labelled fixture in reported_at order: two
// reports of one pothole (numbers 112 and 110 of one street, 25 m apart)
// share an incident; a pothole on another street and a street light at the
// same address stay apart.
func TestIncidents(t *testing.T) {
	recs, err := corpus.ReadPath("testdata/incidents.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	e, b := engine(t)
	e.WithIncidents(incident.DefaultConfig())
	rep, err := routeeval.Run(context.Background(), recs, b, e)
	if err != nil {
		t.Fatal(err)
	}
	if rep.IncidentPrecision == nil || *rep.IncidentPrecision != 1 || *rep.IncidentRecall != 1 || rep.IncidentPairs != 1 || rep.IncidentPredicted != 1 {
		t.Fatalf("incidents: %+v", rep)
	}
	var out bytes.Buffer
	rep.Print(&out, true)
	if !strings.Contains(out.String(), "Incidents : précision par paires") {
		t.Errorf("report lacks the incident figures:\n%s", out.String())
	}
	// Without grouping, the pair is a miss with its reasons.
	e2, b2 := engine(t)
	rep, err = routeeval.Run(context.Background(), recs, b2, e2)
	if err != nil {
		t.Fatal(err)
	}
	if *rep.IncidentRecall != 0 {
		t.Fatalf("recall without grouping: %v", *rep.IncidentRecall)
	}
	found := false
	for _, m := range rep.Misses {
		found = found || (m.ID == "I2+I1" && strings.Contains(m.What, "même voie"))
	}
	if !found {
		t.Errorf("misses lack I2+I1 with its reasons: %+v", rep.Misses)
	}
}
