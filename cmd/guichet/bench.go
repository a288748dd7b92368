package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ampmetropole/guichet/cmd/guichet/compose"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/caseref"
	"github.com/ampmetropole/guichet/services/cases/territory"
	"github.com/ampmetropole/guichet/services/language/extract"
	"github.com/ampmetropole/guichet/services/platform/bus"
	"github.com/ampmetropole/guichet/services/platform/pgcluster"
	redactlog "github.com/ampmetropole/guichet/services/platform/redact"
	"github.com/ampmetropole/guichet/services/tools/corpus"
)

// benchReport is what `guichet bench` measures; the JSON keys are the
// issue's.
type benchReport struct {
	N         int     `json:"n"`
	Acked     int     `json:"acknowledged"`
	Routed    int     `json:"routed"`
	E2ERPS    float64 `json:"e2e_rps"`
	IntakeP50 float64 `json:"intake_p50_ms"`
	IntakeP99 float64 `json:"intake_p99_ms"`
	E2EP50    float64 `json:"e2e_p50_ms"`
	E2EP99    float64 `json:"e2e_p99_ms"`
	RawJSRPS  float64 `json:"raw_js_rps"`
	RawPGRPS  float64 `json:"raw_pg_rps"`
	RatioPG   float64 `json:"ratio_pg"`
	// The fair limit: the product's own rows for each request, written
	// set-wise (benchRawSameRows), and the end-to-end figure against it.
	RawPGSameRowsRPS float64 `json:"raw_pg_same_rows_rps"`
	RatioSameRows    float64 `json:"ratio_same_rows"`
	RatioJS          float64 `json:"ratio_js"`
	Concurrency      int     `json:"concurrency"`
	Rate             int     `json:"rate"`
	CPUs             int     `json:"cpus"`
	// CPU time a routed request cost, from the first submission to the
	// last routing: Guichet's process (`guichet serve api router` apart;
	// with --in-process, the load generator and NATS included), the load
	// generator's process with the embedded NATS it hosts (apart only), and
	// the PostgreSQL server when it runs on this machine.
	Apart        bool     `json:"generator_apart"`
	GuichetCPU   *float64 `json:"guichet_cpu_ms_per_request,omitempty"`
	GeneratorCPU *float64 `json:"generator_cpu_ms_per_request,omitempty"`
	PostgresCPU  *float64 `json:"postgres_cpu_ms_per_request,omitempty"`
}

