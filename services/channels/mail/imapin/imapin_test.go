package imapin_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"image"
	stdpng "image/png"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/channels/mail/imapin"
	"github.com/ampmetropole/guichet/services/channels/mail/mailroom"
	"github.com/ampmetropole/guichet/services/channels/mail/scan"
	"github.com/ampmetropole/guichet/services/intake/attachment"
	"github.com/ampmetropole/guichet/services/language/extract"
	"github.com/ampmetropole/guichet/services/platform/bus"
	"github.com/ampmetropole/guichet/services/testkit"
	"github.com/ampmetropole/guichet/services/testkit/dovecot"
	"github.com/ampmetropole/guichet/services/testkit/scanimg"
	"github.com/ampmetropole/guichet/services/testkit/stack"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// mailbox is an IMAP server the test reads, with one user.
type mailbox struct{ addr, user, pass string }

func (m mailbox) url() string {
	return "imap+plain://" + url.UserPassword(m.user, m.pass).String() + "@" + m.addr + "/INBOX"
}

// memServer starts go-imap's in-memory server on loopback.
func memServer(t *testing.T) mailbox {
	t.Helper()
	addr, user, pass := testkit.IMAPServer(t)
	return mailbox{addr: addr, user: user, pass: pass}
}

func client(t *testing.T, m mailbox) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialInsecure(m.addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Login(m.user, m.pass).Wait(); err != nil {
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

func scanMail(pdf []byte, n int) string {
	b64 := base64.StdEncoding.EncodeToString(pdf)
	var lines []string
	for len(b64) > 76 {
		lines, b64 = append(lines, b64[:76]), b64[76:]
	}
	lines = append(lines, b64)
	return fmt.Sprintf("From: scanner@ampmetropole.fr\nTo: courrier@ampmetropole.fr\nSubject: Scan %04d\nMIME-Version: 1.0\n", n) +
		"Content-Type: multipart/mixed; boundary=B\n\n--B\nContent-Type: text/plain\n\nNumerisation\n--B\n" +
		fmt.Sprintf("Content-Type: application/pdf\nContent-Disposition: attachment; filename=\"scan-%04d.pdf\"\nContent-Transfer-Encoding: base64\n\n", n) +
		strings.Join(lines, "\n") + "\n--B--\n"
}

// citizenMail is written in Windows-1252, quoted-printable, as some mail
// programs still send.
const citizenMail = `From: =?ISO-8859-1?Q?H=E9l=E8ne_Moreau?= <helene.moreau@example.net>
To: courrier@ampmetropole.fr
Subject: =?windows-1252?Q?D=E9p=F4t_sauvage?=
MIME-Version: 1.0
Content-Type: text/plain; charset=windows-1252
Content-Transfer-Encoding: quoted-printable

Bonjour, un d=E9p=F4t sauvage =AB matelas et gravats =BB bloque le trottoir =
du 9 boulevard Anatole France, 13600 La Ciotat. Merci d'intervenir.
`

// absenceReply is a citizen's mail server answering one of our notices
// while they are away.
const absenceReply = "From: Hélène Moreau <helene.moreau@example.net>\nSubject: =?UTF-8?Q?R=C3=A9ponse_automatique?=\nAuto-Submitted: auto-replied\nContent-Type: text/plain; charset=utf-8\n\nJe suis absente jusqu'au 12 décembre.\n"

const brokenMail = "From: x@example.org\nSubject: Scan casse\nContent-Type: multipart/mixed\n\nbody\n"

// crashAfterFirst publishes the first letter, then makes the adapter stop
// as a crash would: after JetStream acknowledged the request, before the
// message was moved out of the inbox.
type crashAfterFirst struct {
	imapin.Pipeline
	crash func()
	done  bool
}

func (c *crashAfterFirst) Letter(ctx context.Context, data []byte, name string, o mailroom.Origin) (mailroom.Result, error) {
	if c.done {
		return mailroom.Result{}, errors.New("stopped")
	}
	res, err := c.Pipeline.Letter(ctx, data, name, o)
	if err == nil {
		c.done = true
		c.crash()
		err = errors.New("crash after publishing")
	}
	return res, err
}

// testMailbox sends a scanner's text-layer PDF, a scanner's image-only PDF
// (OCR), a citizen's e-mail and a broken message through the adapter,
// stopping it once in the middle, and checks that every message ends in the
// right folder, each request is published once and routed to a case, and
// the rejection is shown to the mailroom with its reason.
func testMailbox(t *testing.T, m mailbox) {
	st := stack.New(t, stack.Options{Router: true})
	ctx := context.Background()
	c := client(t, m)
	pdf := testkit.TextPDF([]string{"Simone Aubert", "14 chemin des Oliviers", "13300 Salon-de-Provence", "", "Objet : Demande de composteur", "", "Madame, Monsieur,", "Je souhaiterais un composteur individuel."})
	img, err := scanimg.RenderLetter([]string{"PAUL ROUX", "8 AVENUE DE LA GARE", "13400 AUBAGNE", "", "OBJET : LAMPADAIRE ETEINT", "", "MADAME, MONSIEUR,", "LE LAMPADAIRE DEVANT CHEZ MOI", "EST ETEINT DEPUIS DIX JOURS."}, 5, 0.8, 11)
	if err != nil {
		t.Fatal(err)
	}
	appendMessage(t, c, scanMail(pdf, 1))
	appendMessage(t, c, scanMail(scanimg.ImagePDF([]*image.Gray{img}, 300), 2))
	appendMessage(t, c, citizenMail)
	appendMessage(t, c, brokenMail)

	reader, err := scan.New(scan.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	files, _ := attachment.NewStore(ctx, st.Conn.JS)
	p := mailroom.New(reader, files, st.Intake, extract.New(st.Places))
	run := func(p imapin.Pipeline, wait func(context.CancelFunc)) {
		t.Helper()
		a, err := imapin.New(imapin.Config{URL: m.url(), PollInterval: 200 * time.Millisecond}, p, bus.NewPublisher(st.Conn.JS), st.Store, testkit.Logger(t))
		if err != nil {
			t.Fatal(err)
		}
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { a.Run(rctx); close(done) }()
		wait(cancel)
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Fatal("adapter did not stop")
		}
	}

	// First run: crashes right after the first request was published.
	crashed := make(chan struct{})
	run(&crashAfterFirst{Pipeline: p, crash: func() { close(crashed) }}, func(context.CancelFunc) {
		select {
		case <-crashed:
		case <-time.After(60 * time.Second):
			t.Fatal("first letter never published")
		}
	})
	if n := testkit.StreamMsgs(t, st.Conn, bus.StreamRequests); n != 1 {
		t.Fatalf("%d requests before the restart, want 1", n)
	}
	if got := count(t, c, "INBOX"); got != 4 {
		t.Fatalf("%d messages left in the inbox after the crash, want 4", got)
	}
	// Restart: everything is handled, the first letter is not sent twice.
	inboxEmpty := func(context.CancelFunc) {
		testkit.Eventually(t, 90*time.Second, "inbox emptied", func() bool { return count(t, c, "INBOX") == 0 })
	}
	run(p, inboxEmpty)
	if got := count(t, c, "Traites"); got != 3 {
		t.Errorf("%d messages processed, want 3", got)
	}
	if got := count(t, c, "Rejetes"); got != 1 {
		t.Errorf("%d messages rejected, want 1", got)
	}
	if n := testkit.StreamMsgs(t, st.Conn, bus.StreamRequests); n != 3 {
		t.Fatalf("%d requests published, want 3", n)
	}
	dead, err := st.Conn.JS.Stream(ctx, bus.StreamDead)
	if err != nil {
		t.Fatal(err)
	}
	dm, err := dead.GetLastMsgForSubject(ctx, "guichet.dead.mail.imap")
	if err != nil || dm.Header.Get(bus.HeaderDeadReason) == "" {
		t.Fatalf("rejected message not in DEAD with its reason: %v", err)
	}
	testkit.Eventually(t, 20*time.Second, "all routed", func() bool {
		return testkit.Count(t, st.DBURL, `SELECT count(*) FROM requests WHERE status = 'routed' AND case_id IS NOT NULL`) == 3
	})
	letters, err := st.Store.Letters(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	var rejected, ocr, mail int
	for _, l := range letters {
		switch {
		case l.Status == "rejected":
			rejected++
			if l.Reason == nil || *l.Reason == "" || l.Subject != "Scan casse" || !strings.Contains(l.Sender, "x@example.org") || l.RequestID != nil {
				t.Errorf("rejection shown as %+v", l)
			}
		case l.Channel == "email":
			mail++
			if !strings.Contains(l.Text, "dépôt sauvage « matelas et gravats »") || l.Subject != "Dépôt sauvage" || l.Sender != "Hélène Moreau" {
				t.Errorf("e-mail read as %q / %q / %q", l.Subject, l.Sender, l.Text)
			}
		case l.OCRConfidence != nil && *l.OCRConfidence < 1:
			ocr++
			if !strings.Contains(l.Text, "LAMPADAIRE") || l.CaseRef == nil || l.ScanKey == "" {
				t.Errorf("OCR letter shown as %+v", l)
			}
		}
	}
	if rejected != 1 || ocr != 1 || mail != 1 || len(letters) != 4 {
		t.Errorf("letters: %d rejected, %d OCR, %d e-mail, %d in all", rejected, ocr, mail, len(letters))
	}
	// A later message is a new request; nothing old comes back. An absence
	// reply is no request: rejected with its reason, so that no
	// acknowledgement answers it.
	appendMessage(t, c, strings.Replace(citizenMail, "9 boulevard", "11 boulevard", 1))
	appendMessage(t, c, absenceReply)
	run(p, inboxEmpty)
	if n := testkit.StreamMsgs(t, st.Conn, bus.StreamRequests); n != 4 {
		t.Fatalf("%d requests after the restart, want 4", n)
	}
	if got := count(t, c, "Rejetes"); got != 2 {
		t.Errorf("%d messages rejected after the absence reply, want 2", got)
	}
	if letters, err = st.Store.Letters(ctx, 10); err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(letters, func(l casestore.Letter) bool {
		return l.Status == "rejected" && l.Reason != nil && strings.Contains(*l.Reason, "Auto-Submitted: auto-replied")
	}) {
		t.Errorf("absence reply not shown as rejected with its reason: %+v", letters)
	}
}

func TestMailboxToRequests(t *testing.T) { testMailbox(t, memServer(t)) }

// TestMailboxToRequestsDovecot runs the same scenario against a real
// Dovecot, with its own UIDVALIDITY, IDLE and MOVE.
func TestMailboxToRequestsDovecot(t *testing.T) {
	d := dovecot.Start(t)
	testMailbox(t, mailbox{addr: d.Addr, user: d.User, pass: d.Password})
}

func TestConfigErrors(t *testing.T) {
	for _, u := range []string{"http://x", "imap+plain://u:p@192.0.2.1/INBOX", "imaps://host/INBOX", "%%"} {
		if _, err := imapin.New(imapin.Config{URL: u}, nil, nil, nil, testkit.NopLogger()); err == nil {
			t.Errorf("%s accepted", u)
		}
	}
}

// attachMail is a message from sender with a long text and one attachment.
func attachMail(from, name, contentType string, data []byte) string {
	b64 := base64.StdEncoding.EncodeToString(data)
	var lines []string
	for len(b64) > 76 {
		lines, b64 = append(lines, b64[:76]), b64[76:]
	}
	lines = append(lines, b64)
	return "From: " + from + "\nSubject: Envoi\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=B\n\n--B\nContent-Type: text/plain; charset=utf-8\n\n" +
		strings.Repeat("Ce scan a été envoyé depuis le copieur du rez-de-chaussée. ", 5) + "\n--B\n" +
		"Content-Type: " + contentType + "\nContent-Disposition: attachment; filename=\"" + name + "\"\nContent-Transfer-Encoding: base64\n\n" +
		strings.Join(lines, "\n") + "\n--B--\n"
}

func TestScannerSenders(t *testing.T) {
	st := stack.New(t, stack.Options{})
	ctx := context.Background()
	m := memServer(t)
	c := client(t, m)
	img, err := scanimg.RenderLetter([]string{"OBJET : BAC JAUNE CASSE", "MON BAC JAUNE EST CASSE."}, 5, 0.5, 3)
	if err != nil {
		t.Fatal(err)
	}
	var png bytes.Buffer
	if err := stdpng.Encode(&png, img); err != nil {
		t.Fatal(err)
	}
	// A configured scanner's PNG is a letter even with a long text; a
	// citizen's PDF is an e-mail attachment.
	appendMessage(t, c, attachMail("Copieur RDC <copieur-rdc@scan.ampmetropole.fr>", "scan.png", "image/png", png.Bytes()))
	appendMessage(t, c, attachMail("Ana Lopes <ana.lopes@example.com>", "facture.pdf", "application/pdf", testkit.TextPDF([]string{"Facture d'eau"})))
	// A configured scanner's message without a scan is rejected.
	appendMessage(t, c, "From: copieur-rdc@scan.ampmetropole.fr\nSubject: Test\nContent-Type: text/plain\n\nPage de test.\n")

	reader, err := scan.New(scan.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	files, _ := attachment.NewStore(ctx, st.Conn.JS)
	p := mailroom.New(reader, files, st.Intake, extract.New(st.Places))
	a, err := imapin.New(imapin.Config{URL: m.url(), PollInterval: 200 * time.Millisecond, Scanners: []string{"@scan.ampmetropole.fr"}},
		p, bus.NewPublisher(st.Conn.JS), st.Store, testkit.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { a.Run(rctx); close(done) }()
	testkit.Eventually(t, 60*time.Second, "inbox emptied", func() bool { return count(t, c, "INBOX") == 0 })
	cancel()
	<-done
	var channels string
	testkit.QueryRow(t, st.DBURL, `SELECT string_agg(channel || ':' || (payload->'source'->>'adapter'), ',' ORDER BY channel) FROM requests`, nil, &channels)
	if channels != "email:imap-mail,mail:imap-scan" {
		t.Errorf("requests %s", channels)
	}
	if got := count(t, c, "Rejetes"); got != 1 {
		t.Errorf("%d rejected, want 1", got)
	}
}
