package auth

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"

	"github.com/ampmetropole/guichet/services/platform/fault"
)

func TestHashAndCheckPassword(t *testing.T) {
	t.Parallel()
	const pw = "Plus de 12 caractères, accentués"
	h1, err := hashPassword(pw)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h1, "$argon2id$v=19$m=65536,t=2,p=2$") {
		t.Fatalf("hash %q is not an argon2id PHC string with the current parameters", h1)
	}
	h2, _ := hashPassword(pw)
	if h1 == h2 {
		t.Fatal("two hashes of the same password are equal: the salt is not random")
	}
	for _, tt := range []struct {
		password   string
		ok, rehash bool
	}{
		{pw, true, false},
		{pw + " ", false, false},
		{strings.ToUpper(pw), false, false},
		{"", false, false},
	} {
		ok, rehash, err := checkPassword(tt.password, h1)
		if err != nil || ok != tt.ok || rehash != tt.rehash {
			t.Errorf("checkPassword(%q) = %v, %v, %v; want %v, %v", tt.password, ok, rehash, err, tt.ok, tt.rehash)
		}
	}

	// A hash made with weaker parameters still signs in, and asks to be redone.
	salt := []byte("0123456789abcdef")
	old := fmt.Sprintf("$argon2id$v=19$m=19456,t=2,p=1$%s$%s", base64.RawStdEncoding.EncodeToString(salt),
		base64.RawStdEncoding.EncodeToString(argon2.IDKey([]byte(pw), salt, 2, 19456, 1, 32)))
	if ok, rehash, err := checkPassword(pw, old); !ok || !rehash || err != nil {
		t.Errorf("old parameters: ok=%v rehash=%v err=%v, want ok and rehash", ok, rehash, err)
	}
	if ok, rehash, _ := checkPassword("wrong password!", old); ok || rehash {
		t.Error("a wrong password asks for a rehash")
	}
}

func TestDecodeHashRefusesBadStrings(t *testing.T) {
	t.Parallel()
	good, _ := hashPassword("un mot de passe quelconque")
	parts := strings.Split(good, "$")
	bad := []string{
		"",
		"plaintext",
		"$argon2i$v=19$m=65536,t=2,p=2$" + parts[4] + "$" + parts[5],
		"$argon2id$v=16$m=65536,t=2,p=2$" + parts[4] + "$" + parts[5],
		"$argon2id$v=19$m=4294967295,t=2,p=2$" + parts[4] + "$" + parts[5], // 4 TiB: a denial of service
		"$argon2id$v=19$m=65536,t=1000,p=2$" + parts[4] + "$" + parts[5],
		"$argon2id$v=19$m=65536,t=2,p=0$" + parts[4] + "$" + parts[5],
		"$argon2id$v=19$m=65536,t=2,p=2$!!!$" + parts[5],
		"$argon2id$v=19$m=65536,t=2,p=2$" + parts[4] + "$",
		"$argon2id$v=19$m=65536,t=2,p=2$" + parts[4],
		good + "$extra",
	}
	for _, b := range bad {
		if _, _, err := checkPassword("un mot de passe quelconque", b); !errors.Is(err, errBadHash) {
			t.Errorf("checkPassword(%q) err = %v, want errBadHash", b, err)
		}
	}
}

func TestValidatePassword(t *testing.T) {
	t.Parallel()
	tests := []struct {
		password string
		ok       bool
	}{
		{"court", false},
		{"onze carac.", false},
		{"douze carac.", true},
		{"éééééééééééé", true}, // 12 characters, 24 bytes
		{strings.Repeat("a", 256), true},
		{strings.Repeat("a", 257), false},
		{"pas\xffde l'UTF-8 valide", false},
	}
	for _, tt := range tests {
		err := validatePassword(tt.password)
		if (err == nil) != tt.ok {
			t.Errorf("validatePassword(%q) = %v, want ok=%v", tt.password, err, tt.ok)
		}
		if err != nil && fault.KindOf(err) != fault.Invalid {
			t.Errorf("validatePassword(%q): kind %v, want Invalid", tt.password, fault.KindOf(err))
		}
	}
}
