package auth

import (
	"crypto/sha256"
	"encoding/base64"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestParseBearer(t *testing.T) {
	t.Parallel()
	tok := TokenPrefix + strings.Repeat("A", 43)
	tests := []struct {
		header string
		want   string
		ok     bool
	}{
		{"Bearer " + tok, tok, true},
		{"bearer " + tok, tok, true},
		{"BEARER  " + tok, tok, true},
		{"Bearer abc.def-ghi_jkl~mno+pqr/st==", "abc.def-ghi_jkl~mno+pqr/st==", true},
		{"Bearer", "", false},
		{"Bearer ", "", false},
		{"Bearer ==", "", false},
		{"Basic dXNlcjpwYXNz", "", false},
		{"Bearer " + tok + " extra", "", false},
		{"Bearer tok\x00en", "", false},
		{"Bearer jeton-é", "", false},
		{"Bearer " + strings.Repeat("a", 513), "", false},
		{"Bearer=" + tok, "", false},
	}
	for _, tt := range tests {
		got, ok := parseBearer(tt.header)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseBearer(%q) = %q, %v; want %q, %v", tt.header, got, ok, tt.want, tt.ok)
		}
	}
}

func TestParseTokens(t *testing.T) {
	t.Parallel()
	enc, id := newToken()
	if got, ok := parseSessionToken(enc); !ok || string(got) != string(id) {
		t.Fatalf("a fresh session token does not parse back to its id")
	}
	if got, ok := parseAPIToken(TokenPrefix + enc); !ok || string(got) != string(id) {
		t.Fatalf("a fresh API token does not parse back to its id")
	}
	for _, bad := range []string{"", enc[:42], enc + "A", enc[:42] + "=", strings.Repeat("!", 43), enc[:42] + "B"} {
		// "B" as the last character sets bits beyond the 32 bytes: not
		// the canonical encoding, refused.
		if _, ok := parseSessionToken(bad); ok {
			t.Errorf("parseSessionToken(%q) accepted", bad)
		}
	}
	if _, ok := parseAPIToken(enc); ok {
		t.Error("an API token without its prefix is accepted")
	}
	if _, ok := parseAPIToken("GCH_" + enc); ok {
		t.Error("the prefix is case-sensitive")
	}
}

func TestSafeReturn(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
	}{
		{"/bo/dossiers", "/bo/dossiers"},
		{"/bo/dossiers/AMP-2026-000001?onglet=historique#fin", "/bo/dossiers/AMP-2026-000001?onglet=historique#fin"},
		{"/", "/"},
		{"", "/home"},
		{"https://evil.example/", "/home"},
		{"http:/evil.example", "/home"},
		{"//evil.example", "/home"},
		{"///evil.example", "/home"},
		{`/\evil.example`, "/home"},
		{`\\evil.example`, "/home"},
		{"/\t/evil.example", "/home"},
		{"/\n/evil.example", "/home"},
		{" /bo/", "/home"},
		{"javascript:alert(1)", "/home"},
		{"bo/dossiers", "/home"},
		{"/bo/é", "/home"},
		{"/bo/connexion?retour=/bo/", "/home"},
		{"/bo/deconnexion", "/home"},
		{"/bo/oidc/callback?code=x", "/home"},
		{"/%2F%2Fevil.example", "/home"}, // decoded, it would read as another host: refused to be safe
		{"/bo/dossiers%20ouverts", "/bo/dossiers%20ouverts"},
	}
	for _, tt := range tests {
		if got := safeReturn(tt.in, "/home"); got != tt.want {
			t.Errorf("safeReturn(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzParseBearer: an Authorization header never yields a token with
// anything but RFC 6750's characters, and API token parsing agrees with
// the token's encoding.
func FuzzParseBearer(f *testing.F) {
	enc, _ := newToken()
	for _, s := range []string{"Bearer " + TokenPrefix + enc, "bearer x", "Bearer  ==", "Basic abc", "Bearer \x00", "Bearer gch_" + strings.Repeat("-", 43)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		tok, ok := parseBearer(header)
		if !ok {
			if tok != "" {
				t.Fatalf("refused header gave token %q", tok)
			}
			return
		}
		if tok == "" || len(tok) > 512 || strings.ContainsAny(tok, " \t\r\n\x00\"\\,") {
			t.Fatalf("parseBearer(%q) = %q", header, tok)
		}
		if !strings.HasSuffix(strings.TrimRight(header, " "), tok) {
			t.Fatalf("token %q is not the end of the header %q", tok, header)
		}
		if id, ok := parseAPIToken(tok); ok {
			raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(tok, TokenPrefix))
			if err != nil || len(raw) != tokenBytes {
				t.Fatalf("accepted API token %q does not decode to %d bytes", tok, tokenBytes)
			}
			if sum := sha256.Sum256(raw); string(sum[:]) != string(id) {
				t.Fatal("the token's id is not the SHA-256 of its bytes")
			}
		}
	})
}

// FuzzParseSessionCookie: a cookie value is a session only when it is the
// canonical encoding of 32 bytes.
func FuzzParseSessionCookie(f *testing.F) {
	enc, _ := newToken()
	for _, s := range []string{enc, "", "abc", strings.Repeat("A", 43), strings.Repeat("_", 44), enc[:42] + "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		id, ok := parseSessionToken(v)
		if !ok {
			return
		}
		raw, err := base64.RawURLEncoding.DecodeString(v)
		if err != nil || len(raw) != tokenBytes || base64.RawURLEncoding.EncodeToString(raw) != v {
			t.Fatalf("accepted %q, which is not the canonical encoding of 32 bytes", v)
		}
		if sum := sha256.Sum256(raw); string(sum[:]) != string(id) {
			t.Fatal("the session's id is not the SHA-256 of its bytes")
		}
	})
}

