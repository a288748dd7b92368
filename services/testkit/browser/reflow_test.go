package browser

import (
	"testing"

	"github.com/chromedp/chromedp"
)

// TestReflowLeavesTheWindowAsItWas: a check after AssertReflows sees the
// page at the window's own width again, not the width tried.
func TestReflowLeavesTheWindowAsItWas(t *testing.T) {
	b := Start(t, 1280, 900)
	if err := chromedp.Do(b, chromedp.Navigate("data:text/html,<!doctype html><html lang=fr><title>x</title><p>x</p></html>")); err != nil {
		t.Fatal(err)
	}
	width := func() int {
		w, err := chromedp.Run(b, chromedp.Evaluate[int](`window.innerWidth`))
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	before := width()
	AssertReflows(t, b, "page", 640)
	if after := width(); after != before {
		t.Fatalf("window %d px wide before the reflow check, %d after", before, after)
	}
}
