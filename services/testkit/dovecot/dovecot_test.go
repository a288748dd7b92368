package dovecot_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/ampmetropole/guichet/services/testkit/dovecot"
)

func client(t *testing.T, srv *dovecot.Server, opts *imapclient.Options) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialInsecure(srv.Addr, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Login(srv.User, srv.Password).Wait(); err != nil {
		t.Fatalf("login: %v\n%s", err, srv.LogTail())
	}
	return c
}

func appendMessage(t *testing.T, c *imapclient.Client, mailbox, raw string) imap.UID {
	t.Helper()
	raw = strings.ReplaceAll(raw, "\n", "\r\n")
	cmd := c.Append(mailbox, int64(len(raw)), nil)
	if _, err := cmd.Write([]byte(raw)); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := cmd.Wait()
	if err != nil {
		t.Fatal(err)
	}
	return data.UID
}

func count(t *testing.T, c *imapclient.Client, mailbox string) uint32 {
	t.Helper()
	st, err := c.Status(mailbox, &imap.StatusOptions{NumMessages: true}).Wait()
	if err != nil {
		t.Fatalf("status %s: %v", mailbox, err)
	}
	return *st.NumMessages
}

const citizenMail = `From: Karim Benali <karim.benali@example.org>
To: courrier@ampmetropole.fr
Subject: Lampadaire eteint
Date: Mon, 2 Jun 2025 09:15:00 +0200
Message-ID: <lampadaire-1@example.org>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Bonjour, le lampadaire du 4 avenue Jeanne d'Arc, 13400 Aubagne, est eteint depuis lundi.
`

func TestServer(t *testing.T) {
	srv := dovecot.Start(t)
	t.Logf("dovecot %s on %s", srv.Version, srv.Addr)
	c := client(t, srv, nil)

	caps, err := c.Capability().Wait()
	if err != nil {
		t.Fatal(err)
	}
	// Look the capabilities up literally: CapSet.Has would also accept
	// IMAP4rev2 for them.
	for _, want := range []imap.Cap{imap.CapIdle, imap.CapMove, imap.CapUIDPlus} {
		if _, ok := caps[want]; !ok {
			t.Errorf("capability %s missing from %v", want, caps)
		}
	}

	uid := appendMessage(t, c, "INBOX", citizenMail)
	if uid == 0 {
		t.Fatal("APPEND returned no UID (UIDPLUS)")
	}
	if err := c.Create("Traites", nil).Wait(); err != nil {
		t.Fatalf("create: %v", err)
	}
	sel, err := c.Select("INBOX", nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if sel.NumMessages != 1 {
		t.Fatalf("INBOX holds %d messages, want 1", sel.NumMessages)
	}
	moved, err := c.Move(imap.UIDSetNum(uid), "Traites").Wait()
	if err != nil {
		t.Fatalf("move: %v", err)
	}
	if moved.DestUIDs == nil {
		t.Error("MOVE returned no COPYUID")
	}
	if got := count(t, c, "INBOX"); got != 0 {
		t.Errorf("INBOX holds %d messages after the move, want 0", got)
	}
	if got := count(t, c, "Traites"); got != 1 {
		t.Errorf("Traites holds %d messages after the move, want 1", got)
	}
	if err := c.Unselect().Wait(); err != nil {
		t.Fatal(err)
	}

	// IDLE: a second session hears of a message appended by the first.
	exists := make(chan uint32, 8)
	watcher := client(t, srv, &imapclient.Options{
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			Mailbox: func(d *imapclient.UnilateralDataMailbox) {
				if d.NumMessages != nil {
					exists <- *d.NumMessages
				}
			},
		},
	})
	if _, err := watcher.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	idle, err := watcher.Idle()
	if err != nil {
		t.Fatalf("idle: %v", err)
	}
	appendMessage(t, c, "INBOX", citizenMail)
	select {
	case n := <-exists:
		if n != 1 {
			t.Errorf("IDLE announced %d messages, want 1", n)
		}
	case <-time.After(15 * time.Second):
		t.Error("IDLE did not announce the new message within 15s")
	}
	if err := idle.Close(); err != nil {
		t.Fatal(err)
	}
	if err := idle.Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Logout().Wait(); err != nil {
		t.Fatal(err)
	}
}

func TestURL(t *testing.T) {
	srv := &dovecot.Server{Addr: "127.0.0.1:1143", User: "cour rier", Password: "p@ss/w:rd"}
	raw := srv.URL("Traites")
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	pw, _ := u.User.Password()
	if u.Scheme != "imap+plain" || u.Host != srv.Addr || u.User.Username() != srv.User || pw != srv.Password || u.Path != "/Traites" {
		t.Errorf("URL %s does not round-trip", raw)
	}
}
