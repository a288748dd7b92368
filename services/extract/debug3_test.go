package extract

import "testing"

func BenchmarkWorst(b *testing.B) {
	e, _ := setup(b)
	for _, unit := range []string{"13 ", "a ", "0 ", "é"} {
		in := benchText(unit)
		b.Run(unit, func(b *testing.B) {
			for b.Loop() {
				e.Extract(in)
			}
		})
	}
}