// FuzzSafeReturn: whatever comes in the retour parameter, sign-in sends to
// a path on this site.
func FuzzSafeReturn(f *testing.F) {
	for _, s := range []string{"/bo/", "//evil", `/\evil`, "https://evil", "/\t/evil", "/bo/dossiers?x=1#y", "/%2f%2fevil", "/.//evil"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got := safeReturn(raw, "/home")
		if got == "/home" {
			return
		}
		if got != raw {
			t.Fatalf("safeReturn(%q) = %q: changed, not refused", raw, got)
		}
		u, err := url.Parse(got)
		if err != nil || u.Scheme != "" || u.Host != "" || !strings.HasPrefix(got, "/") || strings.HasPrefix(got, "//") ||
			strings.ContainsAny(got, "\\\t\r\n ") {
			t.Fatalf("safeReturn(%q) lets through %q", raw, got)
		}
		// What a browser resolves it to stays on the site.
		base, _ := url.Parse("https://guichet.ampmetropole.fr/bo/connexion")
		if r := base.ResolveReference(u); r.Host != base.Host || r.Scheme != base.Scheme {
			t.Fatalf("safeReturn(%q) = %q leads to %s", raw, got, r)
		}
	})
}

// FuzzReadState: the OpenID Connect state cookie is accepted only as
// signed, and its return path is always local.
func FuzzReadState(f *testing.F) {
	s, err := New(Config{Secret: "un secret de test assez long", Now: func() time.Time { return time.Unix(1_800_000_000, 0) }}, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		f.Fatal(err)
	}
	good := s.signState(oidcState{State: "s", Nonce: "n", Verifier: "v", Return: "/bo/", Expires: 1_800_000_600})
	f.Add(good)
	f.Add(good[:len(good)-2])
	f.Add("e30.AAAA")
	f.Add(".")
	f.Fuzz(func(t *testing.T, v string) {
		st, ok := s.readState(v)
		if !ok {
			return
		}
		if st.State == "" || st.Nonce == "" || st.Verifier == "" || st.Expires < 1_800_000_000 {
			t.Fatalf("accepted state %+v", st)
		}
		if st.Return != "" && safeReturn(st.Return, "") != st.Return {
			t.Fatalf("accepted return path %q", st.Return)
		}
	})
}
