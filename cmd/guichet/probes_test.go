package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ampmetropole/guichet/cmd/guichet/compose"

	"github.com/ampmetropole/guichet/services/testkit"
)

// A process that runs only the router (or the notifier, or the IMAP
// reader) serves its probes and metrics, so that an orchestrator can watch
// it: health, readiness checked against NATS and PostgreSQL, the router's
// figures.
func TestRouterAloneServesProbes(t *testing.T) {
	nats := testkit.NATS(t)
	t.Setenv("GUICHET_DRAIN", "0s")
	cfg, _, err := parseConfig("serve", []string{"--addr", "127.0.0.1:0"}, io.Discard, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.CheckEvents = true // every event the code builds is checked against case-event.v1
	a, err := compose.Start(context.Background(), cfg, compose.Deps{NATSURL: nats.ClientURL(), DatabaseURL: testkit.Database(t)}, []string{"router"}, testkit.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Stop)
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get("http://" + a.Addr + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, _ := get("/healthz"); code != http.StatusOK {
		t.Errorf("/healthz: %d", code)
	}
	code, body := get("/readyz")
	var ready struct {
		Ready  bool              `json:"ready"`
		Checks map[string]string `json:"checks"`
	}
	if err := json.Unmarshal([]byte(body), &ready); err != nil || code != http.StatusOK || !ready.Ready ||
		ready.Checks["nats"] != "ok" || ready.Checks["postgres"] != "ok" {
		t.Errorf("/readyz: %d %s", code, body)
	}
	if code, body := get("/metrics"); code != http.StatusOK || !strings.Contains(body, "guichet_router_") {
		t.Errorf("/metrics: %d, no router figures", code)
	}
	if code, _ := get("/api/v1/competences"); code != http.StatusNotFound {
		t.Errorf("the router's port serves more than its probes: %d", code)
	}
	nats.Shutdown()
	// Readiness names the component that is down, and only that one: each
	// check has its own deadline.
	testkit.Eventually(t, 10*time.Second, "readiness lost with NATS", func() bool {
		code, body := get("/readyz")
		var r struct {
			Checks map[string]string `json:"checks"`
			Down   []string          `json:"down"`
		}
		json.Unmarshal([]byte(body), &r)
		return code == http.StatusServiceUnavailable && len(r.Down) == 1 && r.Down[0] == "nats" && r.Checks["postgres"] == "ok"
	})
}
