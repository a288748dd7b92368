package browser

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// Overflowing returns, for the page the context shows laid out width CSS
// pixels wide, the elements that stick out to the right and make the page
// scroll sideways (nil when nothing does). WCAG 1.4.10 (Reflow) asks that
// a page be read without scrolling in two directions at 320 pixels: what a
// 1280-pixel screen shows zoomed to 400 %. The viewport is reset after.
func Overflowing(ctx context.Context, width int64) ([]string, error) {
	before, err := chromedp.Run(ctx, chromedp.Evaluate[int](`window.innerWidth`))
	if err != nil {
		return nil, fmt.Errorf("reflow: %w", err)
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, 800)); err != nil {
		return nil, fmt.Errorf("reflow: %w", err)
	}
	// Not chromedp.ResetViewport: it emulates a 0 × 0 viewport, which
	// headless Chromium takes as "keep the last width" (640 stays 640).
	// The page is given back laid out at its own width again, so that a
	// click right after lands where the page says.
	defer func() {
		_, _ = chromedp.Call(ctx, emulation.ClearDeviceMetricsOverride, cdp.Empty{})
		_ = chromedp.Do(ctx, chromedp.Poll[chromedp.Void](fmt.Sprintf(`window.innerWidth === %d`, before),
			chromedp.WithPollingTimeout(5*time.Second)))
	}()
	return chromedp.Run(ctx, chromedp.Evaluate[[]string](`(() => {
		const w = document.documentElement.clientWidth;
		if (document.documentElement.scrollWidth <= w) { return []; }
		const out = Array.from(document.querySelectorAll("body *"))
			.filter(e => e.getBoundingClientRect().right > w + 1 && e.getClientRects().length > 0)
			.slice(0, 8)
			.map(e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + (typeof e.className === "string" && e.className ? "." + e.className.trim().split(/\s+/).join(".") : ""));
		return out.length ? out : ["document (" + document.documentElement.scrollWidth + " > " + w + ")"];
	})()`))
}

// AssertReflows fails the test, naming the page, when the page the context
// shows scrolls sideways at width CSS pixels.
func AssertReflows(t testing.TB, ctx context.Context, page string, width int64) {
	t.Helper()
	over, err := Overflowing(ctx, width)
	if err != nil {
		t.Fatalf("%s: %v", page, err)
	}
	if len(over) > 0 {
		t.Errorf("%s: scrolls sideways at %d px (WCAG 1.4.10), because of %v", page, width, over)
	}
}
