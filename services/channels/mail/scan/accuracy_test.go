package scan

import (
	"context"
	"image"
	"strings"
	"testing"
)

// BenchmarkOCRAccuracy measures OCR on letters generated with several noise
// seeds and rotations, and reports word recall, character accuracy and
// confidence: go test -run '^$' -bench OCRAccuracy -benchtime 1x ./services/channels/mail/scan
func BenchmarkOCRAccuracy(b *testing.B) {
	t := b
	r, _ := newReader(t, Limits{})
	var sumRecall, sumAcc, sumConf float64
	n := 0
	for _, deg := range []float64{-1.5, -0.7, 0.5, 1, 2} {
		for seed := uint64(1); seed <= 2; seed++ {
			img := renderLetter(t, letterLines, 6, deg, seed)
			for _, kind := range []string{"png", "pdf"} {
				data := pngBytes(t, img)
				if kind == "pdf" {
					data = imagePDF(t, []*image.Gray{img}, 300)
				}
				got, err := r.Read(context.Background(), data)
				if err != nil {
					t.Errorf("%s deg %v seed %d: %v", kind, deg, seed, err)
					continue
				}
				recall, missed := wordRecall(letterLines, got.Text)
				acc := charAccuracy(strings.Join(letterLines, "\n"), got.Text)
				sumRecall += recall
				sumAcc += acc
				sumConf += got.Confidence
				n++
				b.Logf("%s deg %+.1f seed %d: recall %.2f char %.3f conf %.2f missed %v %q\n", kind, deg, seed, recall, acc, got.Confidence, missed, numbers(got.Text))
			}
		}
	}
	if n > 0 {
		b.ReportMetric(sumRecall/float64(n), "word-recall")
		b.ReportMetric(sumAcc/float64(n), "char-accuracy")
		b.ReportMetric(sumConf/float64(n), "confidence")
	}
}

// numbers returns the lines of s holding a digit, for the accuracy log.
func numbers(s string) []string {
	var out []string
	for l := range strings.SplitSeq(s, "\n") {
		if strings.ContainsAny(l, "0123456789") {
			out = append(out, l)
		}
	}
	return out
}
