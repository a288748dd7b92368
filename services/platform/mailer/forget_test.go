package mailer

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestOutboxForget(t *testing.T) {
	ctx := context.Background()
	o := newTestOutbox(t, time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC))
	const who, phone = "Zephyrin.Quenouille@example.net", "+33756123456"
	for _, m := range []Message{
		// To the person: plain, and a body long and accented enough to be encoded.
		{To: who, Subject: "Accusé de réception", Body: "Bonjour Zéphyrin,\nvotre demande est reçue.\n"},
		{To: "Zéphyrin Quenouille <zephyrin.quenouille@example.net>", Subject: "Réponse", Body: strings.Repeat("Réponse très détaillée — œuvre. ", 40)},
		// To someone else, about the person: their address or phone in the text.
		{To: "superviseur@ampmetropole.fr", Subject: "Délai dépassé", Body: "Le citoyen (ZEPHYRIN.QUENOUILLE@EXAMPLE.NET) attend.\n"},
		{To: "superviseur@ampmetropole.fr", Subject: "Rappel demandé", Body: "Rappeler au 07 56 12 34 56 — merci.\n"},
		// Not about the person: kept.
		{To: "lea.martinez@example.net", Subject: "Accusé de réception", Body: "Bonjour Léa,\nrappel au 04 91 99 99 99.\n"},
	} {
		if err := o.Send(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	// A half-written file a crash left, and a file that is not the outbox's.
	if err := os.WriteFile(filepath.Join(o.dir, ".tmp-123.eml"), []byte("To: zephyrin.quenouille@example.net\r\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(o.dir, "notes.txt"), []byte("zephyrin.quenouille@example.net"), 0o644); err != nil {
		t.Fatal(err)
	}
	n, err := o.Forget(ctx, []string{who, phone})
	if err != nil || n != 5 {
		t.Fatalf("Forget = %d, %v; want 5 files deleted", n, err)
	}
	left, err := o.List(ctx, 10)
	if err != nil || len(left) != 1 || left[0].To != "lea.martinez@example.net" {
		t.Fatalf("left: %+v %v", left, err)
	}
	entries, _ := os.ReadDir(o.dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if len(names) != 2 || !strings.Contains(strings.Join(names, " "), "notes.txt") {
		t.Errorf("folder holds %v, want the kept message and notes.txt", names)
	}
	if n, err := o.Forget(ctx, []string{who}); err != nil || n != 0 {
		t.Errorf("second Forget = %d, %v", n, err)
	}
	if n, err := o.Forget(ctx, nil); err != nil || n != 0 {
		t.Errorf("Forget of nobody = %d, %v", n, err)
	}
}
