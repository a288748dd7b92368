package citizen

import "testing"

func TestNormalizePhone(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"06 39 98 14 27", "+33639981427", true},
		{"0639984518", "+33639984518", true},
		{"+33639981427", "+33639981427", true},
		{"+33 (0)6 39 98 14 27", "+33639981427", true},
		{"04.65.71.27.74", "+33465712774", true},
		{"0033 4 65 71 27 74", "+33465712774", true},
		{"", "", true},
		{"12", "", false},
		{"pas un numéro", "", false},
		{"06 39 98", "", false},
	}
	for _, tt := range tests {
		got, err := NormalizePhone(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("NormalizePhone(%q) = %q, %v; want %q, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestNormalizeEmail(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{" Lea.Martinez@Example.NET ", "lea.martinez@example.net", true},
		{"", "", true},
		{"pas-une-adresse", "", false},
		{"a@b", "", false},
		{"Léa <lea@example.net>", "", false},
	}
	for _, tt := range tests {
		got, err := NormalizeEmail(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want %q, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func FuzzNormalizePhone(f *testing.F) {
	for _, s := range []string{"06 39 98 14 27", "+33639981427", "0033465712774", "+", "00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, err := NormalizePhone(s)
		if err != nil {
			return
		}
		again, err := NormalizePhone(out)
		if err != nil || again != out {
			t.Fatalf("E.164 output %q does not normalize to itself: %q %v", out, again, err)
		}
	})
}

func FuzzNormalizeEmail(f *testing.F) {
	for _, s := range []string{"a@example.net", "A@B.C", "<x@y.z>", "\"q\"@x.fr"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, err := NormalizeEmail(s)
		if err != nil {
			return
		}
		again, err := NormalizeEmail(out)
		if err != nil || again != out {
			t.Fatalf("normalized %q is not stable: %q %v", out, again, err)
		}
	})
}
