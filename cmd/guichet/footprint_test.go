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
	var rep footprintReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
	// 2 ms a request are 2 s a thousand; × 4 W × 1.5 = 12 J… / 3600 Wh.
	if rep.Requests != 1000 || !near(rep.CPUSecondsPer1000, 2) || !near(rep.WhPer1000, 2*4*1.5/3600) || !near(rep.CO2eGPer1000, 2*4*1.5/3600/1000*50) ||
		rep.Factors.Sources == "" {
		t.Errorf("report %+v", rep)
	}
	if rep.StorageBytesPerCase != nil || rep.PageBytes != nil || !strings.Contains(errOut.String(), "non mesuré") {
		t.Errorf("figures it could not measure: storage %v, pages %v, said %q", rep.StorageBytesPerCase, rep.PageBytes, errOut.String())
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
// command measures on a private cluster; with DATABASE_URL set it refuses
// rather than write synthetic requests into that database.
func TestFootprintNeverBenchesAGuichetInService(t *testing.T) {
	t.Setenv("DATABASE_URL", "postgres://guichet@127.0.0.1:1/guichet")
	var out, errOut bytes.Buffer
	err := runFootprint(context.Background(), []string{"--data", t.TempDir()}, &out, &errOut)
	var ue usageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "--bench") {
		t.Errorf("footprint with DATABASE_URL and no report: %v", err)
	}
}
