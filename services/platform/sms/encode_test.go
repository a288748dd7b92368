package sms

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/linxGnu/gosmpp/data"

	"github.com/ampmetropole/guichet/services/platform/fault"
)

func TestEncode(t *testing.T) {
	tests := []struct {
		name   string
		text   string
		coding Coding
		want   string   // Encoded.Text
		length int      // septets or code units
		parts  []string // the text of each part; nil: one part, the whole text
	}{
		{
			name:   "pure French GSM-7",
			text:   "Bonjour Léa, votre demande AMP-2026-000123 est enregistrée. Réponse sous 10 jours ; où : à la mairie.",
			coding: GSM7,
			want:   "Bonjour Léa, votre demande AMP-2026-000123 est enregistrée. Réponse sous 10 jours ; où : à la mairie.",
			length: 101,
		},
		{
			name:   "every French letter of the default alphabet stays",
			text:   "é è ù à ì ò Ç É",
			coding: GSM7,
			want:   "é è ù à ì ò Ç É",
			length: 15,
		},
		{
			name:   "extension characters count two septets",
			text:   "5€ [a] {b} ~ \\ ^ |",
			coding: GSM7,
			want:   "5€ [a] {b} ~ \\ ^ |",
			length: 18 + 9, // 18 characters, 9 of them in the extension table
		},
		{
			name:   "transliteration of French characters outside GSM-7",
			text:   "Votre dossier a été reçu. À bientôt ! «\u00a0Merci\u00a0» — l’équipe de la Métropole… Œuvre, être, île, sûr, naïf, Noël",
			coding: GSM7,
			want:   `Votre dossier a été recu. A bientot ! " Merci " - l'équipe de la Métropole... OEuvre, etre, ile, sur, naif, Noel`,
			length: 112,
		},
		{
			name:   "narrow non-breaking space before punctuation",
			text:   "Attention\u202f: rendez-vous demain\u202f!",
			coding: GSM7,
			want:   "Attention : rendez-vous demain !",
			length: 32,
		},
		{
			name:   "decomposed accents are composed first",
			text:   "e\u0301te\u0301",
			coding: GSM7,
			want:   "été",
			length: 3,
		},
		{
			name:   "line breaks normalised, tab and invisible characters",
			text:   "a\r\nb\rc\td\u200be\ufeff",
			coding: GSM7,
			want:   "a\nb\nc de",
			length: 8,
		},
		{
			name:   "an emoji makes UCS-2, accents kept",
			text:   "Merci 🙂 à bientôt",
			coding: UCS2,
			want:   "Merci 🙂 à bientôt",
			length: 18, // the emoji is a surrogate pair
		},
		{
			name:   "a degree sign makes UCS-2",
			text:   "Dossier n° 12 prêt",
			coding: UCS2,
			want:   "Dossier n° 12 prêt",
			length: 18,
		},
		{
			name:   "160 septets: one part",
			text:   strings.Repeat("a", 160),
			coding: GSM7,
			want:   strings.Repeat("a", 160),
			length: 160,
		},
		{
			name:   "161 septets: two parts of 153 and 8",
			text:   strings.Repeat("a", 161),
			coding: GSM7,
			want:   strings.Repeat("a", 161),
			length: 161,
			parts:  []string{strings.Repeat("a", 153), strings.Repeat("a", 8)},
		},
		{
			name:   "159 characters and a euro are 161 septets",
			text:   strings.Repeat("a", 159) + "€",
			coding: GSM7,
			want:   strings.Repeat("a", 159) + "€",
			length: 161,
			parts:  []string{strings.Repeat("a", 153), strings.Repeat("a", 6) + "€"},
		},
		{
			name:   "an escape sequence is never split",
			text:   strings.Repeat("a", 152) + "€" + strings.Repeat("b", 10),
			coding: GSM7,
			want:   strings.Repeat("a", 152) + "€" + strings.Repeat("b", 10),
			length: 164,
			parts:  []string{strings.Repeat("a", 152), "€" + strings.Repeat("b", 10)},
		},
		{
			name:   "918 septets: six parts",
			text:   strings.Repeat("z", 918),
			coding: GSM7,
			want:   strings.Repeat("z", 918),
			length: 918,
			parts:  slicesRepeat(strings.Repeat("z", 153), 6),
		},
		{
			name:   "70 UCS-2 units: one part",
			text:   strings.Repeat("ж", 70),
			coding: UCS2,
			want:   strings.Repeat("ж", 70),
			length: 70,
		},
		{
			name:   "71 UCS-2 units: two parts of 67 and 4",
			text:   strings.Repeat("ж", 71),
			coding: UCS2,
			want:   strings.Repeat("ж", 71),
			length: 71,
			parts:  []string{strings.Repeat("ж", 67), strings.Repeat("ж", 4)},
		},
		{
			name:   "a surrogate pair is never split",
			text:   strings.Repeat("ж", 66) + "😀" + "fin",
			coding: UCS2,
			want:   strings.Repeat("ж", 66) + "😀" + "fin",
			length: 71,
			parts:  []string{strings.Repeat("ж", 66), "😀fin"},
		},
		{
			name:   "402 UCS-2 units: six parts",
			text:   strings.Repeat("ж", 402),
			coding: UCS2,
			want:   strings.Repeat("ж", 402),
			length: 402,
			parts:  slicesRepeat(strings.Repeat("ж", 67), 6),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc, err := Encode(tt.text)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if enc.Coding != tt.coding || enc.Text != tt.want || enc.Length != tt.length {
				t.Errorf("Encode = %s %q (%d), want %s %q (%d)", enc.Coding, enc.Text, enc.Length, tt.coding, tt.want, tt.length)
			}
			want := tt.parts
			if want == nil {
				want = []string{tt.want}
			}
			var got []string
			for _, p := range enc.Parts {
				got = append(got, p.Text)
			}
			if strings.Join(got, "|") != strings.Join(want, "|") || len(got) != len(want) {
				t.Errorf("parts = %q, want %q", got, want)
			}
			checkEncoded(t, enc)
		})
	}
}

func slicesRepeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

func TestEncodeBytes(t *testing.T) {
	enc, err := Encode("@£$ é€\n")
	if err != nil {
		t.Fatal(err)
	}
	// GSM 03.38: @ 0x00, £ 0x01, $ 0x02, space 0x20, é 0x05, € escape 0x1B 0x65, LF 0x0A.
	want := []byte{0x00, 0x01, 0x02, 0x20, 0x05, 0x1B, 0x65, 0x0A}
	if enc.Coding != GSM7 || !bytes.Equal(enc.Parts[0].Data, want) {
		t.Errorf("GSM-7 bytes = % x, want % x", enc.Parts[0].Data, want)
	}
	enc, err = Encode("é🙂")
	if err != nil {
		t.Fatal(err)
	}
	want = []byte{0x00, 0xE9, 0xD8, 0x3D, 0xDE, 0x42}
	if enc.Coding != UCS2 || !bytes.Equal(enc.Parts[0].Data, want) {
		t.Errorf("UCS-2 bytes = % x, want % x", enc.Parts[0].Data, want)
	}
}

func TestEncodeRefused(t *testing.T) {
	tests := []struct {
		name, text, wantMsg string
	}{
		{"empty", "", "vide"},
		{"only spaces", " \n\t ", "vide"},
		{"NUL", "a\x00b", "caractère de contrôle"},
		{"escape character", "a\x1bb", "caractère de contrôle"},
		{"form feed", "a\fb", "caractère de contrôle"},
		{"C1 control", "a\u0085b", "caractère de contrôle"},
		{"invalid UTF-8", "a\xffb", "UTF-8"},
		{"919 septets", strings.Repeat("a", 919), "trop long"},
		// 918 septets, but the euro cannot end the first part: seven parts.
		{"an escape pushes to a seventh part", strings.Repeat("a", 152) + "€" + strings.Repeat("a", 764), "trop long"},
		{"403 UCS-2 units", strings.Repeat("ж", 403), "trop long"},
		// 402 units, but parts of 67 would cut surrogate pairs: seven parts of 66.
		{"surrogate pairs over six parts", strings.Repeat("😀", 201), "trop long"},
		{"over the byte bound", strings.Repeat("a", maxTextBytes+1), "trop long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Encode(tt.text)
			if fault.KindOf(err) != fault.Invalid {
				t.Fatalf("Encode = %v, want fault.Invalid", err)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not say %q", err, tt.wantMsg)
			}
		})
	}
}

