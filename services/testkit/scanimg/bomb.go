package scanimg

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"fmt"
	"hash/adler32"
)

// Bomb is a one-page A4 PDF whose content stream inflates to about size
// bytes: head, unit repeated, then tail, Flate-compressed about a thousand
// times. It is built without compressing size bytes: one chunk of units is
// deflated once and its blocks repeated, which inflate to the same chunk
// wherever they stand since they refer to nothing before them.
func Bomb(head, unit, tail []byte, size int64) []byte {
	chunk := bytes.Repeat(unit, max(1, (1<<20)/len(unit)))
	n := max(1, size/int64(len(chunk)))
	var z bytes.Buffer
	z.Write([]byte{0x78, 0xda}) // zlib header: deflate, best compression
	z.Write(deflated(head, false))
	block := deflated(chunk, false)
	sum := adler32.New()
	sum.Write(head)
	for range n {
		z.Write(block)
		sum.Write(chunk)
	}
	z.Write(deflated(tail, true))
	sum.Write(tail)
	z.Write(binary.BigEndian.AppendUint32(nil, sum.Sum32()))
	return BuildPDF([][]byte{
		[]byte("<< /Type /Catalog /Pages 2 0 R >>"),
		[]byte("<< /Type /Pages /Kids [3 0 R] /Count 1 >>"),
		[]byte("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>"),
		Stream("/Filter /FlateDecode", z.Bytes()),
		[]byte("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"),
	}, "")
}

// DrawingBomb is a Bomb of size bytes of lines drawn across the page: it
// asks pdftotext and pdftoppm for minutes of CPU, not for memory.
func DrawingBomb(size int64) []byte {
	return Bomb(nil, []byte("0 0 m 595 842 l S\n"), nil, size)
}

// ArrayBomb is a Bomb whose content is one array of size/2 numbers: parsing
// it asks pdftotext and pdftoppm for gigabytes of memory within seconds.
func ArrayBomb(size int64) []byte {
	return Bomb([]byte("BT /F1 12 Tf 72 770 Td ["), []byte("0 "), []byte("] TJ ET"), size)
}

// deflated is data as raw deflate blocks: ending with a sync flush so that
// more blocks may follow, or with the final block.
func deflated(data []byte, final bool) []byte {
	var b bytes.Buffer
	w, err := flate.NewWriter(&b, flate.BestCompression)
	if err != nil {
		panic(fmt.Sprintf("scanimg: %v", err)) // only for an invalid level
	}
	w.Write(data)
	if final {
		w.Close()
	} else {
		w.Flush()
	}
	return b.Bytes()
}
