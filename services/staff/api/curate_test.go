package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ampmetropole/guichet/services/testkit"
)

// post submits a web request and waits for its case.
func postRouted(t *testing.T, url, body string) (requestID, caseRef string) {
	t.Helper()
	code, got := do(t, "POST", url+"/api/v1/requests", body)
	if code != http.StatusAccepted {
		t.Fatalf("submit: %d %v", code, got)
	}
	id := got["id"].(string)
	testkit.Eventually(t, 10*time.Second, "request routed", func() bool {
		_, st := do(t, "GET", url+"/api/v1/requests/"+id, "")
		caseRef, _ = st["case_ref"].(string)
		return caseRef != ""
	})
	return id, caseRef
}

func events(c map[string]any) []map[string]any {
	var out []map[string]any
	for _, e := range c["events"].([]any) {
		out = append(out, e.(map[string]any))
	}
	return out
}

func last(c map[string]any) map[string]any { ev := events(c); return ev[len(ev)-1] }

func TestPeopleCorrectTheRouter(t *testing.T) {
	b := setup(t)
	u := b.srv.URL
	r1, a := postRouted(t, u, `{"channel": "web", "body": "Le bac jaune est cassé.", "citizen": {"email": "lea@example.net"}}`)
	r2, a2 := postRouted(t, u, fmt.Sprintf(`{"channel": "web", "body": "Toujours rien pour le bac, dossier %s.", "citizen": {"email": "lea@example.net"}}`, a))
	_, bRef := postRouted(t, u, `{"channel": "web", "body": "Même chose pour mon bac.", "citizen": {"email": "marc@example.org"}, "hints": {"competence": "dechets"}}`)
	if a2 != a {
		t.Fatalf("second request in %s, want %s", a2, a)
	}

	// Triage: a person chooses the competence, with who and why.
	code, c := do(t, "POST", u+"/api/v1/cases/"+a+"/route", `{"competence": "dechets", "reason": "bac de collecte"}`)
	if code != 200 || c["competence"] != "dechets" {
		t.Fatalf("route: %d %v", code, c)
	}
	ev := last(c)
	if ev["type"] != "rerouted" || !strings.HasPrefix(ev["actor"].(map[string]any)["id"].(string), "test-admin-") || ev["data"].(map[string]any)["reason"] != "bac de collecte" ||
		ev["data"].(map[string]any)["from"] != "triage" {
		t.Errorf("reroute event %v", ev)
	}
	for _, tc := range []struct {
		path, body string
		code       int
	}{
		{"/api/v1/cases/" + a + "/route", `{"competence": "dechets"}`, 400},               // no reason
		{"/api/v1/cases/" + a + "/route", `{"competence": "police", "reason": "y"}`, 400}, // unknown competence
		{"/api/v1/cases/" + a + "/route", `{"competence": "triage", "reason": "y"}`, 400}, // not a team
		{"/api/v1/cases/" + a + "/route", `{"competence": "voirie", "territory": "lune", "reason": "y"}`, 400},
		{"/api/v1/cases/" + a + "/route", `{"competence": "dechets", "reason": "y"}`, 409}, // already there
		{"/api/v1/cases/AMP-2026-999999/route", `{"competence": "voirie", "reason": "y"}`, 404},
		{"/api/v1/cases/pas-un-dossier/route", `{"competence": "voirie", "reason": "y"}`, 400},
		{"/api/v1/cases/" + a + "/split", `{"request_ids": ["` + r1 + `", "` + r2 + `"], "reason": "y"}`, 409}, // would empty it
		{"/api/v1/cases/" + a + "/split", `{"request_ids": ["0190d3a8-0000-7000-8000-000000000000"], "reason": "y"}`, 400},
		{"/api/v1/cases/" + a + "/split", `{"request_ids": [], "reason": "y"}`, 400},
		{"/api/v1/cases/" + a + "/merge", `{"into": "` + a + `", "reason": "y"}`, 400},
		{"/api/v1/cases/" + strings.ToLower(a) + "/merge", `{"into": "` + strings.ToLower(a) + `", "reason": "y"}`, 400}, // the same case, typed
		{"/api/v1/cases/" + a + "/merge", `{"into": "AMP-2026", "reason": "y"}`, 400},
		{"/api/v1/cases/" + a + "/unmerge", `{"reason": "y"}`, 409},
	} {
		if code, got := do(t, "POST", u+tc.path, tc.body); code != tc.code {
			t.Errorf("%s %s: %d %v, want %d", tc.path, tc.body, code, got, tc.code)
		}
	}

	// Undo a link: the second request gets its own case; then back again.
	code, split := do(t, "POST", u+"/api/v1/cases/"+a+"/split", `{"request_ids": ["`+r2+`"], "reason": "autre bac"}`)
	if code != 201 || split["ref"] == a || split["competence"] != "dechets" {
		t.Fatalf("split: %d %v", code, split)
	}
	_, st := do(t, "GET", u+"/api/v1/requests/"+r2, "")
	if st["case_ref"] != split["ref"] {
		t.Errorf("request in %v after the split", st["case_ref"])
	}
	code, back := do(t, "POST", u+"/api/v1/cases/"+split["ref"].(string)+"/split", `{"request_ids": ["`+r2+`"], "into": "`+a+`", "reason": "erreur, même bac"}`)
	if code != 200 || back["ref"] != a || last(back)["type"] != "request_linked" {
		t.Fatalf("link back: %d %v", code, back)
	}

	// Merge the other citizen's case into the first, then undo it; the
	// references may be typed in lower case, the answers say them in
	// canonical form.
	code, merged := do(t, "POST", u+"/api/v1/cases/"+strings.ToLower(bRef)+"/merge", `{"into": " `+strings.ToLower(a)+`", "reason": "même adresse"}`)
	if code != 200 || merged["ref"] != a || last(merged)["type"] != "merged" {
		t.Fatalf("merge: %d %v", code, merged)
	}
	_, gone := do(t, "GET", u+"/api/v1/cases/"+bRef, "")
	if gone["state"] != "merged" || gone["merged_into"] != a {
		t.Errorf("merged case: state %v, into %v", gone["state"], gone["merged_into"])
	}
	code, restored := do(t, "POST", u+"/api/v1/cases/"+strings.ToLower(bRef)+"/unmerge", `{"reason": "pas la même adresse"}`)
	if code != 200 || restored["ref"] != bRef || restored["state"] != "received" || last(restored)["type"] != "unmerged" {
		t.Fatalf("unmerge: %d %v", code, restored)
	}

	// What people decided is training material.
	labels, err := b.store.HumanLabels(context.Background(), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(labels) != 1 || labels[0].Request.ID != r1 || labels[0].Competence != "dechets" || !strings.HasPrefix(labels[0].DecidedBy, "test-admin-") {
		var got []string
		for _, l := range labels {
			got = append(got, l.Request.ID+":"+l.Competence)
		}
		t.Errorf("human labels %s", strings.Join(got, ","))
	}
}
