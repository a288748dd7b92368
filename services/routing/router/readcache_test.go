package router

import (
	"testing"
	"time"

	"github.com/ampmetropole/guichet/schemas"
)

// TestReadCache: a request is read once, until its text changes (erasure
// empties it), and a request without id is never kept.
func TestReadCache(t *testing.T) {
	var c readCache[int]
	reads := 0
	read := func(schemas.Request) int { reads++; return reads }
	req := schemas.Request{ID: "r1", ReceivedAt: time.Now(), Body: "un lampadaire éteint"}
	if a, b := c.of(req, read), c.of(req, read); a != 1 || b != 1 || reads != 1 {
		t.Fatalf("read %d times, got %d and %d", reads, a, b)
	}
	erased := req
	erased.Body = ""
	if got := c.of(erased, read); got != 2 {
		t.Errorf("an erased request's text was not read again: %d", got)
	}
	if got := c.of(schemas.Request{Body: "x"}, read); got != 3 || c.of(schemas.Request{Body: "x"}, read) != 4 {
		t.Errorf("a request without id was kept")
	}
}
