package scan

import (
	"bytes"
	"compress/zlib"
	"context"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"github.com/ampmetropole/guichet/services/platform/fault"
)

// newReader makes a Reader whose work directories go under a test
// directory. Missing tools fail the test: deploy/setup.sh test installs them.
func newReader(t testing.TB, l Limits) (*Reader, string) {
	t.Helper()
	r, err := New(l)
	if err != nil {
		t.Fatal(err)
	}
	r.tmpRoot = t.TempDir()
	return r, r.tmpRoot
}

// assertNoLeftovers checks that Read removed its work directory.
func assertNoLeftovers(t *testing.T, root string) {
	t.Helper()
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("leftover in temp dir: %s", e.Name())
	}
}

// normalize keeps upper-cased letters and digits only.
func normalize(s string) string {
	var b strings.Builder
	for _, c := range strings.ToUpper(s) {
		if unicode.IsLetter(c) || unicode.IsDigit(c) {
			b.WriteRune(c)
		}
	}
	return b.String()
}

// wordRecall is the fraction of the letter's words (2+ characters) found in
// got, spaces and punctuation ignored.
func wordRecall(lines []string, got string) (float64, []string) {
	g := normalize(got)
	var n, found int
	var missed []string
	for _, l := range lines {
		for _, w := range strings.FieldsFunc(l, func(c rune) bool { return c == ' ' || c == ',' || c == ':' || c == '-' }) {
			if len(w) < 2 {
				continue
			}
			n++
			if strings.Contains(g, normalize(w)) {
				found++
			} else {
				missed = append(missed, w)
			}
		}
	}
	return float64(found) / float64(n), missed
}

// charAccuracy is 1 − edit distance / length over normalized text.
func charAccuracy(want, got string) float64 {
	a, b := []rune(normalize(want)), []rune(normalize(got))
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return max(0, 1-float64(prev[len(b)])/float64(len(a)))
}

// letter caches the generated letter image: rendering is deterministic.
var letter = sync.OnceValue(func() *image.Gray {
	return renderLetter(&testing.T{}, letterLines, 6, 1.0, 42)
})

func checkOCR(t *testing.T, got Text, wantType string, wantPages int) {
	t.Helper()
	first, _, _ := strings.Cut(got.Text, "\f") // the letter is the first page
	recall, missed := wordRecall(letterLines, first)
	acc := charAccuracy(strings.Join(letterLines, "\n"), first)
	t.Logf("OCR %s: word recall %.2f (missed %v), char accuracy %.3f, confidence %.2f\n%s",
		wantType, recall, missed, acc, got.Confidence, got.Text)
	if got.Method != MethodOCR {
		t.Errorf("Method = %q, want ocr", got.Method)
	}
	if got.ContentType != wantType {
		t.Errorf("ContentType = %q, want %s", got.ContentType, wantType)
	}
	if got.Pages != wantPages {
		t.Errorf("Pages = %d, want %d", got.Pages, wantPages)
	}
	if !(got.Confidence > 0 && got.Confidence <= 1) {
		t.Errorf("Confidence = %v, want in (0,1]", got.Confidence)
	}
	// Key words: allow one OCR slip among the three.
	n := normalize(got.Text)
	var lacks []string
	for _, key := range []string{"2026004213", "COMPOSTEUR", "13300"} {
		if !strings.Contains(n, key) {
			lacks = append(lacks, key)
		}
	}
	if len(lacks) > 1 {
		t.Errorf("OCR text lacks %q", lacks)
	}
	if recall < 0.8 {
		t.Errorf("word recall %.2f < 0.8 (missed %v)", recall, missed)
	}
}

func TestOCRScannedPDF(t *testing.T) {
	t.Parallel()
	r, root := newReader(t, Limits{})
	// Two pages: the letter, then a second sheet with its reference.
	second := renderLetter(t, []string{"PIECE JOINTE", "DOSSIER AMP-2026-004213"}, 6, -0.8, 3)
	pdf := imagePDF(t, []*image.Gray{letter(), second}, 300)
	got, err := r.Read(context.Background(), pdf)
	if err != nil {
		t.Fatal(err)
	}
	checkOCR(t, got, TypePDF, 2)
	pages := strings.Split(got.Text, "\f")
	if len(pages) != 2 || !strings.Contains(normalize(pages[1]), "JOINTE") {
		t.Errorf("want 2 pages separated by \\f, the second with JOINTE: %q", got.Text)
	}
	assertNoLeftovers(t, root)
}

