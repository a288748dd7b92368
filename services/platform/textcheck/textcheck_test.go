package textcheck_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/ampmetropole/guichet/services/platform/textcheck"
)

func TestValid(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in   string
		want bool
	}{
		{"Nid-de-poule rue Paradis", true},
		{"é à ç — €", true},
		{"", true},
		{"avant\x00après", false},
		{"latin-1 \xe9", false},
		{"tab\tet\nretour", true},
	} {
		if got := textcheck.Valid(tt.in); got != tt.want {
			t.Errorf("Valid(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestValues(t *testing.T) {
	t.Parallel()
	if got := textcheck.Values(url.Values{"q": {"lampadaire"}, "state": {"received"}}); got != "" {
		t.Errorf("clean values: %q", got)
	}
	if got := textcheck.Values(url.Values{"a": {"ok"}, "q": {"x\x00"}}); got != "q" {
		t.Errorf("NUL value: %q", got)
	}
	if got := textcheck.Values(url.Values{"\xff": {"ok"}}); got == "" {
		t.Error("a name in invalid UTF-8 passed")
	}
}

func TestJSONHasNUL(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in   string
		want bool
	}{
		{`{"body": "ok"}`, false},
		{`{"body": "a\u0000b"}`, true},
		{`{"body": "a\\u0000b"}`, false}, // a backslash, then the text u0000
		{`{"body": "a\\\u0000b"}`, true}, // a backslash, then NUL
		{`{"body": "\\\\u0000"}`, false}, // two backslashes, then text
		{`{"b\u0000": 1}`, true},         // in a name too
		{`{"body": "\u00001"}`, true},    // NUL then a digit
		{`{"body": "\u0001"}`, false},    // another control character is storable
	} {
		if got := textcheck.JSONHasNUL([]byte(tt.in)); got != tt.want {
			t.Errorf("JSONHasNUL(%s) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

// FuzzJSONHasNUL holds JSONHasNUL to what decoding the JSON says.
func FuzzJSONHasNUL(f *testing.F) {
	for _, s := range []string{`{"a":"\u0000"}`, `["\\u0000"]`, `"\\\u0000"`, `{"x":1}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var v any
		if json.Unmarshal([]byte(s), &v) != nil {
			return
		}
		if got, want := textcheck.JSONHasNUL([]byte(s)), hasNUL(v); got != want {
			t.Fatalf("JSONHasNUL(%q) = %v, decoded value has NUL: %v", s, got, want)
		}
	})
}

func hasNUL(v any) bool {
	switch x := v.(type) {
	case string:
		return strings.ContainsRune(x, 0)
	case []any:
		for _, e := range x {
			if hasNUL(e) {
				return true
			}
		}
	case map[string]any:
		for k, e := range x {
			if strings.ContainsRune(k, 0) || hasNUL(e) {
				return true
			}
		}
	}
	return false
}

func TestMiddleware(t *testing.T) {
	t.Parallel()
	h := textcheck.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
	}), func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusBadRequest) })
	for _, tt := range []struct {
		target string
		want   int
	}{
		{"/bo/dossiers?q=lampadaire", http.StatusTeapot},
		{"/bo/dossiers?q=%00", http.StatusBadRequest},
		{"/bo/audit?acteur=%FF", http.StatusBadRequest},
		{"/bo/dossiers/%00", http.StatusBadRequest},
		{"/bo/dossiers?q=%zz", http.StatusBadRequest},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", tt.target, nil))
		if rec.Code != tt.want {
			t.Errorf("GET %s: %d, want %d", tt.target, rec.Code, tt.want)
		}
	}
}
