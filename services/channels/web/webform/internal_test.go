package webform

import (
	"testing"
)

func TestNormalizeCode(t *testing.T) {
	for in, want := range map[string]string{
		"7KQ4-M2XD-9HPA":   "7KQ4-M2XD-9HPA",
		"7kq4m2xd9hpa":     "7KQ4-M2XD-9HPA",
		" 7kq4 m2xd 9hpa ": "7KQ4-M2XD-9HPA",
		"7KQ4-M2XD-9HPO":   "7KQ4-M2XD-9HP0", // O read as 0
		"IL00-0000-0000":   "1100-0000-0000",
		"7KQ4-M2XD-9HP":    "",
		"7KQ4-M2XD-9HPAA":  "",
		"7KQ4-M2XD-9HPU":   "", // U is not in the alphabet
		"":                 "",
		"<script>":         "",
	} {
		if got := normalizeCode(in); got != want {
			t.Errorf("normalizeCode(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzNormalizeCode(f *testing.F) {
	f.Add("7kq4m2xd9hpa")
	f.Add("ÉÉÉÉ-----")
	f.Fuzz(func(t *testing.T, s string) {
		c := normalizeCode(s)
		if c != "" && (!trackingPattern.MatchString(c) || normalizeCode(c) != c) {
			t.Fatalf("normalizeCode(%q) = %q is not a stable canonical code", s, c)
		}
	})
}
