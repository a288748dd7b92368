package backoffice_test

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/staff/auth"
	"github.com/ampmetropole/guichet/services/staff/backoffice"
	"github.com/ampmetropole/guichet/services/testkit"
)

// sse is one server-sent event, or a comment (Event "").
type sse struct{ Event, Data string }

// liveStream is an open stream of /bo/direct.
type liveStream struct {
	resp   *http.Response
	events chan sse
	cancel context.CancelFunc
}

// openLive opens a stream as who on base; a refused stream is returned
// with no events.
func openLive(t *testing.T, base string, who person, file string) liveStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/bo/direct?file="+file, nil)
	c := &http.Client{Jar: who.client.Jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	s := liveStream{resp: resp, events: make(chan sse, 100), cancel: cancel}
	t.Cleanup(s.close)
	if resp.StatusCode != 200 {
		resp.Body.Close()
		close(s.events)
		return s
	}
	go func() {
		defer close(s.events)
		sc := bufio.NewScanner(resp.Body)
		var ev sse
		for sc.Scan() {
			switch line := sc.Text(); {
			case strings.HasPrefix(line, ":"):
				s.events <- sse{Data: line}
			case strings.HasPrefix(line, "event: "):
				ev.Event = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				ev.Data = strings.TrimPrefix(line, "data: ")
			case line == "" && ev.Event != "":
				s.events <- ev
				ev = sse{}
			}
		}
	}()
	return s
}

func (s liveStream) close() {
	s.cancel()
	s.resp.Body.Close()
}

// next waits for the next event named name (skipping comments), failing
// after timeout.
func (s liveStream) next(t *testing.T, name string, timeout time.Duration) sse {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case e, ok := <-s.events:
			if !ok {
				t.Fatalf("stream ended waiting for %q", name)
			}
			if e.Event == name {
				return e
			}
			if e.Event != "" && e.Event != name {
				t.Fatalf("event %q (%s) while waiting for %q", e.Event, e.Data, name)
			}
		case <-deadline:
			t.Fatalf("no %q event after %s", name, timeout)
		}
	}
}

// quiet checks that no event but comments comes for d.
func (s liveStream) quiet(t *testing.T, who string, d time.Duration) {
	t.Helper()
	end := time.After(d)
	for {
		select {
		case e, ok := <-s.events:
			if ok && e.Event != "" {
				t.Errorf("%s got %q %s", who, e.Event, e.Data)
			}
		case <-end:
			return
		}
	}
}

var liveData = regexp.MustCompile(`^\{"nouveaux":\d+,"modifies":\d+\}$`)

