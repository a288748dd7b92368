package scan

import (
	"context"
	"errors"
	"fmt"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"github.com/ampmetropole/guichet/services/platform/fault"
)

// minCharsPerPage is the mean count of non-space characters per page from
// which a PDF's text layer is trusted rather than OCR.
const minCharsPerPage = 40

// pdfInfo is what pdfinfo says of a PDF.
type pdfInfo struct {
	pages     int
	encrypted bool
	sizes     [][2]float64 // points, per page, as rendered (rotation applied)
}

var (
	rePages = regexp.MustCompile(`(?m)^Pages:\s+(\d+)`)
	reEncr  = regexp.MustCompile(`(?m)^Encrypted:\s+yes`)
	reSize  = regexp.MustCompile(`(?m)^Page\s+(\d+)\s+size:\s+(\S+)\s+x\s+(\S+)\s+pts`)
	reRot   = regexp.MustCompile(`(?m)^Page\s+(\d+)\s+rot:\s+(\d+)`)
)

// info runs pdfinfo on the first MaxPages pages.
func (r *Reader) info(ctx context.Context, dir, in string) (pdfInfo, error) {
	out, err := r.run(ctx, dir, "pdfinfo", "-f", "1", "-l", strconv.Itoa(r.l.MaxPages), in)
	if err != nil {
		var te *toolError
		if errors.As(err, &te) {
			if strings.Contains(strings.ToLower(te.line), "password") {
				return pdfInfo{}, fault.E(fault.Invalid, fmt.Errorf("scan: PDF chiffré: %w", err))
			}
			return pdfInfo{}, fault.E(fault.Invalid, fmt.Errorf("scan: PDF illisible: %w", err))
		}
		return pdfInfo{}, err
	}
	return parseInfo(out, r.l.MaxPages)
}

// parseInfo reads pdfinfo's output. Every page up to maxPages must have a
// size: a page pdfinfo could not size must not reach pdftoppm unchecked.
func parseInfo(out []byte, maxPages int) (pdfInfo, error) {
	var pi pdfInfo
	m := rePages.FindSubmatch(out)
	if m == nil {
		return pdfInfo{}, fault.E(fault.Invalid, errors.New("scan: PDF illisible: nombre de pages inconnu"))
	}
	var err error
	pi.pages, err = strconv.Atoi(string(m[1]))
	if err != nil {
		return pdfInfo{}, fault.E(fault.Invalid, fmt.Errorf("scan: PDF illisible: nombre de pages: %w", err))
	}
	pi.encrypted = reEncr.Match(out)
	if pi.encrypted || pi.pages <= 0 || pi.pages > maxPages {
		return pi, nil // readPDF refuses it
	}
	pi.sizes = make([][2]float64, pi.pages)
	for _, m := range reSize.FindAllSubmatch(out, -1) {
		n, err := strconv.Atoi(string(m[1]))
		w, err1 := strconv.ParseFloat(string(m[2]), 64)
		h, err2 := strconv.ParseFloat(string(m[3]), 64)
		if err == nil && err1 == nil && err2 == nil && n >= 1 && n <= pi.pages && w > 0 && h > 0 && !math.IsInf(w*h, 0) {
			pi.sizes[n-1] = [2]float64{w, h}
		}
	}
	// pdfinfo gives the crop box unrotated; pdftoppm renders it rotated.
	for _, m := range reRot.FindAllSubmatch(out, -1) {
		n, err1 := strconv.Atoi(string(m[1]))
		rot, err2 := strconv.Atoi(string(m[2]))
		if err1 == nil && err2 == nil && n >= 1 && n <= pi.pages && rot%180 == 90 {
			pi.sizes[n-1][0], pi.sizes[n-1][1] = pi.sizes[n-1][1], pi.sizes[n-1][0]
		}
	}
	for i, sz := range pi.sizes {
		if sz[0] <= 0 || sz[1] <= 0 {
			return pdfInfo{}, fault.E(fault.Invalid, fmt.Errorf("scan: PDF illisible: taille de la page %d inconnue", i+1))
		}
	}
	return pi, nil
}

