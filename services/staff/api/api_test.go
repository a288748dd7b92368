package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/cases/deadline"
	"github.com/ampmetropole/guichet/services/channels/mail/mailroom"
	"github.com/ampmetropole/guichet/services/channels/mail/scan"
	"github.com/ampmetropole/guichet/services/channels/phone/telephony"
	"github.com/ampmetropole/guichet/services/intake/attachment"
	"github.com/ampmetropole/guichet/services/language/extract"
	"github.com/ampmetropole/guichet/services/platform/bus"
	"github.com/ampmetropole/guichet/services/platform/frtime"
	"github.com/ampmetropole/guichet/services/staff/api"
	"github.com/ampmetropole/guichet/services/testkit"
	"github.com/ampmetropole/guichet/services/testkit/stack"
)

func TestMain(m *testing.M) { testkit.Main(m) }

type testBundle struct {
	srv    *httptest.Server // every call made as an admin (bearer token)
	public *httptest.Server // calls carry only what the test gives
	st     stack.Stack
	conn   *bus.Conn
	nats   *bus.Embedded
	store  *casestore.Store
}

// setup serves the API over the real bus, database and router.
func setup(t *testing.T) testBundle {
	t.Helper()
	st := stack.New(t, stack.Options{Router: true})
	reader, err := scan.New(scan.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	files, err := attachment.NewStore(context.Background(), st.Conn.JS)
	if err != nil {
		t.Fatal(err)
	}
	mail := mailroom.New(reader, files, st.Intake, extract.New(st.Places))
	h, err := api.New(api.Deps{Intake: st.Intake, Store: st.Store, Calls: telephony.New(st.Intake, extract.New(st.Places), telephony.WithCompetences(st.Catalogue.Known)),
		Mail: mail, Letters: st.Store, Correct: mailroom.NewCorrector(mail, st.Store), Curate: st.Store, Competences: st.Catalogue,
		Guard: st.Auth, Workflow: st.Store, Correspondence: st.Store, Settings: st.Catalogue, Clock: deadline.New(frtime.Paris()),
		Ready: map[string]api.Pinger{"nats": st.Conn, "postgres": st.Store}, Gatherer: st.Registry, Log: testkit.Logger(t)}, st.Registry)
	if err != nil {
		t.Fatal(err)
	}
	admin := st.Token(t, "admin", nil, nil)
	srv := httptest.NewServer(stack.AsBearer(admin, st.Auth.Middleware(h)))
	t.Cleanup(srv.Close)
	public := httptest.NewServer(st.Auth.Middleware(h))
	t.Cleanup(public.Close)
	return testBundle{srv: srv, public: public, st: st, conn: st.Conn, nats: st.NATS, store: st.Store}
}

const validRequest = `{
  "id": "019ac4e2-5b1a-7c3e-9a10-3f2b6d1e8a99",
  "channel": "web",
  "citizen": {"name": "Léa Martinez", "email": "lea.martinez@example.net"},
  "subject": "Nid-de-poule rue Paradis",
  "body": "Un trou profond devant le 112 rue Paradis.",
  "location": {"postal_code": "13006"},
  "hints": {"competence": "voirie"}
}`

func do(t *testing.T, method, url, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("%s %s: Content-Type %q, body %s", method, url, ct, raw)
	}
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return resp.StatusCode, m
}

// TestPostThenCaseVisibleAndRepostChangesNothing is the walking skeleton's
// promise, through HTTP, JetStream, the router and PostgreSQL.
func TestPostThenCaseVisibleAndRepostChangesNothing(t *testing.T) {
	b := setup(t)
	code, body := do(t, "POST", b.srv.URL+"/api/v1/requests", validRequest)
	if code != http.StatusAccepted || body["id"] != "019ac4e2-5b1a-7c3e-9a10-3f2b6d1e8a99" || body["tracking_code"] == "" {
		t.Fatalf("POST: %d %v", code, body)
	}
	tracking := body["tracking_code"]
	var ref string
	testkit.Eventually(t, 10*time.Second, "request routed", func() bool {
		code, st := do(t, "GET", b.srv.URL+"/api/v1/requests/019ac4e2-5b1a-7c3e-9a10-3f2b6d1e8a99", "")
		if code == 200 && st["status"] == "routed" {
			ref, _ = st["case_ref"].(string)
			return true
		}
		return false
	})
	code, c := do(t, "GET", b.srv.URL+"/api/v1/cases/"+ref, "")
	if code != 200 || c["competence"] != "voirie" || len(c["events"].([]any)) != 1 {
		t.Fatalf("case: %d %v", code, c)
	}

	code, body = do(t, "POST", b.srv.URL+"/api/v1/requests", validRequest)
	if code != http.StatusAccepted || body["tracking_code"] != tracking {
		t.Fatalf("repost: %d %v", code, body)
	}
	time.Sleep(300 * time.Millisecond) // what a second case would need to appear
	_, c2 := do(t, "GET", b.srv.URL+"/api/v1/cases/"+ref, "")
	if len(c2["events"].([]any)) != 1 {
		t.Fatalf("repost changed the case: %v", c2)
	}
	if n := testkit.StreamMsgs(t, b.conn, bus.StreamRequests); n != 1 {
		t.Fatalf("REQUESTS holds %d messages, want 1", n)
	}
}

