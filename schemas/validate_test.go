package schemas

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func newValidator(t testing.TB) *Validator {
	t.Helper()
	v, err := NewValidator()
	if err != nil {
		t.Fatalf("NewValidator: %v", err)
	}
	return v
}

// TestGoldenExamples proves each golden example validates, and that the Go
// types carry every field: decoding then re-encoding gives the same JSON.
func TestGoldenExamples(t *testing.T) {
	v := newValidator(t)
	files, err := filepath.Glob("testdata/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden examples: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var encoded []byte
			switch {
			case strings.HasPrefix(filepath.Base(f), "request-"):
				r, err := v.DecodeRequest(raw)
				if err != nil {
					t.Fatalf("golden request does not validate: %v", err)
				}
				if encoded, err = v.EncodeRequest(r); err != nil {
					t.Fatalf("re-encoded request does not validate: %v", err)
				}
			case strings.HasPrefix(filepath.Base(f), "event-"):
				if err := v.ValidateEvent(raw); err != nil {
					t.Fatalf("golden event does not validate: %v", err)
				}
				var e CaseEvent
				if err := json.Unmarshal(raw, &e); err != nil {
					t.Fatal(err)
				}
				if encoded, err = v.EncodeEvent(e); err != nil {
					t.Fatalf("re-encoded event does not validate: %v", err)
				}
			default:
				t.Fatalf("golden file %s is neither request- nor event-", f)
			}
			if !jsonEqual(t, raw, encoded) {
				t.Errorf("round trip through Go types changed the message:\n got %s\nwant %s", encoded, compact(t, raw))
			}
		})
	}
}

func TestRequestViolations(t *testing.T) {
	v := newValidator(t)
	base, err := os.ReadFile("testdata/request-web.json")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		mutate func(m map[string]any)
		field  string
	}{
		{"unknown channel", func(m map[string]any) { m["channel"] = "fax" }, "/channel"},
		{"missing body", func(m map[string]any) { delete(m, "body") }, "/"},
		{"bad e-mail", func(m map[string]any) { m["citizen"].(map[string]any)["email"] = "pas-une-adresse" }, "/citizen/email"},
		{"phone not E.164", func(m map[string]any) { m["citizen"].(map[string]any)["phone"] = "06 39 98 14 27" }, "/citizen/phone"},
		{"bad date", func(m map[string]any) { m["received_at"] = "hier" }, "/received_at"},
		{"id not UUIDv7", func(m map[string]any) { m["id"] = "123" }, "/id"},
		{"unknown field", func(m map[string]any) { m["priority"] = "high" }, "/"},
		{"bad competence hint", func(m map[string]any) { m["hints"].(map[string]any)["competence"] = "police" }, "/hints/competence"},
		{"bad case ref", func(m map[string]any) { m["case_refs"] = []any{"AMP-26-1"} }, "/case_refs/0"},
		{"lat without lon", func(m map[string]any) { delete(m["location"].(map[string]any), "lon") }, "/location"},
		{"wrong schema version", func(m map[string]any) { m["schema"] = "request.v2" }, "/schema"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m map[string]any
			if err := json.Unmarshal(base, &m); err != nil {
				t.Fatal(err)
			}
			tt.mutate(m)
			raw, _ := json.Marshal(m)
			err := v.ValidateRequest(raw)
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("want a ValidationError, got %v", err)
			}
			found := false
			for _, p := range ve.Problems {
				if p.Field == tt.field {
					found = true
				}
			}
			if !found {
				t.Errorf("no problem on %s in %v", tt.field, ve.Problems)
			}
		})
	}
}

func TestMalformedJSON(t *testing.T) {
	v := newValidator(t)
	for _, in := range []string{"", "{", "[1,2]", `{"id": }`, "null"} {
		if err := v.ValidateRequest([]byte(in)); err == nil {
			t.Errorf("%q validated", in)
		}
	}
}

func TestEventSubject(t *testing.T) {
	e := CaseEvent{Competence: "voirie", Type: EventCreated}
	if got, want := e.Subject(), "guichet.cases.voirie.created"; got != want {
		t.Errorf("Subject() = %q, want %q", got, want)
	}
}

// FuzzValidateRequest feeds arbitrary bytes to the validator, the first
// parser of every request from outside: it must answer, never panic.
func FuzzValidateRequest(f *testing.F) {
	v := newValidator(f)
	files, _ := filepath.Glob("testdata/request-*.json")
	for _, p := range files {
		raw, _ := os.ReadFile(p)
		f.Add(raw)
	}
	f.Add([]byte(`{"id":1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := v.DecodeRequest(data)
		if err != nil {
			return
		}
		if _, err := v.EncodeRequest(r); err != nil {
			t.Fatalf("a valid request re-encodes to an invalid one: %v", err)
		}
	})
}

func jsonEqual(t *testing.T, a, b []byte) bool {
	return bytes.Equal(compact(t, a), compact(t, b))
}

// compact normalizes JSON (key order, spacing, number form) for comparison.
func compact(t *testing.T, raw []byte) []byte {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("compact: %v", err)
	}
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestValidateCatalogueNamesTheLine(t *testing.T) {
	v, err := NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	doc := `{
  "organisation": {"name": "M", "service_desk": "S", "phone": "1", "address": "A", "hours": "H", "data_protection_contact": "dpd@example.org"},
  "defaults": {
    "deadlines": {"urgent": "8h", "high": "18h", "normal": "45h", "low": "90h"},
    "triage_deadline": "9h",
    "required_before_qualification": ["territory"],
    "reply_templates": [{"id": "a", "title": "T", "body": "B"}]
  },
  "competences": [
    {"code": "voirie", "label": "Voirie", "help": "", "service": "S",
     "teams": [
       {"territory": "marseille-provence", "name": "N", "email": "pas-une-adresse", "supervisor_email": "s@example.org"}
     ]}
  ]
}`
	err = v.ValidateCatalogue([]byte(doc))
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("%v", err)
	}
	want := map[string]bool{"ligne 7 : /defaults/reply_templates/0/id": true, "ligne 12 : /competences/0/teams/0/email": true}
	for _, p := range ve.Problems {
		if !want[p.Field] {
			t.Errorf("unexpected problem %+v", p)
		}
		delete(want, p.Field)
	}
	if len(want) > 0 {
		t.Errorf("missing problems %v in %v", want, ve.Problems)
	}
}
