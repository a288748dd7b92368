package scan

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/ampmetropole/guichet/services/platform/fault"
)

// PreviewSide is the long side, in pixels, of a page rendered for the eye:
// a letter read beside its text on a wide screen (about 1000 × 1400 for
// A4), two megapixels at most whatever the page's size.
const PreviewSide = 1400

// maxPreviewBytes bounds a rendered page read back from disk; a PNG of
// PreviewSide² pixels in colour is well under it.
const maxPreviewBytes = 16 << 20

// Page is one page of a scan as an image a browser shows.
type Page struct {
	Data        []byte
	ContentType string // image/png or image/jpeg
	Pages       int    // how many pages the scan has
}

// errNoPage is a page number beyond the scan's pages.
var errNoPage = errors.New("scan: page inexistante")

// PageCount says how many pages a scan has: from the headers of an image,
// from pdfinfo for a PDF (which runs under the same limits as Read, waiting
// for one of the Reader's page slots as long as ctx allows). Errors are
// those of Read.
func (r *Reader) PageCount(ctx context.Context, data []byte) (int, error) {
	s, err := r.sniff(data)
	if err != nil || s.contentType != TypePDF {
		return s.pages, err
	}
	n := 0
	err = r.withPDF(ctx, data, s.contentType, func(ctx context.Context, dir, in string, pages int) error {
		n = pages
		return nil
	})
	return n, err
}

// PageImage renders page n (from 1) of a scan for the eye. A PNG or JPEG
// is given as it is (its size was checked from its header); a page of a
// PDF is rendered as PNG by pdftoppm on its crop box, scaled to PreviewSide
// pixels at most; a TIFF goes through tiff2pdf first. A page beyond the
// last is fault.NotFound. The programs run under the limits of Read, one of
// the Reader's page slots held (fault.TooMany when none frees before ctx
// ends), for Limits.Budget at most; nothing is kept on disk after.
func (r *Reader) PageImage(ctx context.Context, data []byte, n int) (Page, error) {
	s, err := r.sniff(data)
	if err != nil {
		return Page{}, err
	}
	if n < 1 || (s.pages > 0 && n > s.pages) {
		return Page{}, fault.E(fault.NotFound, fmt.Errorf("%w: %d", errNoPage, n))
	}
	switch s.contentType {
	case TypePNG, TypeJPEG:
		return Page{Data: data, ContentType: s.contentType, Pages: 1}, nil
	case TypeTIFF:
		if r.tools["tiff2pdf"] == "" {
			return Page{}, fault.E(fault.Transient, errors.New("scan: tiff2pdf introuvable (paquet Debian libtiff-tools)"))
		}
	}
	p := Page{ContentType: TypePNG}
	err = r.withPDF(ctx, data, s.contentType, func(ctx context.Context, dir, in string, pages int) error {
		p.Pages = pages
		if n > pages {
			return fault.E(fault.NotFound, fmt.Errorf("%w: %d sur %d", errNoPage, n, pages))
		}
		var rerr error
		p.Data, rerr = r.renderPage(ctx, dir, in, n)
		return rerr
	})
	if err != nil {
		return Page{}, err
	}
	return p, nil
}

// sniff checks a scan's size and type from its first bytes, as Read does.
func (r *Reader) sniff(data []byte) (sniffed, error) {
	if int64(len(data)) > r.l.MaxBytes {
		return sniffed{}, fault.E(fault.TooLarge, fmt.Errorf("scan: fichier de %d octets, plus de %d", len(data), r.l.MaxBytes))
	}
	if len(data) == 0 {
		return sniffed{}, fault.E(fault.Invalid, errors.New("scan: fichier vide"))
	}
	return detect(data, r.l)
}

// withPDF holds a page slot, writes the scan (of content type ct) in a
// private directory as a PDF (a TIFF converted by tiff2pdf), checks it with
// pdfinfo and calls f with its page count; the directory is removed after.
// All its programs together have Limits.Budget, as one Read has.
func (r *Reader) withPDF(ctx context.Context, data []byte, ct string, f func(ctx context.Context, dir, in string, pages int) error) error {
	release, err := acquire(ctx, r.views)
	if err != nil {
		return err
	}
	defer release()
	ctx, cancel := context.WithTimeoutCause(ctx, r.l.Budget, errBudget)
	defer cancel()
	dir, err := r.workDir()
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	in := filepath.Join(dir, "scan.pdf")
	if ct == TypePDF {
		if in, err = writeInput(dir, "scan.pdf", data); err != nil {
			return err
		}
	} else {
		tif, err := writeInput(dir, "scan.tif", data)
		if err != nil {
			return err
		}
		if _, err := r.run(ctx, dir, "tiff2pdf", "-z", "-o", in, tif); err != nil {
			if te := (*toolError)(nil); errors.As(err, &te) {
				return fault.E(fault.Invalid, fmt.Errorf("scan: TIFF illisible: %w", err))
			}
			return err
		}
	}
	pi, err := r.info(ctx, dir, in)
	if err != nil {
		return err
	}
	switch {
	case pi.encrypted:
		return fault.E(fault.Invalid, errors.New("scan: PDF chiffré"))
	case pi.pages <= 0:
		return fault.E(fault.Invalid, errors.New("scan: PDF sans page"))
	case pi.pages > r.l.MaxPages:
		return fault.E(fault.TooLarge, fmt.Errorf("scan: PDF de %d pages, plus de %d", pi.pages, r.l.MaxPages))
	}
	return f(ctx, dir, in, pi.pages)
}

// renderPage renders page n of the PDF in to PNG, in colour, scaled so
// that its long side is PreviewSide pixels, and reads it back.
func (r *Reader) renderPage(ctx context.Context, dir, in string, n int) ([]byte, error) {
	prefix := filepath.Join(dir, "apercu")
	page := strconv.Itoa(n)
	if _, err := r.run(ctx, dir, "pdftoppm", "-png", "-cropbox", "-scale-to", strconv.Itoa(PreviewSide),
		"-f", page, "-l", page, "-singlefile", in, prefix); err != nil {
		if te := (*toolError)(nil); errors.As(err, &te) {
			return nil, fault.E(fault.Invalid, fmt.Errorf("scan: PDF illisible: %w", err))
		}
		return nil, err
	}
	p := prefix + ".png"
	if err := checkPNGFile(p, Limits{MaxPixels: 2 * PreviewSide * PreviewSide}); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fault.E(fault.Invalid, fmt.Errorf("scan: PDF illisible: page %d non rendue", n))
		}
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("scan: page rendue: %w", err)
	}
	defer f.Close()
	out, err := io.ReadAll(io.LimitReader(f, maxPreviewBytes+1))
	if err != nil {
		return nil, fmt.Errorf("scan: page rendue: %w", err)
	}
	if len(out) > maxPreviewBytes {
		return nil, fault.E(fault.TooLarge, fmt.Errorf("scan: page %d rendue de plus de %d octets", n, maxPreviewBytes))
	}
	return out, nil
}
