package clientip

import (
	"net/http"
	"testing"
)

func TestOf(t *testing.T) {
	r, err := New([]string{"10.0.0.0/8", "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		remote, xff, want string
	}{
		{"203.0.113.7:5000", "", "203.0.113.7"},
		{"203.0.113.7:5000", "198.51.100.1", "203.0.113.7"}, // not from a proxy: the header is ignored
		{"10.1.2.3:5000", "198.51.100.1", "198.51.100.1"},
		{"10.1.2.3:5000", "6.6.6.6, 198.51.100.1, 10.9.9.9", "198.51.100.1"}, // the client cannot pick its address
		{"127.0.0.1:5000", "", "127.0.0.1"},
		{"10.1.2.3:5000", "pas-une-adresse", "10.1.2.3"},
		{"[::ffff:10.1.2.3]:5000", "2001:db8::1", "2001:db8::1"},
	} {
		req := &http.Request{RemoteAddr: tc.remote, Header: http.Header{}}
		if tc.xff != "" {
			req.Header.Set("X-Forwarded-For", tc.xff)
		}
		if got := r.Of(req); got != tc.want {
			t.Errorf("%s via %q: %s, want %s", tc.remote, tc.xff, got, tc.want)
		}
	}
	if _, err := New([]string{"pas un réseau"}); err == nil {
		t.Error("bad CIDR accepted")
	}
	var none *Resolver
	if got := none.Of(&http.Request{RemoteAddr: "10.1.2.3:1", Header: http.Header{"X-Forwarded-For": {"1.2.3.4"}}}); got != "10.1.2.3" {
		t.Errorf("nil resolver: %s", got)
	}
}

func FuzzOf(f *testing.F) {
	f.Add("10.1.2.3:5000", "6.6.6.6, 198.51.100.1")
	f.Add("x", ",,,")
	r, _ := New([]string{"10.0.0.0/8"})
	f.Fuzz(func(t *testing.T, remote, xff string) {
		req := &http.Request{RemoteAddr: remote, Header: http.Header{"X-Forwarded-For": {xff}}}
		_ = r.Of(req)
	})
}
