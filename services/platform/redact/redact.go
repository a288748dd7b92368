// Package redact keeps personal data out of Guichet's logs: a slog.Handler
// that sits in front of the one that writes, and masks what identifies or
// describes a citizen before it is written.
//
// Two rules, applied to every record (its message, its attributes, the
// attributes given to With, nested groups):
//
//   - By key. An attribute whose key names personal data has its value
//     replaced by "[masqué]", whatever its kind; a group with such a name is
//     masked whole, and so is everything logged under a WithGroup of such a
//     name. The keys are listed in Keys (whole key) and Words (whole key or
//     its last word, so "citizen_email" and "caller.name" are masked).
//   - By value. In every string — the message, string values, errors,
//     Stringers, and anything else once written out — e-mail addresses
//     become "[courriel]", phone numbers (French national "06 12 34 56 78",
//     "0612345678", and international "+33 6 12 34 56 78", "0033…", any
//     E.164 number) become "[téléphone]", public IP addresses "[ip]", the
//     query string of a URL "?[masqué]" (geocoder and search URLs carry
//     addresses and search terms), and what French messages quote between
//     guillemets "« [masqué] »" (errors quote there what a person typed or
//     the name of their file).
//
// What is not personal stays readable: request ids (UUIDs), case
// references (AMP-2025-000123), tracking codes, hashes, counts, durations,
// states, competences, staff logins, loopback and private addresses. Names
// and street addresses written in free text cannot be recognised by their
// shape: the code must not log free text under any key, which is why the
// keys that carry it are masked.
package redact

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/netip"
	"regexp"
	"strings"
	"unicode"
)

// Masks written in place of what is removed.
const (
	Mask      = "[masqué]"
	MaskEmail = "[courriel]"
	MaskPhone = "[téléphone]"
	MaskIP    = "[ip]"
)

// Keys are attribute keys masked when they are the whole key: words that
// are personal data only when they stand alone ("subject" of an e-mail, but
// "dead_subject" is a NATS subject).
var Keys = []string{
	"to", "from", "cc", "bcc", "recipient", "recipients", "sender", "reply_to",
	"subject", "q", "query", "search", "terms", "note", "reply", "content", "description",
	"message_text", "lines", "turns", "location", "coords", "coordinates",
}

// Words are attribute keys masked when they are the whole key or its last
// word (after "_", "." or "-"): "email", "citizen_email", "caller.phone".
var Words = []string{
	"email", "mail_address", "courriel", "phone", "telephone", "tel", "mobile", "msisdn",
	"name", "names", "firstname", "lastname", "fullname", "nom", "prenom", "filename",
	"caller", "citizen", "contact", "address", "adresse", "street", "rue", "ip",
	"lat", "lon", "lng", "latitude", "longitude",
	"body", "text", "transcript", "summary", "comment", "comments", "remark", "extracted_text", "correction",
}

var (
	wholeKeys = toSet(Keys)
	lastWords = toSet(Words)
)

func toSet(list []string) map[string]bool {
	m := make(map[string]bool, len(list))
	for _, k := range list {
		m[k] = true
	}
	return m
}

// PersonalKey reports whether an attribute or group with this key carries
// personal data.
func PersonalKey(key string) bool {
	k := strings.ToLower(strings.TrimSpace(key))
	if wholeKeys[k] || lastWords[k] {
		return true
	}
	if i := strings.LastIndexAny(k, "_.-"); i >= 0 {
		return lastWords[k[i+1:]]
	}
	return false
}

