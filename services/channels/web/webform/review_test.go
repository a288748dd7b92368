package webform_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ampmetropole/guichet/services/testkit"
)

// TestReviewRequestAbuse: « Demander un réexamen » is bound to a tracking
// code like the status page — an unknown one finds nothing —, needs the
// citizen's words, bounds their length, and is asked once.
func TestReviewRequestAbuse(t *testing.T) {
	b := setup(t, options{})
	ctx := context.Background()
	code := submit(t, b, validFields(), nil)
	// Another citizen's request, about another matter: never touched by
	// the first one's review.
	other := validFields()
	other.Set("nom", "Marc Olive")
	other.Set("email", "marc.olive@example.org")
	other.Set("telephone", "06 39 98 20 20")
	other.Set("competence", "eclairage")
	other.Set("objet", "Lampadaire éteint")
	other.Set("description", "Le lampadaire devant le 4 rue Sainte est éteint depuis une semaine.")
	otherCode := submit(t, b, other, nil)
	for _, c := range []string{code, otherCode} {
		testkit.Eventually(t, 10*time.Second, "routed", func() bool {
			tr, err := b.store.Tracking(ctx, c)
			return err == nil && tr.Case != nil
		})
	}
	for _, tc := range []struct {
		name, code, message string
		want                int
		says                string
	}{
		{"unknown code", "ABCD-EFGH-JKLM", "mal orienté", http.StatusNotFound, ""},
		{"malformed code", "%00%27--", "mal orienté", http.StatusNotFound, ""},
		{"no words", code, "  ", http.StatusUnprocessableEntity, "Dites en quelques mots pourquoi"},
		{"too long", code, strings.Repeat("x", 10001), http.StatusUnprocessableEntity, "10 000 caractères au plus"},
		{"oversized", code, strings.Repeat("x", 2<<20), http.StatusRequestEntityTooLarge, ""},
		{"asked", code, "Ce trou est dans le parking de la résidence.", http.StatusSeeOther, ""},
		{"asked twice", code, "Encore.", http.StatusConflict, "Un réexamen ne peut plus être demandé"},
	} {
		resp, body := post(t, b.srv.URL+"/suivi/"+tc.code+"/reexamen", url.Values{"message": {tc.message}}, nil, nil)
		if resp.StatusCode != tc.want || !strings.Contains(body, tc.says) {
			t.Errorf("%s: %d, want %d with %q", tc.name, resp.StatusCode, tc.want, tc.says)
		}
	}
	tr, err := b.store.Tracking(ctx, code)
	if err != nil || !tr.ReviewAsked || tr.Case.Competence != "triage" || len(tr.Messages) != 2 {
		t.Errorf("after the review: asked %v, competence %s, %d messages, %v", tr.ReviewAsked, tr.Case.Competence, len(tr.Messages), err)
	}
	tr, err = b.store.Tracking(ctx, otherCode)
	if err != nil || tr.ReviewAsked || tr.Case.Competence == "triage" || tr.Case.Ref == "" || len(tr.Messages) != 1 {
		t.Errorf("the other citizen's request: asked %v, competence %s, %d messages, %v", tr.ReviewAsked, tr.Case.Competence, len(tr.Messages), err)
	}
}
