package sms

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestOutboxForget(t *testing.T) {
	ctx := context.Background()
	o := newTestOutbox(t, time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC))
	for _, m := range []Message{
		{To: "+33756123456", Text: "Votre demande est reçue. Code JVD0-PGQN-831Q."},
		{To: "+33756123456", Text: "Merci 🙂 réponse en UCS-2"},
		{To: "+33612345678", Text: "Rappeler le 07 56 12 34 56 pour le dossier AMP-2025-000123."},
		{To: "+33612345678", Text: "Un courriel est parti à Zephyrin.Quenouille@example.net."},
		{To: "+33687654321", Text: "Votre demande est reçue."},
	} {
		if err := o.Send(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(o.dir, ".tmp-1.json"), []byte(`{"to":"+33756123456"`), 0o644); err != nil {
		t.Fatal(err)
	}
	n, err := o.Forget(ctx, []string{"+33756123456", "zephyrin.quenouille@example.net"})
	if err != nil || n != 5 {
		t.Fatalf("Forget = %d, %v; want 5 files deleted", n, err)
	}
	left, err := o.List(ctx, 10)
	if err != nil || len(left) != 1 || left[0].To != "+33687654321" {
		t.Fatalf("left: %+v %v", left, err)
	}
	if entries, _ := os.ReadDir(o.dir); len(entries) != 1 {
		t.Errorf("folder holds %d files, want 1", len(entries))
	}
	if n, err := o.Forget(ctx, []string{"+33756123456"}); err != nil || n != 0 {
		t.Errorf("second Forget = %d, %v", n, err)
	}
}