// Patterns of values. A number must stand alone: not glued to a letter, a
// digit or an underscore, so that digits inside a hash, a UUID or a
// reference are not taken for a phone number. Go's regexp has no
// look-around: the character after is matched (and given back, see
// replace), the one before is checked by hand.
var (
	// An address takes in every letter around it: no boundary to check.
	emailRE = regexp.MustCompile(`([\p{L}\p{N}._%+'\-]+@[\p{L}\p{N}\-]+(?:\.[\p{L}\p{N}\-]+)+)`)
	// French national numbers: 0 then a non-zero digit, then four pairs,
	// each maybe after a space, a dot or a dash.
	frPhoneRE = alone(`0[1-9](?:[ .\-\x{a0}\x{202f}]?[0-9]{2}){4}`)
	// International numbers: + or 00, a country code, then 7 to 14 digits
	// with the separators people type, and the French "(0)".
	intlPhoneRE = alone(`(?:\+|00)[1-9][0-9]{0,2}[ .\-\x{a0}\x{202f}]?(?:\(0\)[ .\-\x{a0}\x{202f}]?)?[0-9](?:[ .\-\x{a0}\x{202f}]?[0-9]){6,13}`)
	ipv4RE      = alone(`[0-9]{1,3}(?:\.[0-9]{1,3}){3}`)
	ipv6RE      = alone(`[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}`)
	urlQueryRE  = regexp.MustCompile(`(?i)\b(?:https?|wss?|ftp)://[^\s?#"'<>]*\?[^\s#"'<>]*`)
	// What French messages quote between guillemets is what a person typed
	// or named (« lettre-dupont.pdf » n'est pas un PDF).
	quotedRE = regexp.MustCompile(`«[\s\x{a0}\x{202f}]*[^«»\n]{1,300}?[\s\x{a0}\x{202f}]*»`)
)

// alone compiles a pattern whose match (group 1) must not be followed by a
// word character.
func alone(core string) *regexp.Regexp {
	return regexp.MustCompile(`(` + core + `)(?:$|[^\p{L}\p{N}_])`)
}

// Text masks the e-mail addresses, phone numbers, public IP addresses and
// URL query strings in s; the rest is left as it is.
func Text(s string) string {
	if s == "" {
		return s
	}
	if strings.Contains(s, "://") && strings.Contains(s, "?") {
		s = urlQueryRE.ReplaceAllStringFunc(s, func(u string) string {
			base, _, _ := strings.Cut(u, "?")
			return base + "?" + Mask
		})
	}
	if strings.Contains(s, "«") {
		s = quotedRE.ReplaceAllLiteralString(s, "« "+Mask+" »")
	}
	if strings.Contains(s, "@") {
		s = replace(s, emailRE, false, func(string) (string, bool) { return MaskEmail, true })
	}
	if digits(s) >= 8 {
		s = replace(s, intlPhoneRE, true, func(string) (string, bool) { return MaskPhone, true })
		s = replace(s, frPhoneRE, true, func(string) (string, bool) { return MaskPhone, true })
	}
	if strings.Contains(s, ".") && digits(s) >= 4 {
		s = replace(s, ipv4RE, true, publicIP)
	}
	if strings.Count(s, ":") >= 2 {
		s = replace(s, ipv6RE, true, publicIP)
	}
	return s
}

// publicIP masks an address a person may be reached or found by: not the
// loopback, private, link-local or unspecified ones a server's own
// configuration shows.
func publicIP(m string) (string, bool) {
	a, err := netip.ParseAddr(m)
	if err != nil {
		return "", false
	}
	if a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsUnspecified() || a.IsMulticast() || !a.IsGlobalUnicast() {
		return "", false
	}
	return MaskIP, true
}

// digits counts the ASCII digits of s.
func digits(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			n++
		}
	}
	return n
}

