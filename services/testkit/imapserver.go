package testkit

import (
	"net"
	"net/url"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
)

// IMAPServer starts go-imap's in-memory IMAP server on the loopback, with
// one user and an empty INBOX, stopped by the test's cleanup. It returns
// the address, user and password.
func IMAPServer(t testing.TB) (addr, user, pass string) {
	t.Helper()
	user, pass = "courrier", "secret"
	mem := imapmemserver.New()
	u := imapmemserver.NewUser(user, pass)
	if err := u.Create("INBOX", nil); err != nil {
		t.Fatal(err)
	}
	mem.AddUser(u)
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return mem.NewSession(), nil, nil
		},
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}},
		InsecureAuth: true,
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close(); ln.Close() })
	return ln.Addr().String(), user, pass
}

// IMAPURL is the address of the mailbox as GUICHET_IMAP_URL gives it.
func IMAPURL(addr, user, pass string) string {
	return "imap+plain://" + url.UserPassword(user, pass).String() + "@" + addr + "/INBOX"
}
