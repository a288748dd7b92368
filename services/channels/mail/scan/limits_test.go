package scan

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ampmetropole/guichet/services/platform/fault"
	"github.com/ampmetropole/guichet/services/testkit/scanimg"
)

// TestBombs: PDFs of about 1 MB whose page content inflates to 400 or 600
// megabytes are refused as too large, within their budget, by the limit
// each one meets: the budget for drawing operators that would take minutes
// of CPU, the address space for an array that would take gigabytes.
func TestBombs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		pdf    []byte
		limits Limits
		msg    string
	}{
		{"drawing operators", scanimg.DrawingBomb(400 << 20), Limits{Budget: 3 * time.Second}, "arrêtée après 3 s, pendant pdftotext"},
		{"huge array", scanimg.ArrayBomb(600 << 20), Limits{Budget: 30 * time.Second, MaxMemory: 512 << 20}, "limite de mémoire de 512 Mio"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if len(tc.pdf) > 2<<20 {
				t.Fatalf("bomb of %d bytes", len(tc.pdf))
			}
			r, root := newReader(t, tc.limits)
			start := time.Now()
			_, err := r.Read(context.Background(), tc.pdf)
			elapsed := time.Since(start)
			t.Logf("%d bytes refused in %v: %v", len(tc.pdf), elapsed, err)
			if fault.KindOf(err) != fault.TooLarge || !strings.Contains(err.Error(), "scan: lecture interrompue, le fichier demande trop de calcul ou de mémoire") ||
				!strings.Contains(err.Error(), tc.msg) {
				t.Errorf("err %v, want TooLarge lecture interrompue (%s)", err, tc.msg)
			}
			// A bound on behaviour, not a benchmark: the budget plus the time
			// to kill and reap a tool.
			if limit := r.l.Budget + 2*time.Second; elapsed > limit {
				t.Errorf("refused after %v, more than %v", elapsed, limit)
			}
			assertNoLeftovers(t, root)
		})
	}
}

// TestCropBoxCannotEnlargePage: pdfinfo measures the crop box, so a page
// whose media box is 200 inches square must still be rendered on its crop
// box (here A4, blank), not as 3.6 gigapixels.
func TestCropBoxCannotEnlargePage(t *testing.T) {
	t.Parallel()
	r, root := newReader(t, Limits{Budget: 20 * time.Second})
	pdf := buildPDF([][]byte{
		[]byte("<< /Type /Catalog /Pages 2 0 R >>"),
		[]byte("<< /Type /Pages /Kids [3 0 R] /Count 1 >>"),
		[]byte("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 14400 14400] /CropBox [0 0 595 842] /Contents 4 0 R >>"),
		stream("", []byte("20 w 1000 1000 m 14000 14000 l S")),
	}, "")
	_, err := r.Read(context.Background(), pdf)
	if fault.KindOf(err) != fault.Invalid || !strings.Contains(err.Error(), "vide") {
		t.Errorf("err %v, want the blank A4 crop box read as an empty page", err)
	}
	assertNoLeftovers(t, root)
}

func TestParseInfo(t *testing.T) {
	const head = "Producer:        x\nPages:           2\nEncrypted:       no\n"
	for _, tc := range []struct {
		name  string
		out   string
		sizes [][2]float64
		kind  fault.Kind
		msg   string
	}{
		{"two pages", head + "Page    1 size:  595 x 842 pts (A4)\nPage    1 rot:   0\nPage    2 size:  612 x 792 pts (letter)\nPage    2 rot:   0\n",
			[][2]float64{{595, 842}, {612, 792}}, 0, ""},
		{"rotated page measured as rendered", head + "Page    1 size:  200 x 100 pts\nPage    1 rot:   90\nPage    2 size:  200 x 100 pts\nPage    2 rot:   180\n",
			[][2]float64{{100, 200}, {200, 100}}, 0, ""},
		{"no size lines", head, nil, fault.Invalid, "taille de la page 1 inconnue"},
		{"one page unsized", head + "Page    1 size:  595 x 842 pts (A4)\n", nil, fault.Invalid, "taille de la page 2 inconnue"},
		{"size in exponent form", head + "Page    1 size:  1e+06 x 842 pts\nPage    2 size:  595 x 842 pts\n",
			[][2]float64{{1e6, 842}, {595, 842}}, 0, ""},
		{"zero size", head + "Page    1 size:  0 x 842 pts\nPage    2 size:  595 x 842 pts\n", nil, fault.Invalid, "taille de la page 1"},
		{"size of a page beyond the count", head + "Page    1 size:  595 x 842 pts\nPage    3 size:  595 x 842 pts\n", nil, fault.Invalid, "page 2"},
		{"no page count", "Producer: x\n", nil, fault.Invalid, "nombre de pages"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pi, err := parseInfo([]byte(tc.out), 20)
			if tc.kind != 0 {
				if fault.KindOf(err) != tc.kind || !strings.Contains(err.Error(), tc.msg) {
					t.Errorf("err %v, want %v %q", err, tc.kind, tc.msg)
				}
				return
			}
			if err != nil || fmt.Sprint(pi.sizes) != fmt.Sprint(tc.sizes) {
				t.Errorf("sizes %v err %v, want %v", pi.sizes, err, tc.sizes)
			}
		})
	}
}

