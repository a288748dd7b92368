package redact_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ampmetropole/guichet/services/platform/redact"
)

func TestText(t *testing.T) {
	tests := []struct{ name, in, want string }{
		// E-mail addresses, whatever is around them.
		{"address", "zephyrin.quenouille@example.net", "[courriel]"},
		{"address in a sentence", "envoyé à zephyrin.quenouille@example.net, merci", "envoyé à [courriel], merci"},
		{"address with a name", `Zéphyrin <zephyrin.quenouille@example.net>`, "Zéphyrin <[courriel]>"},
		{"accented address", "léa.côté@exemple.fr", "[courriel]"},
		{"address in an error", `mailer: recipient "a+b@x.org" refused`, `mailer: recipient "[courriel]" refused`},
		{"two addresses", "a@x.fr;b@y.fr", "[courriel];[courriel]"},
		// Phone numbers, French and international.
		{"E.164", "+33756123456", "[téléphone]"},
		{"E.164 spaced", "+33 7 56 12 34 56", "[téléphone]"},
		{"E.164 with (0)", "+33 (0)6 87 65 43 21", "[téléphone]"},
		{"00 prefix", "appel du 0033612345678", "appel du [téléphone]"},
		{"national", "0612345678", "[téléphone]"},
		{"national spaced", "rappeler le 06 12 34 56 78 demain", "rappeler le [téléphone] demain"},
		{"national dotted", "04.91.55.11.11", "[téléphone]"},
		{"national dashed", "07-56-12-34-56", "[téléphone]"},
		{"national with no-break spaces", "06\u00a012\u00a034\u00a056\u00a078", "[téléphone]"},
		{"foreign", "+1 415 555 2671", "[téléphone]"},
		{"phone in json", `{"to":"+33687654321"}`, `{"to":"[téléphone]"}`},
		// Addresses of machines: public ones go, the server's own stay.
		{"public ipv4", "http: TLS handshake error from 81.250.12.7:51234: EOF", "http: TLS handshake error from [ip]:51234: EOF"},
		{"public ipv6", "from [2a01:cb00:abcd:1::17]:443", "from [[ip]]:443"},
		{"loopback", "listening on 127.0.0.1:8080", "listening on 127.0.0.1:8080"},
		{"private", "nats://10.0.3.4:4222", "nats://10.0.3.4:4222"},
		{"ipv6 loopback", "[::1]:4222", "[::1]:4222"},
		// Query strings of URLs.
		{"geocoder url", `Get "https://api-adresse.data.gouv.fr/search/?q=37+impasse+des+Tamaris&limit=5": timeout`,
			`Get "https://api-adresse.data.gouv.fr/search/?[masqué]": timeout`},
		{"url without query", "https://ampmetropole.fr/suivi/JVD0-PGQN-831Q", "https://ampmetropole.fr/suivi/JVD0-PGQN-831Q"},
		// What French messages quote: typed by a person.
		{"guillemets", "« lettre-Quenouille.pdf » n'est pas un PDF", "« [masqué] » n'est pas un PDF"},
		{"guillemets with no-break spaces", "adresse\u00a0«\u00a037 impasse des Tamaris\u00a0» inconnue", "adresse\u00a0« [masqué] » inconnue"},
		{"two quotes", "« a » puis « b »", "« [masqué] » puis « [masqué] »"},
		// What is not personal stays readable.
		{"request id", "019ac4e2-5b1a-7c3e-9a10-3f2b6d1e8a99", "019ac4e2-5b1a-7c3e-9a10-3f2b6d1e8a99"},
		{"case ref", "dossier AMP-2025-000123 clos", "dossier AMP-2025-000123 clos"},
		{"long case ref", "AMP-2026-1234567890", "AMP-2026-1234567890"},
		{"tracking code", "JVD0-PGQN-831Q", "JVD0-PGQN-831Q"},
		{"sha256", "sha256/0612345678e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca4959", "sha256/0612345678e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca4959"},
		{"outbox id", "20260314T092653.061234567Z-1a2b3c4d", "20260314T092653.061234567Z-1a2b3c4d"},
		{"timestamp", "2026-03-14T09:26:53.000000000Z", "2026-03-14T09:26:53.000000000Z"},
		{"time of day", "at 09:26:53", "at 09:26:53"},
		{"duration", "took 1.234567891s", "took 1.234567891s"},
		{"version", "nats-server v2.15.2", "nats-server v2.15.2"},
		{"nats subject", "guichet.requests.web", "guichet.requests.web"},
		{"count", "1234567890 messages", "1234567890 messages"},
		{"masked address", "z•••@example.net", "z•••@example.net"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := redact.Text(tt.in); got != tt.want {
				t.Errorf("Text(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestPersonalKey(t *testing.T) {
	for key, want := range map[string]bool{
		"email": true, "Email": true, "citizen_email": true, "caller.phone": true, "caller-name": true,
		"name": true, "to": true, "from": true, "subject": true, "q": true, "body": true, "text": true,
		"transcript": true, "summary": true, "address": true, "street": true, "lat": true, "filename": true,
		"description": true, "query": true, "lines": true, "remote_ip": true,
		"request_id": false, "case": false, "ref": false, "err": false, "reason": false, "dead_subject": false,
		"nats_subject": false, "to_state": false, "channel": false, "competence": false, "seq": false,
		"path": false, "login": false, "tracking_code": false, "count": false, "service": false, "addr": false,
	} {
		if got := redact.PersonalKey(key); got != want {
			t.Errorf("PersonalKey(%q) = %v, want %v", key, got, want)
		}
	}
}

// logged runs f with a JSON logger behind the redaction and returns the
// decoded lines.
func logged(t *testing.T, f func(*slog.Logger)) ([]map[string]any, string) {
	t.Helper()
	var buf bytes.Buffer
	f(slog.New(redact.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		lines = append(lines, m)
	}
	return lines, buf.String()
}

type citizen struct {
	Name    string `json:"name"`
	Email   string `json:"email"`
	Commune string `json:"commune"`
	Note    string
}

type stringer struct{}

func (stringer) String() string { return "appelez le 0756123456" }

func TestHandler(t *testing.T) {
	lines, raw := logged(t, func(log *slog.Logger) {
		log.Info("reçu de zephyrin.quenouille@example.net", "request_id", "019ac4e2-5b1a-7c3e-9a10-3f2b6d1e8a99",
			"case", "AMP-2025-000123", "name", "Zéphyrin Quenouille-Arbogast", "attempt", 3,
			"err", errors.New(`destinataire "+33756123456" refusé`), "took", 2*time.Second)
		log.With("caller_phone", "+33756123456", "channel", "phone").
			WithGroup("citizen").Info("groupe personnel", "commune", "Marseille 7e", "count", 2)
		log.Info("groupes", slog.Group("req", slog.String("subject", "Nid de poule"), slog.String("state", "received"),
			slog.Group("place", slog.String("street", "37 impasse des Tamaris-Bleus"), slog.String("insee", "13207"))))
		log.Info("valeurs", "who", citizen{"Zéphyrin", "z@example.net", "Marseille", "rue des Lilas"}, "s", stringer{},
			"list", []string{"ok", "0612345678"}, "bytes", []byte("b@c.fr"), "plain", fmt.Errorf("wrapped: %w", errors.New("boom")))
	})
	for _, secret := range []string{"zephyrin.quenouille@example.net", "Zéphyrin", "Quenouille", "+33756123456", "0756123456",
		"0612345678", "Nid de poule", "Tamaris", "z@example.net", "b@c.fr", "Marseille 7e", "rue des Lilas"} {
		if strings.Contains(raw, secret) {
			t.Errorf("%q is in the logs:\n%s", secret, raw)
		}
	}
	first := lines[0]
	for k, want := range map[string]any{
		"msg": "reçu de [courriel]", "request_id": "019ac4e2-5b1a-7c3e-9a10-3f2b6d1e8a99", "case": "AMP-2025-000123",
		"name": redact.Mask, "attempt": float64(3), "err": `destinataire "[téléphone]" refusé`, "took": float64(2 * time.Second),
	} {
		if first[k] != want {
			t.Errorf("%s = %#v, want %#v", k, first[k], want)
		}
	}
	second := lines[1]
	if second["caller_phone"] != redact.Mask || second["channel"] != "phone" {
		t.Errorf("WithAttrs: %v", second)
	}
	if g, _ := second["citizen"].(map[string]any); g["commune"] != redact.Mask || g["count"] != redact.Mask {
		t.Errorf("under a personal group: %v", second["citizen"])
	}
	req, _ := lines[2]["req"].(map[string]any)
	place, _ := req["place"].(map[string]any)
	if req["subject"] != redact.Mask || req["state"] != "received" || place["street"] != redact.Mask || place["insee"] != "13207" {
		t.Errorf("nested groups: %v", lines[2])
	}
	who, _ := lines[3]["who"].(map[string]any)
	if who["name"] != redact.Mask || who["email"] != redact.Mask || who["commune"] != "Marseille" || who["Note"] != redact.Mask {
		t.Errorf("struct value: %v", lines[3]["who"])
	}
	if lines[3]["s"] != "appelez le [téléphone]" || lines[3]["plain"] != "wrapped: boom" || lines[3]["bytes"] != "[courriel]" {
		t.Errorf("values: %v", lines[3])
	}
	if l, _ := lines[3]["list"].([]any); len(l) != 2 || l[0] != "ok" || l[1] != "[téléphone]" {
		t.Errorf("list: %v", lines[3]["list"])
	}
}

func TestWrapOnce(t *testing.T) {
	log := redact.Wrap(slog.New(slog.NewTextHandler(io.Discard, nil)))
	if redact.Wrap(log) != log {
		t.Error("a redacting logger is wrapped twice")
	}
	if !log.Enabled(context.Background(), slog.LevelError) {
		t.Error("Enabled is not the next handler's")
	}
}

func FuzzText(f *testing.F) {
	for _, s := range []string{"zephyrin.quenouille@example.net", "+33 7 56 12 34 56", "06.12.34.56.78", "AMP-2025-000123",
		"https://x.fr/?q=rue", "81.250.12.7", "2a01:cb00::17", "a@b.c@d.e", "0033 6 12 34 56 78 0612345678", "« x » «»"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := redact.Text(s)
		if utf8.ValidString(s) && !utf8.ValidString(got) {
			t.Fatalf("Text(%q) = %q: not UTF-8 any more", s, got)
		}
		if again := redact.Text(got); again != got {
			t.Fatalf("not stable: Text(%q) = %q, then %q", s, got, again)
		}
		// A handler never fails on what it masks.
		var buf bytes.Buffer
		log := slog.New(redact.New(slog.NewJSONHandler(&buf, nil)))
		log.Info(s, "k", s, "email", s, slog.Group(s, s, s))
		if buf.Len() == 0 {
			t.Fatal("nothing logged")
		}
	})
}
