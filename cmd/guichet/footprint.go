package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"time"

	"github.com/ampmetropole/guichet/services/platform/pageweight"
)

// footprintFactors turn CPU time into energy and carbon; each is a flag,
// each default has its source (docs/performance.md#footprint).
type footprintFactors struct {
	WattsPerCPU float64 `json:"watts_per_busy_cpu"`
	PUE         float64 `json:"pue"`
	GridGPerKWh float64 `json:"grid_gco2e_per_kwh"`
	Sources     string  `json:"sources"`
}

// footprintReport is what `guichet footprint` measures.
type footprintReport struct {
	Machine    string  `json:"machine"`
	MeasuredAt string  `json:"measured_at"`
	Requests   int     `json:"requests_measured"`
	GuichetCPU float64 `json:"guichet_cpu_ms_per_request"`
	PGCPU      float64 `json:"postgres_cpu_ms_per_request"`
	// Per thousand routed requests: CPU seconds, energy at the plug (PUE
	// included) and its carbon.
	CPUSecondsPer1000 float64          `json:"cpu_seconds_per_1000"`
	WhPer1000         float64          `json:"energy_wh_per_1000"`
	CO2eGPer1000      float64          `json:"co2e_g_per_1000"`
	Factors           footprintFactors `json:"factors"`
	// Storage per case in the database Guichet runs on (tables and
	// indexes, every table divided by the cases), when it is reachable.
	Cases               *int64 `json:"cases,omitempty"`
	StorageBytesPerCase *int64 `json:"postgres_bytes_per_case,omitempty"`
	// The transfer weight of the citizen's pages (HTML and the style
	// sheets and scripts they load), when Guichet answers at PublicURL.
	PageBytes map[string]int `json:"page_bytes,omitempty"`
}

// citizenPages are the pages whose weight is counted.
var citizenPages = []string{"/demande", "/suivi", "/algorithme", "/donnees"}

