package webform_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/cases/deadline"
	"github.com/ampmetropole/guichet/services/cases/lifecycle"
	"github.com/ampmetropole/guichet/services/intake/attachment"
	"github.com/ampmetropole/guichet/services/platform/frtime"
	"github.com/ampmetropole/guichet/services/testkit"
	testbrowser "github.com/ampmetropole/guichet/services/testkit/browser"
)

// title reads a page's <title>.
func title(body string) string {
	m := regexp.MustCompile(`<title>([^<]*)</title>`).FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

// errorMessages lists the messages of a page's error summary.
func errorMessages(body string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`<li><a href="#[a-z_]+">([^<]*)</a></li>`).FindAllStringSubmatch(body, -1) {
		out = append(out, html.UnescapeString(m[1]))
	}
	return out
}

// routeByHand routes a recorded request into a new case, as the router
// would, for tests that run without one.
func routeByHand(t *testing.T, b testBundle, code string) string {
	t.Helper()
	ctx := context.Background()
	tr, err := b.store.Tracking(ctx, code)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := b.validator.EncodeRequest(tr.Request)
	if err != nil {
		t.Fatal(err)
	}
	due := time.Now().Add(72 * time.Hour)
	var ref string
	if _, err := b.store.Route(ctx, func(ctx context.Context, tx *casestore.RouteTx) error {
		if err := tx.ClaimRequest(ctx, tr.Request, raw); err != nil {
			return err
		}
		c, err := tx.CreateCase(ctx, casestore.NewCase{Competence: "voirie", Territory: "marseille-provence", Deadline: &due})
		if err != nil {
			return err
		}
		ref = c.Ref
		return tx.FinishRequest(ctx, tr.Request.ID, c.ID, 0)
	}); err != nil {
		t.Fatal(err)
	}
	return ref
}

// The find page: what was typed stays in the field with a precise error,
// a known code leads to its page.
func TestFindPageKeepsWhatWasTyped(t *testing.T) {
	b := setup(t, options{})
	code := submit(t, b, validFields(), nil)
	waitCase(t, b, code)
	tests := []struct {
		name     string
		query    string
		status   int
		location string // for a redirect
		kept     string // the field's value
		says     string
	}{
		{"the empty form", "", http.StatusOK, "", "", ""},
		{"sent empty", "?code=+", http.StatusUnprocessableEntity, "", "", "Indiquez votre code de suivi"},
		{"too short", "?code=7KQ4-M2XD", http.StatusUnprocessableEntity, "", "7KQ4-M2XD", "vous en avez saisi 8"},
		{"a U, never used", "?code=7KQ4-M2XD-9HPU", http.StatusUnprocessableEntity, "", "7KQ4-M2XD-9HPU", "la lettre U"},
		{"unknown", "?code=zzzz-zzzz-zzzy", http.StatusNotFound, "", "zzzz-zzzz-zzzy", "Aucune demande ne correspond au code «\u00a0zzzz-zzzz-zzzy\u00a0»"},
		{"markup typed", "?code=" + url.QueryEscape(`"><b>x`), http.StatusUnprocessableEntity, "", `&#34;&gt;&lt;b&gt;x`, "vous en avez saisi 2"},
		{"known, typed loosely", "?code=" + url.QueryEscape(strings.ToLower(strings.ReplaceAll(code, "-", " "))), http.StatusSeeOther, "/suivi/" + code, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := get(t, b.srv.URL+"/suivi"+tt.query)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if tt.location != "" {
				if got := resp.Header.Get("Location"); got != tt.location {
					t.Errorf("redirected to %q, want %q", got, tt.location)
				}
				return
			}
			if tt.kept != "" && !strings.Contains(body, `value="`+tt.kept+`"`) {
				t.Errorf("the field does not keep %q:\n%s", tt.kept, body)
			}
			if tt.says == "" {
				if strings.Contains(body, `id="erreurs"`) || strings.HasPrefix(title(body), "Erreur") {
					t.Errorf("an error on the empty find page")
				}
				return
			}
			if !strings.Contains(body, html.EscapeString(tt.says)) || !strings.Contains(body, `id="code-erreur"`) || !strings.Contains(body, `aria-invalid="true"`) {
				t.Errorf("no error %q at the field", tt.says)
			}
			if !strings.HasPrefix(title(body), "Erreur : Suivre une demande") {
				t.Errorf("title %q does not say there is an error", title(body))
			}
		})
	}
	// A code in the path that leads nowhere keeps it too.
	resp, body := get(t, b.srv.URL+"/suivi/ZZZZ-ZZZZ-ZZZY")
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, `value="ZZZZ-ZZZZ-ZZZY"`) || !strings.HasPrefix(title(body), "Erreur") {
		t.Errorf("unknown code in the path: %d, field and title %q", resp.StatusCode, title(body))
	}
}

