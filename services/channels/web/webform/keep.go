package webform

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
)

// keepFor is how long a form may be corrected and sent again with the
// files it already carries.
const keepFor = 24 * time.Hour

// keepToken is what a form carries for a file it already stored, to send
// it again without uploading it twice: the file's hash, an expiry and a MAC
// with the server's key. Only the browser that uploaded the file was given
// it, so a hash seen elsewhere neither re-attaches the file nor confirms
// that it exists or what it is called.
func (h *Handler) keepToken(sha string) string {
	exp := strconv.FormatInt(h.now().Add(keepFor).Unix(), 36)
	return sha + "." + exp + "." + h.keepMAC(sha, exp)
}

// keptSHA returns the hash of a valid, unexpired keep token, or "".
func (h *Handler) keptSHA(token string) string {
	sha, rest, ok := strings.Cut(token, ".")
	exp, mac, ok2 := strings.Cut(rest, ".")
	if !ok || !ok2 || len(sha) != 64 || !hmac.Equal([]byte(mac), []byte(h.keepMAC(sha, exp))) {
		return ""
	}
	at, err := strconv.ParseInt(exp, 36, 64)
	if err != nil || h.now().Unix() > at {
		return ""
	}
	return sha
}

func (h *Handler) keepMAC(sha, exp string) string {
	m := hmac.New(sha256.New, h.keepKey)
	m.Write([]byte("webform keep " + sha + " " + exp))
	return hex.EncodeToString(m.Sum(nil)[:16])
}
