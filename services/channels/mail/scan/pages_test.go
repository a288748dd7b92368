package scan

import (
	"bytes"
	"context"
	"image"
	"image/jpeg"
	"image/png"
	"strings"
	"testing"
	"time"

	"github.com/ampmetropole/guichet/services/platform/fault"
	"github.com/ampmetropole/guichet/services/testkit/scanimg"
)

// TestPageImages: every kind of scan gives its pages as images a browser
// shows, no larger than PreviewSide, and nothing else.
func TestPageImages(t *testing.T) {
	t.Parallel()
	r, root := newReader(t, Limits{})
	img := letter()
	var jb bytes.Buffer
	if err := jpeg.Encode(&jb, img, &jpeg.Options{Quality: 85}); err != nil {
		t.Fatal(err)
	}
	second := renderLetter(t, []string{"PIECE JOINTE"}, 6, 0, 3)
	textPages := textPDF([][]string{{"Objet : bac"}, {"Page deux"}, {"Page trois"}}, "")
	for _, tc := range []struct {
		name   string
		data   []byte
		pages  int
		ct     string
		asIs   bool // given back as it is
		longer int  // the long side of the image, when rendered
	}{
		{"pdf of text", textPages, 3, TypePNG, false, PreviewSide},
		{"pdf of images", imagePDF(t, []*image.Gray{img, second}, 300), 2, TypePNG, false, PreviewSide},
		{"png", pngBytes(t, img), 1, TypePNG, true, 0},
		{"jpeg", jb.Bytes(), 1, TypeJPEG, true, 0},
		{"tiff", tiffBytes(img), 1, TypePNG, false, PreviewSide},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			n, err := r.PageCount(ctx, tc.data)
			if err != nil || n != tc.pages {
				t.Fatalf("PageCount: %d %v, want %d", n, err, tc.pages)
			}
			for page := 1; page <= tc.pages; page++ {
				p, err := r.PageImage(ctx, tc.data, page)
				if err != nil {
					t.Fatalf("page %d: %v", page, err)
				}
				if p.ContentType != tc.ct || p.Pages != tc.pages {
					t.Errorf("page %d: %s of %d pages", page, p.ContentType, p.Pages)
				}
				if tc.asIs {
					if !bytes.Equal(p.Data, tc.data) {
						t.Errorf("page %d: not the image as it is", page)
					}
					continue
				}
				cfg, err := png.DecodeConfig(bytes.NewReader(p.Data))
				if err != nil {
					t.Fatalf("page %d: %v", page, err)
				}
				if max(cfg.Width, cfg.Height) != tc.longer {
					t.Errorf("page %d: %d×%d, want a long side of %d", page, cfg.Width, cfg.Height, tc.longer)
				}
			}
			for _, page := range []int{0, -1, tc.pages + 1, 1 << 30} {
				if _, err := r.PageImage(ctx, tc.data, page); fault.KindOf(err) != fault.NotFound {
					t.Errorf("page %d of %d: %v, want NotFound", page, tc.pages, err)
				}
			}
		})
	}
	assertNoLeftovers(t, root)
}

// TestPageImageRefusals: what Read refuses, PageImage refuses for the same
// reason, and a page that asks too much is stopped by the budget.
func TestPageImageRefusals(t *testing.T) {
	t.Parallel()
	r, root := newReader(t, Limits{Budget: 3 * time.Second, MaxPages: 2})
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		data []byte
		kind fault.Kind
		says string
	}{
		{"empty", nil, fault.Invalid, "vide"},
		{"not a scan", []byte("bonjour"), fault.Invalid, "format"},
		{"huge tiff header", tiffRaw(30000, 30000, nil), fault.TooLarge, "pixels"},
		{"broken pdf", []byte("%PDF-1.4\nrien"), fault.Invalid, "PDF illisible"},
		{"too many pages", textPDF([][]string{{"a"}, {"b"}, {"c"}}, ""), fault.TooLarge, "pages"},
		{"bomb", scanimg.DrawingBomb(400 << 20), fault.TooLarge, "lecture interrompue"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			_, err := r.PageImage(ctx, tc.data, 1)
			if fault.KindOf(err) != tc.kind || !strings.Contains(err.Error(), tc.says) {
				t.Errorf("PageImage: %v, want %v saying %q", err, tc.kind, tc.says)
			}
			if elapsed := time.Since(start); elapsed > r.l.Budget+2*time.Second {
				t.Errorf("refused after %v", elapsed)
			}
		})
	}
	assertNoLeftovers(t, root)
}

// TestPageImageWaitsForASlot: with every page slot held, a page waits as
// long as its context allows, then is refused as TooMany.
func TestPageImageWaitsForASlot(t *testing.T) {
	t.Parallel()
	r, _ := newReader(t, Limits{Concurrency: 1})
	r.views <- struct{}{}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := r.PageImage(ctx, textPDF([][]string{{"a"}}, ""), 1); fault.KindOf(err) != fault.TooMany {
		t.Errorf("err %v, want TooMany", err)
	}
	<-r.views
}