func TestOCRImages(t *testing.T) {
	t.Parallel()
	r, root := newReader(t, Limits{})
	img := letter()
	var jb bytes.Buffer
	if err := jpeg.Encode(&jb, img, &jpeg.Options{Quality: 85}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, ct string
		data     []byte
	}{
		{"png", TypePNG, pngBytes(t, img)},
		{"jpeg", TypeJPEG, jb.Bytes()},
		{"tiff", TypeTIFF, tiffBytes(img)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := r.Read(context.Background(), tc.data)
			if err != nil {
				t.Fatal(err)
			}
			checkOCR(t, got, tc.ct, 1)
		})
	}
	assertNoLeftovers(t, root)
}

func TestTextLayer(t *testing.T) {
	t.Parallel()
	r, root := newReader(t, Limits{})
	pdf := textPDF([][]string{{
		"Madame, Monsieur,",
		`Objet : Demande de composteur pour la r\351sidence`,
		"Dossier AMP-2026-004213",
		"13300 Salon-de-Provence",
	}}, "")
	got, err := r.Read(context.Background(), pdf)
	if err != nil {
		t.Fatal(err)
	}
	if got.Method != MethodTextLayer || got.Confidence != 1 || got.Pages != 1 || got.ContentType != TypePDF {
		t.Errorf("got %+v", got)
	}
	for _, want := range []string{"Madame, Monsieur,", "Objet : Demande de composteur pour la résidence", "Dossier AMP-2026-004213", "13300 Salon-de-Provence"} {
		if !strings.Contains(got.Text, want) {
			t.Errorf("text lacks %q:\n%s", want, got.Text)
		}
	}
	assertNoLeftovers(t, root)
}

// tiffBytes writes an uncompressed 8-bit gray TIFF, one strip.
func tiffBytes(img *image.Gray) []byte {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	return tiffRaw(uint32(w), uint32(h), img.Pix[:w*h])
}

// tiffRaw writes a little-endian TIFF header and one IFD claiming w×h; pix
// follows when given.
func tiffRaw(w, h uint32, pix []byte) []byte {
	var b bytes.Buffer
	le := func(v any) {
		switch v := v.(type) {
		case uint16:
			b.Write([]byte{byte(v), byte(v >> 8)})
		case uint32:
			b.Write([]byte{byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24)})
		}
	}
	b.WriteString("II*\x00")
	le(uint32(8))
	type entry struct {
		tag, typ uint16
		val      uint32
	}
	entries := []entry{
		{256, 4, w}, {257, 4, h}, {258, 3, 8}, {259, 3, 1}, {262, 3, 1},
		{273, 4, 0}, {277, 3, 1}, {278, 4, h}, {279, 4, uint32(len(pix))},
	}
	dataOff := uint32(8 + 2 + 12*len(entries) + 4)
	le(uint16(len(entries)))
	for _, e := range entries {
		if e.tag == 273 {
			e.val = dataOff
		}
		le(e.tag)
		le(e.typ)
		le(uint32(1))
		if e.typ == 3 {
			le(uint16(e.val))
			le(uint16(0))
		} else {
			le(e.val)
		}
	}
	le(uint32(0))
	b.Write(pix)
	return b.Bytes()
}