// replace replaces the matches (group 1) of re in s by what with returns,
// when it says to. With alone, a match glued to a word character before it
// does not count: the search goes on one character further.
func replace(s string, re *regexp.Regexp, alone bool, with func(string) (string, bool)) string {
	var b strings.Builder
	last := 0
	for start := 0; start < len(s); {
		loc := re.FindStringSubmatchIndex(s[start:])
		if loc == nil || loc[2] < 0 {
			break
		}
		i, j := start+loc[2], start+loc[3]
		if i == j {
			start = j + 1
			continue
		}
		if alone && i > 0 && isWord(lastRune(s[:i])) {
			start = i + 1
			continue
		}
		if r, ok := with(s[i:j]); ok {
			b.WriteString(s[last:i])
			b.WriteString(r)
			last = j
		}
		start = j
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

func isWord(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) }

func lastRune(s string) rune {
	i := len(s) - 1
	for i > 0 && s[i]&0xC0 == 0x80 {
		i--
	}
	for _, r := range s[i:] {
		return r
	}
	return 0
}

// Attr returns a with its value masked by the rules of the package.
func Attr(a slog.Attr) slog.Attr {
	if a.Equal(slog.Attr{}) {
		return a
	}
	v := a.Value.Resolve()
	if PersonalKey(a.Key) {
		if v.Kind() == slog.KindGroup && len(v.Group()) == 0 {
			return a // an empty group is dropped by the handler anyway
		}
		return slog.String(a.Key, Mask)
	}
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, Text(v.String()))
	case slog.KindGroup:
		attrs := v.Group()
		out := make([]slog.Attr, len(attrs))
		for i, g := range attrs {
			out[i] = Attr(g)
		}
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(out...)}
	case slog.KindAny:
		return slog.Attr{Key: a.Key, Value: anyValue(v.Any())}
	default:
		// Numbers, booleans, times and durations: nothing personal fits in
		// them that a string would not show better.
		return slog.Attr{Key: a.Key, Value: v}
	}
}

// anyValue masks a value of kind Any: errors and Stringers by their text;
// other values through their JSON form, walked with the rules of keys and
// values, as a JSON handler would have written them.
func anyValue(x any) slog.Value {
	switch x := x.(type) {
	case nil:
		return slog.AnyValue(nil)
	case error:
		s := x.Error()
		if t := Text(s); t != s {
			return slog.StringValue(t)
		}
		return slog.AnyValue(x)
	case fmt.Stringer:
		return slog.StringValue(Text(x.String()))
	case []byte:
		return slog.StringValue(Text(string(x)))
	case []string:
		out := make([]string, len(x))
		for i, s := range x {
			out[i] = Text(s)
		}
		return slog.AnyValue(out)
	}
	data, err := json.Marshal(x)
	if err != nil || string(data) == "{}" {
		// Not representable in JSON, or only by unexported fields.
		return slog.StringValue(Text(fmt.Sprintf("%+v", x)))
	}
	var tree any
	if err := json.Unmarshal(data, &tree); err != nil {
		return slog.StringValue(Text(string(data)))
	}
	return slog.AnyValue(walk(tree))
}

// walk masks a decoded JSON value.
func walk(v any) any {
	switch v := v.(type) {
	case string:
		return Text(v)
	case []any:
		for i := range v {
			v[i] = walk(v[i])
		}
		return v
	case map[string]any:
		for k, e := range v {
			if PersonalKey(k) {
				v[k] = Mask
			} else {
				v[k] = walk(e)
			}
		}
		return v
	default:
		return v
	}
}

// Handler masks personal data in records before its next handler writes
// them.
type Handler struct {
	next   slog.Handler
	hidden bool // under a group whose name is personal: every attribute is masked
}

// New returns a handler that masks personal data then hands records to next.
func New(next slog.Handler) *Handler { return &Handler{next: next} }

// Wrap returns a logger whose records are masked before log's handler
// writes them; a logger already redacting is returned as it is.
func Wrap(log *slog.Logger) *slog.Logger {
	if _, ok := log.Handler().(*Handler); ok {
		return log
	}
	return slog.New(New(log.Handler()))
}

// Enabled reports whether the next handler takes records of this level.
func (h *Handler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

// Handle masks the record's message and attributes and hands it on.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, Text(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.attr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h *Handler) attr(a slog.Attr) slog.Attr {
	if h.hidden && !a.Equal(slog.Attr{}) {
		return slog.String(a.Key, Mask)
	}
	return Attr(a)
}

// WithAttrs masks attrs once, when they are given.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	out := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		out[i] = h.attr(a)
	}
	return &Handler{next: h.next.WithAttrs(out), hidden: h.hidden}
}

// WithGroup opens a group; everything logged under a group whose name is
// personal is masked.
func (h *Handler) WithGroup(name string) slog.Handler {
	return &Handler{next: h.next.WithGroup(name), hidden: h.hidden || PersonalKey(name)}
}