// readPDF takes the text layer when it has enough text, else OCRs the pages.
func (r *Reader) readPDF(ctx context.Context, dir string, data []byte) (Text, error) {
	in, err := writeInput(dir, "scan.pdf", data)
	if err != nil {
		return Text{}, err
	}
	pi, err := r.info(ctx, dir, in)
	if err != nil {
		return Text{}, err
	}
	switch {
	case pi.encrypted:
		return Text{}, fault.E(fault.Invalid, errors.New("scan: PDF chiffré"))
	case pi.pages <= 0:
		return Text{}, fault.E(fault.Invalid, errors.New("scan: PDF sans page"))
	case pi.pages > r.l.MaxPages:
		return Text{}, fault.E(fault.TooLarge, fmt.Errorf("scan: PDF de %d pages, plus de %d", pi.pages, r.l.MaxPages))
	}

	out, err := r.run(ctx, dir, "pdftotext", "-layout", "-enc", "UTF-8", in, "-")
	if err != nil {
		var te *toolError
		if !errors.As(err, &te) {
			return Text{}, err
		}
		out = nil // a broken text layer: OCR may still read the pages
	}
	layer := cleanLayer(string(out))
	if nonSpace(layer) >= minCharsPerPage*pi.pages {
		return Text{Text: layer, Method: MethodTextLayer, Confidence: 1, Pages: pi.pages}, nil
	}

	t, err := r.ocrPDF(ctx, dir, in, pi)
	if err != nil && fault.KindOf(err) == fault.Invalid && nonSpace(layer) > 0 {
		// Nothing legible in the images, but a short text layer: keep it.
		return Text{Text: layer, Method: MethodTextLayer, Confidence: 1, Pages: pi.pages}, nil
	}
	return t, err
}

// ocrPDF rasterizes the pages in gray at r.l.DPI and OCRs each, one page
// at a time. The size of every page is checked before anything is
// rendered, and pdftoppm renders the crop box (the box pdfinfo measured)
// clipped to that size, so that no page can be rendered larger than
// MaxPixels whatever its other boxes say.
func (r *Reader) ocrPDF(ctx context.Context, dir, in string, pi pdfInfo) (Text, error) {
	px := make([][2]int64, len(pi.sizes))
	for i, sz := range pi.sizes {
		w := math.Ceil(sz[0] * float64(r.l.DPI) / 72)
		h := math.Ceil(sz[1] * float64(r.l.DPI) / 72)
		if w*h > float64(r.l.MaxPixels) {
			return Text{}, fault.E(fault.TooLarge, fmt.Errorf("scan: page %d de %.0f×%.0f pixels à %d dpi, plus de %d pixels", i+1, w, h, r.l.DPI, r.l.MaxPixels))
		}
		px[i] = [2]int64{int64(w), int64(h)}
	}
	pagesDir := filepath.Join(dir, "pages")
	if err := os.Mkdir(pagesDir, 0o700); err != nil {
		return Text{}, fmt.Errorf("scan: répertoire des pages: %w", err)
	}
	var o ocrResult
	for i, wh := range px {
		n := strconv.Itoa(i + 1)
		prefix := filepath.Join(pagesDir, fmt.Sprintf("page-%03d", i+1))
		_, err := r.run(ctx, dir, "pdftoppm", "-r", strconv.Itoa(r.l.DPI), "-gray", "-png", "-cropbox",
			"-f", n, "-l", n, "-x", "0", "-y", "0", "-W", strconv.FormatInt(wh[0], 10), "-H", strconv.FormatInt(wh[1], 10),
			"-singlefile", in, prefix)
		if err != nil {
			var te *toolError
			if errors.As(err, &te) {
				return Text{}, fault.E(fault.Invalid, fmt.Errorf("scan: PDF illisible: %w", err))
			}
			return Text{}, err
		}
		p := prefix + ".png"
		if _, err := os.Stat(p); err != nil {
			return Text{}, fault.E(fault.Invalid, fmt.Errorf("scan: PDF illisible: page %d non rendue", i+1))
		}
		if err := checkPNGFile(p, r.l); err != nil {
			return Text{}, err
		}
		if err := r.ocr(ctx, dir, p, &o); err != nil {
			return Text{}, err
		}
		_ = os.Remove(p) // free the disk as we go
	}
	return o.text(pi.pages)
}

// checkPNGFile checks a rasterized page's size from its header.
func checkPNGFile(p string, l Limits) error {
	f, err := os.Open(p)
	if err != nil {
		return fmt.Errorf("scan: page rasterisée: %w", err)
	}
	defer f.Close()
	cfg, err := png.DecodeConfig(f)
	if err != nil {
		return fault.E(fault.Invalid, fmt.Errorf("scan: page rasterisée illisible: %w", err))
	}
	return checkPixels(int64(cfg.Width), int64(cfg.Height), l)
}

// cleanLayer trims trailing spaces of lines and the blank end of pdftotext's
// output, keeping the "\f" between pages.
func cleanLayer(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	pages := strings.Split(s, "\f")
	for i, p := range pages {
		lines := strings.Split(p, "\n")
		for j, l := range lines {
			lines[j] = strings.TrimRightFunc(l, unicode.IsSpace)
		}
		pages[i] = strings.Trim(strings.Join(lines, "\n"), "\n")
	}
	for len(pages) > 1 && pages[len(pages)-1] == "" {
		pages = pages[:len(pages)-1]
	}
	return strings.Join(pages, "\f")
}

// nonSpace counts the characters of s that are not white space.
func nonSpace(s string) int {
	n := 0
	for _, c := range s {
		if !unicode.IsSpace(c) {
			n++
		}
	}
	return n
}
