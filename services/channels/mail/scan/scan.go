// Package scan turns a scanned letter from the mailroom (PDF, TIFF, JPEG or
// PNG) into text. A PDF's text layer is taken as is when it has one, through
// pdftotext; otherwise pages are rasterized with pdftoppm and read by
// tesseract in French. Input is sized from its headers before anything
// decodes it, and every external program runs in a private temporary
// directory removed afterwards, with bounded output.
//
// Scans come from anyone who can post or e-mail the mailroom, and a small
// file can ask for a great deal of work (1 MB of compressed drawing
// operators expands to 900 MB), so the decoding is bounded; the defaults are:
//
//   - at most 2 scans are read at once (Limits.Concurrency, one per core of
//     the reference machine); Read waits for a slot as long as its context
//     allows, then answers fault.TooMany;
//   - one scan gets 60 s for all its programs together (Limits.Budget),
//     each program at most 60 s (Limits.Timeout);
//   - each program runs under prlimit (util-linux): 1 GiB of address space
//     (Limits.MaxMemory; tesseract needed under 512 MiB for a page of 80
//     megapixels, twice the largest allowed), as many CPU seconds as it has
//     seconds left plus one, no core file, files of about twice MaxPixels
//     bytes; tesseract runs on one thread;
//   - 20 MiB and 20 pages a scan, 40 megapixels a page at 300 dpi: every
//     page's size is read by pdfinfo before pdftoppm renders it, a PDF whose
//     pages' sizes are unknown is refused, and pdftoppm renders each page on
//     its crop box, clipped to the size checked, whatever the file says.
//
// A scan stopped by its budget or by a limit is fault.TooLarge ("lecture
// interrompue, le fichier demande trop de calcul ou de mémoire"): reading it
// again would do the same.
//
// PageImage shows a scan's pages to the person who corrects its text: the
// same programs (and tiff2pdf, of libtiff-tools, for a TIFF) under the same
// limits, a page rendered at most PreviewSide pixels on its long side.
package scan

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/ampmetropole/guichet/services/platform/fault"
)

// Limits bound the work done on one scan. Zero fields take the defaults.
type Limits struct {
	MaxBytes    int64         // default 20 MiB
	MaxPages    int           // default 20
	MaxPixels   int64         // per page image, default 40 megapixels
	Timeout     time.Duration // per external program run, default 60s
	DPI         int           // rasterization for OCR, default 300
	MaxMemory   int64         // address space of each external program, default 1 GiB
	Budget      time.Duration // all the programs of one scan together, default 60s
	Concurrency int           // scans read at once by one Reader, default 2
}

// Default limits. The budget lets a letter of about a dozen OCR pages
// through on the reference machine (2 cores; a page takes 2 to 10 s) and
// stops a bomb after a minute of one core; the memory is twice what
// tesseract needed for a page twice the largest allowed.
const (
	DefaultMaxBytes    = 20 << 20
	DefaultMaxPages    = 20
	DefaultMaxPixels   = 40_000_000
	DefaultTimeout     = 60 * time.Second
	DefaultDPI         = 300
	DefaultMaxMemory   = 1 << 30
	DefaultBudget      = 60 * time.Second
	DefaultConcurrency = 2
)

// Methods a text was obtained by.
const (
	MethodTextLayer = "text_layer"
	MethodOCR       = "ocr"
)

// withDefaults fills zero or negative fields.
func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	if l.MaxPages <= 0 {
		l.MaxPages = DefaultMaxPages
	}
	if l.MaxPixels <= 0 {
		l.MaxPixels = DefaultMaxPixels
	}
	if l.Timeout <= 0 {
		l.Timeout = DefaultTimeout
	}
	if l.DPI <= 0 {
		l.DPI = DefaultDPI
	}
	if l.MaxMemory <= 0 {
		l.MaxMemory = DefaultMaxMemory
	}
	if l.Budget <= 0 {
		l.Budget = DefaultBudget
	}
	if l.Concurrency <= 0 {
		l.Concurrency = DefaultConcurrency
	}
	return l
}

// Text is what a scan says.
type Text struct {
	Text        string  // the letter's text, pages separated by "\f"
	Method      string  // "text_layer" (pdftotext) or "ocr" (tesseract)
	Confidence  float64 // 0..1; 1 for a text layer; for OCR the mean word confidence
	Pages       int
	ContentType string // detected from content: application/pdf, image/tiff, image/jpeg, image/png
}

// packages names the Debian package providing each tool.
var packages = map[string]string{
	"pdftotext": "poppler-utils",
	"pdfinfo":   "poppler-utils",
	"pdftoppm":  "poppler-utils",
	"tesseract": "tesseract-ocr",
	"prlimit":   "util-linux",
	"tiff2pdf":  "libtiff-tools",
}

// waitDelay bounds the wait for a killed tool's output pipes.
const waitDelay = 2 * time.Second

