package caseref_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/ampmetropole/guichet/services/cases/caseref"
	"github.com/ampmetropole/guichet/services/platform/fault"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"AMP-2026-004213", true},
		{"AMP-2026-000001", true},
		{"AMP-2026-1000000", true}, // past a million cases, seven digits
		{"AMP-1999-123456", true},
		{"amp-2026-004213", false}, // Normalize reads what people type
		{" AMP-2026-004213", false},
		{"AMP-2026-004213 ", false},
		{"AMP-2026-4213", false},
		{"AMP-26-004213", false},
		{"AMP-20260-04213", false},
		{"AMP 2026 004213", false},
		{"AMP2026004213", false},
		{"AMP-2026-00421a", false},
		{"AMP-2026-００４２１３", false}, // full-width digits
		{"XAMP-2026-004213", false},
		{"AMP-2026-004213\n", false},
		{"", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			r, err := caseref.Parse(tt.in)
			if (err == nil) != tt.ok {
				t.Fatalf("Parse(%q) = %q, %v; want ok=%v", tt.in, r, err, tt.ok)
			}
			if tt.ok && r.String() != tt.in {
				t.Errorf("Parse(%q).String() = %q", tt.in, r)
			}
			if !tt.ok {
				if fault.KindOf(err) != fault.Invalid {
					t.Errorf("Parse(%q): error of kind %v, want invalid", tt.in, fault.KindOf(err))
				}
				if !r.IsZero() {
					t.Errorf("Parse(%q) refused but returned %q", tt.in, r)
				}
			}
		})
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		in, want string // want "": not a reference
	}{
		{"AMP-2026-004213", "AMP-2026-004213"},
		{"amp-2026-004213", "AMP-2026-004213"},
		{"Amp-2026-004213", "AMP-2026-004213"},
		{"  AMP-2026-004213\t", "AMP-2026-004213"},
		{"AMP-2026-4213", "AMP-2026-004213"},
		{"AMP-2026-1", "AMP-2026-000001"},
		{"AMP-2026-1000000", "AMP-2026-1000000"},
		{"AMP-2026-0000004213", "AMP-2026-0000004213"}, // canonical already: kept
		{"amp 2026 4213", "AMP-2026-004213"},
		{"AMP 2026-004213", "AMP-2026-004213"},
		{"AMP - 2026 - 004213", "AMP-2026-004213"},
		{"AMP.2026.004213", "AMP-2026-004213"},
		{"AMP2026-004213", "AMP-2026-004213"},
		{"AMP-2026004213", "AMP-2026-004213"},
		{"AMP2026004213", "AMP-2026-004213"},
		{"amp20264213", "AMP-2026-004213"},
		{"AMP\u20112026\u2011004213", "AMP-2026-004213"}, // non-breaking hyphens, pasted from a letter
		{"AMP–2026–004213", "AMP-2026-004213"},           // en dashes
		{"AMP\u00a02026\u202f004213", "AMP-2026-004213"}, // no-break spaces
		{"\u00a0AMP-2026-004213\u00a0", "AMP-2026-004213"},
		{"AMP-26-4213", ""},
		{"AMP-2026-", ""},
		{"AMP-2026", ""},
		{"AMP", ""},
		{"2026-004213", ""},
		{"AM-2026-004213", ""},
		{"AMP_2026_004213", ""},
		{"AMP-2026-004213.", ""},
		{"AMP-2026-004213 et AMP-2026-004214", ""},
		{"dossier AMP-2026-004213", ""},
		{"AMP-2026-00421a", ""},
		{"AMP-2O26-004213", ""}, // OCR's O for 0 is the extractor's business, not a search's
		{"", ""},
		{"   ", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			r, ok := caseref.Normalize(tt.in)
			if ok != (tt.want != "") || r.String() != tt.want {
				t.Fatalf("Normalize(%q) = %q, %v; want %q", tt.in, r, ok, tt.want)
			}
			if ok {
				if _, err := caseref.Parse(r.String()); err != nil {
					t.Errorf("Normalize(%q) = %q, which Parse refuses: %v", tt.in, r, err)
				}
			}
		})
	}
}

