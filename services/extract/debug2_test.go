package extract

import (
	"fmt"
	"testing"
	"time"
)

func TestWorst(t *testing.T) {
	e, _ := setup(t)
	for _, unit := range []string{"zéro ", "zéro six ", "treize ", "quatre vingt ", "amp ", "a m p vingt ", "amp deux mille vingt six ", "@", "a@", "x @ y point ", "arobase ", "je m'appelle ", "rue ", "1 rue ", "marseille ", "le treizième ", "point ", "a ", "06 ", "0 ", "+", "+33 ", "cent ", "mille ", "et ", "vingt et un ", "é", "\u0301", "aé ", "-", "13 ", "13013 ", "dix sept cent "} {
		in := benchText(unit)
		start := time.Now()
		e.Extract(in)
		if d := time.Since(start); d > 30*time.Millisecond {
			fmt.Printf("%q: %v\n", unit, d)
		}
	}
}
