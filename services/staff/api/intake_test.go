package api_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ampmetropole/guichet/services/cases/deadline"
	"github.com/ampmetropole/guichet/services/channels/phone/telephony"
	"github.com/ampmetropole/guichet/services/language/extract"
	"github.com/ampmetropole/guichet/services/platform/bus"
	"github.com/ampmetropole/guichet/services/platform/frtime"
	"github.com/ampmetropole/guichet/services/staff/api"
	"github.com/ampmetropole/guichet/services/testkit"
	"github.com/ampmetropole/guichet/services/testkit/stack"
)

// callAs calls the API with a bearer token ("" for none).
func callAs(t *testing.T, token, method, url, body string) (int, map[string]any, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return resp.StatusCode, m, resp.Header
}

// intakeServer serves the API with its real authentication and a small
// per-token limit.
func intakeServer(t *testing.T, rate int) (*httptest.Server, stack.Stack) {
	t.Helper()
	st := stack.New(t, stack.Options{Router: true})
	h, err := api.New(api.Deps{Intake: st.Intake, Store: st.Store, Calls: telephony.New(st.Intake, extract.New(st.Places), telephony.WithCompetences(st.Catalogue.Known)),
		Guard: st.Auth, Workflow: st.Store, Settings: st.Catalogue, Clock: deadline.New(frtime.Paris()),
		Ready: map[string]api.Pinger{"nats": st.Conn}, Gatherer: st.Registry, Log: testkit.Logger(t), SystemRate: rate}, st.Registry)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(st.Auth.Middleware(h))
	t.Cleanup(srv.Close)
	return srv, st
}

func callBody(id string) string {
	return `{"call_id": "` + id + `", "caller_number": "06 39 98 14 27", "agent_id": "agent-01", "direction": "inbound",
	  "started_at": "2026-12-01T09:00:00+01:00", "ended_at": "2026-12-01T09:03:00+01:00", "summary": "Lampadaire éteint avenue du Prado"}`
}

// Every system intake route needs a token of its own role; a request's
// tracking code and status go to the system that submitted it and nobody
// else; a call id posted by another system is another request.
func TestIntakeRoutesBelongToTheirSystems(t *testing.T) {
	srv, st := intakeServer(t, 1000)
	partner := st.Token(t, "partner", nil, nil)
	other := st.Token(t, "partner", nil, nil)
	pbx := st.Token(t, "telephony", nil, nil)
	team := st.Token(t, "team", []string{"voirie"}, nil)
	for _, tc := range []struct {
		name, token, path, body string
		want                    int
	}{
		{"a request without a credential", "", "/api/v1/requests", validRequest, 401},
		{"a request with a wrong token", "gch_" + strings.Repeat("A", 43), "/api/v1/requests", validRequest, 401},
		{"a request from a team", team, "/api/v1/requests", validRequest, 403},
		{"a request from the telephony", pbx, "/api/v1/requests", validRequest, 403},
		{"a call without a credential", "", "/api/v1/calls", callBody("pbx-1"), 401},
		{"a call from a partner", partner, "/api/v1/calls", callBody("pbx-1"), 403},
		{"a call from a team", team, "/api/v1/calls", callBody("pbx-1"), 403},
	} {
		if code, body, _ := callAs(t, tc.token, "POST", srv.URL+tc.path, tc.body); code != tc.want || body["tracking_code"] != nil {
			t.Errorf("%s: %d %v, want %d and no code", tc.name, code, body, tc.want)
		}
	}
	if n := testkit.StreamMsgs(t, st.Conn, bus.StreamRequests); n != 0 {
		t.Fatalf("%d requests published by callers without the right role", n)
	}

	code, first, _ := callAs(t, partner, "POST", srv.URL+"/api/v1/requests", validRequest)
	if code != 202 || first["tracking_code"] == nil {
		t.Fatalf("the partner's request: %d %v", code, first)
	}
	if code, again, _ := callAs(t, partner, "POST", srv.URL+"/api/v1/requests", validRequest); code != 202 || again["tracking_code"] != first["tracking_code"] {
		t.Fatalf("the partner's retry: %d %v, want the same receipt", code, again)
	}
	if code, stolen, _ := callAs(t, other, "POST", srv.URL+"/api/v1/requests", validRequest); code != 409 || stolen["tracking_code"] != nil {
		t.Fatalf("another partner posting the same id: %d %v, want 409 and no code", code, stolen)
	}
	status := srv.URL + "/api/v1/requests/019ac4e2-5b1a-7c3e-9a10-3f2b6d1e8a99"
	testkit.Eventually(t, 10*time.Second, "routed", func() bool {
		code, st, _ := callAs(t, partner, "GET", status, "")
		return code == 200 && st["status"] == "routed"
	})
	for name, tok := range map[string]string{"another partner": other, "the telephony": pbx, "no credential": ""} {
		if code, body, _ := callAs(t, tok, "GET", status, ""); code == 200 || body["case_ref"] != nil {
			t.Errorf("%s reads the partner's request: %d %v", name, code, body)
		}
	}
	if code, body, _ := callAs(t, team, "GET", status, ""); code != 200 || body["case_ref"] == nil {
		t.Errorf("the team whose case holds it: %d %v", code, body)
	}

	// A call: its reporter may post it again; another system's post of the
	// same call id is another request and never gets the first one's code.
	code, call, _ := callAs(t, pbx, "POST", srv.URL+"/api/v1/calls", callBody("pbx-2026-12-01-0001"))
	if code != 202 || call["tracking_code"] == nil {
		t.Fatalf("the telephony's call: %d %v", code, call)
	}
	if code, again, _ := callAs(t, pbx, "POST", srv.URL+"/api/v1/calls", callBody("pbx-2026-12-01-0001")); code != 202 || again["tracking_code"] != call["tracking_code"] || again["duplicate"] != true {
		t.Fatalf("the telephony's retry: %d %v", code, again)
	}
	pbx2 := st.Token(t, "telephony", nil, nil)
	if code, second, _ := callAs(t, pbx2, "POST", srv.URL+"/api/v1/calls", callBody("pbx-2026-12-01-0001")); code != 202 ||
		second["tracking_code"] == call["tracking_code"] || second["request_id"] == call["request_id"] || second["duplicate"] == true {
		t.Fatalf("another telephony token with the same call id: %d %v, first %v", code, second, call)
	}
}

