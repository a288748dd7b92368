package redact

import "testing"

func TestMentions(t *testing.T) {
	m := NewMentions([]string{"A.B@Example.net", "+33756123456", "", "pas-un-contact"})
	for text, want := range map[string]bool{
		"écrire à a.b@example.NET": true,
		"+33756123456":             true,
		"+33 7 56 12 34 56":        true,
		"07.56.12.34.56":           true,
		"07 56 12 34 56":           true,
		"0756123457":               false,
		"ab@example.net":           false,
		"pas-un-contact":           false,
	} {
		if got := m.In(text); got != want {
			t.Errorf("In(%q) = %v, want %v", text, got, want)
		}
	}
}
