package mailroomdesk

import (
	"strings"
	"testing"
	"time"

	"github.com/ampmetropole/guichet/services/cases/casestore"
)

// TestExplain: every reason the mail channel records becomes a French
// sentence that says what to do.
func TestExplain(t *testing.T) {
	for _, tc := range []struct {
		status, reason string
		says           string
	}{
		{"rejected", "mailroom: scan: PDF chiffré", "protégé par un mot de passe"},
		{"rejected", "scan : PDF chiffré", "protégé par un mot de passe"},
		{"rejected", "mailroom: scan: format non pris en charge (PDF, TIFF, JPEG ou PNG attendu)", "n'est pas un scan"},
		{"rejected", "imapin: message du numériseur sans scan (PDF, TIFF, JPEG ou PNG)", "n'est pas un scan"},
		{"rejected", "mailroom: scan: scan vide ou illisible (confiance 0.12)", "Aucun texte n'a pu être lu"},
		{"rejected", "no text", "Aucun texte n'a pu être lu"},
		{"rejected", "mailroom: scan: fichier vide", "Aucun texte n'a pu être lu"},
		{"rejected", "Scan refusé : lecture interrompue, le fichier demande trop de calcul ou de mémoire (arrêtée après 60 s, pendant tesseract)", "trop de calcul"},
		{"rejected", "mailroom: scan: PDF de 31 pages, plus de 20", "trop de pages"},
		{"rejected", "scan: TIFF de plus de 20 pages", "trop de pages"},
		{"rejected", "scan: image de 30000×30000 pixels, plus de 40000000 pixels", "trop grandes"},
		{"rejected", "scan: page 1 de 9000×9000 pixels à 300 dpi, plus de 40000000 pixels", "trop grandes"},
		{"rejected", "scan: fichier de 30000000 octets, plus de 20971520", "trop volumineux (20 Mio au plus)"},
		{"rejected", "message de 52428800 octets (limite 26214400)", "courriel est trop volumineux"},
		{"rejected", "email: plus de 100 parties", "courriel est trop volumineux"},
		{"rejected", "email: message mal formé : unexpected EOF", "courriel est mal formé"},
		{"rejected", "imapin: message automatique (auto-replied) : ni demande ni accusé de réception", "aucune action n'est nécessaire"},
		{"rejected", "Scan non lu : trop de scans en cours de lecture ; déposez-le de nouveau.", "Trop de scans"},
		{"rejected", "Scan non lu : le service s'est arrêté pendant la lecture ; déposez-le de nouveau.", "s'est arrêté"},
		{"rejected", "Scan non lu (incident technique) ; déposez-le de nouveau dans quelques minutes.", "Incident technique"},
		{"rejected", "échec après 5 essais : mailroom: intake: nats: timeout", "Incident technique"},
		{"rejected", "mailroom: scan: PDF illisible: pdfinfo: Syntax Error", "abîmé ou incomplet"},
		{"rejected", "scan: TIFF invalide: répertoire tronqué", "abîmé ou incomplet"},
		{"rejected", "quelque chose d'inconnu", "traitez-le à la main"},
		{"rejected", "", "traitez-le à la main"},
		{"failed", "schema: request.v1: subject too long", "L'orientation automatique a échoué"},
		{"failed", "", "L'orientation automatique a échoué"},
	} {
		got := explain(tc.status, tc.reason)
		if !strings.Contains(got, tc.says) {
			t.Errorf("explain(%s, %q) = %q, want it to say %q", tc.status, tc.reason, got, tc.says)
		}
		// A sentence, in French, that ends and says what to do: never
		// the technical reason itself.
		if !strings.HasSuffix(got, ".") || (tc.reason != "" && strings.Contains(got, tc.reason)) {
			t.Errorf("explain(%s, %q) = %q: not a sentence of its own", tc.status, tc.reason, got)
		}
	}
}

// TestRows: a letter and its corrections are one line, that of the latest
// correction, which knows the first reading.
func TestRows(t *testing.T) {
	id := func(s string) *string { return &s }
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	first := casestore.Letter{RequestID: id("a"), Channel: "mail", Status: "routed", ReceivedAt: at, Text: "lu", CorrectedBy: id("b")}
	second := casestore.Letter{RequestID: id("b"), Channel: "mail", Status: "routed", ReceivedAt: at, Text: "corrigé", Supersedes: "a", CorrectedBy: id("c"), Operator: "courrier-01"}
	latest := second // the same, not corrected again
	latest.CorrectedBy = nil
	third := casestore.Letter{RequestID: id("c"), Channel: "mail", Status: "routed", ReceivedAt: at, Text: "recorrigé", Supersedes: "b", Operator: "courrier-02"}
	other := casestore.Letter{RequestID: id("d"), Channel: "mail", Status: "failed", ReceivedAt: at.Add(-time.Hour), Reason: id("schema: invalid")}
	rejected := casestore.Letter{MessageID: "imap:INBOX:1:2", Channel: "mail", Status: "rejected", ReceivedAt: at.Add(-2 * time.Hour), Reason: id("scan : PDF chiffré")}
	for _, tc := range []struct {
		name    string
		letters []casestore.Letter
		just    []string
		want    []string // the texts of the lines
		check   func(t *testing.T, rs []row)
	}{
		{"one correction", []casestore.Letter{latest, first}, nil, []string{"corrigé"}, func(t *testing.T, rs []row) {
			if rs[0].First == nil || rs[0].First.Text != "lu" || rs[0].Replaced {
				t.Errorf("first reading %+v", rs[0])
			}
		}},
		{"a correction corrected", []casestore.Letter{third, second, first, other}, []string{"c"}, []string{"recorrigé", ""}, func(t *testing.T, rs []row) {
			if rs[0].First == nil || rs[0].First.Text != "lu" || !rs[0].Just || rs[1].Just {
				t.Errorf("lines %+v", rs)
			}
			if rs[1].Explain == "" || !rs[1].Failed() {
				t.Errorf("a failed letter without what to do: %+v", rs[1])
			}
		}},
		{"the correction beyond the list", []casestore.Letter{first, rejected}, nil, []string{"lu", ""}, func(t *testing.T, rs []row) {
			if !rs[0].Replaced || rs[0].First != nil {
				t.Errorf("line %+v", rs[0])
			}
			if !strings.Contains(rs[1].Explain, "mot de passe") {
				t.Errorf("rejected: %q", rs[1].Explain)
			}
		}},
		{"the first reading beyond the list", []casestore.Letter{second}, nil, []string{"corrigé"}, func(t *testing.T, rs []row) {
			if rs[0].First != nil || !rs[0].Replaced {
				t.Errorf("line %+v", rs[0])
			}
		}},
		{"nothing", nil, nil, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs := rows(tc.letters, tc.just...)
			var got []string
			for _, r := range rs {
				got = append(got, r.Text)
			}
			if strings.Join(got, "|") != strings.Join(tc.want, "|") || len(got) != len(tc.want) {
				t.Fatalf("lines %q, want %q", got, tc.want)
			}
			if tc.check != nil {
				tc.check(t, rs)
			}
		})
	}
}
