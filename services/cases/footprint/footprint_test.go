package footprint_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/footprint"
	"github.com/ampmetropole/guichet/services/platform/bus"
	"github.com/ampmetropole/guichet/services/testkit"
	"github.com/ampmetropole/guichet/services/testkit/stack"
)

// measure measures the three places of a stack.
func measure(t *testing.T, st stack.Stack) footprint.Storage {
	t.Helper()
	ctx := context.Background()
	s, err := footprint.Measure(ctx, st.Store.DB())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.MeasureBus(ctx, st.Conn.JS); err != nil {
		t.Fatal(err)
	}
	return s
}

func countCases(t *testing.T, st stack.Stack) int64 {
	t.Helper()
	var n int64
	testkit.QueryRow(t, st.DBURL, `SELECT count(*) FROM cases`, nil, &n)
	return n
}

// TestStorageGrowsWithCasesAndFiles: the rows, the attachments and the
// streams each grow when cases are opened and a file attached, and each
// is divided by the cases counted.
func TestStorageGrowsWithCasesAndFiles(t *testing.T) {
	st := stack.New(t, stack.Options{Router: true})
	ctx := context.Background()
	before := measure(t, st)
	if before.Cases != countCases(t, st) || before.CasesEstimated || before.Objects == nil || before.Streams == nil {
		t.Fatalf("before: %+v", before)
	}
	for _, r := range []struct{ competence, text, postal string }{
		{"voirie", "Nid-de-poule profond sur la chaussée devant le 12.", "13006"},
		{"dechets", "Bac jaune cassé, le couvercle est arraché.", "13400"},
		{"voirie", "Trottoir défoncé devant l'école, des enfants tombent.", "13100"},
	} {
		st.Route(t, schemas.Request{Channel: schemas.ChannelWeb, Subject: r.text, Body: r.text, Location: &schemas.Location{PostalCode: r.postal},
			Citizen: &schemas.Citizen{Email: "lea@example.net"}, Hints: &schemas.Hints{Competence: r.competence}})
	}
	obs, err := st.Conn.JS.ObjectStore(ctx, bus.BucketAttachment)
	if err != nil {
		t.Fatal(err)
	}
	const scan = 300_000
	if _, err := obs.PutBytes(ctx, "sha256/scan-de-test", bytes.Repeat([]byte("courrier "), scan/9)); err != nil {
		t.Fatal(err)
	}
	after := measure(t, st)
	cases := countCases(t, st)
	if cases < before.Cases+3 || after.Cases != cases || after.CasesEstimated {
		t.Errorf("cases: %d measured (estimated %v), %d in the table, %d before", after.Cases, after.CasesEstimated, cases, before.Cases)
	}
	if after.Rows.Bytes <= before.Rows.Bytes || after.Objects.Bytes < before.Objects.Bytes+scan || after.Streams.Bytes <= before.Streams.Bytes {
		t.Errorf("storage did not grow: before %+v %+v %+v, after %+v %+v %+v", before.Rows, *before.Objects, *before.Streams, after.Rows, *after.Objects, *after.Streams)
	}
	for what, p := range map[string]footprint.Place{"rows": after.Rows, "objects": *after.Objects, "streams": *after.Streams} {
		if p.PerCase != p.Bytes/cases || p.PerCase <= 0 {
			t.Errorf("%s: %d bytes per case, %d bytes for %d cases", what, p.PerCase, p.Bytes, cases)
		}
	}

	// On a large table the cases are PostgreSQL's estimate, never below
	// what a bounded count saw, analysed or not.
	restore := footprint.SetExactBelow(2)
	defer restore()
	for _, analyse := range []bool{false, true} {
		if analyse {
			testkit.Exec(t, st.DBURL, `ANALYZE cases`)
		}
		s, err := footprint.Measure(ctx, st.Store.DB())
		if err != nil {
			t.Fatal(err)
		}
		if !s.CasesEstimated || s.Cases < 3 || s.Cases > cases {
			t.Errorf("analysed %v: %d cases (estimated %v), %d in the table", analyse, s.Cases, s.CasesEstimated, cases)
		}
	}
}