// runBench measures Guichet end to end on this machine, with the two
// baselines the issue asks for (raw JetStream publishing, raw batched
// PostgreSQL inserts).
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var n, conc, rate *int
	var asJSON, inProcess *bool
	var cpuProfile *string
	cfg, _, err := parseConfig("bench", args, stderr, func(fs *flag.FlagSet) {
		n = fs.Int("requests", 5000, "nombre de demandes envoyées")
		conc = fs.Int("concurrency", 32, "envois simultanés")
		rate = fs.Int("rate", 0, "demandes par seconde (0 : au plus vite)")
		asJSON = fs.Bool("json", false, "un objet JSON (e2e_rps, intake_p99_ms, e2e_p99_ms, raw_js_rps, raw_pg_rps, ratio_pg, raw_pg_same_rows_rps, ratio_same_rows, n)")
		cpuProfile = fs.String("cpuprofile", "", "écrit le profil CPU de la mesure de bout en bout dans ce fichier (go tool pprof ; implique --in-process)")
		inProcess = fs.Bool("in-process", false, "Guichet dans le processus du générateur de charge (par défaut : guichet serve à part)")
	})
	if err != nil {
		return err
	}
	if *n < 1 || *conc < 1 || *rate < 0 {
		return usageError{"bench : --requests et --concurrency positifs, --rate ≥ 0"}
	}
	log := slog.New(redactlog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	dir, err := os.MkdirTemp("", "guichet-bench-")
	if err != nil {
		return err
	}
	os.Chmod(dir, 0o711) // the PostgreSQL user must enter it when we are root
	defer os.RemoveAll(dir)

	natsURL, dbURL := cfg.NATSURL, cfg.DatabaseURL
	if natsURL == "" {
		ns, err := bus.StartEmbedded(bus.EmbeddedConfig{StoreDir: filepath.Join(dir, "nats")})
		if err != nil {
			return err
		}
		defer ns.Shutdown()
		natsURL = ns.ClientURL()
	}
	if dbURL == "" {
		pg, err := pgcluster.Start(ctx, pgcluster.Config{Dir: filepath.Join(dir, "postgres"), BinDir: cfg.PGBin, Log: log})
		if err != nil {
			return err
		}
		defer pg.Stop()
		if err := pg.CreateDatabase(ctx, "guichet", ""); err != nil {
			return err
		}
		dbURL = pg.URL("guichet")
	}
	// The load generator is a system with its credential, unlimited.
	token := rand.Text()
	var apiURL string
	var server *benchServer
	if *inProcess || *cpuProfile != "" {
		cfg.Addr, cfg.Secret, cfg.PublicURL = "127.0.0.1:0", "bench-secret-0123456789abcdef", "http://127.0.0.1"
		cfg.Log.Level = slog.LevelWarn
		cfg.Auth.DevToken, cfg.APIRate = token, 1<<30
		a, err := compose.Start(ctx, cfg, compose.Deps{NATSURL: natsURL, DatabaseURL: dbURL}, []string{"api", "router"}, log)
		if err != nil {
			return err
		}
		defer a.Stop()
		apiURL = "http://" + a.Addr + "/api/v1/requests"
	} else {
		if server, err = startBenchServer(ctx, natsURL, dbURL, token, stderr); err != nil {
			return err
		}
		defer server.Stop()
		apiURL = "http://" + server.addr + "/api/v1/requests"
	}

	bodies, err := benchBodies(ctx, *n)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "%d demandes, %d envois simultanés, sur %d cœurs…\n", *n, *conc, runtime.NumCPU())
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return fmt.Errorf("bench : %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("bench : %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	rep := benchReport{N: *n, Concurrency: *conc, Rate: *rate, CPUs: runtime.NumCPU(), Apart: server != nil}
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return fmt.Errorf("bench : %w", err)
	}
	defer conn.Close(ctx)
	self0, selfOK := selfCPU()
	pg0, pgOK := postgresCPU(ctx, conn)
	var srv0 time.Duration
	srvOK := false
	if server != nil {
		srv0, srvOK = server.CPU()
	}
	intake, start, err := benchIntake(ctx, apiURL, token, bodies, *conc, *rate)
	if err != nil {
		return err
	}
	rep.Acked = len(intake)
	rep.IntakeP50, rep.IntakeP99 = percentile(intake, 0.50), percentile(intake, 0.99)
	var last time.Time
	deadline := time.Now().Add(10 * time.Minute)
	for {
		var routed int
		var lastAt *time.Time
		// The decisions, one a routed request written with its status, are
		// narrow rows: counting them costs PostgreSQL little of what the
		// bench measures (counting the requests, with their payloads, cost
		// half a millisecond a request at 20 000).
		if err := conn.QueryRow(ctx, `SELECT count(*), max(decided_at) FROM routing_decisions`).Scan(&routed, &lastAt); err != nil {
			return fmt.Errorf("bench : %w", err)
		}
		rep.Routed = routed
		if routed >= rep.Acked {
			last = *lastAt
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("bench : %d demandes routées sur %d acquittées", routed, rep.Acked)
		}
		// The end is read from decided_at: polling seldom only spares the
		// database a count over every decision while it routes.
		time.Sleep(250 * time.Millisecond)
	}
	rep.E2ERPS = float64(rep.Routed) / last.Sub(start).Seconds()
	perRequest := func(d time.Duration) *float64 {
		ms := float64(d) / float64(time.Millisecond) / float64(max(1, rep.Routed))
		return &ms
	}
	if self1, ok := selfCPU(); ok && selfOK {
		if server == nil {
			rep.GuichetCPU = perRequest(self1 - self0)
		} else {
			rep.GeneratorCPU = perRequest(self1 - self0)
		}
	}
	if server != nil {
		if srv1, ok := server.CPU(); ok && srvOK {
			rep.GuichetCPU = perRequest(srv1 - srv0)
		}
	}
	if pg1, ok := postgresCPU(ctx, conn); ok && pgOK {
		rep.PostgresCPU = perRequest(pg1 - pg0)
	}
	rows, err := conn.Query(ctx, `SELECT extract(epoch FROM routed_at - received_at) * 1000 FROM requests WHERE status = 'routed'`)
	if err != nil {
		return fmt.Errorf("bench : %w", err)
	}
	e2e, err := pgx.CollectRows(rows, pgx.RowTo[float64])
	if err != nil {
		return fmt.Errorf("bench : %w", err)
	}
	rep.E2EP50, rep.E2EP99 = percentile(e2e, 0.50), percentile(e2e, 0.99)

	js, err := bus.Connect(ctx, natsURL, "guichet-bench", log)
	if err != nil {
		return err
	}
	defer js.Close()
	if rep.RawJSRPS, err = benchRawJetStream(ctx, js.JS, bodies); err != nil {
		return err
	}
	if rep.RawPGRPS, err = benchRawPostgres(ctx, conn, *n); err != nil {
		return err
	}
	if rep.RawPGSameRowsRPS, err = benchRawSameRows(ctx, conn, bodies); err != nil {
		return err
	}
	rep.RatioPG, rep.RatioJS = rep.E2ERPS/rep.RawPGRPS, rep.E2ERPS/rep.RawJSRPS
	rep.RatioSameRows = rep.E2ERPS / rep.RawPGSameRowsRPS
	if *asJSON {
		return json.NewEncoder(stdout).Encode(rep)
	}
	fmt.Fprintf(stdout, `Guichet de bout en bout (%d demandes, %d acquittées, %d routées, %d envois simultanés, %d cœurs)
  accusé de réception HTTP   p50 %.1f ms   p99 %.1f ms
  de bout en bout            %.0f demandes/s   p50 %.1f ms   p99 %.1f ms
Références sur la même machine
  JetStream, publication asynchrone    %.0f messages/s   (rapport %.2f)
  PostgreSQL, insertions par lots       %.0f dossiers/s   (rapport %.2f)
  PostgreSQL, les lignes du produit     %.0f demandes/s   (rapport %.2f : limite équitable)
`, rep.N, rep.Acked, rep.Routed, rep.Concurrency, rep.CPUs, rep.IntakeP50, rep.IntakeP99, rep.E2ERPS, rep.E2EP50, rep.E2EP99,
		rep.RawJSRPS, rep.RatioJS, rep.RawPGRPS, rep.RatioPG, rep.RawPGSameRowsRPS, rep.RatioSameRows)
	fmt.Fprintln(stdout, "Temps CPU par demande routée")
	if rep.GuichetCPU != nil && rep.Apart {
		fmt.Fprintf(stdout, "  Guichet (guichet serve api router, à part)  %.2f ms\n", *rep.GuichetCPU)
	} else if rep.GuichetCPU != nil {
		fmt.Fprintf(stdout, "  Guichet (générateur de charge et NATS compris)  %.2f ms\n", *rep.GuichetCPU)
	}
	if rep.GeneratorCPU != nil {
		fmt.Fprintf(stdout, "  générateur de charge et NATS               %.2f ms\n", *rep.GeneratorCPU)
	}
	if rep.PostgresCPU != nil {
		fmt.Fprintf(stdout, "  PostgreSQL                              %.2f ms\n", *rep.PostgresCPU)
	}
	return nil
}