func TestBadInputIsRefusedAndNothingPublished(t *testing.T) {
	b := setup(t)
	tests := []struct {
		name  string
		body  string
		code  int
		field string
	}{
		{"malformed JSON", `{"channel": "web"`, 400, "/"},
		{"not an object", `[1, 2]`, 400, "/"},
		{"two objects", `{} {}`, 400, "/"},
		{"unknown channel", `{"channel": "fax", "body": "x"}`, 400, "/channel"},
		{"missing channel", `{"body": "x"}`, 400, "/"},
		{"e-mail without @", `{"channel": "web", "body": "x", "citizen": {"email": "lea.example.net"}}`, 400, "/citizen/email"},
		{"phone not E.164", `{"channel": "web", "body": "x", "citizen": {"phone": "06 39 98 14 27"}}`, 400, "/citizen/phone"},
		{"unknown competence", `{"channel": "web", "body": "x", "hints": {"competence": "police"}}`, 400, "/hints/competence"},
		{"id not a UUIDv7", `{"id": "42", "channel": "web", "body": "x"}`, 400, "/id"},
		{"tracking code chosen by the client", `{"channel": "web", "body": "x", "tracking_code": "AAAA-BBBB-CCCC"}`, 400, "/tracking_code"},
		{"too large", `{"channel": "web", "body": "` + strings.Repeat("a", api.MaxRequestBody) + `"}`, 413, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := do(t, "POST", b.srv.URL+"/api/v1/requests", tt.body)
			if code != tt.code {
				t.Fatalf("status %d, want %d: %v", code, tt.code, body)
			}
			if msg, _ := body["error"].(string); msg == "" {
				t.Errorf("no error message: %v", body)
			}
			if tt.field != "" && !hasProblem(body, tt.field) {
				t.Errorf("no problem named %s: %v", tt.field, body)
			}
		})
	}
	if n := testkit.StreamMsgs(t, b.conn, bus.StreamRequests); n != 0 {
		t.Fatalf("%d messages published from bad input", n)
	}
}

func hasProblem(body map[string]any, field string) bool {
	ps, _ := body["problems"].([]any)
	for _, p := range ps {
		if m, _ := p.(map[string]any); m["field"] == field {
			return true
		}
	}
	return false
}

func TestLookupErrors(t *testing.T) {
	b := setup(t)
	for _, tt := range []struct {
		path string
		code int
	}{
		{"/api/v1/requests/not-a-uuid", 400},
		{"/api/v1/requests/019ac4e2-5b1a-7c3e-9a10-3f2b6d1e8a00", 404},
		{"/api/v1/cases/AMP-26-1", 400},
		{"/api/v1/cases/AMP-2026-000404", 404},
		{"/api/v1/nothing", 404},
	} {
		if code, body := do(t, "GET", b.srv.URL+tt.path, ""); code != tt.code || body["error"] == nil {
			t.Errorf("GET %s: %d %v, want %d with an error", tt.path, code, body, tt.code)
		}
	}
	if code, _ := do(t, "DELETE", b.srv.URL+"/api/v1/requests", ""); code != http.StatusMethodNotAllowed {
		t.Errorf("DELETE: %d", code)
	}
}

func TestHealthReadinessMetrics(t *testing.T) {
	b := setup(t)
	if code, _ := do(t, "GET", b.srv.URL+"/healthz", ""); code != 200 {
		t.Fatalf("healthz %d", code)
	}
	if code, body := do(t, "GET", b.srv.URL+"/readyz", ""); code != 200 || body["ready"] != true {
		t.Fatalf("readyz %d %v", code, body)
	}
	resp, err := http.Get(b.srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, name := range []string{"guichet_http_requests_total", "guichet_router_requests_total"} {
		if !bytes.Contains(raw, []byte(name)) {
			t.Errorf("metrics lack %s", name)
		}
	}
	// NATS gone: not ready, and a submission is refused with 503, not lost.
	b.nats.Shutdown()
	if code, body := do(t, "GET", b.srv.URL+"/readyz", ""); code != http.StatusServiceUnavailable {
		t.Fatalf("readyz without NATS: %d %v", code, body)
	}
	if code, body := do(t, "POST", b.srv.URL+"/api/v1/requests", validRequest); code != http.StatusServiceUnavailable {
		t.Fatalf("POST without NATS: %d %v", code, body)
	}
}