// TestToolStoppedByALimit runs a shell as the tool, under the same prlimit,
// to end it the ways a limit ends poppler or tesseract.
func TestToolStoppedByALimit(t *testing.T) {
	t.Parallel()
	r, _ := newReader(t, Limits{MaxMemory: 1 << 30})
	r.tools["sh"] = "/bin/sh"
	for _, tc := range []struct {
		name, script string
		kind         fault.Kind // 0: a *toolError
		msg          string
	}{
		{"CPU time limit", "kill -XCPU $$", fault.TooLarge, "limite de temps de calcul atteinte (SIGXCPU)"},
		{"abort after a failed allocation", "echo \"terminate called after throwing an instance of 'std::bad_alloc'\" >&2; kill -ABRT $$", fault.TooLarge, "limite de mémoire de 1024 Mio"},
		{"crash", "kill -SEGV $$", fault.TooLarge, "arrêté par le signal SIGSEGV"},
		{"leptonica out of memory", "echo 'Error in pixCreateNoInit: pixdata_malloc fail for data' >&2; exit 1", fault.TooLarge, "limite de mémoire"},
		{"pdftoppm out of memory, exit 0", "echo 'Bogus memory allocation size' >&2", fault.TooLarge, "limite de mémoire"},
		{"refused input", "echo 'Syntax Error: Couldn'\\''t find trailer dictionary' >&2; exit 1", 0, "Syntax Error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := r.run(context.Background(), t.TempDir(), "sh", "-c", tc.script)
			if tc.kind == 0 {
				var te *toolError
				if !errors.As(err, &te) || fault.KindOf(err) != fault.Other || !strings.Contains(err.Error(), tc.msg) {
					t.Errorf("err %v, want a toolError with %q", err, tc.msg)
				}
				return
			}
			if fault.KindOf(err) != tc.kind || !strings.HasPrefix(err.Error(), "scan: lecture interrompue") || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("err %v, want %v with %q", err, tc.kind, tc.msg)
			}
		})
	}
	t.Run("limits applied", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 4500*time.Millisecond)
		defer cancel()
		out, err := r.run(ctx, t.TempDir(), "sh", "-c", "ulimit -v; ulimit -c; ulimit -t; ulimit -f")
		// ulimit -v counts KiB, -f blocks of 512 bytes; CPU: 5 s left rounded up, plus one.
		want := fmt.Sprintf("%d\n0\n6\n%d\n", 1<<20, (2*r.l.MaxPixels+maxStdout)/512)
		if err != nil || string(out) != want {
			t.Errorf("limits %q err %v, want %q", out, err, want)
		}
	})
}

// TestConcurrencyPool: with both slots held, a third scan waits as long as
// its context allows, then is told to come back later.
func TestConcurrencyPool(t *testing.T) {
	t.Parallel()
	r, root := newReader(t, Limits{Concurrency: 2, Budget: 30 * time.Second})
	bomb, third := scanimg.DrawingBomb(400<<20), pngBytes(t, letter())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			_, err := r.Read(ctx, bomb)
			errs <- err
		}()
	}
	for start := time.Now(); len(r.slots) < 2; time.Sleep(10 * time.Millisecond) {
		if time.Since(start) > 10*time.Second {
			t.Fatal("the two bombs never held the slots")
		}
	}
	short, cancelShort := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancelShort()
	start := time.Now()
	_, err := r.Read(short, third)
	if fault.KindOf(err) != fault.TooMany || err.Error() != "scan: trop de scans en cours de lecture ; réessayez dans une minute" {
		t.Errorf("third scan: %v, want TooMany", err)
	}
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Errorf("third scan refused after %v, its context allowed 300ms", elapsed)
	}
	cancel()
	for range 2 {
		select {
		case err := <-errs:
			if fault.KindOf(err) != fault.Transient || !errors.Is(err, context.Canceled) {
				t.Errorf("cancelled bomb: %v, want Transient canceled", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a cancelled scan did not end")
		}
	}
	if n := len(r.slots); n != 0 {
		t.Errorf("%d slots still held", n)
	}
	assertNoLeftovers(t, root)
}