// The empty form says each thing once, and its title says it came back
// with errors; the contact and reply errors never repeat each other.
func TestFormErrorsAreDistinctAndTitled(t *testing.T) {
	b := setup(t, options{rate: 1000})
	tests := []struct {
		name   string
		fields url.Values
		want   []string // the summary's messages, in order (prefixes)
	}{
		{"empty, as a browser sends it", url.Values{"reponse": {"email"}}, []string{
			"Indiquez l'objet de votre demande", "Décrivez votre demande", "Indiquez vos nom et prénom",
			"Indiquez au moins une adresse e-mail ou un numéro de téléphone"}},
		{"no contact, reply by phone", url.Values{"objet": {"x"}, "description": {"y"}, "nom": {"Léa"}, "reponse": {"telephone"}}, []string{
			"Indiquez au moins une adresse e-mail ou un numéro de téléphone"}},
		{"a phone, reply by e-mail", url.Values{"objet": {"x"}, "description": {"y"}, "nom": {"Léa"}, "telephone": {"0639981427"}, "reponse": {"email"}}, []string{
			"Vous avez choisi une réponse par e-mail : indiquez votre adresse e-mail, ou choisissez une réponse par téléphone."}},
		{"an e-mail, reply by phone", url.Values{"objet": {"x"}, "description": {"y"}, "nom": {"Léa"}, "email": {"lea@example.net"}, "reponse": {"telephone"}}, []string{
			"Vous avez choisi une réponse par téléphone : indiquez votre numéro, ou choisissez une réponse par e-mail."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := post(t, b.srv.URL+"/demande", tt.fields, nil, nil)
			if resp.StatusCode != http.StatusUnprocessableEntity {
				t.Fatalf("status %d", resp.StatusCode)
			}
			got := errorMessages(body)
			if len(got) != len(tt.want) {
				t.Fatalf("errors %q, want %d", got, len(tt.want))
			}
			seen := map[string]bool{}
			for i, m := range got {
				if !strings.HasPrefix(m, tt.want[i]) {
					t.Errorf("error %d: %q, want %q…", i, m, tt.want[i])
				}
				if seen[m] {
					t.Errorf("the error %q is said twice", m)
				}
				seen[m] = true
			}
			wantTitle := "Erreur : Faire une demande (1 point à corriger)"
			if len(got) > 1 {
				wantTitle = "Erreur : Faire une demande (" + string(rune('0'+len(got))) + " points à corriger)"
			}
			if !strings.HasPrefix(title(body), wantTitle) {
				t.Errorf("title %q, want %q", title(body), wantTitle)
			}
		})
	}
	if _, body := get(t, b.srv.URL+"/demande"); strings.HasPrefix(title(body), "Erreur") {
		t.Errorf("the form's title says error before anything was sent: %q", title(body))
	}
}

