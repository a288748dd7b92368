package ratelimit_test

import (
	"testing"
	"time"

	"github.com/ampmetropole/guichet/services/platform/ratelimit"
)

func TestKeyed(t *testing.T) {
	t.Parallel()
	l := ratelimit.New(3, time.Minute)
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	for i := range 3 {
		if !l.Allow("a", now) {
			t.Fatalf("attempt %d of 3 refused", i+1)
		}
	}
	if l.Allow("a", now) {
		t.Fatal("a fourth attempt in the same instant was allowed")
	}
	if !l.Allow("b", now) {
		t.Fatal("another key is limited by the first")
	}
	if !l.Allow("a", now.Add(21*time.Second)) {
		t.Fatal("the bucket did not refill: one attempt every 20 s")
	}
	if l.Allow("a", now.Add(22*time.Second)) {
		t.Fatal("refilled faster than 3 a minute")
	}
}
