package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ampmetropole/guichet/cmd/guichet/compose"
	"github.com/ampmetropole/guichet/services/platform/mailer"
	"github.com/ampmetropole/guichet/services/testkit"
	"github.com/ampmetropole/guichet/services/testkit/natscluster"
)

// The six services started at once, each as its own process would, on a
// fresh three-node JetStream cluster and a database never migrated: they
// race to create the streams and apply the migrations, and every one comes
// up ready.
func TestAllServicesStartTogetherOnAFreshCluster(t *testing.T) {
	cluster := natscluster.Start(t, 3)
	ctx := context.Background()
	db := "fresh_" + sanitizeName(t.Name())
	if err := testkit.Cluster(t).CreateDatabase(ctx, db, ""); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GUICHET_SECRET", "secret-du-demarrage-simultane-0123")
	t.Setenv("GUICHET_STREAM_REPLICAS", "3")
	t.Setenv("GUICHET_IMAP_URL", testkit.IMAPURL(testkit.IMAPServer(t)))
	t.Setenv("GUICHET_DRAIN", "0s")
	cfg, _, err := parseConfig("serve", []string{"--addr", "127.0.0.1:0"}, io.Discard, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.CheckEvents = true // every event the code builds is checked against case-event.v1
	outbox, err := mailer.NewOutbox(t.TempDir(), cfg.Mail.From)
	if err != nil {
		t.Fatal(err)
	}
	deps := compose.Deps{NATSURL: cluster.URL(), DatabaseURL: testkit.Cluster(t).URL(db), Outbox: outbox}
	apps := make([]*compose.App, len(compose.Services))
	errs := make([]error, len(compose.Services))
	var wg sync.WaitGroup
	for i, svc := range compose.Services {
		wg.Go(func() {
			sctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
			defer cancel()
			apps[i], errs[i] = compose.Start(sctx, cfg, deps, []string{svc}, testkit.Logger(t).With("process", svc))
		})
	}
	wg.Wait()
	for i, svc := range compose.Services {
		if errs[i] != nil {
			t.Errorf("%s did not come up: %v", svc, errs[i])
			continue
		}
		t.Cleanup(apps[i].Stop)
	}
	if t.Failed() {
		t.FailNow()
	}
	for i, svc := range compose.Services {
		testkit.Eventually(t, 30*time.Second, svc+" ready", func() bool {
			resp, err := http.Get("http://" + apps[i].Addr + "/readyz")
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == http.StatusOK
		})
		// Every process exports its own figures.
		resp, err := http.Get("http://" + apps[i].Addr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		want := map[string]string{"router": "guichet_router_", "notifier": "guichet_notifier_", "api": "guichet_http_"}[svc]
		if want != "" && !strings.Contains(string(body), want) {
			t.Errorf("%s's /metrics has no %s figures", svc, want)
		}
	}
}

// sanitizeName makes a test's name a database name.
func sanitizeName(s string) string {
	out := []byte{}
	for _, c := range []byte(s) {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			out = append(out, c)
		case c >= 'A' && c <= 'Z':
			out = append(out, c+'a'-'A')
		default:
			out = append(out, '_')
		}
	}
	return string(out)
}
