package main

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ampmetropole/guichet/services/testkit"
)

// checkSpace signs in to « Mes demandes » on a running Guichet as the
// person of address email, by the link the development outbox shows at
// /courriels, and checks their request (its tracking code) is listed: the
// composition root gives the web channel its store, its mailer and its
// public URL.
func checkSpace(t *testing.T, base, email, code string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	read := func(resp *http.Response, err error) (*http.Response, string) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	if resp, _ := read(c.PostForm(base+"/mes-demandes/connexion", url.Values{"adresse": {email}})); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("asking a link: %d", resp.StatusCode)
	}
	var link string
	testkit.Eventually(t, 10*time.Second, "the link in the outbox page", func() bool {
		_, list := read(c.Get(base + "/courriels"))
		m := regexp.MustCompile(`<td>` + regexp.QuoteMeta(email) + `</td><td><a href="(/courriels/[^"]+)">Votre lien de connexion`).FindStringSubmatch(list)
		if m == nil {
			return false
		}
		_, msg := read(c.Get(base + m[1]))
		link = regexp.MustCompile(`/mes-demandes/lien/[A-Za-z0-9_-]{43}`).FindString(msg)
		return link != ""
	})
	if resp, _ := read(c.Get(base + link)); resp.StatusCode != http.StatusOK {
		t.Fatalf("the link's page: %d", resp.StatusCode)
	}
	if resp, _ := read(c.PostForm(base+link, nil)); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("confirming: %d", resp.StatusCode)
	}
	if resp, page := read(c.Get(base + "/mes-demandes")); resp.StatusCode != http.StatusOK || !strings.Contains(page, `href="/suivi/`+code+`"`) {
		t.Fatalf("« Mes demandes »: %d, without %s:\n%s", resp.StatusCode, code, page)
	}
}
