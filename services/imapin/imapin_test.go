package imapin_test

import (
	"context"
	"encoding/base64"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"

	"github.com/ampmetropole/guichet/services/attachment"
	"github.com/ampmetropole/guichet/services/bus"
	"github.com/ampmetropole/guichet/services/extract"
	"github.com/ampmetropole/guichet/services/imapin"
	"github.com/ampmetropole/guichet/services/mailroom"
	"github.com/ampmetropole/guichet/services/scan"
	"github.com/ampmetropole/guichet/services/testkit"
	"github.com/ampmetropole/guichet/services/testkit/stack"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// memServer starts go-imap's in-memory server on loopback.
func memServer(t *testing.T) string {
	t.Helper()
	mem := imapmemserver.New()
	user := imapmemserver.NewUser("courrier", "secret")
	if err := user.Create("INBOX", nil); err != nil {
		t.Fatal(err)
	}
	mem.AddUser(user)
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
	return ln.Addr().String()
}

func client(t *testing.T, addr string) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Login("courrier", "secret").Wait(); err != nil {
		t.Fatal(err)
	}
	return c
}

func appendMessage(t *testing.T, c *imapclient.Client, raw string) {
	t.Helper()
	raw = strings.ReplaceAll(raw, "\n", "\r\n")
	cmd := c.Append("INBOX", int64(len(raw)), nil)
	if _, err := cmd.Write([]byte(raw)); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
}

func count(t *testing.T, c *imapclient.Client, mailbox string) uint32 {
	t.Helper()
	st, err := c.Status(mailbox, &imap.StatusOptions{NumMessages: true}).Wait()
	if err != nil {
		return 0
	}
	return *st.NumMessages
}

func scanMail(pdf []byte) string {
	b64 := base64.StdEncoding.EncodeToString(pdf)
	var lines []string
	for len(b64) > 76 {
		lines, b64 = append(lines, b64[:76]), b64[76:]
	}
	lines = append(lines, b64)
	return "From: scanner@ampmetropole.fr\nTo: courrier@ampmetropole.fr\nSubject: Scan 0001\nMIME-Version: 1.0\n" +
		"Content-Type: multipart/mixed; boundary=B\n\n--B\nContent-Type: text/plain\n\nNumerisation\n--B\n" +
		"Content-Type: application/pdf\nContent-Disposition: attachment; filename=\"scan-0001.pdf\"\nContent-Transfer-Encoding: base64\n\n" +
		strings.Join(lines, "\n") + "\n--B--\n"
}

const citizenMail = `From: Karim Benali <karim.benali@example.org>
To: courrier@ampmetropole.fr
Subject: =?UTF-8?Q?Lampadaire_=C3=A9teint?=
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Bonjour, le lampadaire du 4 avenue Jeanne d'Arc, 13400 Aubagne, est eteint depuis lundi.
`

func TestMailboxToRequests(t *testing.T) {
	st := stack.New(t, stack.Options{Router: true})
	ctx := context.Background()
	addr := memServer(t)
	c := client(t, addr)
	pdf := testkit.TextPDF([]string{"Simone Aubert", "14 chemin des Oliviers", "13300 Salon-de-Provence", "", "Objet : Demande de composteur", "", "Madame, Monsieur,", "Je souhaiterais un composteur individuel."})
	appendMessage(t, c, scanMail(pdf))
	appendMessage(t, c, citizenMail)
	appendMessage(t, c, "From: x@example.org\nContent-Type: multipart/mixed\n\nbody\n")

	reader, err := scan.New(scan.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	files, _ := attachment.NewStore(ctx, st.Conn.JS)
	p := mailroom.New(reader, files, st.Intake, extract.New(st.Places))
	run := func() {
		a, err := imapin.New(imapin.Config{URL: "imap+plain://courrier:secret@" + addr + "/INBOX", PollInterval: 200 * time.Millisecond}, p, bus.NewPublisher(st.Conn.JS), testkit.Logger(t))
		if err != nil {
			t.Fatal(err)
		}
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { a.Run(rctx); close(done) }()
		testkit.Eventually(t, 20*time.Second, "inbox emptied", func() bool { return count(t, c, "INBOX") == 0 })
		cancel()
		<-done
	}
	run()
	if got := count(t, c, "Traites"); got != 2 {
		t.Errorf("%d messages processed, want 2", got)
	}
	if got := count(t, c, "Rejetes"); got != 1 {
		t.Errorf("%d messages rejected, want 1", got)
	}
	if n := testkit.StreamMsgs(t, st.Conn, bus.StreamRequests); n != 2 {
		t.Fatalf("%d requests published, want 2", n)
	}
	dead, err := st.Conn.JS.Stream(ctx, bus.StreamDead)
	if err != nil {
		t.Fatal(err)
	}
	dm, err := dead.GetLastMsgForSubject(ctx, "guichet.dead.mail.imap")
	if err != nil || dm.Header.Get(bus.HeaderDeadReason) == "" {
		t.Fatalf("rejected message not in DEAD with its reason: %v", err)
	}
	testkit.Eventually(t, 10*time.Second, "both routed", func() bool {
		return testkit.Count(t, st.DBURL, `SELECT count(*) FROM requests WHERE status = 'routed'`) == 2
	})
	var channels string
	testkit.QueryRow(t, st.DBURL, `SELECT string_agg(channel, ',' ORDER BY channel) FROM requests`, nil, &channels)
	if channels != "email,mail" {
		t.Errorf("channels %s", channels)
	}
	// A restart finds nothing new and duplicates nothing.
	appendMessage(t, c, citizenMail)
	run()
	if n := testkit.StreamMsgs(t, st.Conn, bus.StreamRequests); n != 3 {
		t.Fatalf("%d requests after the restart, want 3", n)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, u := range []string{"http://x", "imap+plain://u:p@192.0.2.1/INBOX", "imaps://host/INBOX", "%%"} {
		if _, err := imapin.New(imapin.Config{URL: u}, nil, nil, testkit.NopLogger()); err == nil {
			t.Errorf("%s accepted", u)
		}
	}
}
