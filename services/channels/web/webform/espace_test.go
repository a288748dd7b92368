package webform_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/catalogue"
	"github.com/ampmetropole/guichet/services/channels/web/webform"
	"github.com/ampmetropole/guichet/services/intake/attachment"
	"github.com/ampmetropole/guichet/services/platform/mailer"
	"github.com/ampmetropole/guichet/services/platform/sms"
	"github.com/ampmetropole/guichet/services/testkit"
	"github.com/ampmetropole/guichet/services/testkit/oidcprovider"
	"github.com/ampmetropole/guichet/services/testkit/stack"
)

// espSite is the web channel with "Mes demandes" over the real bus,
// database and router, its links written to the development outboxes.
type espSite struct {
	url  string
	st   stack.Stack
	mail *mailer.Outbox
	sms  *sms.Outbox
	idp  *oidcprovider.Provider // nil without FranceConnect
}

type espOptions struct {
	franceConnect bool
	perClient     int // links per client address a quarter of an hour; default 1000
}

// espClientHeader lets a test speak from several client addresses.
const espClientHeader = "X-Test-Client"

func espSetup(t *testing.T, opts espOptions) espSite {
	t.Helper()
	ctx := context.Background()
	st := stack.New(t, stack.Options{Router: true})
	mail, err := mailer.NewOutbox(t.TempDir(), "Métropole <ne-pas-repondre@example.org>")
	if err != nil {
		t.Fatal(err)
	}
	texts, err := sms.NewOutbox(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	files, err := attachment.NewStore(ctx, st.Conn.JS)
	if err != nil {
		t.Fatal(err)
	}
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	if opts.perClient == 0 {
		opts.perClient = 1000
	}
	cfg := webform.Config{Secret: string(stack.Secret), RatePerMinute: 1000, PublicURL: srv.URL,
		Space: webform.SpaceConfig{LinksPerClient: opts.perClient},
		ClientIP: func(r *http.Request) string {
			if c := r.Header.Get(espClientHeader); c != "" {
				return c
			}
			host, _, _ := strings.Cut(r.RemoteAddr, ":")
			return host
		}}
	site := espSite{url: srv.URL, st: st, mail: mail, sms: texts}
	if opts.franceConnect {
		site.idp = oidcprovider.Start(t, "guichet-fc", "secret-franceconnect")
		site.idp.SetRedirectURI(srv.URL + "/mes-demandes/franceconnect/retour")
		tr := &http.Transport{}
		t.Cleanup(tr.CloseIdleConnections)
		cfg.Space.FranceConnect = &webform.FranceConnectConfig{IssuerURL: site.idp.URL(), ClientID: "guichet-fc",
			ClientSecret: "secret-franceconnect", HTTPClient: &http.Client{Transport: tr, Timeout: 10 * time.Second}}
	}
	wh, err := webform.New(cfg, webform.Deps{Intake: st.Intake, Store: st.Store, Files: files, Catalogue: st.Catalogue,
		Places: st.Places, Outbox: mail, Log: testkit.Logger(t), Space: st.Store, Mail: mail, SMS: texts})
	if err != nil {
		t.Fatal(err)
	}
	h = wh
	return site
}

// espBrowser is a browser: it keeps cookies and does not follow redirects.
func espBrowser(t *testing.T) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Jar: jar, Transport: tr, Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

type espResponse struct {
	code   int
	header http.Header
	body   string
}

func (r espResponse) location() string { return r.header.Get("Location") }

// espDo sends a request: a GET when form is nil, else a POST of the form.
func espDo(t *testing.T, c *http.Client, target string, form url.Values, header http.Header) espResponse {
	t.Helper()
	method, body := http.MethodGet, io.Reader(nil)
	if form != nil {
		method, body = http.MethodPost, strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	// The body as a person reads it: l&#39;adresse is l'adresse.
	return espResponse{code: resp.StatusCode, header: resp.Header, body: html.UnescapeString(string(raw))}
}

func (s espSite) ask(t *testing.T, c *http.Client, address string, header http.Header) espResponse {
	t.Helper()
	return espDo(t, c, s.url+"/mes-demandes/connexion", url.Values{"adresse": {address}}, header)
}

var espLinkPattern = regexp.MustCompile(`https?://[^\s]+/mes-demandes/lien/[A-Za-z0-9_-]{43}`)

// mailedLinks are the links e-mailed to an address, newest first.
func (s espSite) mailedLinks(t *testing.T, to string) []string {
	t.Helper()
	msgs, err := s.mail.List(context.Background(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range msgs {
		if m.To == to && m.Headers["X-Guichet-Message"] == "mes-demandes-lien" {
			out = append(out, espLinkPattern.FindString(m.Body))
		}
	}
	return out
}

// textedLinks are the links sent by SMS to a number (E.164), newest first.
func (s espSite) textedLinks(t *testing.T, to string) []string {
	t.Helper()
	msgs, err := s.sms.List(context.Background(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range msgs {
		if m.To == to {
			out = append(out, espLinkPattern.FindString(m.Text))
		}
	}
	return out
}

// signIn asks for a link for address, reads it from the outbox, opens it
// and confirms: the browser is signed in.
func (s espSite) signIn(t *testing.T, c *http.Client, address, outboxTo string) {
	t.Helper()
	r := s.ask(t, c, address, nil)
	if r.code != http.StatusSeeOther || !strings.HasPrefix(r.location(), "/mes-demandes/connexion/envoye") {
		t.Fatalf("asking a link for %s: %d %q %s", address, r.code, r.location(), r.body)
	}
	links := s.mailedLinks(t, outboxTo)
	if strings.HasPrefix(outboxTo, "+") {
		links = s.textedLinks(t, outboxTo)
	}
	if len(links) == 0 || links[0] == "" {
		t.Fatalf("no link sent to %s", outboxTo)
	}
	if r := espDo(t, c, links[0], nil, nil); r.code != http.StatusOK {
		t.Fatalf("opening the link: %d %s", r.code, r.body)
	}
	if r := espDo(t, c, links[0], url.Values{}, nil); r.code != http.StatusSeeOther || r.location() != "/mes-demandes?bienvenue=1" {
		t.Fatalf("confirming: %d %q %s", r.code, r.location(), r.body)
	}
}

func espCookie(r espResponse, name string) *http.Cookie {
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// espRequests routes, for the tests, Léa's web request and its follow-up,
// her call, her letter, and Bruno's call that an agent put in Léa's web
// case; it returns their tracking codes and the web case's reference.
type espRequests struct {
	web, followUp, call, letter, bruno string
	webRef                             string
}

func espScene(t *testing.T, st stack.Stack) espRequests {
	t.Helper()
	var q espRequests
	ref, rc := st.Route(t, schemas.Request{Channel: schemas.ChannelWeb, Source: schemas.Source{Adapter: "webform"},
		Citizen: &schemas.Citizen{Name: "Léa Martinez", Email: "lea.martinez@example.net", Phone: "+33612345678"},
		Subject: "Nid-de-poule rue Paradis", Body: "Un trou profond devant le 112 rue Paradis.", Hints: &schemas.Hints{Competence: "voirie"}})
	q.webRef, q.web = ref, rc.TrackingCode
	tracked, err := st.Store.Tracking(context.Background(), q.web)
	if err != nil {
		t.Fatal(err)
	}
	web := tracked.Request
	_, rc = st.Route(t, schemas.Request{Channel: schemas.ChannelWeb, Source: schemas.Source{Adapter: "webform", ExternalID: "suivi:" + q.web},
		Citizen: web.Citizen, Subject: "Message complémentaire — " + q.webRef, Body: "Le trou s'est agrandi.",
		Link: &schemas.Link{CaseRef: q.webRef, By: schemas.LinkByTrackingCode, RequestID: web.ID}, CaseRefs: []string{q.webRef}})
	q.followUp = rc.TrackingCode
	_, rc = st.Route(t, schemas.Request{Channel: schemas.ChannelPhone, Source: schemas.Source{Adapter: "telephony", ExternalID: "appel-lea"},
		Citizen: &schemas.Citizen{Name: "Léa Martinez", Phone: "+33612345678", PreferredReplyChannel: "phone"},
		Body:    "Appel : le bac jaune n'a pas été collecté rue Paradis.", Hints: &schemas.Hints{Competence: "dechets"}})
	q.call = rc.TrackingCode
	_, rc = st.Route(t, schemas.Request{Channel: schemas.ChannelMail, Source: schemas.Source{Adapter: "mailroom", ExternalID: "scan-lea"},
		Citizen: &schemas.Citizen{Name: "Léa Martinez", Email: "lea.martinez@example.net", Phone: "+33612345678", PreferredReplyChannel: "mail"},
		Subject: "Fuite d'eau", Body: "Madame, Monsieur, une fuite d'eau coule devant chez moi.", Hints: &schemas.Hints{Competence: "eau_assainissement"}})
	q.letter = rc.TrackingCode
	_, rc = st.Route(t, schemas.Request{Channel: schemas.ChannelPhone, Source: schemas.Source{Adapter: "telephony", ExternalID: "appel-bruno"},
		Citizen: &schemas.Citizen{Name: "Bruno Roux", Phone: "+33611223344", Email: "bruno.roux@example.org"},
		Body:    "Appel : même trou rue Paradis, Bruno Roux.", Link: &schemas.Link{CaseRef: q.webRef, By: schemas.LinkByAgent}})
	q.bruno = rc.TrackingCode
	if ref := st.CaseRef(t, rc.ID); ref != q.webRef {
		t.Fatalf("Bruno's call is in %s, not in Léa's case %s", ref, q.webRef)
	}
	return q
}

// listed are the tracking codes the space's page links to.
func listed(body string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`<h3><a href="/suivi/([A-Z0-9-]+)">`).FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	seen := map[string]int{}
	for _, x := range a {
		seen[x]++
	}
	for _, x := range b {
		seen[x]--
	}
	for _, n := range seen {
		if n != 0 {
			return false
		}
	}
	return true
}

// Léa signs in by a link e-mailed to her: she sees her web thread and her
// letter, each with its code, channel, date, case and state in French, and
// not Bruno's call in her own case; the link serves once; signing out ends
// the session on the server, not only in the browser.
func TestSpaceSignInByEmailLink(t *testing.T) {
	s := espSetup(t, espOptions{})
	q := espScene(t, s.st)
	c := espBrowser(t)

	// Without a session: to the sign-in page.
	if r := espDo(t, c, s.url+"/mes-demandes", nil, nil); r.code != http.StatusSeeOther || r.location() != "/mes-demandes/connexion" {
		t.Fatalf("no session: %d %q", r.code, r.location())
	}
	page := espDo(t, c, s.url+"/mes-demandes/connexion", nil, nil)
	if page.code != http.StatusOK || !strings.Contains(page.body, `action="/mes-demandes/connexion"`) || strings.Contains(page.body, "FranceConnect") {
		t.Fatalf("sign-in page: %d %s", page.code, page.body)
	}
	if r := espDo(t, c, s.url+"/mes-demandes/franceconnect", nil, nil); r.code != http.StatusNotFound {
		t.Errorf("FranceConnect not configured: %d", r.code)
	}
	r := s.ask(t, c, "  Lea.Martinez@Example.NET ", nil)
	if r.code != http.StatusSeeOther || r.location() != "/mes-demandes/connexion/envoye?par=courriel" {
		t.Fatalf("ask: %d %q %s", r.code, r.location(), r.body)
	}
	if sent := espDo(t, c, s.url+r.location(), nil, nil); sent.code != http.StatusOK || !strings.Contains(sent.body, "vient d'être envoyé par e-mail") {
		t.Fatalf("sent page: %d %s", sent.code, sent.body)
	}
	links := s.mailedLinks(t, "lea.martinez@example.net")
	if len(links) != 1 || !strings.HasPrefix(links[0], s.url+"/mes-demandes/lien/") {
		t.Fatalf("links mailed: %q", links)
	}
	link := links[0]

	// Opening it (as a mail scanner would, twice) does not use it.
	for range 2 {
		confirm := espDo(t, c, link, nil, nil)
		if confirm.code != http.StatusOK || !strings.Contains(confirm.body, "l•••@example.net") ||
			!strings.Contains(confirm.body, `<form method="post" action="/mes-demandes/lien/`) {
			t.Fatalf("confirm page: %d %s", confirm.code, confirm.body)
		}
	}
	r = espDo(t, c, link, url.Values{}, nil)
	if r.code != http.StatusSeeOther || r.location() != "/mes-demandes?bienvenue=1" {
		t.Fatalf("confirm: %d %q %s", r.code, r.location(), r.body)
	}
	cookie := espCookie(r, "guichet_mes_demandes")
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode || cookie.Path != "/mes-demandes" || cookie.Secure || cookie.MaxAge != 0 {
		t.Fatalf("session cookie %+v", cookie)
	}
	// The session is kept on the server: its token's hash, for 4 hours at
	// most.
	db, err := pgx.Connect(context.Background(), s.st.DBURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(context.Background())
	var lifetime time.Duration
	var email string
	if err := db.QueryRow(context.Background(), `SELECT expires_at - created_at, email FROM citizen_sessions WHERE id = sha256(decode(translate($1, '-_', '+/') || '=', 'base64'))`,
		cookie.Value).Scan(&lifetime, &email); err != nil || lifetime != 4*time.Hour || email != "lea.martinez@example.net" {
		t.Fatalf("session row: %s %q %v", lifetime, email, err)
	}
	// Pressed twice in the same browser: the list, signed in once.
	if again := espDo(t, c, link, url.Values{}, nil); again.code != http.StatusSeeOther || again.location() != "/mes-demandes" || espCookie(again, "guichet_mes_demandes") != nil {
		t.Fatalf("the button pressed twice: %d %q", again.code, again.location())
	}
	// Used: it serves no more, looked at or confirmed.
	if again := espDo(t, espBrowser(t), link, url.Values{}, nil); again.code != http.StatusNotFound || !strings.Contains(again.body, "n'est plus valable") {
		t.Fatalf("link used twice: %d %s", again.code, again.body)
	}
	if again := espDo(t, espBrowser(t), link, nil, nil); again.code != http.StatusNotFound {
		t.Fatalf("used link shown: %d", again.code)
	}

	list := espDo(t, c, s.url+"/mes-demandes?bienvenue=1", nil, nil)
	if list.code != http.StatusOK {
		t.Fatalf("list: %d %s", list.code, list.body)
	}
	if got := listed(list.body); !sameSet(got, []string{q.web, q.letter}) {
		t.Errorf("Léa by e-mail sees %v, want her web thread %s and letter %s", got, q.web, q.letter)
	}
	for _, other := range []string{q.bruno, q.call, "Bruno", "bruno.roux"} {
		if strings.Contains(list.body, other) {
			t.Errorf("the list shows %q (Bruno's call in Léa's case, or her call, which carries no address)", other)
		}
	}
	state := catalogue.StateLabel(firstCaseState(t, s, q.webRef))
	for _, want := range []string{"Nid-de-poule rue Paradis", "Fuite d'eau", q.webRef, state, "formulaire en ligne", "courrier",
		"<dt>Messages</dt><dd>2,", "lea.martinez@example.net", "Vous êtes connecté(e)", `action="/mes-demandes/deconnexion"`,
		"Voir aussi les demandes faites avec votre mobile"} {
		if !strings.Contains(list.body, want) {
			t.Errorf("the list lacks %q", want)
		}
	}

	// Sign-out: refused cross-site, then done; the old cookie is dead on
	// the server too.
	if r := espDo(t, c, s.url+"/mes-demandes/deconnexion", url.Values{}, http.Header{"Sec-Fetch-Site": {"cross-site"}}); r.code != http.StatusForbidden {
		t.Fatalf("cross-site sign-out: %d", r.code)
	}
	if r := espDo(t, c, s.url+"/mes-demandes", nil, nil); r.code != http.StatusOK {
		t.Fatalf("still signed in after the refused sign-out: %d", r.code)
	}
	r = espDo(t, c, s.url+"/mes-demandes/deconnexion", url.Values{}, nil)
	if r.code != http.StatusSeeOther || r.location() != "/mes-demandes/deconnecte" {
		t.Fatalf("sign-out: %d %q", r.code, r.location())
	}
	if cl := espCookie(r, "guichet_mes_demandes"); cl == nil || cl.MaxAge >= 0 {
		t.Errorf("sign-out does not clear the cookie: %+v", cl)
	}
	if r := espDo(t, c, s.url+"/mes-demandes/deconnecte", nil, nil); r.code != http.StatusOK || !strings.Contains(r.body, "déconnecté") {
		t.Errorf("signed-out page: %d", r.code)
	}
	replay := espBrowser(t)
	u, _ := url.Parse(s.url + "/mes-demandes")
	replay.Jar.SetCookies(u, []*http.Cookie{{Name: "guichet_mes_demandes", Value: cookie.Value, Path: "/mes-demandes"}})
	if r := espDo(t, replay, s.url+"/mes-demandes", nil, nil); r.code != http.StatusSeeOther || r.location() != "/mes-demandes/connexion" {
		t.Fatalf("the cookie of a closed session: %d", r.code)
	}
}

func firstCaseState(t *testing.T, s espSite, ref string) string {
	t.Helper()
	c, err := s.st.Store.Case(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	return c.State
}

// By SMS to her mobile Léa sees her call, her web thread and her letter
// (which give that number); adding her address in the same browser keeps
// them all in one session. Bruno, signed in by his own mobile, sees only
// his call, though it is in Léa's case.
func TestSpaceSignInBySMSAndBoth(t *testing.T) {
	s := espSetup(t, espOptions{})
	q := espScene(t, s.st)
	c := espBrowser(t)
	r := s.ask(t, c, "06 12 34 56 78", nil)
	if r.code != http.StatusSeeOther || r.location() != "/mes-demandes/connexion/envoye?par=sms" {
		t.Fatalf("ask by SMS: %d %q %s", r.code, r.location(), r.body)
	}
	texts, err := s.sms.List(context.Background(), 10)
	if err != nil || len(texts) != 1 || texts[0].To != "+33612345678" || texts[0].Parts > 2 || !strings.Contains(texts[0].Text, "valable 15 min") {
		t.Fatalf("SMS sent: %+v %v", texts, err)
	}
	link := espLinkPattern.FindString(texts[0].Text)
	if confirm := espDo(t, c, link, nil, nil); !strings.Contains(confirm.body, "06 •• •• •• 78") {
		t.Errorf("confirm page does not name the number masked: %s", confirm.body)
	}
	if r := espDo(t, c, link, url.Values{}, nil); r.code != http.StatusSeeOther {
		t.Fatalf("confirm: %d %s", r.code, r.body)
	}
	list := espDo(t, c, s.url+"/mes-demandes", nil, nil)
	if got := listed(list.body); !sameSet(got, []string{q.web, q.call, q.letter}) {
		t.Errorf("Léa by SMS sees %v, want web %s, call %s, letter %s", got, q.web, q.call, q.letter)
	}
	if !strings.Contains(list.body, "06 12 34 56 78") || !strings.Contains(list.body, "téléphone") || strings.Contains(list.body, q.bruno) {
		t.Errorf("list by SMS: %s", list.body)
	}

	// Her address too, proved in the same browser: one session, both.
	s.signIn(t, c, "lea.martinez@example.net", "lea.martinez@example.net")
	list = espDo(t, c, s.url+"/mes-demandes", nil, nil)
	if !strings.Contains(list.body, "l'adresse <strong>lea.martinez@example.net</strong> et le numéro <strong>06 12 34 56 78</strong>") {
		t.Errorf("the session does not hold both: %s", list.body)
	}
	if got := listed(list.body); !sameSet(got, []string{q.web, q.call, q.letter}) {
		t.Errorf("Léa with both sees %v", got)
	}
	if strings.Contains(list.body, "Voir aussi les demandes") {
		t.Errorf("offers to add what the session holds")
	}

	// Bruno, by his mobile: his call only, never Léa's requests of the case.
	b := espBrowser(t)
	s.signIn(t, b, "+33 6 11 22 33 44", "+33611223344")
	list = espDo(t, b, s.url+"/mes-demandes", nil, nil)
	if got := listed(list.body); !sameSet(got, []string{q.bruno}) {
		t.Errorf("Bruno sees %v, want his call %s only", got, q.bruno)
	}
	for _, lea := range []string{q.web, q.followUp, q.call, q.letter, "Léa", "Nid-de-poule"} {
		if strings.Contains(list.body, lea) {
			t.Errorf("Bruno's space shows %q", lea)
		}
	}
}

// What an attacker tries, and what each gets.
func TestSpaceAbuse(t *testing.T) {
	s := espSetup(t, espOptions{perClient: 10})
	ctx := context.Background()
	db, err := pgx.Connect(ctx, s.st.DBURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	from := func(client string) http.Header { return http.Header{espClientHeader: {client}} }
	sentCount := func() int {
		t.Helper()
		m, _ := s.mail.List(ctx, 1000)
		x, _ := s.sms.List(ctx, 1000)
		return len(m) + len(x)
	}

	t.Run("tampered, foreign and expired cookies", func(t *testing.T) {
		forged := base64.RawURLEncoding.EncodeToString([]byte(rand.Text() + rand.Text())[:32])
		for _, v := range []string{forged, "court", strings.Repeat("A", 43), forged + "x"} {
			c := espBrowser(t)
			u, _ := url.Parse(s.url + "/mes-demandes")
			c.Jar.SetCookies(u, []*http.Cookie{{Name: "guichet_mes_demandes", Value: v, Path: "/mes-demandes"}})
			r := espDo(t, c, s.url+"/mes-demandes", nil, nil)
			if r.code != http.StatusSeeOther || r.location() != "/mes-demandes/connexion" {
				t.Errorf("cookie %q: %d %q", v, r.code, r.location())
			}
			if cl := espCookie(r, "guichet_mes_demandes"); cl == nil || cl.MaxAge >= 0 {
				t.Errorf("cookie %q not cleared", v)
			}
		}
		// Idle for 31 minutes, or past its 4 hours: ended.
		for _, expire := range []string{
			`UPDATE citizen_sessions SET last_seen_at = now() - interval '31 minutes'`,
			`UPDATE citizen_sessions SET expires_at = now() - interval '1 second'`,
		} {
			c := espBrowser(t)
			s.signIn(t, c, "expire@example.net", "expire@example.net")
			if r := espDo(t, c, s.url+"/mes-demandes", nil, nil); r.code != http.StatusOK {
				t.Fatalf("signed in: %d", r.code)
			}
			if _, err := db.Exec(ctx, expire); err != nil {
				t.Fatal(err)
			}
			if r := espDo(t, c, s.url+"/mes-demandes", nil, nil); r.code != http.StatusSeeOther || r.location() != "/mes-demandes/connexion" {
				t.Errorf("after %q: %d", expire, r.code)
			}
			if _, err := db.Exec(ctx, `DELETE FROM citizen_sign_in_links`); err != nil {
				t.Fatal(err)
			}
		}
	})

	t.Run("expired, reused, unknown and malformed links", func(t *testing.T) {
		c := espBrowser(t)
		s.ask(t, c, "perime@example.net", nil)
		link := s.mailedLinks(t, "perime@example.net")[0]
		if _, err := db.Exec(ctx, `UPDATE citizen_sign_in_links SET expires_at = now() - interval '1 second' WHERE address = 'perime@example.net'`); err != nil {
			t.Fatal(err)
		}
		unknown := s.url + "/mes-demandes/lien/" + base64.RawURLEncoding.EncodeToString([]byte(rand.Text() + rand.Text())[:32])
		for _, l := range []string{link, unknown, s.url + "/mes-demandes/lien/abc", s.url + "/mes-demandes/lien/" + strings.Repeat("%00", 43)} {
			for _, form := range []url.Values{nil, {}} {
				r := espDo(t, c, l, form, nil)
				if r.code != http.StatusNotFound && r.code != http.StatusBadRequest {
					t.Errorf("%s (POST %v): %d", l, form != nil, r.code)
				}
				if espCookie(r, "guichet_mes_demandes") != nil && espCookie(r, "guichet_mes_demandes").MaxAge >= 0 {
					t.Errorf("%s: a session cookie", l)
				}
			}
		}
		if r := espDo(t, c, s.url+"/mes-demandes", nil, nil); r.code != http.StatusSeeOther {
			t.Errorf("signed in by a dead link: %d", r.code)
		}
	})

	t.Run("malformed, landline, oversized, unreadable", func(t *testing.T) {
		before := sentCount()
		c := espBrowser(t)
		for _, tt := range []struct{ typed, says string }{
			{"", "Indiquez votre adresse e-mail ou votre numéro de mobile"},
			{"lea@", "L'adresse e-mail n'est pas valide"},
			{"Léa <lea@example.net>", "L'adresse e-mail n'est pas valide"},
			{"lea@example.net, marc@example.org", "L'adresse e-mail n'est pas valide"},
			{"12", "ni une adresse e-mail ni un numéro"},
			{"04 91 91 91 91", "n'est pas celui d'un mobile"},
			{"08 00 12 34 56", "n'est pas celui d'un mobile"},
			{strings.Repeat("a", 300) + "@example.net", "trop long"},
		} {
			r := espDo(t, c, s.url+"/mes-demandes/connexion", url.Values{"adresse": {tt.typed}}, from("203.0.113.1"))
			if r.code != http.StatusUnprocessableEntity || !strings.Contains(r.body, tt.says) || !strings.Contains(r.body, `aria-invalid="true"`) ||
				!strings.Contains(r.body, "<title>Erreur : ") {
				t.Errorf("%q: %d, want 422 saying %q: %s", tt.typed, r.code, tt.says, r.body)
			}
		}
		if r := espDo(t, c, s.url+"/mes-demandes/connexion", url.Values{"adresse": {strings.Repeat("x", 9000)}}, from("203.0.113.1")); r.code != http.StatusRequestEntityTooLarge {
			t.Errorf("a 9 kB body: %d", r.code)
		}
		if r := espDo(t, c, s.url+"/mes-demandes/connexion", url.Values{"adresse": {"lea\x00@example.net"}}, from("203.0.113.1")); r.code != http.StatusBadRequest {
			t.Errorf("a NUL: %d", r.code)
		}
		if n := sentCount(); n != before {
			t.Errorf("%d messages sent for refused addresses", n-before)
		}
	})

	t.Run("the same answer for an address nobody gave", func(t *testing.T) {
		// Léa has a request; nobody gave the other address. Both are sent
		// a link, and both askers see the same thing.
		s.st.Route(t, schemas.Request{Channel: schemas.ChannelWeb, Source: schemas.Source{Adapter: "webform"},
			Citizen: &schemas.Citizen{Email: "connue@example.net"}, Body: "Lampadaire éteint.", Hints: &schemas.Hints{Competence: "eclairage"}})
		known := s.ask(t, espBrowser(t), "connue@example.net", from("203.0.113.2"))
		unknown := s.ask(t, espBrowser(t), "inconnue@example.net", from("203.0.113.3"))
		if known.code != unknown.code || known.location() != unknown.location() || known.body != unknown.body {
			t.Errorf("known: %d %q %q; unknown: %d %q %q", known.code, known.location(), known.body, unknown.code, unknown.location(), unknown.body)
		}
		if len(s.mailedLinks(t, "connue@example.net")) != 1 || len(s.mailedLinks(t, "inconnue@example.net")) != 1 {
			t.Errorf("a link to each: %v %v", s.mailedLinks(t, "connue@example.net"), s.mailedLinks(t, "inconnue@example.net"))
		}
		// Signed in, the unknown one sees an empty list.
		c := espBrowser(t)
		s.signIn(t, c, "inconnue@example.net", "inconnue@example.net")
		if r := espDo(t, c, s.url+"/mes-demandes", nil, nil); !strings.Contains(r.body, `id="aucune"`) || len(listed(r.body)) != 0 {
			t.Errorf("empty list: %s", r.body)
		}
	})

	t.Run("three links per address a quarter of an hour", func(t *testing.T) {
		for i := range 3 {
			if r := s.ask(t, espBrowser(t), "flood@example.net", from("203.0.113.10")); r.code != http.StatusSeeOther {
				t.Fatalf("link %d: %d", i+1, r.code)
			}
		}
		r := s.ask(t, espBrowser(t), "FLOOD@example.net", from("203.0.113.11"))
		if r.code != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" || !strings.Contains(r.body, "3 liens de connexion ont déjà été envoyés") {
			t.Fatalf("a fourth link to the address from elsewhere: %d %s", r.code, r.body)
		}
		if n := len(s.mailedLinks(t, "flood@example.net")); n != 3 {
			t.Errorf("%d links sent to the flooded address", n)
		}
		if r := s.ask(t, espBrowser(t), "+33 6 87 65 43 21", from("203.0.113.10")); r.code != http.StatusSeeOther {
			t.Errorf("another address from the same client: %d", r.code)
		}
	})

	t.Run("ten links per client address a quarter of an hour", func(t *testing.T) {
		for i := range 10 {
			if r := s.ask(t, espBrowser(t), "voisin"+string(rune('a'+i))+"@example.net", from("198.51.100.7")); r.code != http.StatusSeeOther {
				t.Fatalf("link %d: %d %s", i+1, r.code, r.body)
			}
		}
		r := s.ask(t, espBrowser(t), "voisink@example.net", from("198.51.100.7"))
		if r.code != http.StatusTooManyRequests || !strings.Contains(r.body, "depuis votre connexion") {
			t.Fatalf("an eleventh link from the client: %d %s", r.code, r.body)
		}
		if len(s.mailedLinks(t, "voisink@example.net")) != 0 {
			t.Errorf("the eleventh link was sent")
		}
		if r := s.ask(t, espBrowser(t), "voisink@example.net", from("198.51.100.8")); r.code != http.StatusSeeOther {
			t.Errorf("another client: %d", r.code)
		}
	})
}

// Without a store, no "Mes demandes"; with one but without SMS, mobile
// numbers are refused and no SMS is attempted.
func TestSpaceWithoutSMS(t *testing.T) {
	st := stack.New(t, stack.Options{})
	mail, err := mailer.NewOutbox(t.TempDir(), "Métropole <ne-pas-repondre@example.org>")
	if err != nil {
		t.Fatal(err)
	}
	files, err := attachment.NewStore(context.Background(), st.Conn.JS)
	if err != nil {
		t.Fatal(err)
	}
	deps := webform.Deps{Intake: st.Intake, Store: st.Store, Files: files, Catalogue: st.Catalogue, Places: st.Places, Log: testkit.Logger(t)}
	h, err := webform.New(webform.Config{Secret: string(stack.Secret)}, deps)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	if r := espDo(t, espBrowser(t), srv.URL+"/mes-demandes", nil, nil); r.code != http.StatusNotFound {
		t.Errorf("without a store: %d", r.code)
	}
	deps.Space, deps.Mail = st.Store, mail
	if _, err := webform.New(webform.Config{Secret: string(stack.Secret)}, deps); err == nil {
		t.Errorf("« Mes demandes » without a public URL to write its links")
	}
	h, err = webform.New(webform.Config{Secret: string(stack.Secret), PublicURL: "https://demarches.example.org"}, deps)
	if err != nil {
		t.Fatal(err)
	}
	srv2 := httptest.NewServer(h)
	t.Cleanup(srv2.Close)
	c := espBrowser(t)
	if r := espDo(t, c, srv2.URL+"/mes-demandes/connexion", nil, nil); strings.Contains(r.body, "numéro de mobile") {
		t.Errorf("offers SMS without a sender")
	}
	if r := espDo(t, c, srv2.URL+"/mes-demandes/connexion", url.Values{"adresse": {"06 12 34 56 78"}}, nil); r.code != http.StatusUnprocessableEntity || !strings.Contains(r.body, "par SMS n'est pas disponible") {
		t.Errorf("a mobile without SMS: %d %s", r.code, r.body)
	}
	// Over https, the session cookie is Secure.
	if r := espDo(t, c, srv2.URL+"/mes-demandes/connexion", url.Values{"adresse": {"lea@example.net"}}, nil); r.code != http.StatusSeeOther {
		t.Fatalf("ask: %d", r.code)
	}
	msgs, _ := mail.List(context.Background(), 1)
	link := espLinkPattern.FindString(msgs[0].Body)
	if !strings.HasPrefix(link, "https://demarches.example.org/mes-demandes/lien/") {
		t.Fatalf("link %q", link)
	}
	r := espDo(t, c, srv2.URL+strings.TrimPrefix(link, "https://demarches.example.org"), url.Values{}, nil)
	if ck := espCookie(r, "guichet_mes_demandes"); r.code != http.StatusSeeOther || ck == nil || !ck.Secure {
		t.Errorf("session cookie over https: %d %+v", r.code, ck)
	}
}
