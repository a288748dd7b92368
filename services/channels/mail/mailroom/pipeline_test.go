package mailroom_test

import (
	"archive/zip"
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/channels/mail/email"
	"github.com/ampmetropole/guichet/services/channels/mail/mailroom"
	"github.com/ampmetropole/guichet/services/channels/mail/scan"
	"github.com/ampmetropole/guichet/services/intake/attachment"
	"github.com/ampmetropole/guichet/services/language/extract"
	"github.com/ampmetropole/guichet/services/platform/fault"
	"github.com/ampmetropole/guichet/services/testkit"
	"github.com/ampmetropole/guichet/services/testkit/stack"
)

func TestMain(m *testing.M) { testkit.Main(m) }

var letterLines = []string{
	"Simone Aubert", "14 chemin des Oliviers", "13300 Salon-de-Provence", "",
	"Salon-de-Provence, le 3 novembre 2026", "",
	"Objet : Demande de composteur, dossier AMP-2026-000001", "",
	"Madame, Monsieur,", "Je souhaiterais obtenir un composteur individuel pour mon jardin.",
	"Veuillez agreer mes salutations distinguees.", "Simone Aubert",
}

func TestScannedLetterBecomesARequest(t *testing.T) {
	st := stack.New(t, stack.Options{Router: true})
	ctx := context.Background()
	reader, err := scan.New(scan.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	files, err := attachment.NewStore(ctx, st.Conn.JS)
	if err != nil {
		t.Fatal(err)
	}
	p := mailroom.New(reader, files, st.Intake, extract.New(st.Places))
	arrived := time.Date(2026, 11, 5, 9, 0, 0, 0, time.UTC)
	pdf := testkit.TextPDF(letterLines)
	res, err := p.Letter(ctx, pdf, "scan-0001.pdf", mailroom.Origin{Adapter: "imap-scan", Key: "imap:INBOX:1:42:0", ReceivedAt: arrived})
	if err != nil {
		t.Fatal(err)
	}
	if res.Text.Method != "text_layer" || res.Layout.Subject != "Demande de composteur, dossier AMP-2026-000001" {
		t.Fatalf("text %+v layout %+v", res.Text, res.Layout)
	}
	var tr casestore.Tracking
	testkit.Eventually(t, 10*time.Second, "letter routed", func() bool {
		tr, err = st.Store.Tracking(ctx, res.Receipt.TrackingCode)
		return err == nil && tr.Status != "received"
	})
	req := tr.Request
	if req.Channel != "mail" || req.Citizen.Name != "Simone Aubert" || req.Citizen.Address == nil || req.Citizen.Address.PostalCode != "13300" ||
		len(req.CaseRefs) != 1 || req.CaseRefs[0] != "AMP-2026-000001" || len(req.Attachments) != 1 || req.Attachments[0].ExtractedText == "" {
		t.Fatalf("request %+v", req)
	}
	if !strings.Contains(req.Body, "composteur individuel") {
		t.Errorf("body %q", req.Body)
	}
	stored, err := files.Get(ctx, req.Attachments[0].ObjectKey)
	if err != nil || !bytes.Equal(stored, pdf) {
		t.Fatalf("original scan not stored: %v", err)
	}
	// The same message again (a restart after a crash): the same request.
	again, err := p.Letter(ctx, pdf, "scan-0001.pdf", mailroom.Origin{Adapter: "imap-scan", Key: "imap:INBOX:1:42:0", ReceivedAt: arrived})
	if err != nil || again.Receipt.ID != res.Receipt.ID || !again.Receipt.Duplicate {
		t.Fatalf("second pass: %+v %v", again.Receipt, err)
	}
}

func TestUnreadableScanIsRefused(t *testing.T) {
	st := stack.New(t, stack.Options{})
	ctx := context.Background()
	reader, err := scan.New(scan.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	files, _ := attachment.NewStore(ctx, st.Conn.JS)
	p := mailroom.New(reader, files, st.Intake, extract.New(st.Places))
	for name, data := range map[string][]byte{"empty": nil, "not a scan": []byte("bonjour"), "broken PDF": []byte("%PDF-1.4\n1 0 obj <<")} {
		if _, err := p.Letter(ctx, data, name, mailroom.Origin{Adapter: "mail-upload"}); fault.KindOf(err) != fault.Invalid {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestCitizenEmailBecomesARequest(t *testing.T) {
	st := stack.New(t, stack.Options{Router: true})
	ctx := context.Background()
	reader, err := scan.New(scan.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	files, _ := attachment.NewStore(ctx, st.Conn.JS)
	p := mailroom.New(reader, files, st.Intake, extract.New(st.Places))
	m := email.Message{MessageID: "CAF7x9=2b@mail.example.org", FromName: "Karim Benali", FromAddress: "Karim.Benali@example.org", Subject: "Lampadaire éteint à Aubagne",
		Text: "Bonjour, le lampadaire du 4 avenue Jeanne d'Arc, 13400 Aubagne, est éteint.",
		Attachments: []email.Attachment{
			{Name: "photo.pdf", ContentType: "application/pdf", Data: testkit.TextPDF([]string{"photo"})},
			{Name: "virus.exe", ContentType: "application/octet-stream", Data: []byte("MZ\x90\x00")},
			{Name: "photos.zip", ContentType: "application/zip", Data: zipBomb(t)},
		}}
	o := mailroom.Origin{Adapter: "imap-mail", Key: "imap:INBOX:7:99", ReceivedAt: time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)}
	res, err := p.Email(ctx, m, o)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := st.Store.Tracking(ctx, res.Receipt.TrackingCode)
	if err != nil {
		t.Fatal(err)
	}
	req := tr.Request
	if req.Channel != "email" || req.Citizen.Email != "karim.benali@example.org" || req.Citizen.Name != "Karim Benali" ||
		len(req.Attachments) != 1 || req.Attachments[0].Name != "photo.pdf" || req.Location == nil || req.Location.PostalCode != "13400" ||
		req.Source.MessageID != "CAF7x9=2b@mail.example.org" {
		t.Fatalf("request %+v", req)
	}
	// A Message-ID no reply could name is left out; the request is taken.
	odd := m
	odd.MessageID, odd.Subject = "id avec espaces <et> chevrons", "Encore le lampadaire"
	res2, err := p.Email(ctx, odd, mailroom.Origin{Adapter: "imap-mail", Key: "imap:INBOX:7:100"})
	if err != nil {
		t.Fatal(err)
	}
	if tr2, err := st.Store.Tracking(ctx, res2.Receipt.TrackingCode); err != nil || tr2.Request.Source.MessageID != "" {
		t.Fatalf("odd Message-ID: %+v %v", tr2.Request.Source, err)
	}
	again, err := p.Email(ctx, m, o)
	if err != nil || again.Receipt.ID != res.Receipt.ID || !again.Receipt.Duplicate {
		t.Fatalf("second pass: %+v %v", again.Receipt, err)
	}
}

// zipBomb is a small zip that would inflate to 200 MiB: Guichet never opens
// archives, it keeps photos and PDFs only.
func zipBomb(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	w, err := zw.Create("photos.bin")
	if err != nil {
		t.Fatal(err)
	}
	zeros := make([]byte, 1<<20)
	for range 200 {
		w.Write(zeros)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if b.Len() > 1<<20 {
		t.Fatalf("zip of %d bytes is not a bomb", b.Len())
	}
	return b.Bytes()
}

// A letter in another language is processed like any other; the router and
// the team decide what to do with it.
func TestLetterInAnotherLanguage(t *testing.T) {
	st := stack.New(t, stack.Options{})
	ctx := context.Background()
	reader, err := scan.New(scan.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	files, _ := attachment.NewStore(ctx, st.Conn.JS)
	p := mailroom.New(reader, files, st.Intake, extract.New(st.Places))
	res, err := p.Letter(ctx, testkit.TextPDF([]string{"John Smith", "5 rue Thiers", "13100 Aix-en-Provence", "", "Subject: broken street light", "",
		"Dear Sir or Madam,", "The street light in front of my house has been off for a week."}), "en.pdf", mailroom.Origin{Adapter: "mail-upload", ReceivedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	req, err := st.Store.Request(ctx, res.Receipt.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(req.Body, "street light") || req.Citizen == nil || req.Citizen.Address == nil || req.Citizen.Address.PostalCode != "13100" {
		t.Errorf("request %+v", req)
	}
}
