package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ampmetropole/guichet/services/testkit"
	"github.com/ampmetropole/guichet/services/testkit/natscluster"
)

// TestScaleOutAcrossProcesses: Guichet scaled out as a deployment runs it —
// two `guichet serve api` and two `guichet serve router`, each a process of
// its own, on a three-node JetStream cluster and one PostgreSQL. Requests
// are posted to both APIs; one router is killed (SIGKILL) under load.
// Every request is routed once — one decision, one event that opens or
// joins its case —, and both routers took a share of the work.
func TestScaleOutAcrossProcesses(t *testing.T) {
	const n = 1500
	ctx := context.Background()
	t.Chdir("../..") // the corpus the requests are written from
	bodies, err := benchBodies(ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	cluster := natscluster.Start(t, 3)
	db := "scaleout_" + sanitizeName(t.Name())
	if err := testkit.Cluster(t).CreateDatabase(ctx, db, ""); err != nil {
		t.Fatal(err)
	}
	dbURL := testkit.Cluster(t).URL(db)
	token := rand.Text()
	env := []string{"NATS_URL=" + cluster.URL(), "DATABASE_URL=" + dbURL, "GUICHET_SECRET=secret-de-la-mise-a-l-echelle-0123",
		"GUICHET_DEV_TOKEN=" + token, "GUICHET_API_RATE=1000000", "GUICHET_STREAM_REPLICAS=3", "GUICHET_DRAIN=0s",
		"GUICHET_LOG_LEVEL=error"}
	start := func(services ...string) *benchServer {
		t.Helper()
		s, err := startServe(ctx, services, env, testkit.Writer(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Stop)
		return s
	}
	// The first API migrates and creates the streams; the others find them.
	apis := []*benchServer{start("api")}
	apis = append(apis, start("api"))
	routers := []*benchServer{start("router"), start("router")}

	routed := func() int {
		return testkit.Count(t, dbURL, `SELECT count(*) FROM routing_decisions`)
	}
	var wg sync.WaitGroup
	errs := make([]error, len(apis))
	for i, api := range apis {
		wg.Go(func() {
			_, _, errs[i] = benchIntake(ctx, "http://"+api.addr+"/api/v1/requests", token, bodies[i*n/2:(i+1)*n/2], 4, 0)
		})
	}
	// Under load, one router dies without a word; what it held is
	// redelivered to the other.
	testkit.Eventually(t, 2*time.Minute, "a quarter routed", func() bool { return routed() >= n/4 })
	before := routedBy(t, routers[0])
	routers[0].Kill()
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("api %d: %v", i, err)
		}
	}
	testkit.Eventually(t, 3*time.Minute, "every request routed", func() bool { return routed() >= n })
	after := routedBy(t, routers[1])
	if before == 0 || after == 0 {
		t.Errorf("work not shared: the killed router routed %d, the other %d", before, after)
	}
	t.Logf("routed by the killed router before it died: %d; by the other: %d", before, after)

	for _, c := range []struct{ what, query string }{
		{"requests not routed", `SELECT count(*) FROM requests WHERE status <> 'routed'`},
		{"requests with more than one decision", `SELECT count(*) FROM (SELECT request_id FROM routing_decisions GROUP BY 1 HAVING count(*) > 1) x`},
		{"requests that opened or joined a case twice", `SELECT count(*) FROM (SELECT request_id FROM case_events
			WHERE type IN ('created', 'request_linked') AND request_id IS NOT NULL GROUP BY 1 HAVING count(*) > 1) x`},
		{"routed requests without their event", `SELECT count(*) FROM requests r WHERE NOT EXISTS
			(SELECT 1 FROM case_events e WHERE e.request_id = r.id AND e.type IN ('created', 'request_linked'))`},
	} {
		if got := testkit.Count(t, dbURL, c.query); got != 0 {
			t.Errorf("%s: %d", c.what, got)
		}
	}
	if got := testkit.Count(t, dbURL, `SELECT count(*) FROM requests`); got != n {
		t.Errorf("%d requests recorded, want %d", got, n)
	}
}

// routedBy reads from a router's own figures how many requests it routed
// (opened a case, joined one, or left to triage).
func routedBy(t *testing.T, router *benchServer) int {
	t.Helper()
	resp, err := http.Get("http://" + router.addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	total := 0
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		for _, o := range []string{"new_case", "linked", "triage"} {
			if rest, ok := strings.CutPrefix(line, `guichet_router_requests_total{outcome="`+o+`"} `); ok {
				v, err := strconv.ParseFloat(rest, 64)
				if err == nil {
					total += int(v)
				}
			}
		}
	}
	return total
}