// benchBodies are n requests in the common schema, written from the
// team's corpus through the channels' own code, so that the mix of
// channels and lengths is realistic; each gets its own id.
func benchBodies(ctx context.Context, n int) ([][]byte, error) {
	recs, err := corpus.Default()
	if err != nil {
		return nil, err
	}
	places, err := territory.Load()
	if err != nil {
		return nil, err
	}
	b := corpus.NewBuilder(extract.New(places))
	var out [][]byte
	for i := 0; len(out) < n; i++ {
		req, err := b.Request(ctx, recs[i%len(recs)], time.Now())
		if err != nil {
			return nil, err
		}
		id, _ := uuid.NewV7()
		req.ID = id.String()
		req.Attachments = nil // the scans are not in the corpus
		req.Source = schemas.Source{Adapter: "bench"}
		raw, err := json.Marshal(req)
		if err != nil {
			return nil, err
		}
		// What Guichet sets itself is left out, as a client would.
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, err
		}
		for _, k := range []string{"schema", "tracking_code", "received_at", "language"} {
			delete(m, k)
		}
		body, err := json.Marshal(m)
		if err != nil {
			return nil, err
		}
		out = append(out, body)
	}
	return out, nil
}

// benchIntake posts every body and returns the acknowledgement latencies
// (ms) and when the first post started.
func benchIntake(ctx context.Context, url, token string, bodies [][]byte, conc, rate int) ([]float64, time.Time, error) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conc, MaxConnsPerHost: conc}, Timeout: 30 * time.Second}
	var next atomic.Int64
	lat := make([]float64, len(bodies))
	ok := make([]bool, len(bodies))
	var firstErr error
	var mu sync.Mutex
	start := time.Now()
	var tick <-chan time.Time
	if rate > 0 {
		t := time.NewTicker(time.Second / time.Duration(rate))
		defer t.Stop()
		tick = t.C
	}
	var wg sync.WaitGroup
	for range conc {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(bodies) || ctx.Err() != nil {
					return
				}
				if tick != nil {
					<-tick
				}
				t0 := time.Now()
				req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(bodies[i]))
				if err != nil {
					return
				}
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+token)
				resp, err := client.Do(req)
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusAccepted {
						err = fmt.Errorf("HTTP %d", resp.StatusCode)
					}
				}
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					continue
				}
				lat[i], ok[i] = float64(time.Since(t0).Microseconds())/1000, true
			}
		})
	}
	wg.Wait()
	var out []float64
	for i := range lat {
		if ok[i] {
			out = append(out, lat[i])
		}
	}
	if len(out) == 0 {
		return nil, start, fmt.Errorf("bench : aucune demande acceptée : %v", firstErr)
	}
	return out, start, nil
}