// The status page shows the place as typed, when the answer is due or that
// the clock waits for the citizen, and the photos as thumbnails served only
// to that thread's codes.
func TestStatusPageShowsPlaceDeadlineAndPhotos(t *testing.T) {
	b := setup(t, options{})
	ctx := context.Background()
	photo, pdf := jpegPhoto(t), []byte(minimalPDF)
	code := submit(t, b, validFields(), []upload{{"fichiers", "trou.jpg", photo}, {"fichiers", "plan.pdf", pdf}})
	tr := waitCase(t, b, code)
	photoSHA, pdfSHA := shaOf(photo), shaOf(pdf)

	resp, body := get(t, b.srv.URL+"/suivi/"+code)
	if resp.StatusCode != 200 {
		t.Fatalf("status page: %d", resp.StatusCode)
	}
	if !strings.Contains(body, `<span id="lieu">112 rue Paradis, 13006 Marseille</span>`) {
		t.Errorf("the place typed is not shown:\n%s", body)
	}
	c, err := b.store.Case(ctx, tr.Case.Ref)
	if err != nil || c.Deadline == nil {
		t.Fatalf("case deadline: %v %v", c.Deadline, err)
	}
	if !strings.Contains(body, "Réponse attendue</span> avant le <time datetime=\"") || !strings.Contains(body, frtime.DateTime(*c.Deadline)) {
		t.Errorf("the deadline %s is not shown", frtime.DateTime(*c.Deadline))
	}
	for _, want := range []string{
		`<a href="/suivi/` + code + `/pieces/` + photoSHA + `"><img src="/suivi/` + code + `/pieces/` + photoSHA + `" alt="trou.jpg"`,
		`<a href="/suivi/` + code + `/pieces/` + pdfSHA + `">plan.pdf</a> (document PDF, `,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("status page lacks %s", want)
		}
	}

	// The files themselves, with headers that let nothing in them run.
	for _, f := range []struct {
		sha, ctype, disposition string
		data                    []byte
	}{
		{photoSHA, "image/jpeg", `inline; filename=trou.jpg`, photo},
		{pdfSHA, "application/pdf", `attachment; filename=plan.pdf`, pdf},
	} {
		resp, got := get(t, b.srv.URL+"/suivi/"+code+"/pieces/"+f.sha)
		hd := resp.Header
		if resp.StatusCode != 200 || got != string(f.data) {
			t.Fatalf("%s: %d, %d bytes", f.ctype, resp.StatusCode, len(got))
		}
		if hd.Get("Content-Type") != f.ctype || hd.Get("Content-Disposition") != f.disposition ||
			hd.Get("Content-Security-Policy") != "default-src 'none'; sandbox" || hd.Get("X-Content-Type-Options") != "nosniff" ||
			hd.Get("Cache-Control") != "no-store" {
			t.Errorf("%s served with %v", f.ctype, hd)
		}
	}

	// Abuse: every one of these is the same 404, which tells nothing.
	other := validFields()
	other.Set("email", "paul.roux@example.org")
	otherPhoto := jpegPhoto(t)
	otherPhoto = append(otherPhoto[:len(otherPhoto):len(otherPhoto)], 0) // another file
	otherCode := submit(t, b, other, []upload{{"fichiers", "chez-paul.jpg", otherPhoto}})
	waitCase(t, b, otherCode)
	loose, err := b.files.Put(ctx, attachment.File{Name: "ailleurs.pdf", ContentType: "application/pdf", Data: []byte(minimalPDF + "%ailleurs\n"),
		SHA256: shaOf([]byte(minimalPDF + "%ailleurs\n"))})
	if err != nil {
		t.Fatal(err)
	}
	for name, path := range map[string]string{
		"another request's file (same citizen)": "/suivi/" + code + "/pieces/" + shaOf(otherPhoto),
		"a stored file of no request":           "/suivi/" + code + "/pieces/" + loose.SHA256,
		"a hash in capitals":                    "/suivi/" + code + "/pieces/" + strings.ToUpper(photoSHA),
		"a hash too short":                      "/suivi/" + code + "/pieces/" + photoSHA[:63],
		"not a hash":                            "/suivi/" + code + "/pieces/..%2f..%2fetc%2fpasswd",
		"an unknown code":                       "/suivi/ZZZZ-ZZZZ-ZZZY/pieces/" + photoSHA,
		"a malformed code":                      "/suivi/pas-un-code/pieces/" + photoSHA,
		"the other's file, on its code":         "/suivi/" + otherCode + "/pieces/" + photoSHA,
		"a hash with a trailing newline":        "/suivi/" + code + "/pieces/" + photoSHA + "%0A",
	} {
		resp, got := get(t, b.srv.URL+path)
		if resp.StatusCode != http.StatusNotFound || strings.Contains(got, string(photo[:16])) {
			t.Errorf("%s: %d, want 404", name, resp.StatusCode)
		}
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
			t.Errorf("%s: served as %q", name, ct)
		}
	}
	// The other thread's own page serves its own photo.
	if resp, _ := get(t, b.srv.URL+"/suivi/"+otherCode+"/pieces/"+shaOf(otherPhoto)); resp.StatusCode != 200 {
		t.Errorf("the other thread's photo on its own page: %d", resp.StatusCode)
	}

	// A deadline passed: the page says so and how to chase it.
	if strings.Contains(body, "Ce délai est dépassé") {
		t.Error("a deadline to come is said to be passed")
	}
	testkit.Exec(t, b.dbURL, `UPDATE cases SET deadline = now() - interval '1 hour' WHERE ref = $1`, tr.Case.Ref)
	if _, body := get(t, b.srv.URL+"/suivi/"+code); !strings.Contains(body, "Ce délai est dépassé") {
		t.Error("a passed deadline is not said to be passed")
	}

	// Waiting on the citizen: the clock is paused, and the page says so.
	cal := deadline.New(frtime.Paris())
	for _, to := range []struct{ state, on string }{{lifecycle.Qualified, ""}, {lifecycle.Waiting, "citizen"}} {
		if _, err := b.store.Transition(ctx, casestore.TransitionRequest{Ref: tr.Case.Ref, To: to.state, Role: lifecycle.RoleTeam, WaitingOn: to.on,
			Change: casestore.Change{Actor: "camille", Reason: "photo du compteur demandée"}}, cal); err != nil {
			t.Fatal(err)
		}
	}
	_, body = get(t, b.srv.URL+"/suivi/"+code)
	if !strings.Contains(body, "Délai suspendu</span> : nous attendons votre réponse") || strings.Contains(body, "Réponse attendue</span>") {
		t.Errorf("waiting on the citizen: the page does not say the clock is paused")
	}
}

