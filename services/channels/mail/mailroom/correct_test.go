package mailroom_test

import (
	"context"
	"errors"
	"fmt"
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

// caseOf waits until request id is routed and returns its case.
func caseOf(t *testing.T, st stack.Stack, id string) string {
	t.Helper()
	var st2 casestore.RequestStatus
	testkit.Eventually(t, 10*time.Second, "request routed", func() bool {
		var err error
		st2, err = st.Store.RequestStatus(context.Background(), id)
		return err == nil && st2.Status == "routed"
	})
	return *st2.CaseRef
}

func TestCorrectedTextReplacesTheRequest(t *testing.T) {
	st := stack.New(t, stack.Options{Router: true})
	ctx := context.Background()
	reader, err := scan.New(scan.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	files, _ := attachment.NewStore(ctx, st.Conn.JS)
	p := mailroom.New(reader, files, st.Intake, extract.New(st.Places))
	fix := mailroom.NewCorrector(p, st.Store)

	// A letter whose scan was misread: no place, a garbled subject.
	misread := []string{"Paul Roux", "8 avenue de 1a Gare", "I34OO Aubagne", "", "0bjet : Lampadalre eteint", "", "Le lampadaire devant chez moi est eteint."}
	first, err := p.Letter(ctx, testkit.TextPDF(misread), "scan.pdf", mailroom.Origin{Adapter: "imap-scan", Key: "imap:INBOX:7:1:0", ReceivedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	firstCase := caseOf(t, st, first.Receipt.ID)

	text := "Paul Roux\n8 avenue de la Gare\n13400 Aubagne\n\nObjet : Lampadaire éteint\n\nLe lampadaire devant chez moi est éteint."
	fixed, err := fix.Correct(ctx, first.Receipt.ID, text, "courrier-02")
	if err != nil {
		t.Fatal(err)
	}
	if fixed.Receipt.ID == first.Receipt.ID || fixed.Layout.Subject != "Lampadaire éteint" {
		t.Fatalf("correction %+v", fixed)
	}
	// It joins the first one's case, keeps the scan, and the first points to it.
	if got := caseOf(t, st, fixed.Receipt.ID); got != firstCase {
		t.Errorf("corrected letter in %s, want %s", got, firstCase)
	}
	req, err := st.Store.Request(ctx, fixed.Receipt.ID)
	if err != nil {
		t.Fatal(err)
	}
	if req.Supersedes != first.Receipt.ID || req.Source.OperatorID != "courrier-02" || req.Location == nil || req.Location.PostalCode != "13400" ||
		len(req.Attachments) != 1 || req.Attachments[0].ObjectKey != first.Attachment.ObjectKey || req.Attachments[0].OCRConfidence != nil {
		t.Errorf("corrected request %+v", req)
	}
	var by string
	testkit.QueryRow(t, st.DBURL, `SELECT superseded_by::text FROM requests WHERE id = $1`, []any{first.Receipt.ID}, &by)
	if by != fixed.Receipt.ID {
		t.Errorf("superseded_by %q", by)
	}
	// The same correction twice is one request.
	again, err := fix.Correct(ctx, first.Receipt.ID, text+"\n", "courrier-02")
	if err != nil || again.Receipt.ID != fixed.Receipt.ID || !again.Receipt.Duplicate {
		t.Fatalf("second send: %+v %v", again.Receipt, err)
	}
	// A corrected text that cites another case goes there.
	other, err := p.Letter(ctx, testkit.TextPDF([]string{"Objet : Bac casse", "", "Mon bac est casse."}), "b.pdf", mailroom.Origin{Adapter: "mail-upload", ReceivedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	otherCase := caseOf(t, st, other.Receipt.ID)
	cited, err := fix.Correct(ctx, first.Receipt.ID, text+"\nDossier "+otherCase, "")
	if err != nil {
		t.Fatal(err)
	}
	if got := caseOf(t, st, cited.Receipt.ID); got != otherCase {
		t.Errorf("correction citing %s went to %s", otherCase, got)
	}

	// Refusals: empty text, unknown request, an e-mail (nothing was read by OCR).
	mail, err := p.Email(ctx, email.Message{FromAddress: "a@example.org", Subject: "Bonjour", Text: "Un trou dans la route."},
		mailroom.Origin{Adapter: "imap-mail", Key: "imap:INBOX:7:2", ReceivedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		id, text string
		kind     fault.Kind
		says     string
	}{
		{first.Receipt.ID, "  \n ", fault.Invalid, "vide"},
		{"0190d3a8-0000-7000-8000-000000000000", "texte", fault.NotFound, ""},
		{mail.Receipt.ID, "texte", fault.Invalid, "courrier numérisé"},
		{first.Receipt.ID, strings.Repeat("é", mailroom.MaxCorrectedText+1), fault.TooLarge, "caractères"},
	} {
		_, err := fix.Correct(ctx, tc.id, tc.text, "")
		if fault.KindOf(err) != tc.kind || !strings.Contains(fmt.Sprint(err), tc.says) {
			t.Errorf("Correct(%s, %.10q): %v, want kind %v", tc.id, tc.text, err, tc.kind)
		}
	}

	// The text as it was read, sent back with only its white space changed,
	// is refused: nothing is published.
	var before, after int
	testkit.QueryRow(t, st.DBURL, `SELECT count(*) FROM requests`, nil, &before)
	read := first.Attachment.ExtractedText
	for _, same := range []string{read, "  " + strings.ReplaceAll(read, "\n", "\r\n") + "\r\n\r\n"} {
		_, err := fix.Correct(ctx, first.Receipt.ID, same, "courrier-02")
		if fault.KindOf(err) != fault.Invalid || !errors.Is(err, mailroom.ErrUnchanged) || !strings.Contains(err.Error(), "le texte n'a pas été modifié") {
			t.Errorf("unchanged text: %v, want ErrUnchanged", err)
		}
	}
	time.Sleep(200 * time.Millisecond) // what a publication would have recorded by now
	testkit.QueryRow(t, st.DBURL, `SELECT count(*) FROM requests`, nil, &after)
	if after != before {
		t.Errorf("an unchanged text made %d requests", after-before)
	}
}