// Oversized, malformed and unstorable bodies are refused with a clear
// error; a token past its rate gets 429 and Retry-After.
func TestIntakeRoutesRefuseAbuse(t *testing.T) {
	srv, st := intakeServer(t, 5)
	partner := st.Token(t, "partner", nil, nil)
	huge := `{"channel": "web", "body": "` + strings.Repeat("a", api.MaxRequestBody) + `"}`
	for _, tc := range []struct {
		name, body string
		want       int
	}{
		{"oversized", huge, 413},
		{"malformed", `{"channel": "web", "body": `, 400},
		{"a NUL character", `{"channel": "web", "body": "trou\u0000rue"}`, 400},
		{"two e-mail addresses", `{"channel": "web", "body": "x", "citizen": {"email": "a@example.org, b@example.org"}}`, 400},
		{"a link only Guichet sets", `{"channel": "web", "body": "x", "link": {"case_ref": "AMP-2026-000001", "by": "agent"}}`, 400},
	} {
		code, body, _ := callAs(t, partner, "POST", srv.URL+"/api/v1/requests", tc.body)
		if code != tc.want || body["error"] == nil || body["tracking_code"] != nil {
			t.Errorf("%s: %d %v, want %d with an error", tc.name, code, body, tc.want)
		}
	}
	if n := testkit.StreamMsgs(t, st.Conn, bus.StreamRequests); n != 0 {
		t.Fatalf("%d requests published from refused bodies", n)
	}
	// Five refused bodies spent the partner's five; the next is limited.
	code, body, hd := callAs(t, partner, "POST", srv.URL+"/api/v1/requests", `{"channel": "web", "body": "un de trop"}`)
	if code != 429 || hd.Get("Retry-After") == "" || !strings.Contains(fmt.Sprint(body["error"]), "par minute") {
		t.Fatalf("past the rate: %d %v %v", code, body, hd)
	}
	if code, _, _ := callAs(t, st.Token(t, "partner", nil, nil), "POST", srv.URL+"/api/v1/requests", `{"channel": "web", "body": "un autre système"}`); code != 202 {
		t.Fatalf("another token is not limited by the first: %d", code)
	}
}
