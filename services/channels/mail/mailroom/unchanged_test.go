package mailroom

import "testing"

// TestSameText: a correction that changes only white space is the same
// text; one that changes a word, or splits or joins a line, is not.
func TestSameText(t *testing.T) {
	const read = "Paul Roux\n8 avenue de 1a Gare\n\nObjet : Lampadalre eteint\n\nLe lampadaire est eteint."
	for _, tc := range []struct {
		name, text string
		same       bool
	}{
		{"identical", read, true},
		{"Windows line endings", "Paul Roux\r\n8 avenue de 1a Gare\r\n\r\nObjet : Lampadalre eteint\r\n\r\nLe lampadaire est eteint.", true},
		{"old Mac line endings", "Paul Roux\r8 avenue de 1a Gare\r\rObjet : Lampadalre eteint\r\rLe lampadaire est eteint.", true},
		{"spaces at the ends of lines", "  Paul Roux  \n8 avenue de 1a Gare\t\n\nObjet : Lampadalre eteint\n \nLe lampadaire est eteint.   ", true},
		{"repeated spaces and tabs", "Paul  Roux\n8 avenue\tde 1a  Gare\n\nObjet :  Lampadalre eteint\n\nLe lampadaire est eteint.", true},
		{"no-break spaces", "Paul\u00a0Roux\n8 avenue de 1a Gare\n\nObjet\u00a0: Lampadalre eteint\n\nLe lampadaire est eteint.", true},
		{"blank lines repeated and around", "\n\nPaul Roux\n8 avenue de 1a Gare\n\n\n\nObjet : Lampadalre eteint\n\nLe lampadaire est eteint.\n\n\n", true},
		{"a form feed between pages", "Paul Roux\n8 avenue de 1a Gare\fObjet : Lampadalre eteint\n\nLe lampadaire est eteint.", true},
		{"a word corrected", "Paul Roux\n8 avenue de la Gare\n\nObjet : Lampadalre eteint\n\nLe lampadaire est eteint.", false},
		{"an accent added", "Paul Roux\n8 avenue de 1a Gare\n\nObjet : Lampadalre éteint\n\nLe lampadaire est eteint.", false},
		{"a line split", "Paul Roux\n8 avenue de 1a Gare\n\nObjet : Lampadalre eteint\n\nLe lampadaire\nest eteint.", false},
		{"two lines joined", "Paul Roux 8 avenue de 1a Gare\n\nObjet : Lampadalre eteint\n\nLe lampadaire est eteint.", false},
		{"a paragraph break added", "Paul Roux\n\n8 avenue de 1a Gare\n\nObjet : Lampadalre eteint\n\nLe lampadaire est eteint.", false},
		{"a case changed", "PAUL Roux\n8 avenue de 1a Gare\n\nObjet : Lampadalre eteint\n\nLe lampadaire est eteint.", false},
		{"empty", "", false},
	} {
		if got := sameText(tc.text, read); got != tc.same {
			t.Errorf("%s: sameText = %v, want %v (%q)", tc.name, got, tc.same, normalize(tc.text))
		}
	}
}
