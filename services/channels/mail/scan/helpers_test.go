package scan

import (
	"bytes"
	"fmt"
	"hash/crc32"
	"image"
	"image/png"
	"strings"
	"testing"

	"github.com/ampmetropole/guichet/services/testkit/scanimg"
)

// letterLines is the text of the generated letter.
var letterLines = []string{
	"MADAME, MONSIEUR,",
	"OBJET : DEMANDE DE COMPOSTEUR",
	"DOSSIER AMP-2026-004213",
	"12 RUE DES FLEURS",
	"13300 SALON-DE-PROVENCE",
}

// renderLetter draws a scanned-looking page (see scanimg.RenderLetter).
func renderLetter(t testing.TB, lines []string, scale int, deg float64, seed uint64) *image.Gray {
	t.Helper()
	img, err := scanimg.RenderLetter(lines, scale, deg, seed)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// imagePDF wraps images in a PDF without a text layer.
func imagePDF(t testing.TB, imgs []*image.Gray, dpi int) []byte {
	t.Helper()
	return scanimg.ImagePDF(imgs, dpi)
}

func buildPDF(objs [][]byte, trailerExtra string) []byte { return scanimg.BuildPDF(objs, trailerExtra) }

func stream(dict string, data []byte) []byte { return scanimg.Stream(dict, data) }

// pngBytes encodes img as PNG.
func pngBytes(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// textPDF makes pages of Helvetica text (WinAnsi bytes, one string per line).
func textPDF(pages [][]string, trailerExtra string) []byte {
	n := len(pages)
	kids := make([]string, n)
	for i := range n {
		kids[i] = fmt.Sprintf("%d 0 R", 4+2*i)
	}
	objs := [][]byte{
		[]byte("<< /Type /Catalog /Pages 2 0 R >>"),
		fmt.Appendf(nil, "<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), n),
		[]byte("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"),
	}
	for i, lines := range pages {
		var c bytes.Buffer
		c.WriteString("BT /F1 12 Tf 72 770 Td 16 TL\n")
		for _, l := range lines {
			fmt.Fprintf(&c, "(%s) Tj T*\n", l)
		}
		c.WriteString("ET")
		objs = append(objs,
			fmt.Appendf(nil, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>", 5+2*i),
			stream("", c.Bytes()),
		)
	}
	return buildPDF(objs, trailerExtra)
}

// crc32IEEE is the PNG chunk CRC.
func crc32IEEE(b []byte) uint32 { return crc32.ChecksumIEEE(b) }
