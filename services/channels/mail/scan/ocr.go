package scan

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/ampmetropole/guichet/services/platform/fault"
)

// ocrResult accumulates the words tesseract read on one or more images.
type ocrResult struct {
	pages   []string // text per page
	confSum float64
	words   int
}

// ocr runs tesseract on one image file (a multi-page TIFF gives several
// pages) and appends its pages to o.
func (r *Reader) ocr(ctx context.Context, dir, image string, o *ocrResult) error {
	out, err := r.run(ctx, dir, "tesseract", image, "stdout", "-l", "fra", "--psm", "1", "tsv")
	if err != nil {
		var te *toolError
		if errors.As(err, &te) {
			return fault.E(fault.Invalid, fmt.Errorf("scan: image illisible: %w", err))
		}
		return err
	}
	o.addTSV(string(out))
	return nil
}

// TSV columns of tesseract's output.
const (
	colLevel = iota
	colPage
	colBlock
	colPar
	colLine
	colWord
	colLeft
	colTop
	colWidth
	colHeight
	colConf
	colText
	nCols
)

// addTSV builds text from tesseract TSV: words of a line joined by spaces,
// lines by "\n", paragraphs and blocks by a blank line, pages by separate
// entries. Confidence counts words with conf ≥ 0.
func (o *ocrResult) addTSV(tsv string) {
	var (
		b                      strings.Builder
		page, block, par, line = -1, -1, -1, -1
	)
	flush := func() {
		if page >= 0 {
			o.pages = append(o.pages, strings.TrimSpace(b.String()))
		}
		b.Reset()
	}
	for row := range strings.SplitSeq(tsv, "\n") {
		f := strings.Split(strings.TrimRight(row, "\r"), "\t")
		if len(f) < nCols || f[colLevel] != "5" {
			continue
		}
		word := strings.TrimSpace(strings.Join(f[colText:], " "))
		if word == "" {
			continue
		}
		var n [4]int
		ok := true
		for i, c := range []int{colPage, colBlock, colPar, colLine} {
			v, err := strconv.Atoi(f[c])
			if err != nil {
				ok = false
				break
			}
			n[i] = v
		}
		if !ok {
			continue
		}
		switch {
		case n[0] != page:
			flush()
			page, block, par, line = n[0], n[1], n[2], n[3]
		case n[1] != block || n[2] != par:
			b.WriteString("\n\n")
			block, par, line = n[1], n[2], n[3]
		case n[3] != line:
			b.WriteString("\n")
			line = n[3]
		default:
			b.WriteString(" ")
		}
		b.WriteString(word)
		if c, err := strconv.ParseFloat(f[colConf], 64); err == nil && c >= 0 {
			o.confSum += min(c, 100)
			o.words++
		}
	}
	if page < 0 {
		// No word at all: the image is still one (blank) page.
		o.pages = append(o.pages, "")
		return
	}
	flush()
}

// confidence is the mean word confidence in 0..1.
func (o *ocrResult) confidence() float64 {
	if o.words == 0 {
		return 0
	}
	return o.confSum / float64(o.words) / 100
}

// text is the result, or fault.Invalid when nothing was read. pages is the
// page count known beforehand (0: as many as tesseract reported).
func (o *ocrResult) text(pages int) (Text, error) {
	s := strings.Join(o.pages, "\f")
	if strings.TrimSpace(strings.ReplaceAll(s, "\f", "")) == "" {
		return Text{}, fault.E(fault.Invalid, fmt.Errorf("scan: scan vide ou illisible (confiance %.2f)", o.confidence()))
	}
	if pages <= 0 {
		pages = len(o.pages)
	}
	return Text{Text: s, Method: MethodOCR, Confidence: o.confidence(), Pages: pages}, nil
}
