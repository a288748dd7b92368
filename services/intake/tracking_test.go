package intake_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ampmetropole/guichet/services/intake"
)

func TestNormalizeTrackingCode(t *testing.T) {
	tests := []struct {
		in, want string // want "": no code
	}{
		{"7KQ4-M2XD-9HPA", "7KQ4-M2XD-9HPA"},
		{"7kq4m2xd9hpa", "7KQ4-M2XD-9HPA"},
		{" 7kq4 m2xd 9hpa ", "7KQ4-M2XD-9HPA"},
		{"7KQ4.M2XD.9HPA", "7KQ4-M2XD-9HPA"},
		{"7KQ4-M2XD-9HPO", "7KQ4-M2XD-9HP0"}, // O read as 0
		{"IL00-0000-0000", "1100-0000-0000"}, // I and L read as 1
		{"il00-0000-0000", "1100-0000-0000"},
		{"7KQ4-M2XD-9HP", ""},
		{"7KQ4-M2XD-9HPAA", ""},
		{"7KQ4-M2XD-9HPU", ""}, // U is not in the alphabet
		{"", ""},
		{"<script>", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := intake.NormalizeTrackingCode(tt.in)
			if got != tt.want || ok != (tt.want != "") {
				t.Errorf("NormalizeTrackingCode(%q) = %q, %v; want %q", tt.in, got, ok, tt.want)
			}
		})
	}
}

// TestTrackingCodePatternIsCrockford: the pattern's character class is
// Crockford's base 32, the alphabet TrackingCode writes with.
func TestTrackingCodePatternIsCrockford(t *testing.T) {
	const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	p := regexp.MustCompile(intake.TrackingCodePattern)
	for r := rune(0); r < 256; r++ {
		code := strings.Repeat(string(r), 4)
		in := p.MatchString(code + "-" + code + "-" + code)
		if in != strings.ContainsRune(crockford, r) {
			t.Errorf("%q: in the pattern %v, in Crockford's base 32 %v", r, in, !in)
		}
	}
}

// TestSchemaSaysTheTrackingCodePattern holds request.v1's tracking_code
// to TrackingCodePattern.
func TestSchemaSaysTheTrackingCodePattern(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "schemas", "request.v1.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	var schema struct {
		Properties struct {
			TrackingCode struct {
				Pattern string `json:"pattern"`
			} `json:"tracking_code"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(raw, &schema); err != nil {
		t.Fatal(err)
	}
	if got := schema.Properties.TrackingCode.Pattern; got != intake.TrackingCodePattern {
		t.Errorf("request.v1 tracking_code pattern %q, want intake.TrackingCodePattern %q", got, intake.TrackingCodePattern)
	}
}

func FuzzNormalizeTrackingCode(f *testing.F) {
	f.Add("7kq4m2xd9hpa")
	f.Add("ÉÉÉÉ-----")
	f.Add("il00 0000 0000")
	p := regexp.MustCompile(intake.TrackingCodePattern)
	f.Fuzz(func(t *testing.T, s string) {
		c, ok := intake.NormalizeTrackingCode(s)
		if ok != (c != "") {
			t.Fatalf("NormalizeTrackingCode(%q) = %q, %v", s, c, ok)
		}
		if ok {
			if again, _ := intake.NormalizeTrackingCode(c); !p.MatchString(c) || again != c {
				t.Fatalf("NormalizeTrackingCode(%q) = %q is not a stable canonical code", s, c)
			}
		}
		if code := intake.TrackingCode([]byte("fuzz-secret"), s); !p.MatchString(code) {
			t.Fatalf("TrackingCode(%q) = %q", s, code)
		} else if n, ok := intake.NormalizeTrackingCode(code); !ok || n != code {
			t.Fatalf("the code %q normalizes to %q", code, n)
		}
	})
}
