package intake

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"regexp"
	"strings"
)

// crockford is Crockford's base 32: no I, L, O or U, so codes read aloud or
// copied by hand stay unambiguous.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// TrackingCodePattern is the form of a tracking code: three groups of four
// characters of Crockford's base 32, joined by dashes ("7KQ4-M2XD-9HPA").
// The tracking_code of request.v1.schema.json says the same (a test holds
// it).
const TrackingCodePattern = `^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$`

var trackingCode = regexp.MustCompile(TrackingCodePattern)

// NormalizeTrackingCode reads a code as a citizen types it (lower case,
// spaces, with or without dashes, O for 0, I or L for 1) and returns it in
// canonical form; false when s is no tracking code.
func NormalizeTrackingCode(s string) (string, bool) {
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		switch {
		case r == 'O':
			b.WriteRune('0')
		case r == 'I' || r == 'L':
			b.WriteRune('1')
		case (r >= '0' && r <= '9') || (r >= 'A' && r <= 'Z'):
			b.WriteRune(r)
		}
	}
	c := b.String()
	if len(c) != 12 {
		return "", false
	}
	c = c[:4] + "-" + c[4:8] + "-" + c[8:]
	if !trackingCode.MatchString(c) {
		return "", false
	}
	return c, true
}

// TrackingCode derives the citizen's tracking code from the request id with
// a server secret: unguessable without the secret (60 bits), yet the same for
// every retry of the same request, so a client that posts twice gets the same
// code back.
func TrackingCode(secret []byte, requestID string) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(requestID))
	v := binary.BigEndian.Uint64(mac.Sum(nil))
	out := make([]byte, 0, 14)
	for i := range 12 {
		if i == 4 || i == 8 {
			out = append(out, '-')
		}
		out = append(out, crockford[v>>59])
		v <<= 5
	}
	return string(out)
}
