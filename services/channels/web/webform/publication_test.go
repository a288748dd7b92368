package webform_test

import (
	"regexp"
	"strings"
	"testing"
)

// The consent to publish the description (Open311's public feed) is a
// checkbox, unchecked by default, carried into the request only when ticked.
func TestPublicationConsent(t *testing.T) {
	b := setup(t, options{})
	_, body := get(t, b.srv.URL+"/demande")
	box := regexp.MustCompile(`<input type="checkbox" id="publication" name="publication" value="oui"[^>]*>`).FindString(body)
	if box == "" || strings.Contains(box, "checked") || !strings.Contains(body, `<label for="publication">J'accepte que la description de mon signalement, sans mon nom ni mes coordonnées, soit publiée sur les flux publics de la Métropole</label>`) {
		t.Fatalf("consent checkbox %q, or its label, missing", box)
	}
	for _, consent := range []bool{false, true} {
		fields := validFields()
		if consent {
			fields.Set("publication", "oui")
		}
		tr := waitCase(t, b, submit(t, b, fields, nil))
		if tr.Request.PublicationConsent != consent {
			t.Errorf("consent given %v, request says %v", consent, tr.Request.PublicationConsent)
		}
	}
}
