package attachment_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ampmetropole/guichet/services/intake/attachment"
	"github.com/ampmetropole/guichet/services/platform/bus"
	"github.com/ampmetropole/guichet/services/platform/fault"
	"github.com/ampmetropole/guichet/services/testkit"
)

func TestForgetErasesFilesFromTheStoreFiles(t *testing.T) {
	srv, err := bus.StartEmbedded(bus.EmbeddedConfig{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	conn, err := bus.Connect(context.Background(), srv.ClientURL(), t.Name(), testkit.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(conn.Close)
	ctx := context.Background()
	if err := bus.EnsureTopology(ctx, conn.JS, bus.TopologyConfig{DuplicateWindow: time.Minute}); err != nil {
		t.Fatal(err)
	}
	s, err := attachment.NewStore(ctx, conn.JS)
	if err != nil {
		t.Fatal(err)
	}
	// A letter large enough to take several chunks (128 KiB each), its
	// unique words on the first page and in its file name; and one to keep.
	lines := []string{"Monsieur Oubliette-Courrier-Unique", "37 impasse des Tamaris-Bleus"}
	for i := range 9000 {
		lines = append(lines, strings.Repeat("ligne de remplissage ", 2)+string(rune('a'+i%26)))
	}
	lines = append(lines, "Fin-Oubliette-Derniere-Page")
	gone, err := attachment.Check(bytes.NewReader(testkit.TextPDF(lines)), "lettre-Oubliette-NomDeFichier.pdf")
	if err != nil {
		t.Fatal(err)
	}
	if len(gone.Data) < 3*128<<10 {
		t.Fatalf("the letter is %d bytes: not several chunks", len(gone.Data))
	}
	kept, err := attachment.Check(bytes.NewReader(testkit.TextPDF([]string{"Madame Gardienne-Courrier"})), "lettre-Gardienne.pdf")
	if err != nil {
		t.Fatal(err)
	}
	goneMeta, err := s.Put(ctx, gone)
	if err != nil {
		t.Fatal(err)
	}
	keptMeta, err := s.Put(ctx, kept)
	if err != nil {
		t.Fatal(err)
	}
	secrets := []string{"Oubliette-Courrier-Unique", "Tamaris-Bleus", "Fin-Oubliette-Derniere-Page", "lettre-Oubliette-NomDeFichier"}
	testkit.Eventually(t, 10*time.Second, "the files written to the store", func() bool {
		return len(testkit.FilesContaining(t, srv.StoreDir(), append(secrets, "Gardienne-Courrier")...)) == len(secrets)+1
	})

	n, err := attachment.Forget(ctx, conn.JS, []string{goneMeta.ObjectKey, attachment.Key(strings.Repeat("0", 64))})
	if err != nil || n != 1 {
		t.Fatalf("Forget: %d %v, want 1 file erased", n, err)
	}
	if found := testkit.FilesContaining(t, srv.StoreDir(), secrets...); len(found) > 0 {
		t.Errorf("still in the store files after Forget: %v", found)
	}
	if _, err := s.Get(ctx, goneMeta.ObjectKey); fault.KindOf(err) != fault.NotFound {
		t.Errorf("erased file: %v, want not found", err)
	}
	if _, err := s.Info(ctx, gone.SHA256); fault.KindOf(err) != fault.NotFound {
		t.Errorf("erased file's description: %v, want not found", err)
	}
	if data, err := s.Get(ctx, keptMeta.ObjectKey); err != nil || !bytes.Equal(data, kept.Data) {
		t.Errorf("the other file: %d bytes, %v", len(data), err)
	}
	// Forgetting twice is harmless; the same file sent again is stored anew.
	if n, err := attachment.Forget(ctx, conn.JS, []string{goneMeta.ObjectKey}); err != nil || n != 0 {
		t.Errorf("second Forget: %d %v", n, err)
	}
	if _, err := s.Put(ctx, gone); err != nil {
		t.Fatal(err)
	}
	if data, err := s.Get(ctx, goneMeta.ObjectKey); err != nil || !bytes.Equal(data, gone.Data) {
		t.Errorf("sent again: %d bytes, %v", len(data), err)
	}
	if _, err := attachment.Forget(ctx, conn.JS, []string{"../etc/passwd"}); fault.KindOf(err) != fault.Invalid {
		t.Errorf("a key that is not one: %v", err)
	}
}
