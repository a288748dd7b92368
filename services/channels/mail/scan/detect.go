package scan

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // registers the JPEG header decoder for image.DecodeConfig
	_ "image/png"  // registers the PNG header decoder for image.DecodeConfig

	"github.com/ampmetropole/guichet/services/platform/fault"
)

// Content types a scan may have.
const (
	TypePDF  = "application/pdf"
	TypeTIFF = "image/tiff"
	TypeJPEG = "image/jpeg"
	TypePNG  = "image/png"
)

// maxIFDs bounds the TIFF directories walked, whatever the limits say.
const maxIFDs = 1000

// sniffed is what the first bytes of a scan tell without decoding it.
type sniffed struct {
	contentType string
	pages       int // images only: 1, or the TIFF directory count
}

// detect finds the content type from the magic bytes and, for images, checks
// every page's dimensions from the headers against l.MaxPixels and the page
// count against l.MaxPages. It never decodes pixels.
func detect(data []byte, l Limits) (sniffed, error) {
	switch {
	case bytes.HasPrefix(data, []byte("%PDF-")):
		return sniffed{contentType: TypePDF}, nil
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		return sniffConfig(data, TypePNG, "PNG", l)
	case bytes.HasPrefix(data, []byte("\xFF\xD8\xFF")):
		return sniffConfig(data, TypeJPEG, "JPEG", l)
	case bytes.HasPrefix(data, []byte("II*\x00")), bytes.HasPrefix(data, []byte("MM\x00*")):
		return sniffTIFF(data, l)
	}
	return sniffed{}, fault.E(fault.Invalid, errors.New("scan: format non pris en charge (PDF, TIFF, JPEG ou PNG attendu)"))
}

// sniffConfig reads a PNG or JPEG header with image.DecodeConfig.
func sniffConfig(data []byte, ct, name string, l Limits) (sniffed, error) {
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return sniffed{}, fault.E(fault.Invalid, fmt.Errorf("scan: en-tête %s illisible: %w", name, err))
	}
	if err := checkPixels(int64(cfg.Width), int64(cfg.Height), l); err != nil {
		return sniffed{}, err
	}
	return sniffed{contentType: ct, pages: 1}, nil
}

// checkPixels refuses empty images and images over l.MaxPixels.
func checkPixels(w, h int64, l Limits) error {
	if w <= 0 || h <= 0 {
		return fault.E(fault.Invalid, fmt.Errorf("scan: image de dimensions nulles (%d×%d)", w, h))
	}
	// w and h come from 32-bit fields: the product fits in an int64.
	if w*h > l.MaxPixels {
		return fault.E(fault.TooLarge, fmt.Errorf("scan: image de %d×%d pixels, plus de %d pixels", w, h, l.MaxPixels))
	}
	return nil
}

// sniffTIFF walks the TIFF image file directories, reading ImageWidth (256)
// and ImageLength (257) of each page.
func sniffTIFF(data []byte, l Limits) (sniffed, error) {
	var bo binary.ByteOrder = binary.LittleEndian
	if data[0] == 'M' {
		bo = binary.BigEndian
	}
	bad := func(what string) (sniffed, error) {
		return sniffed{}, fault.E(fault.Invalid, fmt.Errorf("scan: TIFF invalide: %s", what))
	}
	if len(data) < 8 {
		return bad("en-tête tronqué")
	}
	off := uint64(bo.Uint32(data[4:8]))
	seen := map[uint64]bool{}
	pages := 0
	for off != 0 {
		if seen[off] || len(seen) >= maxIFDs {
			return bad("répertoires en boucle")
		}
		seen[off] = true
		if off+2 > uint64(len(data)) {
			return bad("répertoire hors du fichier")
		}
		n := uint64(bo.Uint16(data[off:]))
		end := off + 2 + 12*n
		if end+4 > uint64(len(data)) {
			return bad("répertoire tronqué")
		}
		var w, h int64 = -1, -1
		for i := uint64(0); i < n; i++ {
			e := data[off+2+12*i:]
			tag, typ := bo.Uint16(e[0:2]), bo.Uint16(e[2:4])
			if tag != 256 && tag != 257 {
				continue
			}
			var v int64
			switch typ {
			case 3: // SHORT, left-justified in the value field
				v = int64(bo.Uint16(e[8:10]))
			case 4: // LONG
				v = int64(bo.Uint32(e[8:12]))
			default:
				return bad("type de dimension inattendu")
			}
			if tag == 256 {
				w = v
			} else {
				h = v
			}
		}
		if w < 0 || h < 0 {
			return bad("dimensions absentes")
		}
		if err := checkPixels(w, h, l); err != nil {
			return sniffed{}, err
		}
		pages++
		if pages > l.MaxPages {
			return sniffed{}, fault.E(fault.TooLarge, fmt.Errorf("scan: TIFF de plus de %d pages", l.MaxPages))
		}
		off = uint64(bo.Uint32(data[end : end+4]))
	}
	if pages == 0 {
		return bad("aucune page")
	}
	return sniffed{contentType: TypeTIFF, pages: pages}, nil
}
