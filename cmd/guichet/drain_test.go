package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ampmetropole/guichet/cmd/guichet/compose"
	"github.com/ampmetropole/guichet/services/platform/bus"
	"github.com/ampmetropole/guichet/services/testkit"
)

// A process told to stop under load loses no client request: it reports
// itself not ready at once, keeps serving while a load balancer (here, a
// poll of /readyz every 100 ms) takes it out, then closes. Every request a
// client sent got an answer, and every one acknowledged is in JetStream.
func TestStopUnderLoadLosesNoRequest(t *testing.T) {
	nats := testkit.NATS(t)
	const token = "jeton-de-la-mesure-d-arret-0123"
	t.Setenv("GUICHET_SECRET", "secret-du-test-d-arret-0123456789")
	t.Setenv("GUICHET_DEV_TOKEN", token)
	t.Setenv("GUICHET_DRAIN", "1s")
	t.Setenv("GUICHET_API_RATE", "1000000")
	cfg, _, err := parseConfig("serve", []string{"--addr", "127.0.0.1:0"}, io.Discard, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.CheckEvents = true // every event the code builds is checked against case-event.v1
	a, err := compose.Start(context.Background(), cfg, compose.Deps{NATSURL: nats.ClientURL(), DatabaseURL: testkit.Database(t)},
		[]string{"api", "router"}, testkit.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + a.Addr
	client := &http.Client{Timeout: 10 * time.Second}

	// The balancer: takes the backend out once it says it is not ready, or
	// does not answer its probe.
	var out atomic.Bool
	balancer := make(chan struct{})
	go func() {
		defer close(balancer)
		defer out.Store(true)
		for {
			resp, err := client.Get(base + "/readyz")
			if err != nil {
				return
			}
			var r struct{ Ready bool }
			json.NewDecoder(resp.Body).Decode(&r)
			resp.Body.Close()
			if !r.Ready {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	var sent, accepted atomic.Int64
	var mu sync.Mutex
	var failures []string
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := 0; !out.Load(); i++ {
				req, _ := http.NewRequest("POST", base+"/api/v1/requests",
					strings.NewReader(fmt.Sprintf(`{"channel": "web", "body": "Lampadaire éteint, envoi %d-%d"}`, w, i)))
				req.Header.Set("Authorization", "Bearer "+token)
				sent.Add(1)
				resp, err := client.Do(req)
				if err != nil {
					mu.Lock()
					failures = append(failures, err.Error())
					mu.Unlock()
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				switch resp.StatusCode {
				case http.StatusAccepted:
					accepted.Add(1)
				case http.StatusServiceUnavailable: // a clear answer: the client retries elsewhere
				default:
					mu.Lock()
					failures = append(failures, resp.Status)
					mu.Unlock()
				}
			}
		})
	}
	time.Sleep(500 * time.Millisecond) // under load
	stopped := make(chan struct{})
	go func() { a.Stop(); close(stopped) }() // what SIGTERM does
	<-balancer
	wg.Wait()
	<-stopped
	if len(failures) > 0 {
		t.Fatalf("%d of %d requests got no answer while stopping, e.g. %s", len(failures), sent.Load(), failures[0])
	}
	if accepted.Load() == 0 {
		t.Fatal("no request accepted: no load")
	}
	conn, err := bus.Connect(context.Background(), nats.ClientURL(), "verification", testkit.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if n := testkit.StreamMsgs(t, conn, bus.StreamRequests); n < uint64(accepted.Load()) {
		t.Fatalf("%d requests acknowledged, %d in JetStream", accepted.Load(), n)
	}
	t.Logf("%d requests sent, %d accepted, every one answered, while stopping", sent.Load(), accepted.Load())
}