// pngHeader is a PNG signature and IHDR claiming w×h, without data.
func pngHeader(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := []byte{0, 0, 0, 13, 'I', 'H', 'D', 'R',
		byte(w >> 24), byte(w >> 16), byte(w >> 8), byte(w),
		byte(h >> 24), byte(h >> 16), byte(h >> 8), byte(h),
		8, 0, 0, 0, 0}
	b.Write(ihdr)
	crc := crc32IEEE(ihdr[4:])
	b.Write([]byte{byte(crc >> 24), byte(crc >> 16), byte(crc >> 8), byte(crc)})
	return b.Bytes()
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	r, root := newReader(t, Limits{MaxBytes: 1 << 20, MaxPages: 3})
	rng := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, 4096)
	for i := range random {
		random[i] = byte(rng.IntN(256))
	}
	good := textPDF([][]string{{"Madame, Monsieur, voici une lettre assez longue pour la couche texte."}}, "")
	blank := image.NewGray(image.Rect(0, 0, 600, 800))
	for i := range blank.Pix {
		blank.Pix[i] = 255
	}
	encrypted := textPDF([][]string{{"Madame, Monsieur, voici une lettre assez longue pour la couche texte."}},
		"/Encrypt << /Filter /Standard /V 1 /R 2 /O <00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF> /U <00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF> /P -4 >> /ID [<0123456789ABCDEF0123456789ABCDEF> <0123456789ABCDEF0123456789ABCDEF>] ")
	fourPages := textPDF([][]string{{"un"}, {"deux"}, {"trois"}, {"quatre"}}, "")
	for _, tc := range []struct {
		name string
		data []byte
		kind fault.Kind
		msg  string
	}{
		{"empty", nil, fault.Invalid, "vide"},
		{"random", random, fault.Invalid, "format non pris en charge"},
		{"text", []byte("Madame, Monsieur, ceci n'est pas un scan."), fault.Invalid, "format non pris en charge"},
		{"truncated pdf", good[:30], fault.Invalid, "PDF"},
		{"encrypted pdf", encrypted, fault.Invalid, "PDF"},
		{"huge png header", pngHeader(30000, 30000), fault.TooLarge, "pixels"},
		{"huge tiff header", tiffRaw(30000, 30000, nil), fault.TooLarge, "pixels"},
		{"corrupt png body", append(pngHeader(100, 100), random[:512]...), fault.Invalid, "scan"},
		{"truncated png", pngHeader(100, 100)[:20], fault.Invalid, "PNG"},
		{"truncated tiff", []byte("II*\x00\x08\x00\x00\x00\x09"), fault.Invalid, "TIFF"},
		{"tiff no dimensions", []byte("II*\x00\x08\x00\x00\x00\x00\x00\x00\x00\x00\x00"), fault.Invalid, "dimensions"},
		{"tiff ifd loop", tiffLoop(), fault.Invalid, "boucle"},
		{"over MaxBytes", append([]byte("%PDF-1.4\n"), make([]byte, 1<<20)...), fault.TooLarge, "octets"},
		{"too many pages", fourPages, fault.TooLarge, "pages"},
		{"blank page", imagePDF(t, []*image.Gray{blank}, 100), fault.Invalid, "vide"},
		{"blank png", pngBytes(t, blank), fault.Invalid, "vide"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := r.Read(context.Background(), tc.data)
			if err == nil {
				t.Fatalf("no error; got %+v", got)
			}
			if k := fault.KindOf(err); k != tc.kind {
				t.Errorf("kind %v, want %v: %v", k, tc.kind, err)
			}
			if !strings.HasPrefix(err.Error(), "scan: ") || strings.Count(err.Error(), "scan:") != 1 || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q: want prefix scan: and %q", err, tc.msg)
			}
			t.Log(err)
		})
	}
	assertNoLeftovers(t, root)
}

func TestTimeout(t *testing.T) {
	t.Parallel()
	for _, d := range []time.Duration{time.Nanosecond, 30 * time.Millisecond} {
		r, root := newReader(t, Limits{})
		r.l.Timeout = d // New would use it for --list-langs too
		for _, data := range [][]byte{pngBytes(t, letter()), imagePDF(t, []*image.Gray{letter()}, 300)} {
			start := time.Now()
			_, err := r.Read(context.Background(), data)
			if fault.KindOf(err) != fault.Transient || !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("timeout %v: err %v, want Transient deadline", d, err)
			}
			if time.Since(start) > 5*time.Second {
				t.Errorf("timeout %v: Read took %v", d, time.Since(start))
			}
		}
		assertNoLeftovers(t, root)
	}
}