func shaOf(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

// A follow-up shows on the page the citizen is sent back to, at once,
// though no router has handled it yet; the confirmation names no new code:
// the citizen keeps the one they have.
func TestFollowUpShowsAtOnceUnderTheSameCode(t *testing.T) {
	b := setup(t, options{noRouter: true})
	ctx := context.Background()
	code := submit(t, b, validFields(), nil)
	routeByHand(t, b, code)

	resp, _ := post(t, b.srv.URL+"/suivi/"+code, url.Values{"message": {"Le trou s'est agrandi depuis hier."}}, []upload{{"fichiers", "trou2.jpg", jpegPhoto(t)}}, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/suivi/"+code+"?envoye=1" {
		t.Fatalf("follow-up: %d → %q, want the same code's page", resp.StatusCode, resp.Header.Get("Location"))
	}
	tr, err := b.store.Tracking(ctx, code)
	if err != nil || len(tr.Messages) != 2 {
		t.Fatalf("thread: %d messages, %v", len(tr.Messages), err)
	}
	followCode := tr.Messages[1].Code
	if ft, err := b.store.Tracking(ctx, followCode); err != nil || ft.Status != "received" || ft.Case != nil {
		t.Fatalf("the follow-up is routed (%s, %v): the test proves nothing", ft.Status, err)
	}
	_, body := get(t, b.srv.URL+resp.Header.Get("Location"))
	if !strings.Contains(body, "Votre message a bien été ajouté à votre dossier.") {
		t.Error("no confirmation")
	}
	if !strings.Contains(body, "Le trou s&#39;est agrandi depuis hier.") || !strings.Contains(body, `alt="trou2.jpg"`) {
		t.Error("the message just sent is not among « Vos messages »")
	}
	if strings.Contains(body, followCode) {
		t.Errorf("the page hands out the follow-up's own code %s", followCode)
	}
	// The follow-up's code, should the citizen have it from an older
	// e-mail, shows the same page under the first code.
	_, body = get(t, b.srv.URL+"/suivi/"+followCode)
	if !strings.Contains(body, `id="code-suivi">`+code+`<`) || !strings.Contains(body, "Le trou s&#39;est agrandi") {
		t.Errorf("the follow-up's code does not show the thread under the first code")
	}
}

// Every citizen page carries the footer, the logo and the icons; the three
// footer pages say what the law asks of them.
func TestFooterPagesLogoAndIcon(t *testing.T) {
	b := setup(t, options{})
	for _, path := range []string{"/", "/demande", "/suivi", "/mentions-legales", "/donnees-personnelles", "/accessibilite", "/nulle-part"} {
		_, body := get(t, b.srv.URL+path)
		for _, want := range []string{
			`<a href="/mentions-legales">Mentions légales</a>`, `<a href="/donnees-personnelles">Données personnelles</a>`,
			`<a href="/accessibilite">Accessibilité : non conforme</a>`, `<img class="logo" src="/static/logo.svg" alt="Métropole Aix-Marseille-Provence"`,
			`<link rel="icon" href="/favicon.ico"`, `<link rel="icon" href="/static/icone.svg" type="image/svg+xml">`, "Le Pharo, 58 boulevard Charles Livon",
		} {
			if !strings.Contains(body, want) {
				t.Errorf("%s lacks %s", path, want)
			}
		}
	}
	for path, wants := range map[string][]string{
		"/mentions-legales": {"<h1>Mentions légales</h1>", "Éditeur", "Le président ou la présidente de la Métropole Aix-Marseille-Provence",
			"Hébergement", "à compléter par le déploiement", "aucun cookie"},
		"/donnees-personnelles": {"<h1>Données personnelles</h1>", "Responsable du traitement", "article 6, paragraphe 1, point e",
			"mailto:dpd@ampmetropole.fr", "CNIL", "jamais de votre identité"},
		"/accessibilite": {"<h1>Déclaration d'accessibilité</h1>", "article 47 de la loi n° 2005-102", `<strong id="etat-conformite">non conforme</strong>`,
			"RGAA), version 4.1.2", "aucun audit de conformité", "axe-core (version " + testbrowser.AxeVersion + ")", "clavier", "Contenus non accessibles",
			"Défenseur des droits", "Libre réponse 71120", "04 65 71 00 00", "Cette déclaration a été établie le 7 décembre 2026"},
	} {
		resp, body := get(t, b.srv.URL+path)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d", path, resp.StatusCode)
		}
		for _, want := range wants {
			if !strings.Contains(body, want) {
				t.Errorf("%s lacks %q", path, want)
			}
		}
	}
	resp, ico := get(t, b.srv.URL+"/favicon.ico")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/x-icon" || !strings.HasPrefix(ico, "\x00\x00\x01\x00") {
		t.Errorf("/favicon.ico: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, f := range []string{"/static/logo.svg", "/static/icone.svg"} {
		if resp, svg := get(t, b.srv.URL+f); resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/svg+xml" || !strings.Contains(svg, "<svg") {
			t.Errorf("%s: %d %s", f, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	}
}
