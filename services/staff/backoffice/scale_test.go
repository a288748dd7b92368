package backoffice_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/cases/catalogue"
	"github.com/ampmetropole/guichet/services/cases/deadline"
	"github.com/ampmetropole/guichet/services/cases/footprint"
	"github.com/ampmetropole/guichet/services/cases/territory"
	"github.com/ampmetropole/guichet/services/language/extract"
	"github.com/ampmetropole/guichet/services/platform/frtime"
	"github.com/ampmetropole/guichet/services/staff/auth"
	"github.com/ampmetropole/guichet/services/staff/backoffice"
	"github.com/ampmetropole/guichet/services/testkit"
	"github.com/ampmetropole/guichet/services/tools/corpus"
	"github.com/ampmetropole/guichet/services/tools/seed"
)

// BenchmarkAtScale measures the pages the teams use most — their queue, a
// case page, a full-text search — through the real handler, sessions and
// audit log included (and the supervisor's dashboard, its figures kept as
// the product keeps them and, apart, computed at each view), on a database
// of the size of years of service:
// GUICHET_BENCH_DATABASE_URL when set (one `guichet seed` filled), else a
// throwaway database seeded here with GUICHET_BENCH_CASES cases (default
// 1 000 000, a few minutes). Each sub-benchmark reports p50 and p95 in ms.
//
//	go test -run '^$' -bench AtScale -benchtime 300x ./services/staff/backoffice/
func BenchmarkAtScale(b *testing.B) {
	ctx := context.Background()
	dbURL := os.Getenv("GUICHET_BENCH_DATABASE_URL")
	if dbURL == "" {
		dbURL = testkit.Database(b)
		n := 1_000_000
		if v, err := strconv.Atoi(os.Getenv("GUICHET_BENCH_CASES")); err == nil && v > 0 {
			n = v
		}
		seedDatabase(b, dbURL, n)
	}
	if err := casestore.Migrate(ctx, dbURL, testkit.NopLogger()); err != nil {
		b.Fatal(err)
	}
	v, err := schemas.NewValidator()
	if err != nil {
		b.Fatal(err)
	}
	store, err := casestore.Open(ctx, casestore.Config{URL: dbURL, CheckEvents: true}, v, testkit.NopLogger())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(store.Close)
	guard, err := auth.New(auth.Config{Secret: "benchmark-secret-of-32-bytes-min!", PublicURL: "http://127.0.0.1"}, store.DB(), testkit.NopLogger())
	if err != nil {
		b.Fatal(err)
	}
	cat, err := catalogue.Default()
	if err != nil {
		b.Fatal(err)
	}
	// serve runs the back office keeping the dashboard's figures for fresh
	// (0: the default).
	serve := func(fresh time.Duration) *httptest.Server {
		bo, err := backoffice.New(backoffice.Deps{Guard: guard, Store: store, Catalogue: cat, Clock: deadline.New(frtime.Paris()), Log: testkit.NopLogger(),
			Storage: footprint.NewMeter(store.DB(), nil, testkit.NopLogger()), DashboardFresh: fresh})
		if err != nil {
			b.Fatal(err)
		}
		mux := http.NewServeMux()
		guard.Register(mux)
		mux.Handle("/bo/", bo)
		srv := httptest.NewServer(guard.Middleware(mux))
		b.Cleanup(srv.Close)
		return srv
	}
	srv := serve(0)
	// The same back office computing the dashboard's figures at every view
	// (they are never fresh), to say what a view without kept figures costs.
	usrv := serve(time.Nanosecond)

	// A waste team on Marseille-Provence, the biggest queue there is, and a
	// supervisor who sees everything.
	suffix := strconv.FormatInt(time.Now().UnixNano(), 36)
	team := benchSignIn(b, srv.URL, guard, "bench-dechets-"+suffix, auth.RoleTeam, []string{"dechets"}, []string{"marseille-provence"})
	boss := benchSignIn(b, srv.URL, guard, "bench-sup-"+suffix, auth.RoleSupervisor, nil, nil)

	rows, err := store.DB().Query(ctx, `SELECT ref FROM cases WHERE competence = 'dechets' AND territory = 'marseille-provence' ORDER BY random() LIMIT 500`)
	if err != nil {
		b.Fatal(err)
	}
	var refs []string
	for rows.Next() {
		var r string
		if err := rows.Scan(&r); err != nil {
			b.Fatal(err)
		}
		refs = append(refs, r)
	}
	if rows.Close(); len(refs) == 0 {
		b.Fatal("no waste case on Marseille-Provence to open")
	}

	queues := []string{"/bo/dossiers", "/bo/dossiers?state=in_progress", "/bo/dossiers?overdue=true", "/bo/dossiers?page=3",
		"/bo/dossiers?channel=phone", "/bo/dossiers?state=closed&page=40"}
	words := []string{"poubelles", "fuite", "nid-de-poule", "lampadaire éteint", "encombrants", "stationnement gênant",
		"arbre tombé", "tags", "bac jaune", "odeur égout", "permis de construire", "bus en retard"}
	cases := []struct {
		name string
		who  *http.Client
		path func(i int) string
	}{
		{"queue/team", team, func(i int) string { return queues[i%len(queues)] }},
		{"queue/supervisor", boss, func(i int) string { return queues[i%len(queues)] }},
		{"case", team, func(i int) string { return "/bo/dossiers/" + refs[i%len(refs)] }},
		{"search/team", team, func(i int) string { return "/bo/dossiers?q=" + url.QueryEscape(words[i%len(words)]) }},
		{"search/supervisor", boss, func(i int) string { return "/bo/dossiers?q=" + url.QueryEscape(words[i%len(words)]) }},
		{"dashboard/supervisor", boss, func(int) string { return "/bo/tableau" }},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			var computed []float64
			if c.name == "dashboard/supervisor" {
				// The figures computed, not kept: what the first view of a
				// scope and period waits for (a few views, not b.N: each
				// takes hundreds of milliseconds on millions of cases).
				for range 5 {
					start := time.Now()
					resp, err := c.who.Get(usrv.URL + "/bo/tableau")
					if err != nil {
						b.Fatal(err)
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						b.Fatalf("uncached dashboard: %d", resp.StatusCode)
					}
					computed = append(computed, float64(time.Since(start).Microseconds())/1000)
				}
			}
			lat := make([]float64, 0, b.N)
			byPath := map[string][]float64{}
			i := 0
			for b.Loop() {
				start := time.Now()
				resp, err := c.who.Get(srv.URL + c.path(i))
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("%s: %d", c.path(i), resp.StatusCode)
				}
				ms := float64(time.Since(start).Microseconds()) / 1000
				lat = append(lat, ms)
				if len(byPath) < 20 {
					byPath[c.path(i)] = append(byPath[c.path(i)], ms)
				}
				i++
			}
			// Which page is slow, when there are a few kinds.
			if len(byPath) < 20 {
				for path, l := range byPath {
					slices.Sort(l)
					b.Logf("%-45s p50 %6.1f ms  max %6.1f ms", path, l[len(l)/2], l[len(l)-1])
				}
			}
			slices.Sort(lat)
			b.ReportMetric(lat[len(lat)/2], "p50-ms")
			b.ReportMetric(lat[min(len(lat)-1, len(lat)*95/100)], "p95-ms")
			if len(computed) > 0 {
				slices.Sort(computed)
				b.ReportMetric(computed[len(computed)/2], "computed-p50-ms")
				b.ReportMetric(computed[len(computed)-1], "computed-max-ms")
			}
		})
	}
}