// benchRawJetStream publishes the same payloads asynchronously to a
// stream of its own with the same storage and deduplication, and returns
// messages per second.
func benchRawJetStream(ctx context.Context, js jetstream.JetStream, bodies [][]byte) (float64, error) {
	s, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{Name: "BENCH", Subjects: []string{"bench.>"}, Storage: jetstream.FileStorage,
		Duplicates: time.Hour})
	if err != nil {
		return 0, fmt.Errorf("bench : %w", err)
	}
	defer js.DeleteStream(context.WithoutCancel(ctx), s.CachedInfo().Config.Name)
	start := time.Now()
	var acks []jetstream.PubAckFuture
	for i, b := range bodies {
		f, err := js.PublishAsync("bench.requests", b, jetstream.WithMsgID(fmt.Sprint("bench-", i)))
		if err != nil {
			return 0, fmt.Errorf("bench : %w", err)
		}
		acks = append(acks, f)
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(time.Minute):
		return 0, errors.New("bench : JetStream n'a pas tout acquitté en une minute")
	}
	for _, f := range acks {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			return 0, fmt.Errorf("bench : %w", err)
		}
	}
	return float64(len(bodies)) / time.Since(start).Seconds(), nil
}

// benchRawPostgres inserts n cases and their first events, in batches of
// 500 rows per transaction with COPY, into tables shaped like the real
// ones, and returns cases per second.
func benchRawPostgres(ctx context.Context, conn *pgx.Conn, n int) (float64, error) {
	if _, err := conn.Exec(ctx, `
		CREATE TEMP TABLE bench_cases (LIKE cases INCLUDING DEFAULTS INCLUDING INDEXES);
		CREATE TEMP TABLE bench_events (LIKE case_events INCLUDING DEFAULTS INCLUDING INDEXES)`); err != nil {
		return 0, fmt.Errorf("bench : %w", err)
	}
	payload := []byte(`{"schema":"case-event.v1","type":"created","summary":"Lampadaire éteint devant le 4 avenue Jeanne d'Arc","data":{"outcome":"new_case","reasons":["eclairage à 99 %"]}}`)
	start := time.Now()
	for done := 0; done < n; {
		batch := min(500, n-done)
		tx, err := conn.Begin(ctx)
		if err != nil {
			return 0, fmt.Errorf("bench : %w", err)
		}
		caseRows := make([][]any, batch)
		eventRows := make([][]any, batch)
		for i := range batch {
			id := int64(done + i + 1)
			caseRows[i] = []any{id, caseref.Format(2026, int(id)).String(), "eclairage", "pays-d-aix", "received", "normal"}
			eid, _ := uuid.NewV7()
			eventRows[i] = []any{eid, id, 1, "created", time.Now(), "router", "bench", payload}
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"bench_cases"}, []string{"id", "ref", "competence", "territory", "state", "priority"}, pgx.CopyFromRows(caseRows)); err != nil {
			tx.Rollback(ctx)
			return 0, fmt.Errorf("bench : %w", err)
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"bench_events"}, []string{"id", "case_id", "seq", "type", "at", "actor_kind", "actor_id", "payload"}, pgx.CopyFromRows(eventRows)); err != nil {
			tx.Rollback(ctx)
			return 0, fmt.Errorf("bench : %w", err)
		}
		if err := tx.Commit(ctx); err != nil {
			return 0, fmt.Errorf("bench : %w", err)
		}
		done += batch
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// percentile of latencies (any order).
func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[min(len(s)-1, int(p*float64(len(s))))]
}
