package staffshell

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

func TestErrorPagesAreFrenchInTheFrame(t *testing.T) {
	s, err := New(slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	v := Viewer{Name: "Camille Roux", Login: "voirie-mp", Role: "équipe", Home: "/bo/",
		Menu: []Link{{Label: "Dossiers", Href: "/bo/dossiers", Current: true}}}
	for _, tc := range []struct {
		status int
		want   string
	}{
		{http.StatusForbidden, "Accès refusé"},
		{http.StatusNotFound, "Page introuvable"},
		{http.StatusInternalServerError, "Erreur interne"},
		{http.StatusServiceUnavailable, "momentanément indisponible"},
	} {
		rec := httptest.NewRecorder()
		s.Error(rec, v, tc.status, "")
		body := rec.Body.String()
		if rec.Code != tc.status || !strings.Contains(body, tc.want) || !strings.Contains(body, `lang="fr"`) {
			t.Errorf("%d: got %d %q", tc.status, rec.Code, body)
		}
		for _, part := range []string{"Camille Roux", `href="/bo/dossiers" aria-current="page"`, "Se déconnecter", "/personnel/static/personnel.css"} {
			if !strings.Contains(body, part) {
				t.Errorf("%d: the frame lacks %q", tc.status, part)
			}
		}
		if rec.Header().Get("Cache-Control") != "no-store" || rec.Header().Get("Content-Security-Policy") == "" {
			t.Errorf("%d: headers %v", tc.status, rec.Header())
		}
	}
	// Nobody signed in: no sign-out, a way to sign in.
	rec := httptest.NewRecorder()
	s.Error(rec, Viewer{}, http.StatusNotFound, "Ce dossier n'existe pas.")
	if b := rec.Body.String(); strings.Contains(b, "Se déconnecter") || !strings.Contains(b, "Ce dossier n&#39;existe pas.") || !strings.Contains(b, "/bo/connexion") {
		t.Errorf("anonymous 404: %q", b)
	}
}

func TestPagesParsedInTheFrame(t *testing.T) {
	s, err := New(slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	fsys := fstest.MapFS{"p.html": {Data: []byte(`{{define "tete"}}<link rel="stylesheet" href="/x.css">{{end}}{{template "haut" .}}<h1>{{.Title}}</h1><p>{{.N}}</p>{{template "bas" .}}`)}}
	tpl, err := s.Parse("p.html", nil, fsys, "p.html")
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	s.Render(rec, tpl, http.StatusOK, struct {
		Page
		N int
	}{Page{Title: "Essai", Shell: Viewer{Login: "a", Name: "A"}}, 3})
	b := rec.Body.String()
	for _, part := range []string{"<title>Essai – Guichet", `href="/x.css"`, "<p>3</p>", `<main id="contenu"`} {
		if !strings.Contains(b, part) {
			t.Errorf("page lacks %q: %s", part, b)
		}
	}
}

func TestAssetsAndRecover(t *testing.T) {
	rec := httptest.NewRecorder()
	Assets().ServeHTTP(rec, httptest.NewRequest("GET", AssetsPath+"personnel.css", nil))
	if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/css") {
		t.Fatalf("style sheet: %d %v", rec.Code, rec.Header())
	}
	rec = httptest.NewRecorder()
	Assets().ServeHTTP(rec, httptest.NewRequest("GET", AssetsPath+"../staffshell.go", nil))
	if rec.Code == 200 {
		t.Fatal("served a file outside static")
	}
	s, _ := New(slog.New(slog.NewTextHandler(io.Discard, nil)))
	h := s.Recover(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }),
		func(*http.Request) Viewer { return Viewer{} })
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/bo/x", nil))
	if rec.Code != 500 || !strings.Contains(rec.Body.String(), "Erreur interne") || strings.Contains(rec.Body.String(), "boom") {
		t.Fatalf("panic: %d %q", rec.Code, rec.Body.String())
	}
}