func seedDatabase(b *testing.B, dbURL string, n int) {
	b.Helper()
	ctx := context.Background()
	recs, err := corpus.ReadPath("../../routing/classify/corpus")
	if err != nil {
		b.Fatal(err)
	}
	places, err := territory.Load()
	if err != nil {
		b.Fatal(err)
	}
	tpl, err := seed.Templates(ctx, recs, corpus.NewBuilder(extract.New(places)))
	if err != nil {
		b.Fatal(err)
	}
	g, err := seed.New(tpl, places, seed.Options{Now: time.Now(), Seed: 1, Cases: n})
	if err != nil {
		b.Fatal(err)
	}
	v, _ := schemas.NewValidator()
	store, err := casestore.Open(ctx, casestore.Config{URL: dbURL, CheckEvents: true}, v, testkit.NopLogger())
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	start := time.Now()
	if err := seed.Run(ctx, store, g, n, 2000, 2, nil); err != nil {
		b.Fatal(err)
	}
	if _, err := store.DB().Exec(ctx, `VACUUM ANALYZE`); err != nil {
		b.Fatal(err)
	}
	b.Logf("seeded %d cases in %s", n, time.Since(start).Round(time.Second))
}

// benchSignIn creates an account and signs it in through the sign-in page.
func benchSignIn(b *testing.B, base string, guard *auth.Service, login, role string, comps, terrs []string) *http.Client {
	b.Helper()
	if _, err := guard.CreateAccount(context.Background(), login, "Banc d'essai", role, "mot-de-passe-"+login, comps, terrs); err != nil {
		b.Fatal(err)
	}
	return signIn(b, base, login, "mot-de-passe-"+login).client
}
