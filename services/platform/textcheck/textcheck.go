// Package textcheck refuses, at the door, text that the case store would
// refuse later: PostgreSQL takes no NUL character in text or jsonb, and
// only valid UTF-8. A request acknowledged and then dead-lettered for such
// a character would leave the citizen with a tracking code that leads
// nowhere, and a query string with one would answer 500; checked first,
// both get a clear 400 or 422 instead. (What the mailer refuses — line
// breaks in a subject, several addresses — is checked by the mailer's own
// rules: mailer.CheckRecipient and mailer.CheckSubject.)
package textcheck

import (
	"bytes"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"unicode/utf8"
)

// Valid says whether s can be stored: valid UTF-8 without NUL.
func Valid(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

// Values returns the name of the first field (in name order) of v whose
// name or a value cannot be stored, or "" when all can.
func Values(v url.Values) string {
	names := make([]string, 0, len(v))
	for name := range v {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if !Valid(name) {
			return strings.ToValidUTF8(strings.ReplaceAll(name, "\x00", ""), "?")
		}
		for _, x := range v[name] {
			if !Valid(x) {
				return name
			}
		}
	}
	return ""
}

// JSONHasNUL says whether JSON text holds a NUL character, written as the
// escape \u0000 (a raw NUL byte is not valid JSON). A backslash escaped
// itself ("\\u0000") is text, not a NUL.
func JSONHasNUL(data []byte) bool {
	const esc = `\u0000`
	for i := 0; ; {
		j := bytes.Index(data[i:], []byte(esc))
		if j < 0 {
			return false
		}
		at := i + j
		n := 0 // backslashes ending at this one
		for k := at; k >= 0 && data[k] == '\\'; k-- {
			n++
		}
		if n%2 == 1 {
			return true
		}
		i = at + 1
	}
}

// Middleware answers 400 with refuse to any request whose path or query
// string cannot be stored, before a handler hands it to the database.
func Middleware(next http.Handler, refuse func(w http.ResponseWriter, r *http.Request)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !Valid(r.URL.Path) {
			refuse(w, r)
			return
		}
		q, err := url.ParseQuery(r.URL.RawQuery)
		if err != nil || Values(q) != "" {
			refuse(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}
