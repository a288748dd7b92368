// Package scanimg makes scanned-looking letters for tests: text drawn with
// a pen-like bitmap font on a noisy, slightly rotated page, wrapped in a
// PDF without a text layer, so that only OCR can read it.
package scanimg

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"image"
	"image/color"
	"math"
	"math/rand/v2"
	"strings"
)

// font5x7 is a 5×7 bitmap font: seven rows of five columns, '#' inked.
var font5x7 = map[rune][7]string{
	'A': {".###.", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"},
	'B': {"####.", "#...#", "#...#", "####.", "#...#", "#...#", "####."},
	'C': {".###.", "#...#", "#....", "#....", "#....", "#...#", ".###."},
	'D': {"####.", "#...#", "#...#", "#...#", "#...#", "#...#", "####."},
	'E': {"#####", "#....", "#....", "####.", "#....", "#....", "#####"},
	'F': {"#####", "#....", "#....", "####.", "#....", "#....", "#...."},
	'G': {".###.", "#...#", "#....", "#.###", "#...#", "#...#", ".####"},
	'H': {"#...#", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"},
	'I': {".###.", "..#..", "..#..", "..#..", "..#..", "..#..", ".###."},
	'J': {"..###", "...#.", "...#.", "...#.", "...#.", "#..#.", ".##.."},
	'K': {"#...#", "#..#.", "#.#..", "##...", "#.#..", "#..#.", "#...#"},
	'L': {"#....", "#....", "#....", "#....", "#....", "#....", "#####"},
	'M': {"#...#", "##.##", "#.#.#", "#.#.#", "#...#", "#...#", "#...#"},
	'N': {"#...#", "#...#", "##..#", "#.#.#", "#..##", "#...#", "#...#"},
	'O': {".###.", "#...#", "#...#", "#...#", "#...#", "#...#", ".###."},
	'P': {"####.", "#...#", "#...#", "####.", "#....", "#....", "#...."},
	'Q': {".###.", "#...#", "#...#", "#...#", "#.#.#", "#..#.", ".##.#"},
	'R': {"####.", "#...#", "#...#", "####.", "#.#..", "#..#.", "#...#"},
	'S': {".####", "#....", "#....", ".###.", "....#", "....#", "####."},
	'T': {"#####", "..#..", "..#..", "..#..", "..#..", "..#..", "..#.."},
	'U': {"#...#", "#...#", "#...#", "#...#", "#...#", "#...#", ".###."},
	'V': {"#...#", "#...#", "#...#", ".#.#.", ".#.#.", "..#..", "..#.."},
	'W': {"#...#", "#...#", "#...#", "#.#.#", "#.#.#", "#.#.#", ".#.#."},
	'X': {"#...#", "#...#", ".#.#.", "..#..", ".#.#.", "#...#", "#...#"},
	'Y': {"#...#", "#...#", ".#.#.", "..#..", "..#..", "..#..", "..#.."},
	'Z': {"#####", "....#", "...#.", "..#..", ".#...", "#....", "#####"},
	'0': {".###.", "#...#", "#...#", "#...#", "#...#", "#...#", ".###."},
	'1': {"..#..", ".##..", "..#..", "..#..", "..#..", "..#..", ".###."},
	'2': {".###.", "#...#", "....#", "...#.", "..#..", ".#...", "#####"},
	'3': {".###.", "#...#", "....#", "..##.", "....#", "#...#", ".###."},
	'4': {"...#.", "..##.", ".#.#.", "#..#.", "#####", "...#.", "...#."},
	'5': {"#####", "#....", "####.", "....#", "....#", "#...#", ".###."},
	'6': {"..##.", ".#...", "#....", "####.", "#...#", "#...#", ".###."},
	'7': {"#####", "....#", "...#.", "..#..", ".#...", ".#...", ".#..."},
	'8': {".###.", "#...#", "#...#", ".###.", "#...#", "#...#", ".###."},
	'9': {".###.", "#...#", "#...#", ".####", "....#", "...#.", ".##.."},
	'-': {".....", ".....", ".....", "#####", ".....", ".....", "....."},
	':': {".....", "..#..", "..#..", ".....", "..#..", "..#..", "....."},
	',': {".....", ".....", ".....", ".....", ".##..", "..#..", ".#..."},
	'.': {".....", ".....", ".....", ".....", ".....", ".##..", ".##.."},
	' ': {".....", ".....", ".....", ".....", ".....", ".....", "....."},
}

// RenderLetter draws lines in the 5×7 font scaled ×scale on a white gray
// page (upper case letters, digits and - : , . only), with a margin, light salt-and-pepper noise and a rotation of deg
// degrees (nearest-neighbour sampling).
func RenderLetter(lines []string, scale int, deg float64, seed uint64) (*image.Gray, error) {
	cw, ch := 6*scale, 10*scale // advance and line height
	width := 0
	for _, l := range lines {
		width = max(width, len([]rune(l))*cw)
	}
	margin := 20 * scale
	w, h := width+2*margin, len(lines)*ch+2*margin
	src := image.NewGray(image.Rect(0, 0, w, h))
	for i := range src.Pix {
		src.Pix[i] = 255
	}
	for li, l := range lines {
		for ci, c := range []rune(l) {
			g, ok := font5x7[c]
			if !ok {
				return nil, fmt.Errorf("scanimg: no glyph for %q", c)
			}
			x0, y0 := margin+ci*cw, margin+li*ch
			drawGlyph(src, g, x0, y0, scale)
		}
	}
	// Rotate about the centre, nearest neighbour, then add noise.
	dst := image.NewGray(src.Rect)
	rng := rand.New(rand.NewPCG(seed, 7))
	sin, cos := math.Sincos(deg * math.Pi / 180)
	cx, cy := float64(w)/2, float64(h)/2
	for y := range h {
		for x := range w {
			fx, fy := float64(x)-cx, float64(y)-cy
			sx := int(math.Round(cos*fx + sin*fy + cx))
			sy := int(math.Round(-sin*fx + cos*fy + cy))
			v := uint8(255)
			if sx >= 0 && sy >= 0 && sx < w && sy < h {
				v = src.GrayAt(sx, sy).Y
			}
			if rng.IntN(100) < 2 { // 2 % speckle
				v = uint8(rng.IntN(256))
			} else if v > 200 {
				v -= uint8(rng.IntN(30)) // paper grain
			}
			dst.SetGray(x, y, color.Gray{Y: v})
		}
	}
	return dst, nil
}

// BuildPDF writes a PDF whose objects are objs (object i+1 is objs[i]),
// with a correct xref table. trailerExtra is added to the trailer dict.
func BuildPDF(objs [][]byte, trailerExtra string) []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n%\xE2\xE3\xCF\xD3\n")
	offs := make([]int, len(objs))
	for i, o := range objs {
		offs[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n", i+1)
		b.Write(o)
		b.WriteString("\nendobj\n")
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offs {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R %s>>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, trailerExtra, xref)
	return b.Bytes()
}

// Stream makes a stream object from a dictionary body and data.
func Stream(dict string, data []byte) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "<< %s /Length %d >>\nstream\n", dict, len(data))
	b.Write(data)
	b.WriteString("\nendstream")
	return b.Bytes()
}

// ImagePDF wraps gray images, one per page, as Flate-compressed image
// XObjects; each page is sized so that dpi rasterization gives the image
// back at its own size.
func ImagePDF(imgs []*image.Gray, dpi int) []byte {
	n := len(imgs)
	// 1 catalog, 2 pages, then per page: page, content, image.
	kids := make([]string, n)
	for i := range n {
		kids[i] = fmt.Sprintf("%d 0 R", 3+3*i)
	}
	objs := [][]byte{
		[]byte("<< /Type /Catalog /Pages 2 0 R >>"),
		fmt.Appendf(nil, "<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), n),
	}
	for i, img := range imgs {
		w, h := img.Rect.Dx(), img.Rect.Dy()
		pw, ph := float64(w)*72/float64(dpi), float64(h)*72/float64(dpi)
		var z bytes.Buffer
		zw := zlib.NewWriter(&z)
		for y := range h {
			zw.Write(img.Pix[y*img.Stride : y*img.Stride+w])
		}
		zw.Close()
		content := fmt.Appendf(nil, "q %.3f 0 0 %.3f 0 0 cm /Im0 Do Q", pw, ph)
		objs = append(objs,
			fmt.Appendf(nil, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %.3f %.3f] /Resources << /XObject << /Im0 %d 0 R >> >> /Contents %d 0 R >>",
				pw, ph, 5+3*i, 4+3*i),
			Stream("", content),
			Stream(fmt.Sprintf("/Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /FlateDecode", w, h), z.Bytes()),
		)
	}
	return BuildPDF(objs, "")
}

// drawGlyph draws a 5×7 glyph as strokes: a disc on every inked cell and a
// thick segment to each inked neighbour (right, below, and diagonals when no
// orthogonal path joins them), which reads like a pen rather than blocks.
func drawGlyph(img *image.Gray, g [7]string, x0, y0, scale int) {
	ink := func(x, y int) bool { return y >= 0 && y < 7 && x >= 0 && x < 5 && g[y][x] == '#' }
	center := func(x, y int) (float64, float64) {
		return float64(x0) + (float64(x)+0.5)*float64(scale), float64(y0) + (float64(y)+0.5)*float64(scale)
	}
	r := 0.45 * float64(scale)
	seg := func(ax, ay, bx, by float64) {
		minX, maxX := int(min(ax, bx)-r-1), int(max(ax, bx)+r+1)
		minY, maxY := int(min(ay, by)-r-1), int(max(ay, by)+r+1)
		dx, dy := bx-ax, by-ay
		l2 := dx*dx + dy*dy
		for y := minY; y <= maxY; y++ {
			for x := minX; x <= maxX; x++ {
				px, py := float64(x)+0.5, float64(y)+0.5
				t := 0.0
				if l2 > 0 {
					t = max(0, min(1, ((px-ax)*dx+(py-ay)*dy)/l2))
				}
				qx, qy := ax+t*dx-px, ay+t*dy-py
				if qx*qx+qy*qy <= r*r && image.Pt(x, y).In(img.Rect) {
					img.SetGray(x, y, color.Gray{Y: 20})
				}
			}
		}
	}
	for y := range 7 {
		for x := range 5 {
			if !ink(x, y) {
				continue
			}
			ax, ay := center(x, y)
			seg(ax, ay, ax, ay)
			for _, d := range [][2]int{{1, 0}, {0, 1}, {1, 1}, {-1, 1}} {
				nx, ny := x+d[0], y+d[1]
				if !ink(nx, ny) {
					continue
				}
				if d[0] != 0 && d[1] != 0 && (ink(x+d[0], y) || ink(x, y+d[1])) {
					continue
				}
				bx, by := center(nx, ny)
				seg(ax, ay, bx, by)
			}
		}
	}
}
