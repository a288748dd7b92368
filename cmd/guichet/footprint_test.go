package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/footprint"
	"github.com/ampmetropole/guichet/services/testkit/stack"
)

// TestFootprintFromABenchReport: guichet footprint turns the CPU a routed
// request costs (a bench report) into energy and carbon with the factors
// given, and measures the storage per case and the citizen's pages of the
// Guichet it runs beside — here none, which it says rather than inventing.
func TestFootprintFromABenchReport(t *testing.T) {
	dir := t.TempDir()
	bench := filepath.Join(dir, "bench.json")
	if err := os.WriteFile(bench, []byte(`{"n":1000,"routed":1000,"e2e_rps":250,"guichet_cpu_ms_per_request":1.1,"postgres_cpu_ms_per_request":0.9}`), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DATABASE_URL", "")
	t.Setenv("GUICHET_PUBLIC_URL", "http://127.0.0.1:1") // nobody answers
	var out, errOut bytes.Buffer
	if err := runFootprint(context.Background(), []string{"--bench", bench, "--data", dir, "--json", "--watts-per-cpu", "4", "--pue", "1.5", "--grid", "50"}, &out, &errOut); err != nil {
		t.Fatalf("%v: %s", err, errOut.String())
	}
	var rep footprint.Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
	// 2 ms a request are 2 s a thousand; × 4 W × 1.5 = 12 J… / 3600 Wh.
	if rep.Requests != 1000 || !near(rep.CPUSecondsPer1000, 2) || !near(rep.WhPer1000, 2*4*1.5/3600) || !near(rep.CO2eGPer1000, 2*4*1.5/3600/1000*50) ||
		rep.Factors.Sources == "" {
		t.Errorf("report %+v", rep)
	}
	if rep.Storage != nil || rep.PageBytes != nil || !strings.Contains(errOut.String(), "non mesuré") || strings.Contains(errOut.String(), "enregistré :") {
		t.Errorf("figures it could not measure: storage %v, pages %v, said %q", rep.Storage, rep.PageBytes, errOut.String())
	}
	for _, bad := range [][]string{{"--pue", "0.5"}, {"--watts-per-cpu", "0"}, {"--bench", filepath.Join(dir, "absent.json")}, {"en-trop"}} {
		err := runFootprint(context.Background(), append([]string{"--data", dir}, bad...), &out, &errOut)
		var ue usageError
		if err == nil || strings.HasPrefix(bad[0], "--pue") && !errors.As(err, &ue) {
			t.Errorf("%v: %v", bad, err)
		}
	}
}

// TestFootprintNeverBenchesAGuichetInService: without a bench report, the
// command measures on a private cluster; with DATABASE_URL or NATS_URL set
// it refuses rather than write synthetic requests into that Guichet.
func TestFootprintNeverBenchesAGuichetInService(t *testing.T) {
	t.Setenv("DATABASE_URL", "postgres://guichet@127.0.0.1:1/guichet")
	var out, errOut bytes.Buffer
	err := runFootprint(context.Background(), []string{"--data", t.TempDir()}, &out, &errOut)
	var ue usageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "--bench") {
		t.Errorf("footprint with DATABASE_URL and no report: %v", err)
	}
	t.Setenv("DATABASE_URL", "")
	t.Setenv("NATS_URL", "nats://127.0.0.1:1")
	err = runFootprint(context.Background(), []string{"--data", t.TempDir()}, &out, &errOut)
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "--bench") {
		t.Errorf("footprint with NATS_URL and no report: %v", err)
	}
}

// TestFootprintRecordsItsReport: beside a Guichet, the command weighs a
// case in its three places — PostgreSQL, the attachments, the streams —
// finding NATS by NATS_URL or in the data folder, and records its report
// in the database, which gives it back as the dashboard reads it.
func TestFootprintRecordsItsReport(t *testing.T) {
	ctx := context.Background()
	st := stack.New(t, stack.Options{Router: true})
	for _, r := range []struct{ competence, text string }{{"voirie", "Nid-de-poule devant le 12 rue Paradis."}, {"dechets", "Bac jaune cassé, couvercle arraché."}} {
		st.Route(t, schemas.Request{Channel: schemas.ChannelWeb, Subject: r.text, Body: r.text, Citizen: &schemas.Citizen{Email: "lea@example.net"},
			Hints: &schemas.Hints{Competence: r.competence}})
	}
	dir := t.TempDir()
	bench := filepath.Join(dir, "bench.json")
	if err := os.WriteFile(bench, []byte(`{"n":1000,"routed":1000,"guichet_cpu_ms_per_request":3.09,"postgres_cpu_ms_per_request":2.55}`), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DATABASE_URL", st.DBURL)
	t.Setenv("NATS_URL", st.NATS.ClientURL())
	t.Setenv("GUICHET_PUBLIC_URL", "http://127.0.0.1:1")
	var out, errOut bytes.Buffer
	if err := runFootprint(ctx, []string{"--bench", bench, "--data", dir, "--json"}, &out, &errOut); err != nil {
		t.Fatalf("%v: %s", err, errOut.String())
	}
	var rep footprint.Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	s := rep.Storage
	if s == nil || s.Cases != 2 || s.CasesEstimated || s.Rows.PerCase <= 0 || s.Objects == nil || s.Streams == nil || s.Streams.PerCase <= 0 ||
		!strings.Contains(errOut.String(), "rapport enregistré : visible sur le tableau de bord") {
		t.Fatalf("storage %+v, said %q", s, errOut.String())
	}
	got, ok, err := st.Store.LatestFootprint(ctx)
	if err != nil || !ok || !got.MeasuredAt.Equal(rep.MeasuredAt) || got.GuichetCPU != 3.09 || got.PGCPU != 2.55 || got.Machine != rep.Machine ||
		got.Factors != rep.Factors || got.Storage == nil || *got.Storage.Streams != *s.Streams {
		t.Errorf("recorded %+v %v %v, printed %+v", got, ok, err, rep)
	}

	// NATS found in the data folder, as guichet dev leaves it; the text
	// says where the report went.
	t.Setenv("NATS_URL", "")
	if err := os.WriteFile(filepath.Join(dir, "nats-url"), []byte(st.NATS.ClientURL()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second) // reports are dated to the second
	out.Reset()
	errOut.Reset()
	if err := runFootprint(ctx, []string{"--bench", bench, "--data", dir, "--pue", "1.2"}, &out, &errOut); err != nil {
		t.Fatalf("%v: %s", err, errOut.String())
	}
	if text := out.String(); !strings.Contains(text, "2 dossiers) : PostgreSQL") || !strings.Contains(text, "pièces jointes") ||
		!strings.Contains(text, "rapport enregistré : visible sur le tableau de bord") {
		t.Errorf("the text: %s (%s)", text, errOut.String())
	}
	if got, ok, err := st.Store.LatestFootprint(ctx); err != nil || !ok || got.Factors.PUE != 1.2 || !got.MeasuredAt.After(rep.MeasuredAt) {
		t.Errorf("the latest report: %+v %v %v", got, ok, err)
	}
}
