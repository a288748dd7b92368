package mailroom_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/channels/mail/mailroom"
	"github.com/ampmetropole/guichet/services/channels/mail/scan"
	"github.com/ampmetropole/guichet/services/intake/attachment"
	"github.com/ampmetropole/guichet/services/language/extract"
	"github.com/ampmetropole/guichet/services/platform/fault"
	"github.com/ampmetropole/guichet/services/testkit"
	"github.com/ampmetropole/guichet/services/testkit/scanimg"
	"github.com/ampmetropole/guichet/services/testkit/stack"
)

// rejection finds the mailroom's record of a rejected message.
func rejection(t *testing.T, st stack.Stack, key string) (casestore.Letter, bool) {
	t.Helper()
	letters, err := st.Store.Letters(context.Background(), 50)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range letters {
		if l.Status == "rejected" && l.MessageID == key {
			return l, true
		}
	}
	return casestore.Letter{}, false
}

func TestUpload(t *testing.T) {
	st := stack.New(t, stack.Options{})
	ctx := context.Background()
	reader, err := scan.New(scan.Limits{Budget: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	files, err := attachment.NewStore(ctx, st.Conn.JS)
	if err != nil {
		t.Fatal(err)
	}
	p := mailroom.New(reader, files, st.Intake, extract.New(st.Places))
	p.SetUploads(mailroom.UploadConfig{Wait: 300 * time.Millisecond, MaxInFlight: 1, Rejections: st.Store, Log: testkit.Logger(t)})
	t.Cleanup(p.Stop)

	// A letter read within the wait: its request, under the id announced.
	pdf := testkit.TextPDF(letterLines)
	o := mailroom.Origin{Adapter: "mail-upload", Key: mailroom.ScanKey(pdf), ReceivedAt: time.Now()}
	up, err := p.Upload(ctx, pdf, "lettre.pdf", o)
	if err != nil || up.Pending || up.ID != up.Result.Receipt.ID || up.ID != p.RequestID(o) || up.Result.Text.Method != scan.MethodTextLayer {
		t.Fatalf("upload: %+v %v", up, err)
	}

	// A bomb: pending within the wait, then refused in the background and
	// shown to the mailroom.
	bomb := scanimg.DrawingBomb(400 << 20)
	start := time.Now()
	up, err = p.Upload(ctx, bomb, "bombe.pdf", mailroom.Origin{Adapter: "mail-upload", OperatorID: "courrier-01"})
	if elapsed := time.Since(start); err != nil || !up.Pending || up.ID == "" || elapsed > 2*time.Second {
		t.Fatalf("bomb: %+v %v after %v, want pending within the wait", up, err, elapsed)
	}
	// Its slot is the only one: another upload is told to come back later.
	if _, err := p.Upload(ctx, pdf, "lettre.pdf", o); fault.KindOf(err) != fault.TooMany {
		t.Errorf("upload beyond MaxInFlight: %v, want TooMany", err)
	}
	var l casestore.Letter
	testkit.Eventually(t, 15*time.Second, "bomb rejected", func() bool {
		var ok bool
		l, ok = rejection(t, st, mailroom.ScanKey(bomb))
		return ok
	})
	if l.Reason == nil || !strings.HasPrefix(*l.Reason, "Scan refusé : lecture interrompue, le fichier demande trop de calcul ou de mémoire") ||
		l.Sender != "dépôt par courrier-01" || l.Subject != "Scan déposé : bombe.pdf" {
		t.Errorf("rejection %+v reason %v", l, l.Reason)
	}

	// Stopping cancels a reading under way and records why.
	testkit.Eventually(t, 10*time.Second, "slot freed", func() bool {
		up, err = p.Upload(ctx, bomb[:len(bomb)-1], "bombe2.pdf", mailroom.Origin{Adapter: "mail-upload"})
		return err == nil
	})
	if !up.Pending {
		t.Fatalf("second bomb: %+v", up)
	}
	p.Stop()
	l, ok := rejection(t, st, mailroom.ScanKey(bomb[:len(bomb)-1]))
	if !ok || !strings.Contains(*l.Reason, "le service s'est arrêté") {
		t.Errorf("after Stop: %+v %v", l, ok)
	}
	if _, err := p.Upload(ctx, pdf, "lettre.pdf", o); fault.KindOf(err) != fault.Transient {
		t.Errorf("upload after Stop: %v, want Transient", err)
	}
	p.Stop() // twice is fine
}