// runFootprint measures the footprint: guichet footprint [--bench FILE]
// [--requests N] [--watts-per-cpu W] [--pue P] [--grid G] [--json].
func runFootprint(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var benchFile *string
	var n *int
	var asJSON *bool
	f := footprintFactors{Sources: "watts : Cloud Carbon Footprint, puissance maximale par vCPU ; PUE : Uptime Institute, enquête mondiale 2023 ; réseau : ADEME Base Empreinte, électricité, mix moyen France continentale"}
	cfg, rest, err := parseConfig("footprint", args, stderr, func(fs *flag.FlagSet) {
		benchFile = fs.String("bench", "", "un rapport de guichet bench --json à lire plutôt que de mesurer")
		n = fs.Int("requests", 2000, "demandes de la mesure, sans --bench")
		fs.Float64Var(&f.WattsPerCPU, "watts-per-cpu", 3.5, "watts d'un processeur (vCPU) occupé")
		fs.Float64Var(&f.PUE, "pue", 1.58, "efficacité énergétique du centre de données (PUE)")
		fs.Float64Var(&f.GridGPerKWh, "grid", 52, "grammes de CO2e par kWh du réseau électrique")
		asJSON = fs.Bool("json", false, "un objet JSON")
	})
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageError{fmt.Sprintf("footprint : argument inattendu %q", rest[0])}
	}
	if f.WattsPerCPU <= 0 || f.PUE < 1 || f.GridGPerKWh < 0 || *n < 1 {
		return usageError{"footprint : --watts-per-cpu > 0, --pue ≥ 1, --grid ≥ 0, --requests ≥ 1"}
	}
	var bench benchReport
	var raw []byte
	if *benchFile != "" {
		if raw, err = os.ReadFile(*benchFile); err != nil {
			return err
		}
	} else {
		// The bench writes thousands of synthetic requests: never into the
		// database or the streams of a Guichet in service.
		if cfg.DatabaseURL != "" || cfg.NATSURL != "" {
			return usageError{"footprint : DATABASE_URL ou NATS_URL est défini ; la mesure écrirait des milliers de demandes fictives dans ce Guichet. Mesurez ailleurs (guichet bench --json > bench.json) et donnez --bench bench.json"}
		}
		var out bytes.Buffer
		fmt.Fprintf(stderr, "mesure de %d demandes de bout en bout (guichet bench)…\n", *n)
		if err := runBench(ctx, []string{"--requests", strconv.Itoa(*n), "--json"}, &out, stderr); err != nil {
			return err
		}
		raw = out.Bytes()
	}
	if err := json.Unmarshal(raw, &bench); err != nil || bench.GuichetCPU == nil {
		return fmt.Errorf("footprint : rapport de mesure illisible ou sans temps CPU (guichet bench --json sous Linux) : %v", err)
	}
	host, _ := os.Hostname()
	rep := footprintReport{Machine: fmt.Sprintf("%s, %d processeurs, %s", host, runtime.NumCPU(), runtime.GOOS), MeasuredAt: time.Now().Format(time.RFC3339),
		Requests: bench.Routed, GuichetCPU: *bench.GuichetCPU, Factors: f}
	if bench.PostgresCPU != nil {
		rep.PGCPU = *bench.PostgresCPU
	}
	rep.CPUSecondsPer1000 = rep.GuichetCPU + rep.PGCPU // ms a request is s a thousand
	rep.WhPer1000 = rep.CPUSecondsPer1000 * f.WattsPerCPU * f.PUE / 3600
	rep.CO2eGPer1000 = rep.WhPer1000 / 1000 * f.GridGPerKWh
	if store, err := openToolStore(ctx, "footprint", cfg, io.Discard); err == nil {
		var cases, bytes int64
		if err := store.DB().QueryRow(ctx, `SELECT (SELECT count(*) FROM cases),
			(SELECT COALESCE(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
			 WHERE c.relkind = 'r' AND s.nspname = 'public')::bigint`).Scan(&cases, &bytes); err == nil && cases > 0 {
			per := bytes / cases
			rep.Cases, rep.StorageBytesPerCase = &cases, &per
		}
		store.Close()
	} else {
		fmt.Fprintln(stderr, "stockage par dossier non mesuré : aucune base Guichet joignable (guichet dev, ou DATABASE_URL)")
	}
	base := cfg.PublicURL
	if base == "" {
		base = "http://127.0.0.1:8080"
	}
	if pages, err := pageweight.Measure(ctx, base, citizenPages); err == nil {
		rep.PageBytes = pages
	} else {
		fmt.Fprintf(stderr, "poids des pages non mesuré : %v\n", err)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	fmt.Fprintf(stdout, "Empreinte mesurée le %s sur %s (%d demandes routées)\n", rep.MeasuredAt, rep.Machine, rep.Requests)
	fmt.Fprintf(stdout, "  CPU par demande : Guichet %.2f ms, PostgreSQL %.2f ms\n", rep.GuichetCPU, rep.PGCPU)
	fmt.Fprintf(stdout, "  Pour 1 000 demandes : %.2f s de CPU, %.3f Wh, %.4f g CO2e\n", rep.CPUSecondsPer1000, rep.WhPer1000, rep.CO2eGPer1000)
	fmt.Fprintf(stdout, "  Facteurs : %.2f W par processeur occupé, PUE %.2f, %.0f g CO2e/kWh (%s)\n", f.WattsPerCPU, f.PUE, f.GridGPerKWh, f.Sources)
	if rep.StorageBytesPerCase != nil {
		fmt.Fprintf(stdout, "  Stockage PostgreSQL : %d octets par dossier (%d dossiers)\n", *rep.StorageBytesPerCase, *rep.Cases)
	}
	for _, p := range citizenPages {
		if b, ok := rep.PageBytes[p]; ok {
			fmt.Fprintf(stdout, "  Page %s : %d octets transférés\n", p, b)
		}
	}
	return nil
}