// Reader turns scans into text. It is safe for concurrent use and reads at
// most Limits.Concurrency scans at once.
type Reader struct {
	l       Limits
	tools   map[string]string // tool name → absolute path
	prlimit string            // absolute path of prlimit, which runs every tool
	slots   chan struct{}     // one token per scan being read
	views   chan struct{}     // one token per page being rendered (PageImage, PageCount)
	tmpRoot string            // parent of the work directories; "" is os.TempDir
}

// New finds the tools and prlimit on PATH and checks that tesseract has
// French. A missing program is a fault.Transient error naming the Debian
// package to install.
func New(l Limits) (*Reader, error) {
	r := &Reader{l: l.withDefaults(), tools: map[string]string{}}
	r.slots = make(chan struct{}, r.l.Concurrency)
	r.views = make(chan struct{}, r.l.Concurrency)
	var missing []string
	for _, tool := range []string{"pdfinfo", "pdftotext", "pdftoppm", "tesseract", "prlimit"} {
		p, err := exec.LookPath(tool)
		if err != nil {
			missing = append(missing, fmt.Sprintf("%s (paquet Debian %s)", tool, packages[tool]))
			continue
		}
		if tool == "prlimit" {
			r.prlimit = p
			continue
		}
		r.tools[tool] = p
	}
	if len(missing) > 0 {
		return nil, fault.E(fault.Transient, fmt.Errorf("scan: programmes introuvables: %s", strings.Join(missing, ", ")))
	}
	// Only the image of a TIFF's page needs tiff2pdf: without it, PageImage
	// of a TIFF says which package is missing.
	if p, err := exec.LookPath("tiff2pdf"); err == nil {
		r.tools["tiff2pdf"] = p
	}
	if err := r.checkFrench(); err != nil {
		return nil, err
	}
	return r, nil
}

// checkFrench asks tesseract for its languages.
func (r *Reader) checkFrench() error {
	dir, err := r.workDir()
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), min(r.l.Timeout, 30*time.Second))
	defer cancel()
	out, err := r.run(ctx, dir, "tesseract", "--list-langs")
	if err != nil {
		return fault.E(fault.Transient, fmt.Errorf("scan: tesseract --list-langs: %w", err))
	}
	for line := range strings.SplitSeq(string(out), "\n") {
		if strings.TrimSpace(line) == "fra" {
			return nil
		}
	}
	return fault.E(fault.Transient, errors.New("scan: tesseract n'a pas le français (paquet Debian tesseract-ocr-fra)"))
}

// Read returns the text of one scan. It waits for one of the Reader's slots
// as long as ctx allows, then has Limits.Budget for all its programs.
// Errors are fault.Invalid for input that is not a readable scan,
// fault.TooLarge for input over the limits or stopped by one (budget,
// memory, CPU time), fault.TooMany when no slot freed before ctx ended, and
// fault.Transient for a tool that timed out or is missing, or a ctx that
// ended during the reading.
func (r *Reader) Read(ctx context.Context, data []byte) (Text, error) {
	if int64(len(data)) > r.l.MaxBytes {
		return Text{}, fault.E(fault.TooLarge, fmt.Errorf("scan: fichier de %d octets, plus de %d", len(data), r.l.MaxBytes))
	}
	if len(data) == 0 {
		return Text{}, fault.E(fault.Invalid, errors.New("scan: fichier vide"))
	}
	s, err := detect(data, r.l)
	if err != nil {
		return Text{}, err
	}
	release, err := acquire(ctx, r.slots)
	if err != nil {
		return Text{}, err
	}
	defer release()
	ctx, cancel := context.WithTimeoutCause(ctx, r.l.Budget, errBudget)
	defer cancel()
	dir, err := r.workDir()
	if err != nil {
		return Text{}, err
	}
	defer os.RemoveAll(dir)

	var t Text
	if s.contentType == TypePDF {
		t, err = r.readPDF(ctx, dir, data)
	} else {
		t, err = r.readImage(ctx, dir, data, s)
	}
	if err != nil {
		return Text{}, err
	}
	t.ContentType = s.contentType
	return t, nil
}

// acquire waits for one of slots (to read a scan, or to render a page);
// release gives it back.
func acquire(ctx context.Context, slots chan struct{}) (release func(), err error) {
	if err := ctx.Err(); err != nil {
		return nil, fault.E(fault.Transient, fmt.Errorf("scan: %w", err))
	}
	release = func() { <-slots }
	select {
	case slots <- struct{}{}:
		return release, nil
	default:
	}
	select {
	case slots <- struct{}{}:
		return release, nil
	case <-ctx.Done():
		return nil, fault.E(fault.TooMany, errors.New("scan: trop de scans en cours de lecture ; réessayez dans une minute"))
	}
}

// readImage gives a PNG, JPEG or TIFF straight to tesseract.
func (r *Reader) readImage(ctx context.Context, dir string, data []byte, s sniffed) (Text, error) {
	ext := map[string]string{TypePNG: "png", TypeJPEG: "jpg", TypeTIFF: "tif"}[s.contentType]
	in, err := writeInput(dir, "scan."+ext, data)
	if err != nil {
		return Text{}, err
	}
	var o ocrResult
	if err := r.ocr(ctx, dir, in, &o); err != nil {
		return Text{}, err
	}
	return o.text(s.pages)
}
