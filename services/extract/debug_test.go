package extract

import (
	"bufio"
	"fmt"
	"os"
	"testing"

	"github.com/ampmetropole/guichet/services/territory"
)

func TestDebug(t *testing.T) {
	f, err := os.Open("/tmp/probe.txt")
	if err != nil {
		t.Skip()
	}
	defer f.Close()
	dir, _ := territory.Load()
	e := New(dir)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fmt.Printf("%s\n  %+v\n", sc.Text(), e.Extract(sc.Text()))
	}
}
