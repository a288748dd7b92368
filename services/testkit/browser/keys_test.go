package browser_test

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/ampmetropole/guichet/services/testkit/browser"
)

// Press is a keyboard (chromedp.KeyEvent fails this test: its Enter on the
// link submits the form): Enter on a link whose click moves the focus into a
// form's field follows the link and nothing more (it does not submit the
// form where the focus lands), Tab moves the focus, and characters are
// typed, accents included.
func TestPressIsAKeyboard(t *testing.T) {
	var posts atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/lien.js" {
			w.Header().Set("Content-Type", "text/javascript")
			w.Write([]byte(`document.getElementById("lien").addEventListener("click", function (e) {
				e.preventDefault(); document.getElementById("champ").focus(); });`))
			return
		}
		if r.Method == http.MethodPost {
			posts.Add(1)
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(`<!doctype html><html lang="fr"><head><title>Clavier</title></head><body>
<a id="lien" href="#champ">Aller au champ</a>
<form method="post" action="/"><label for="champ">Champ</label><input id="champ" name="champ"><label for="autre">Autre</label><input id="autre" name="autre"><button type="submit">Envoyer</button></form>
<script src="/lien.js"></script></body></html>`))
	}))
	t.Cleanup(srv.Close)
	ctx := browser.Start(t, 800, 600)
	focused := func() string {
		t.Helper()
		id, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement ? document.activeElement.id : ""`))
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL), chromedp.WaitVisible(chromedp.ID("champ")), browser.Press(kb.Tab)); err != nil {
		t.Fatal(err)
	}
	if f := focused(); f != "lien" {
		t.Fatalf("Tab: focus on %q", f)
	}
	if err := chromedp.Do(ctx, browser.Press(kb.Enter)); err != nil {
		t.Fatal(err)
	}
	if f := focused(); f != "champ" {
		t.Fatalf("Enter on the link: focus on %q", f)
	}
	if err := chromedp.Do(ctx, browser.Press("Léa"+kb.Tab)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // a submission, were there one, would be on its way
	if n := posts.Load(); n != 0 {
		t.Fatalf("Enter on the link submitted the form %d times", n)
	}
	if v, err := chromedp.Run(ctx, chromedp.Value(chromedp.ID("champ"))); err != nil || v != "Léa" || focused() != "autre" {
		t.Fatalf("typed %q (%v), focus on %q", v, err, focused())
	}
}
