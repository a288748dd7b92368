package browser_test

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/ampmetropole/guichet/services/testkit/browser"
)

// Axe (and Overflowing) find what is wrong on a page served under a strict
// Content-Security-Policy (as Guichet's pages are), and nothing on a page
// that is right: a check that passes because it never ran would hide every
// fault.
func TestAxeFindsViolationsUnderAStrictCSP(t *testing.T) {
	pages := map[string]string{
		"/mauvaise": `<!doctype html><html><head><title>Mauvaise page</title></head><body><main>
<h1>Formulaire</h1><img src="/x.png"><form><input type="text" name="nom"></form>
<p style="color:#bbb;background:#fff">Texte pâle</p><a href="/suite"></a></main></body></html>`,
		"/bonne": `<!doctype html><html lang="fr"><head><title>Bonne page</title></head><body><main>
<h1>Formulaire</h1><img src="/x.png" alt="Plan du quartier"><form><label for="nom">Nom</label><input type="text" id="nom" name="nom"></form>
<p>Texte lisible</p><a href="/suite">Suite</a></main></body></html>`,
		"/large": `<!doctype html><html lang="fr"><head><title>Large</title></head><body><main><h1>Large</h1>
<div id="bandeau" style="width:40rem">Un bandeau trop large</div></main></body></html>`,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self'")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if p, ok := pages[r.URL.Path]; ok {
			w.Write([]byte(p))
			return
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(srv.Close)
	ctx := browser.Start(t, 800, 600)

	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/mauvaise")); err != nil {
		t.Fatal(err)
	}
	vs, err := browser.Axe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, v := range vs {
		ids = append(ids, v.ID)
		if len(v.Nodes) == 0 || v.HelpURL == "" || v.String() == "" {
			t.Errorf("violation without its elements or help: %+v", v)
		}
	}
	for _, want := range []string{"html-has-lang", "image-alt", "label", "color-contrast", "link-name"} {
		if !slices.Contains(ids, want) {
			t.Errorf("axe-core %s did not find %s on the bad page; found %v", browser.AxeVersion, want, ids)
		}
	}
	// Only the rules of WCAG 2.1 A and AA: a best practice is not reported.
	for _, v := range vs {
		if !slices.ContainsFunc(v.Tags, func(tag string) bool { return slices.Contains(browser.WCAG21AA, tag) }) {
			t.Errorf("%s is not a WCAG 2.1 A/AA rule (tags %v)", v.ID, v.Tags)
		}
	}

	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/bonne")); err != nil {
		t.Fatal(err)
	}
	browser.AssertAccessible(t, ctx, "/bonne")
	if over, err := browser.Overflowing(ctx, 320); err != nil || len(over) != 0 {
		t.Errorf("the good page overflows at 320 px: %v %v", over, err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/large")); err != nil {
		t.Fatal(err)
	}
	if over, err := browser.Overflowing(ctx, 320); err != nil || !slices.Contains(over, "div#bandeau") {
		t.Errorf("a 40rem banner at 320 px: overflowing %v %v", over, err)
	}
}