func TestFormat(t *testing.T) {
	tests := []struct {
		year, seq int
		want      string
	}{
		{2026, 4213, "AMP-2026-004213"},
		{2026, 1, "AMP-2026-000001"},
		{2026, 0, "AMP-2026-000000"},
		{2026, 999999, "AMP-2026-999999"},
		{2026, 1000000, "AMP-2026-1000000"},
		{999, 12, "AMP-0999-000012"},
	}
	for _, tt := range tests {
		got := caseref.Format(tt.year, tt.seq)
		if got.String() != tt.want {
			t.Errorf("Format(%d, %d) = %q, want %q", tt.year, tt.seq, got, tt.want)
		}
		if r, err := caseref.Parse(got.String()); err != nil || r != got {
			t.Errorf("Parse(Format(%d, %d)) = %q, %v", tt.year, tt.seq, r, err)
		}
	}
	for _, bad := range [][2]int{{10000, 1}, {-1, 1}, {2026, -1}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Format(%d, %d) did not panic", bad[0], bad[1])
				}
			}()
			caseref.Format(bad[0], bad[1])
		}()
	}
}

func TestZeroRef(t *testing.T) {
	var r caseref.Ref
	if !r.IsZero() || r.String() != "" {
		t.Errorf("zero Ref: IsZero %v, String %q", r.IsZero(), r)
	}
	if caseref.Format(2026, 1).IsZero() {
		t.Error("a formatted Ref is zero")
	}
}

// TestSchemasSayThePattern holds every case_ref of the JSON Schemas (the
// contract on the bus) to Pattern.
func TestSchemasSayThePattern(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "..", "schemas", "*.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var doc any
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		walk(doc, func(key string, v map[string]any) {
			if key != "case_ref" {
				return
			}
			p, ok := v["pattern"]
			if !ok {
				return // a $ref to the one definition
			}
			found++
			if p != caseref.Pattern {
				t.Errorf("%s: case_ref pattern %q, want caseref.Pattern %q", filepath.Base(f), p, caseref.Pattern)
			}
		})
	}
	if found < 2 {
		t.Errorf("found %d case_ref patterns in %d schemas, want those of request.v1 and case-event.v1", found, len(files))
	}
}

// walk calls fn on every object of doc with the key it is under.
func walk(doc any, fn func(key string, v map[string]any)) {
	switch d := doc.(type) {
	case map[string]any:
		for k, v := range d {
			if m, ok := v.(map[string]any); ok {
				fn(k, m)
			}
			walk(v, fn)
		}
	case []any:
		for _, v := range d {
			walk(v, fn)
		}
	}
}

// TestTypedPatternIsHTMLSafe keeps TypedPattern to the syntax an HTML
// pattern attribute compiles (JavaScript with the v flag): no inline flags,
// no \x{…} or \p escapes, every "-" in a class escaped or a range.
func TestTypedPatternIsHTMLSafe(t *testing.T) {
	for _, bad := range []string{`(?`, `\x`, `\p`, `\Q`, `\z`, `\A`, `[-`, `-]`} {
		if regexp.MustCompile(regexp.QuoteMeta(bad)).MatchString(caseref.TypedPattern) {
			t.Errorf("TypedPattern %q holds %q, which an HTML pattern does not read alike", caseref.TypedPattern, bad)
		}
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"AMP-2026-004213", "amp 2026 4213", "AMP2026004213", "AMP\u20112026\u2011004213", "AMP-2026-", "ÉÉ-----", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, ok := caseref.Normalize(s)
		if ok {
			if p, err := caseref.Parse(r.String()); err != nil || p != r {
				t.Fatalf("Normalize(%q) = %q, which Parse reads as %q, %v", s, r, p, err)
			}
			if again, ok := caseref.Normalize(r.String()); !ok || again != r {
				t.Fatalf("Normalize(%q) = %q is not stable: %q, %v", s, r, again, ok)
			}
		} else if !r.IsZero() {
			t.Fatalf("Normalize(%q) refused but returned %q", s, r)
		}
		if p, err := caseref.Parse(s); err == nil {
			if n, ok := caseref.Normalize(s); !ok || n != p {
				t.Fatalf("canonical %q normalizes to %q, %v", s, n, ok)
			}
		}
	})
}
