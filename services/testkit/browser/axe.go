package browser

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// axeSource is axe-core, Deque's accessibility engine, vendored so that the
// tests need neither the network nor Node.js:
//
//	package   axe-core 4.14.1, from the npm registry (npm pack axe-core@4.14.1;
//	          tarball sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ==)
//	file      package/axe.min.js, unchanged
//	          (sha256 29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c)
//	licence   MPL-2.0 (axe.LICENSE beside it; the bundled libraries' MIT
//	          notices in axe-3RD-PARTY.LICENSE). Only the tests embed it:
//	          nothing of it is served or shipped in the guichet binary.
//
// To update: npm pack axe-core@VERSION in a temporary folder, copy
// package/axe.min.js, package/LICENSE and package/LICENSE-3RD-PARTY.txt here
// (as axe.LICENSE and axe-3RD-PARTY.LICENSE) and change AxeVersion and this
// comment; never load it from a CDN.
//
//go:embed axe.min.js
var axeSource string

// AxeVersion is the version of the vendored axe-core.
const AxeVersion = "4.14.1"

// WCAG21AA are the axe-core tags of the rules of WCAG 2.1 levels A and AA,
// the level the RGAA (the French public-sector standard) is built on.
var WCAG21AA = []string{"wcag2a", "wcag2aa", "wcag21a", "wcag21aa"}

// Violation is an axe-core rule that a page breaks, with the elements that
// break it.
type Violation struct {
	ID      string          `json:"id"`
	Impact  string          `json:"impact"`
	Help    string          `json:"help"`
	HelpURL string          `json:"helpUrl"`
	Tags    []string        `json:"tags"`
	Nodes   []ViolationNode `json:"nodes"`
}

// ViolationNode is one element that breaks a rule.
type ViolationNode struct {
	Target         json.RawMessage `json:"target"` // CSS selectors of the element
	HTML           string          `json:"html"`
	FailureSummary string          `json:"failureSummary"`
}

func (v Violation) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s): %s — %s", v.ID, v.Impact, v.Help, v.HelpURL)
	for _, n := range v.Nodes {
		fmt.Fprintf(&b, "\n    %s %s\n      %s", n.Target, n.HTML, strings.ReplaceAll(n.FailureSummary, "\n", "\n      "))
	}
	return b.String()
}

// Axe runs axe-core on the page the context shows, injecting it first
// through the DevTools protocol (which the page's Content-Security-Policy
// does not block: the page itself still runs no script it did not load from
// its own origin), and returns the violations of the rules tagged with any
// of tags (WCAG21AA when none is given).
func Axe(ctx context.Context, tags ...string) ([]Violation, error) {
	if len(tags) == 0 {
		tags = WCAG21AA
	}
	loaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`typeof window.axe === "object" && typeof window.axe.run === "function"`))
	if err != nil {
		return nil, fmt.Errorf("axe: %w", err)
	}
	if !loaded {
		if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](axeSource)); err != nil {
			return nil, fmt.Errorf("axe: inject axe-core: %w", err)
		}
	}
	only, err := json.Marshal(tags)
	if err != nil {
		return nil, err
	}
	script := `axe.run(document, {runOnly: {type: "tag", values: ` + string(only) + `}, resultTypes: ["violations"]})
		.then(r => r.violations.map(v => ({id: v.id, impact: v.impact || "", help: v.help, helpUrl: v.helpUrl, tags: v.tags,
			nodes: v.nodes.map(n => ({target: n.target, html: n.html, failureSummary: n.failureSummary || ""}))})))`
	vs, err := chromedp.Run(ctx, chromedp.Evaluate[[]Violation](script, chromedp.EvalAwaitPromise))
	if err != nil {
		return nil, fmt.Errorf("axe: run: %w", err)
	}
	return vs, nil
}

// AssertAccessible fails the test, naming the page, for every WCAG 2.1 A
// or AA violation that axe-core finds on the page the context shows.
func AssertAccessible(t testing.TB, ctx context.Context, page string) {
	t.Helper()
	vs, err := Axe(ctx)
	if err != nil {
		t.Fatalf("%s: %v", page, err)
	}
	for _, v := range vs {
		t.Errorf("%s: accessibility (axe-core %s, WCAG 2.1 AA): %s", page, AxeVersion, v)
	}
}
