// Package ratelimit bounds how often each client (an address, an API
// token) may do something: a token bucket per key, refilled at n per
// period with a burst of n, in this process's memory. Idle keys are
// forgotten, so the map stays bounded whatever the number of clients.
package ratelimit

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Keyed is a rate limit per key. It is safe for concurrent use.
type Keyed struct {
	mu      sync.Mutex
	every   rate.Limit
	burst   int
	clients map[string]*client
	calls   int
}

type client struct {
	limiter *rate.Limiter
	seen    time.Time
}

// New allows each key n events per period, n of them at once.
func New(n int, per time.Duration) *Keyed {
	if n < 1 {
		n = 1
	}
	return &Keyed{every: rate.Every(per / time.Duration(n)), burst: n, clients: map[string]*client{}}
}

// Allow says whether key may act now, and counts it when it may.
func (l *Keyed) Allow(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls++
	if l.calls%1000 == 0 {
		for k, c := range l.clients {
			if now.Sub(c.seen) > 10*time.Minute {
				delete(l.clients, k)
			}
		}
	}
	c, ok := l.clients[key]
	if !ok {
		c = &client{limiter: rate.NewLimiter(l.every, l.burst)}
		l.clients[key] = c
	}
	c.seen = now
	return c.limiter.AllowN(now, 1)
}