func TestCancelled(t *testing.T) {
	t.Parallel()
	r, root := newReader(t, Limits{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := r.Read(ctx, pngBytes(t, letter()))
	if fault.KindOf(err) != fault.Transient || !errors.Is(err, context.Canceled) {
		t.Errorf("err %v, want Transient canceled", err)
	}
	assertNoLeftovers(t, root)
}

func TestMissingTool(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := New(Limits{})
	if fault.KindOf(err) != fault.Transient || !strings.Contains(err.Error(), "poppler-utils") || !strings.Contains(err.Error(), "tesseract-ocr") {
		t.Errorf("err %v, want Transient naming the packages", err)
	}
}

func TestPDFPageTooLargeForDPI(t *testing.T) {
	t.Parallel()
	// A 200×200 px image on a page rendered at 300 dpi gives 40 000 pixels.
	r, root := newReader(t, Limits{MaxPixels: 30_000})
	img := image.NewGray(image.Rect(0, 0, 200, 200))
	_, err := r.Read(context.Background(), imagePDF(t, []*image.Gray{img}, 300))
	if fault.KindOf(err) != fault.TooLarge {
		t.Errorf("err %v, want TooLarge", err)
	}
	assertNoLeftovers(t, root)
}

func TestTSV(t *testing.T) {
	tsv := "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n" +
		"1\t1\t0\t0\t0\t0\t0\t0\t100\t100\t-1\t\n" +
		"5\t1\t1\t1\t1\t1\t0\t0\t1\t1\t90\tMadame,\n" +
		"5\t1\t1\t1\t1\t2\t0\t0\t1\t1\t80\tMonsieur,\n" +
		"5\t1\t1\t1\t2\t1\t0\t0\t1\t1\t70\tObjet\n" +
		"5\t1\t2\t1\t1\t1\t0\t0\t1\t1\t-1\t \n" +
		"5\t1\t2\t1\t1\t2\t0\t0\t1\t1\t60\t13300\n" +
		"5\t2\t1\t1\t1\t1\t0\t0\t1\t1\t100\tFin\n" +
		"garbage\n5\tx\t1\t1\t1\t1\t0\t0\t1\t1\t100\tnope\n"
	var o ocrResult
	o.addTSV(tsv)
	got, err := o.text(0)
	if err != nil {
		t.Fatal(err)
	}
	want := "Madame, Monsieur,\nObjet\n\n13300\fFin"
	if got.Text != want || got.Pages != 2 || got.Confidence != 0.8 {
		t.Errorf("got %q pages %d conf %v, want %q 2 0.8", got.Text, got.Pages, got.Confidence, want)
	}
}

func FuzzDetect(f *testing.F) {
	f.Add([]byte("%PDF-1.4"))
	f.Add(pngHeader(100, 100))
	f.Add(pngHeader(30000, 30000))
	f.Add(tiffRaw(100, 100, nil))
	f.Add([]byte("MM\x00*\x00\x00\x00\x08\x00\x01\x01\x00\x00\x03\x00\x00\x00\x01\x00\x10\x00\x00"))
	f.Add([]byte("\xFF\xD8\xFF\xE0"))
	f.Add([]byte("II*\x00\x08\x00\x00\x00\x00\x00\x08\x00\x00\x00"))
	l := Limits{}.withDefaults()
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := detect(data, l)
		if err == nil && s.contentType == "" {
			t.Fatal("no type and no error")
		}
		if err != nil && fault.KindOf(err) != fault.Invalid && fault.KindOf(err) != fault.TooLarge {
			t.Fatalf("unkinded error %v", err)
		}
	})
}

// tiffLoop is a TIFF whose first directory names itself as the next one.
func tiffLoop() []byte {
	b := tiffRaw(10, 10, nil)
	next := 8 + 2 + 12*9
	copy(b[next:], []byte{8, 0, 0, 0})
	return b
}

// TestDecompressionBomb: a PDF of 1 MB whose one image inflates to 900 MB
// (30 000 × 30 000 pixels) is rendered at page size by pdftoppm, which
// streams the image: it is either read within the limits (here a blank
// page) or, on a busy machine, stopped by the scan's budget; never more,
// and it leaves nothing behind.
func TestDecompressionBomb(t *testing.T) {
	t.Parallel()
	r, root := newReader(t, Limits{})
	const side = 30000
	var z bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&z, zlib.BestCompression)
	row := bytes.Repeat([]byte{255}, side)
	for range side {
		zw.Write(row)
	}
	zw.Close()
	pdf := buildPDF([][]byte{
		[]byte("<< /Type /Catalog /Pages 2 0 R >>"),
		[]byte("<< /Type /Pages /Kids [3 0 R] /Count 1 >>"),
		[]byte("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /XObject << /Im0 5 0 R >> >> /Contents 4 0 R >>"),
		stream("", []byte("q 595 0 0 842 0 0 cm /Im0 Do Q")),
		stream(fmt.Sprintf("/Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /FlateDecode", side, side), z.Bytes()),
	}, "")
	if len(pdf) > 2<<20 {
		t.Fatalf("bomb of %d bytes", len(pdf))
	}
	start := time.Now()
	_, err := r.Read(context.Background(), pdf)
	elapsed := time.Since(start)
	t.Logf("read in %v: %v", elapsed, err)
	blank := fault.KindOf(err) == fault.Invalid && strings.Contains(err.Error(), "vide")
	stopped := fault.KindOf(err) == fault.TooLarge && strings.Contains(err.Error(), "lecture interrompue")
	if !blank && !stopped {
		t.Errorf("bomb: %v, want an empty page refused or the reading stopped by its budget", err)
	}
	if limit := r.l.Budget + 2*time.Second; elapsed > limit {
		t.Errorf("bomb read in %v, more than %v", elapsed, limit)
	}
	assertNoLeftovers(t, root)
}
