// Package browser starts a real headless Chromium (Debian's, installed by
// deploy/setup.sh test) for the browser tests, through chromedp, and gives
// them what they check pages with: axe-core's WCAG 2.1 A/AA rules (Axe,
// vendored, no network), sideways scrolling at a width (Overflowing), and
// keys pressed as a keyboard does (Press).
package browser

import (
	"context"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Path finds the browser; the test fails, never skips, when it is missing.
func Path(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("Chromium not found: deploy/setup.sh test installs it (apt-get install chromium)")
	return ""
}

// Start starts a headless Chromium with a window of w × h pixels for the
// test, stopped at its end.
func Start(t testing.TB, w, h int) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(Path(t)),
		chromedp.NoSandbox, // tests run as root in CI
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(w, h),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	// A bound, so that a hung browser cannot hold the suite; generous,
	// because a walk of a whole day (the citizen loop) keeps one browser
	// for minutes on a loaded 2-core machine.
	ctx, cancelTimeout := context.WithTimeout(ctx, 5*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return ctx
}