// TestMeterKeepsItsFigures: the meter measures once, shows the same
// figures until they are Every old, then measures again; without NATS, or
// when NATS does not answer, it gives PostgreSQL's figures alone.
func TestMeterKeepsItsFigures(t *testing.T) {
	st := stack.New(t, stack.Options{})
	ctx := context.Background()
	m := footprint.NewMeter(st.Store.DB(), st.Conn.JS, testkit.Logger(t))
	first, err := m.Storage(ctx)
	if err != nil || first.Objects == nil {
		t.Fatalf("%+v %v", first, err)
	}
	obs, err := st.Conn.JS.ObjectStore(ctx, bus.BucketAttachment)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := obs.PutBytes(ctx, "sha256/photo", bytes.Repeat([]byte{1}, 50_000)); err != nil {
		t.Fatal(err)
	}
	if again, err := m.Storage(ctx); err != nil || again.Objects.Bytes != first.Objects.Bytes || !again.MeasuredAt.Equal(first.MeasuredAt) {
		t.Errorf("within Every: %+v %v, first %+v", again.Objects, err, first.Objects)
	}
	m.Every = 0
	if later, err := m.Storage(ctx); err != nil || later.Objects.Bytes < first.Objects.Bytes+50_000 {
		t.Errorf("after Every: %+v %v", later.Objects, err)
	}

	pgOnly := footprint.NewMeter(st.Store.DB(), nil, testkit.Logger(t))
	if s, err := pgOnly.Storage(ctx); err != nil || s.Objects != nil || s.Streams != nil || s.Rows.Bytes <= 0 {
		t.Errorf("without NATS: %+v %v", s, err)
	}
	gone, err := bus.Connect(ctx, st.NATS.ClientURL(), "footprint test", testkit.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	gone.Close()
	start := time.Now()
	down := footprint.NewMeter(st.Store.DB(), gone.JS, testkit.Logger(t))
	if s, err := down.Storage(ctx); err != nil || s.Objects != nil || s.Rows.Bytes <= 0 || time.Since(start) > 3*time.Second {
		t.Errorf("NATS out of reach: %+v %v in %v", s, err, time.Since(start))
	}
}

// TestReportsRecordedAndReadBack: no report at first; then the one
// measured last, whatever the order of recording, with all its figures.
func TestReportsRecordedAndReadBack(t *testing.T) {
	ctx := context.Background()
	st := stack.New(t, stack.Options{})
	db := st.Store.DB()
	if _, ok, err := footprint.Latest(ctx, db); ok || err != nil {
		t.Fatalf("a report in an empty table: %v %v", ok, err)
	}
	at := time.Date(2026, 12, 7, 14, 5, 0, 0, time.UTC)
	newer := footprint.Report{Machine: "dev, 2 processeurs, linux", MeasuredAt: at, Requests: 1000, GuichetCPU: 3.09, PGCPU: 2.55,
		CPUSecondsPer1000: 5.64, WhPer1000: 0.0087, CO2eGPer1000: 0.00045,
		Factors:   footprint.Factors{WattsPerCPU: 3.5, PUE: 1.58, GridGPerKWh: 52, Sources: "ADEME"},
		Storage:   &footprint.Storage{Cases: 3010, Rows: footprint.Place{Bytes: 30_063_880, PerCase: 9988}, Streams: &footprint.Place{Bytes: 1000, PerCase: 0}},
		PageBytes: map[string]int{"/demande": 211024}}
	if _, err := footprint.Record(ctx, db, newer); err != nil {
		t.Fatal(err)
	}
	older := footprint.Report{Machine: "ancienne", MeasuredAt: at.Add(-24 * time.Hour), Requests: 10}
	if _, err := footprint.Record(ctx, db, older); err != nil {
		t.Fatal(err)
	}
	got, ok, err := footprint.Latest(ctx, db)
	if !ok || err != nil {
		t.Fatalf("%v %v", ok, err)
	}
	if got.Machine != newer.Machine || !got.MeasuredAt.Equal(at) || got.GuichetCPU != 3.09 || got.Factors != newer.Factors ||
		got.Storage == nil || got.Storage.Rows.PerCase != 9988 || got.Storage.Objects != nil || got.Storage.Streams.Bytes != 1000 || got.PageBytes["/demande"] != 211024 {
		t.Errorf("read back %+v", got)
	}
}
