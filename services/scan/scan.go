// Package scan turns a scanned letter from the mailroom (PDF, TIFF, JPEG or
// PNG) into text. A PDF's text layer is taken as is when it has one, through
// pdftotext; otherwise pages are rasterized with pdftoppm and read by
// tesseract in French. Every external program runs under a timeout, with
// bounded output, in a private temporary directory removed afterwards, and
// input is sized from its headers before anything decodes it.
package scan

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/ampmetropole/guichet/services/fault"
)

// Limits bound the work done on one scan. Zero fields take the defaults.
type Limits struct {
	MaxBytes  int64         // default 20 MiB
	MaxPages  int           // default 20
	MaxPixels int64         // per page image, default 40 megapixels
	Timeout   time.Duration // per external program run, default 60s
	DPI       int           // rasterization for OCR, default 300
}

// Default limits.
const (
	DefaultMaxBytes  = 20 << 20
	DefaultMaxPages  = 20
	DefaultMaxPixels = 40_000_000
	DefaultTimeout   = 60 * time.Second
	DefaultDPI       = 300
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
}

// waitDelay bounds the wait for a killed tool's output pipes.
const waitDelay = 2 * time.Second

// Reader turns scans into text. It is safe for concurrent use.
type Reader struct {
	l       Limits
	tools   map[string]string // tool name → absolute path
	tmpRoot string            // parent of the work directories; "" is os.TempDir
}

// New finds the tools on PATH and checks that tesseract has French. A missing
// tool is a fault.Transient error naming the Debian package to install.
func New(l Limits) (*Reader, error) {
	r := &Reader{l: l.withDefaults(), tools: map[string]string{}}
	var missing []string
	for _, tool := range []string{"pdfinfo", "pdftotext", "pdftoppm", "tesseract"} {
		p, err := exec.LookPath(tool)
		if err != nil {
			missing = append(missing, fmt.Sprintf("%s (paquet Debian %s)", tool, packages[tool]))
			continue
		}
		r.tools[tool] = p
	}
	if len(missing) > 0 {
		return nil, fault.E(fault.Transient, fmt.Errorf("scan: programmes introuvables: %s", strings.Join(missing, ", ")))
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

// Read returns the text of one scan. Errors are fault.Invalid for input that
// is not a readable scan, fault.TooLarge for input over the limits and
// fault.Transient for a tool that timed out, is missing or was killed.
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
