package intake

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
)

// crockford is Crockford's base 32: no I, L, O or U, so codes read aloud or
// copied by hand stay unambiguous.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

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