// checkEncoded checks what holds for every encoded text: the parts make the
// text, each within its limit, each decoding (with gosmpp's decoders) to its
// text, no part ending inside an escape sequence or a surrogate pair.
func checkEncoded(t *testing.T, enc Encoded) {
	t.Helper()
	if len(enc.Parts) == 0 || len(enc.Parts) > MaxParts {
		t.Fatalf("%d parts", len(enc.Parts))
	}
	single, part := gsm7Single, gsm7Part
	if enc.Coding == UCS2 {
		single, part = ucs2Single, ucs2Part
	}
	limit := single
	if len(enc.Parts) > 1 {
		limit = part
	}
	var whole strings.Builder
	total := 0
	for i, p := range enc.Parts {
		whole.WriteString(p.Text)
		if p.Text == "" {
			t.Errorf("part %d is empty", i)
		}
		var size int
		var decoded string
		var err error
		switch enc.Coding {
		case GSM7:
			size = len(p.Data)
			if size > 0 && p.Data[size-1] == 0x1B {
				t.Errorf("part %d ends with an escape", i)
			}
			decoded, err = data.GSM7BIT.Decode(p.Data)
		case UCS2:
			if len(p.Data)%2 != 0 {
				t.Fatalf("part %d has an odd length", i)
			}
			size = len(p.Data) / 2
			if size > 0 {
				last := rune(p.Data[len(p.Data)-2])<<8 | rune(p.Data[len(p.Data)-1])
				if last >= 0xD800 && last < 0xDC00 {
					t.Errorf("part %d ends with a high surrogate", i)
				}
			}
			decoded, err = data.UCS2.Decode(p.Data)
		default:
			t.Fatalf("coding %q", enc.Coding)
		}
		if err != nil || decoded != p.Text {
			t.Errorf("part %d decodes to %q (%v), want %q", i, decoded, err, p.Text)
		}
		if size > limit {
			t.Errorf("part %d is %d long, over %d", i, size, limit)
		}
		total += size
	}
	if whole.String() != enc.Text {
		t.Errorf("parts make %q, want %q", whole.String(), enc.Text)
	}
	if total != enc.Length {
		t.Errorf("parts are %d long, Length says %d", total, enc.Length)
	}
	if enc.Coding == UCS2 && len(utf16.Encode([]rune(enc.Text))) != enc.Length {
		t.Errorf("Length %d is not the UTF-16 length of the text", enc.Length)
	}
	if len(enc.Parts) > 1 && enc.Length <= single {
		t.Errorf("%d parts for a text of %d that fits one", len(enc.Parts), enc.Length)
	}
}

// FuzzEncode: a text is outside input. Encode either refuses it as
// fault.Invalid or encodes it into parts that hold what checkEncoded checks.
func FuzzEncode(f *testing.F) {
	for _, s := range []string{
		"Bonjour", "été reçu «\u00a0ok\u00a0»", "5€ [x]", "🙂", "a\r\nb", strings.Repeat("a", 152) + "€b",
		strings.Repeat("ж", 66) + "😀", strings.Repeat("€", 80), "e\u0301", "\xff", "\x00",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		enc, err := Encode(text)
		if err != nil {
			if fault.KindOf(err) != fault.Invalid {
				t.Fatalf("Encode(%q) = %v, not fault.Invalid", text, err)
			}
			return
		}
		checkEncoded(t, enc)
		if enc.Coding == GSM7 {
			if _, ok := gsmLength(enc.Text); !ok {
				t.Fatalf("GSM-7 text %q has characters outside GSM-7", enc.Text)
			}
		}
	})
}
