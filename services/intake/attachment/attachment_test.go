package attachment_test

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"strings"
	"testing"

	"github.com/ampmetropole/guichet/services/intake/attachment"
	"github.com/ampmetropole/guichet/services/platform/fault"
	"github.com/ampmetropole/guichet/services/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

func photo(t *testing.T, enc func(*bytes.Buffer, image.Image) error) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 16, 16))
	img.Set(3, 3, color.RGBA{R: 200, A: 255})
	var b bytes.Buffer
	if err := enc(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// MinimalPDF is a small well-formed PDF document.
const minimalPDF = "%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"

func TestCheck(t *testing.T) {
	jpg := photo(t, func(b *bytes.Buffer, i image.Image) error { return jpeg.Encode(b, i, nil) })
	pngData := photo(t, func(b *bytes.Buffer, i image.Image) error { return png.Encode(b, i) })
	tests := []struct {
		name, file string
		data       []byte
		wantType   string
		wantKind   fault.Kind
		wantMsg    string
	}{
		{"jpeg", "trou.jpg", jpg, "image/jpeg", 0, ""},
		{"png named .jpg is still a png", "trou.jpg", pngData, "image/png", 0, ""},
		{"pdf", "courrier.pdf", []byte(minimalPDF), "application/pdf", 0, ""},
		{"text named .pdf", "faux.pdf", []byte("bonjour, je ne suis pas un PDF"), "", fault.Invalid, "n'est pas un PDF"},
		{"truncated pdf", "coupe.pdf", []byte(minimalPDF[:40]), "", fault.Invalid, "incomplet"},
		{"executable", "photo.jpg", []byte("MZ\x90\x00\x03\x00\x00\x00\x04\x00"), "", fault.Invalid, "ni une photo"},
		{"html", "page.png", []byte("<html><script>alert(1)</script></html>"), "", fault.Invalid, "ni une photo"},
		{"empty", "vide.jpg", nil, "", fault.Invalid, "vide"},
		{"too large", "enorme.jpg", append(jpg, make([]byte, attachment.MaxSize)...), "", fault.TooLarge, "10 Mio"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := attachment.Check(bytes.NewReader(tt.data), tt.file)
			if tt.wantMsg != "" {
				if fault.KindOf(err) != tt.wantKind || !strings.Contains(err.Error(), tt.wantMsg) {
					t.Fatalf("got %v (kind %v), want kind %v mentioning %q", err, fault.KindOf(err), tt.wantKind, tt.wantMsg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if f.ContentType != tt.wantType || len(f.SHA256) != 64 || f.Name != tt.file {
				t.Fatalf("got %+v", f)
			}
		})
	}
}

func TestCheckCleansNames(t *testing.T) {
	for in, want := range map[string]string{
		`C:\Users\lea\Photos\trou.jpg`: "trou.jpg",
		"../../etc/passwd.jpg":         "passwd.jpg",
		"a\x00b\nc.jpg":                "abc.jpg",
		"":                             "piece-jointe",
	} {
		f, err := attachment.Check(strings.NewReader(minimalPDF), in)
		if err != nil {
			t.Fatal(err)
		}
		if f.Name != want {
			t.Errorf("name %q → %q, want %q", in, f.Name, want)
		}
	}
}

func TestStorePutGetDeduplicates(t *testing.T) {
	_, conn := testkit.Bus(t)
	ctx := context.Background()
	s, err := attachment.NewStore(ctx, conn.JS)
	if err != nil {
		t.Fatal(err)
	}
	f, err := attachment.Check(strings.NewReader(minimalPDF), "courrier.pdf")
	if err != nil {
		t.Fatal(err)
	}
	a, err := s.Put(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	if a.ObjectKey != "sha256/"+f.SHA256 || a.Size != int64(len(minimalPDF)) || a.ContentType != "application/pdf" {
		t.Fatalf("metadata %+v", a)
	}
	again, err := s.Put(ctx, f)
	if err != nil || again != a {
		t.Fatalf("second put: %+v %v", again, err)
	}
	data, err := s.Get(ctx, a.ObjectKey)
	if err != nil || string(data) != minimalPDF {
		t.Fatalf("get: %q %v", data, err)
	}
	if _, err := s.Get(ctx, "sha256/0000"); fault.KindOf(err) != fault.NotFound {
		t.Fatalf("missing object: %v", err)
	}
}

func FuzzCheck(f *testing.F) {
	f.Add([]byte(minimalPDF), "a.pdf")
	f.Add([]byte("\xff\xd8\xff\xe0"), "b.jpg")
	f.Fuzz(func(t *testing.T, data []byte, name string) {
		got, err := attachment.Check(bytes.NewReader(data), name)
		if err == nil && (got.Name == "" || len(got.Name) > 255 || len(got.SHA256) != 64) {
			t.Fatalf("accepted with bad metadata: %+v", got)
		}
	})
}
