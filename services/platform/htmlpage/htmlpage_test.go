package htmlpage

import (
	"html/template"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestRender(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	ok := template.Must(template.New("ok").Parse(`<p>{{.}}</p>`))
	rec := httptest.NewRecorder()
	Render(rec, ok, 422, "<b>", log)
	if rec.Code != 422 || rec.Body.String() != "<p>&lt;b&gt;</p>" || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("%d %q", rec.Code, rec.Body.String())
	}
	broken := template.Must(template.New("broken").Parse(`<p>{{.Missing}}</p>`))
	rec = httptest.NewRecorder()
	Render(rec, broken, 200, 42, log)
	if rec.Code != 500 || strings.Contains(rec.Body.String(), "<p>") {
		t.Fatalf("a failing template gave %d %q", rec.Code, rec.Body.String())
	}
}
