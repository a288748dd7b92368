package console

import (
	"strings"
	"testing"
	"time"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/cases/territory"
)

// What the call goes to when the page opens: the open case of the one
// person found (their most recently updated), a new request only when
// nobody found has an open case, nothing when several people have one.
func TestPreselect(t *testing.T) {
	now := time.Now()
	open := func(ref string, age time.Duration) casestore.CaseSummary {
		return casestore.CaseSummary{Ref: ref, Competence: "voirie", State: "received", UpdatedAt: now.Add(-age)}
	}
	closed := casestore.CaseSummary{Ref: "AMP-2026-000009", State: "closed", UpdatedAt: now}
	for _, tt := range []struct {
		name        string
		cards       []casestore.CitizenCard
		target      string
		preselected bool
		choose      bool
		targets     int
	}{
		{"nobody found", nil, "nouvelle", false, false, 0},
		{"one caller, one open case", []casestore.CitizenCard{{ID: 1, Cases: []casestore.CaseSummary{open("AMP-2026-000001", time.Hour)}}},
			"AMP-2026-000001", true, false, 1},
		{"one caller, several open cases: the most recently updated", []casestore.CitizenCard{{ID: 1, Cases: []casestore.CaseSummary{
			open("AMP-2026-000001", 48*time.Hour), closed, open("AMP-2026-000002", time.Minute), open("AMP-2026-000003", time.Hour)}}},
			"AMP-2026-000002", true, false, 3},
		{"one caller, only finished cases", []casestore.CitizenCard{{ID: 1, Cases: []casestore.CaseSummary{closed}}}, "nouvelle", false, false, 0},
		{"the anonymous case of a reference searched", []casestore.CitizenCard{{Cases: []casestore.CaseSummary{open("AMP-2026-000004", time.Hour)}}},
			"AMP-2026-000004", true, false, 1},
		{"several people, one with an open case: the agent chooses", []casestore.CitizenCard{
			{ID: 1, Cases: []casestore.CaseSummary{open("AMP-2026-000001", time.Hour)}}, {ID: 2, Cases: []casestore.CaseSummary{closed}}},
			"", false, true, 1},
		{"several people without open cases", []casestore.CitizenCard{{ID: 1}, {ID: 2, Cases: []casestore.CaseSummary{closed}}}, "nouvelle", false, false, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := page{Cards: tt.cards}
			p.preselect()
			if p.Form.Target != tt.target || p.Preselected != tt.preselected || p.Choose != tt.choose || len(p.Targets) != tt.targets {
				t.Errorf("target %q preselected %v choose %v targets %d", p.Form.Target, p.Preselected, p.Choose, len(p.Targets))
			}
		})
	}
}

// The phone channel's refusals become French errors next to their field;
// nothing of its field names reaches the agent.
func TestCallErrors(t *testing.T) {
	for _, tt := range []struct {
		msg  string
		keys string // the fields, in order
		says string // in the first message
	}{
		{"transcript ou summary : un appel sans transcription doit avoir un résumé", "resume", "Indiquez le résumé de l'appel ou collez sa transcription."},
		{"appel invalide : caller_number : « 12 » n'est pas un numéro de téléphone ; competence : code inconnu « x »", "caller,competence", "n'est pas un numéro de téléphone"},
		{"appel invalide : case_ref : référence de dossier AMP-AAAA-NNNNNN attendue", "cible", "Ce dossier n'existe pas"},
		{"appel invalide : agent_id : obligatoire, 128 caractères au plus", "", "reconnectez-vous"},
		{"appel invalide : call_id : obligatoire ; summary : 10 000 caractères au plus", ",resume", "identifiant de l'appel"},
		{"transcript : vtt: ligne 3: ligne de temps « début --> fin » attendue", "transcription", "La transcription n'a pas pu être lue (vtt: ligne 3"},
		{"transcript.content : chaîne JSON invalide", "transcription", "La transcription n'a pas pu être lue"},
		{"transcript : whisper: JSON invalide (ligne 1, colonne 1) : invalid character 'p' looking for beginning of value", "transcription",
			"La transcription n'a pas pu être lue (whisper: JSON invalide (ligne 1, colonne 1)) : vérifiez"},
		{"quelque chose d'imprévu", "", "Une information du formulaire n'a pas été acceptée"},
	} {
		errs := callErrors(tt.msg)
		var keys []string
		for _, e := range errs {
			keys = append(keys, e.Key)
			for _, english := range []string{"caller_number", "case_ref", "agent_id", "call_id", "summary", "competence :", "invalid character"} {
				if strings.Contains(e.Message, english) {
					t.Errorf("%q: %q says %q", tt.msg, e.Message, english)
				}
			}
		}
		if strings.Join(keys, ",") != tt.keys || !strings.Contains(errs[0].Message, tt.says) {
			t.Errorf("%q: fields %q, first %q", tt.msg, keys, errs[0].Message)
		}
	}
}

func TestDisplayPhone(t *testing.T) {
	for in, want := range map[string]string{
		"+33687654321":  "06 87 65 43 21",
		"+33491000000":  "04 91 00 00 00",
		"+33639981427":  "06 39 98 14 27", // a range the library does not know yet
		"+442079460958": "+44 20 7946 0958",
		"+3225551234":   "+32 2 555 12 34",
		"":              "",
		"masqué":        "masqué",
	} {
		if got := displayPhone(in); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}

func TestPlaceText(t *testing.T) {
	places, err := territory.Load()
	if err != nil {
		t.Fatal(err)
	}
	h := &Handler{places: places}
	lat, lon := 43.29, 5.38
	for _, tt := range []struct {
		l    *schemas.Location
		want string
	}{
		{nil, ""},
		{&schemas.Location{Address: "45 rue Paradis", PostalCode: "13006", CommuneINSEE: "13206"}, "45 rue Paradis, 13006 Marseille"},
		{&schemas.Location{Address: "3 avenue des Goums, Aubagne", PostalCode: "13400"}, "3 avenue des Goums, Aubagne, 13400"},
		{&schemas.Location{CommuneINSEE: "13005"}, "Aubagne"},
		{&schemas.Location{PostalCode: "13400"}, "13400 Aubagne"},
		{&schemas.Location{Lat: &lat, Lon: &lon}, "point sur la carte (coordonnées données, sans adresse)"},
	} {
		if got := h.placeText(tt.l); got != tt.want {
			t.Errorf("%+v: %q, want %q", tt.l, got, tt.want)
		}
	}
}

func TestQuery(t *testing.T) {
	for in, want := range map[string]casestore.CitizenQuery{
		"amp 2026 42":      {CaseRef: "AMP-2026-000042"},
		"Lea@Example.NET ": {Email: "lea@example.net"},
		"06 87 65 43 21":   {Phone: "+33687654321"},
		"Martinez":         {Name: "Martinez", Place: "Martinez"},
		"rue Paradis":      {Name: "rue Paradis", Place: "rue Paradis"},
		"13400":            {Name: "13400", Place: "13400"},
	} {
		if got := query(in); got != want {
			t.Errorf("%q: %+v, want %+v", in, got, want)
		}
	}
}
