package corpus_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/language/extract"
	"github.com/ampmetropole/guichet/services/tools/corpus"
)

const records = `{"id": "W1", "channel": "web", "competence": "voirie", "name": "Léa Martinez", "email": "Lea.Martinez@example.net", "phone": "06 39 98 14 27", "subject": "Trou", "body": "Un trou rue Paradis, 13006 Marseille."}
{"id": "P1", "channel": "phone", "competence": "eclairage", "caller_number": "+33465710000", "transcript": [{"speaker": "agent", "text": "métropole bonjour"}, {"speaker": "caller", "text": "le lampadaire du quatre rue des lilas à aubagne est éteint"}]}

{"id": "M1", "channel": "mail", "competence": "dechets", "letter": "Simone Aubert\n14 chemin des Oliviers\n13300 Salon-de-Provence\n\nObjet : Composteur\n\nMadame, Monsieur,\nJe souhaite un composteur."}
`

func TestRecordsBecomeChannelRequests(t *testing.T) {
	recs, err := corpus.Read(strings.NewReader(records), "t.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 {
		t.Fatalf("%d records", len(recs))
	}
	b := corpus.NewBuilder(extract.New(nil))
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	var reqs []schemas.Request
	for _, r := range recs {
		req, err := b.Request(context.Background(), r, at)
		if err != nil {
			t.Fatal(err)
		}
		reqs = append(reqs, req)
	}
	if w := reqs[0]; w.Channel != "web" || w.Citizen.Email != "lea.martinez@example.net" || w.Citizen.Phone != "+33639981427" || w.Subject != "Trou" {
		t.Errorf("web %+v", w)
	}
	if p := reqs[1]; p.Channel != "phone" || len(p.Transcript) != 2 || p.Transcript[1].Speaker != "caller" || p.Citizen.Phone != "+33465710000" ||
		!strings.Contains(p.Body, "lampadaire") || p.Location == nil || p.Location.CommuneINSEE != "13005" {
		t.Errorf("phone %+v", p)
	}
	if m := reqs[2]; m.Channel != "mail" || m.Subject != "Composteur" || m.Citizen.Name != "Simone Aubert" || !strings.Contains(m.Body, "composteur") {
		t.Errorf("mail %+v", m)
	}
	// And back: a request a person classified becomes a corpus record.
	for i, want := range []string{"web", "phone", "mail"} {
		rec := corpus.FromRequest(reqs[i], "voirie")
		if rec.Channel != want || rec.Competence != "voirie" || !strings.HasPrefix(rec.ID, "H-") || rec.Name != nil || rec.Email != nil {
			t.Errorf("record %+v", rec)
		}
	}
	if rec := corpus.FromRequest(reqs[1], "eclairage"); len(rec.Transcript) != 2 || rec.Transcript[0].Speaker != "agent" {
		t.Errorf("phone record %+v", rec)
	}
}

func FuzzRead(f *testing.F) {
	for _, s := range strings.Split(records, "\n") {
		f.Add(s)
	}
	f.Add(`{"id":"x","channel":"phone","transcript":[]}`)
	f.Fuzz(func(t *testing.T, line string) {
		recs, err := corpus.Read(strings.NewReader(line), "f.jsonl")
		if err != nil {
			return
		}
		b := corpus.NewBuilder(extract.New(nil))
		for _, r := range recs {
			_, _ = b.Request(context.Background(), r, time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
		}
	})
}
