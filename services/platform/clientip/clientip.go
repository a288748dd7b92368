// Package clientip tells the address of the person behind a request, for
// per-client limits and the audit log: the connection's address, or — when
// the connection comes from a trusted reverse proxy — the last address in
// X-Forwarded-For that is not one of the trusted proxies.
package clientip

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Resolver finds client addresses.
type Resolver struct {
	trusted []netip.Prefix
}

// New trusts the proxies in cidrs ("10.0.0.0/8", "127.0.0.1/32"…); none:
// the connection's address is always the client's.
func New(cidrs []string) (*Resolver, error) {
	r := &Resolver{}
	for _, c := range cidrs {
		c = strings.TrimSpace(c)
		if c == "" {
			continue
		}
		if !strings.Contains(c, "/") {
			if a, err := netip.ParseAddr(c); err == nil {
				c = netip.PrefixFrom(a, a.BitLen()).String()
			}
		}
		p, err := netip.ParsePrefix(c)
		if err != nil {
			return nil, fmt.Errorf("clientip: « %s » n'est ni une adresse ni un réseau (CIDR)", c)
		}
		r.trusted = append(r.trusted, p.Masked())
	}
	return r, nil
}

func (r *Resolver) trustedAddr(s string) bool {
	a, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, p := range r.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Of returns the client's address for req.
func (r *Resolver) Of(req *http.Request) string {
	host, _, err := net.SplitHostPort(req.RemoteAddr)
	if err != nil {
		host = req.RemoteAddr
	}
	if r == nil || len(r.trusted) == 0 || !r.trustedAddr(host) {
		return host
	}
	// Walk X-Forwarded-For from the right: the first address not of a
	// trusted proxy is the client (what lies further left is whatever the
	// client claimed).
	var hops []string
	for _, v := range req.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(v, ",")...)
	}
	for i := len(hops) - 1; i >= 0; i-- {
		h := strings.TrimSpace(hops[i])
		if _, err := netip.ParseAddr(h); err != nil {
			break
		}
		if !r.trustedAddr(h) {
			return h
		}
	}
	return host
}