// TestLiveRefresh: the queue's and the triage page's streams say, in
// counts only, that cases of the viewer's scope arrived or changed, and
// nothing of the others; they beat, end after their longest duration,
// are limited per session, and end when the back office closes.
func TestLiveRefresh(t *testing.T) {
	defer backoffice.SetLiveTimings(300*time.Millisecond, time.Minute, 50*time.Millisecond)()
	p := servePilot(t, true)
	p.account(t, "nadia", auth.RoleSupervisor, nil, nil)
	p.account(t, "aubagne", auth.RoleSupervisor, nil, []string{"pays-d-aubagne-etoile"})
	p.account(t, "julie", auth.RoleTeam, []string{"dechets"}, nil)
	nadia, aubagne, julie := p.signIn(t, "nadia"), p.signIn(t, "aubagne"), p.signIn(t, "julie")
	base := p.srv.URL

	// Refusals: nobody, a team member on triage, an unknown queue, a long address.
	if s := openLive(t, base, person{client: &http.Client{}}, "tri"); s.resp.StatusCode != 302 || !strings.HasPrefix(s.resp.Header.Get("Location"), "/bo/connexion") {
		t.Errorf("without a session: %d", s.resp.StatusCode)
	}
	for file, want := range map[string]int{"tri": 403, "personnes": 404, "dossiers&x=" + strings.Repeat("y", 80): 400} {
		if s := openLive(t, base, julie, file); s.resp.StatusCode != want {
			t.Errorf("julie on %s: %d, want %d", file, s.resp.StatusCode, want)
		}
	}
	// The pages link their stream.
	if _, page := julie.get("/bo/dossiers"); !strings.Contains(page, `data-direct="/bo/direct?file=dossiers"`) || !strings.Contains(page, `src="/personnel/static/direct.js"`) {
		t.Error("the queue does not refresh itself")
	}
	if _, page := nadia.get("/bo/tri"); !strings.Contains(page, `data-direct="/bo/direct?file=tri"`) {
		t.Error("the triage page does not refresh itself")
	}

	triage := openLive(t, base, nadia, "tri")
	if triage.resp.Header.Get("Content-Type") != "text/event-stream; charset=utf-8" {
		t.Fatalf("stream: %d %v", triage.resp.StatusCode, triage.resp.Header)
	}
	triage.next(t, "pret", 5*time.Second)
	away := openLive(t, base, aubagne, "tri")
	away.next(t, "pret", 5*time.Second)
	team := openLive(t, base, julie, "dossiers")
	team.next(t, "pret", 5*time.Second)

	// A triage case on Marseille: nadia hears of it, Aubagne's supervisor and the waste team do not.
	ref := p.submit(t, vague("Bonjour, je voudrais parler à quelqu'un s'il vous plaît.", "12 rue Paradis", "13006"))
	if e := triage.next(t, "change", 10*time.Second); e.Data != `{"nouveaux":1,"modifies":0}` {
		t.Errorf("triage: %s", e.Data)
	}
	// A waste case: the team hears of it, triage does not.
	p.submit(t, schemas.Request{Channel: schemas.ChannelWeb, Source: schemas.Source{Adapter: "test"}, Body: "Bac jaune cassé, couvercle arraché.",
		Location: &schemas.Location{PostalCode: "13006"}, Hints: &schemas.Hints{Competence: "dechets"}})
	if e := team.next(t, "change", 10*time.Second); e.Data != `{"nouveaux":1,"modifies":0}` {
		t.Errorf("team: %s", e.Data)
	}
	// The triage case routed to waste: it leaves triage, it comes to the team.
	if _, err := p.st.Store.Reroute(context.Background(), ref, "dechets", "", casestore.Change{Actor: "nadia", Reason: "tri"}); err != nil {
		t.Fatal(err)
	}
	if e := triage.next(t, "change", 10*time.Second); e.Data != `{"nouveaux":0,"modifies":1}` {
		t.Errorf("triage after routing: %s", e.Data)
	}
	if e := team.next(t, "change", 10*time.Second); e.Data != `{"nouveaux":1,"modifies":0}` || !liveData.MatchString(e.Data) {
		t.Errorf("team after routing: %s", e.Data)
	}
	away.quiet(t, "Aubagne's supervisor", 500*time.Millisecond)
	// The stream beats between events.
	beat := false
	for e := range away.events {
		if strings.HasPrefix(e.Data, ":") {
			beat = true
			break
		}
	}
	if !beat {
		t.Error("no heartbeat")
	}

	// A session holds a few streams, not more.
	for range backoffice.LiveMaxPerSession - 1 {
		openLive(t, base, nadia, "dossiers").next(t, "pret", 5*time.Second)
	}
	if s := openLive(t, base, nadia, "dossiers"); s.resp.StatusCode != 429 || s.resp.Header.Get("Retry-After") == "" {
		t.Errorf("one stream too many: %d", s.resp.StatusCode)
	}
	// Another session of the same person may.
	openLive(t, base, p.signIn(t, "nadia"), "tri").next(t, "pret", 5*time.Second)

	// Closing the back office ends the streams.
	last := openLive(t, base, julie, "dossiers")
	last.next(t, "pret", 5*time.Second)
	p.bo.Close()
	last.next(t, "fin", 2*time.Second)
	triage.next(t, "fin", 2*time.Second)
	if s := openLive(t, base, julie, "dossiers"); s.resp.StatusCode != 503 {
		t.Errorf("a stream after closing: %d", s.resp.StatusCode)
	}
}

// TestLiveStreamOutlivesServerTimeouts: the production server's read and
// write timeouts do not cut a stream.
func TestLiveStreamOutlivesServerTimeouts(t *testing.T) {
	defer backoffice.SetLiveTimings(200*time.Millisecond, 3*time.Second, 50*time.Millisecond)()
	p := servePilot(t, true)
	p.account(t, "nadia", auth.RoleSupervisor, nil, nil)
	mux := http.NewServeMux()
	p.st.Auth.Register(mux)
	mux.Handle("/bo/", p.bo)
	srv := httptest.NewUnstartedServer(p.st.Auth.Middleware(mux))
	srv.Config.ReadTimeout, srv.Config.WriteTimeout = 500*time.Millisecond, 500*time.Millisecond
	srv.Start()
	t.Cleanup(srv.Close)
	// Signed in on the other server: cookies do not mind the port.
	s := openLive(t, srv.URL, p.signIn(t, "nadia"), "dossiers")
	s.next(t, "pret", 5*time.Second)
	start := time.Now()
	s.next(t, "fin", 6*time.Second) // past both timeouts, still there: it ends at its longest duration
	if d := time.Since(start); d < 2500*time.Millisecond {
		t.Errorf("the stream ended after %s", d)
	}
	testkit.Eventually(t, 5*time.Second, "the stream closed", func() bool {
		select {
		case _, ok := <-s.events:
			return !ok
		default:
			return false
		}
	})
}
