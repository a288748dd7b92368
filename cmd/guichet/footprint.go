package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/ampmetropole/guichet/services/cases/footprint"
	"github.com/ampmetropole/guichet/services/platform/bus"
	"github.com/ampmetropole/guichet/services/platform/pageweight"
)

// citizenPages are the pages whose weight is counted.
var citizenPages = []string{"/demande", "/suivi", "/algorithme", "/donnees"}

// runFootprint measures the footprint: guichet footprint [--bench FILE]
// [--requests N] [--watts-per-cpu W] [--pue P] [--grid G] [--json].
func runFootprint(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var benchFile *string
	var n *int
	var asJSON *bool
	f := footprint.Factors{Sources: "watts : Cloud Carbon Footprint, puissance maximale par vCPU ; PUE : Uptime Institute, enquête mondiale 2023 ; réseau : ADEME Base Empreinte, électricité, mix moyen France continentale"}
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
	rep := footprint.Report{Machine: fmt.Sprintf("%s, %d processeurs, %s", host, runtime.NumCPU(), runtime.GOOS), MeasuredAt: time.Now().Truncate(time.Second),
		Requests: bench.Routed, GuichetCPU: *bench.GuichetCPU, Factors: f}
	if bench.PostgresCPU != nil {
		rep.PGCPU = *bench.PostgresCPU
	}
	rep.CPUSecondsPer1000 = rep.GuichetCPU + rep.PGCPU // ms a request is s a thousand
	rep.WhPer1000 = rep.CPUSecondsPer1000 * f.WattsPerCPU * f.PUE / 3600
	rep.CO2eGPer1000 = rep.WhPer1000 / 1000 * f.GridGPerKWh
	store, err := openToolStore(ctx, "footprint", cfg, io.Discard)
	reached := err == nil
	if !reached {
		fmt.Fprintln(stderr, "stockage par dossier non mesuré : aucune base Guichet joignable (guichet dev, ou DATABASE_URL)")
	} else {
		defer store.Close()
		if s, err := footprint.Measure(ctx, store.DB()); err != nil {
			fmt.Fprintf(stderr, "stockage par dossier non mesuré : %v\n", err)
		} else {
			if err := measureBusStorage(ctx, cfg, &s); err != nil {
				fmt.Fprintf(stderr, "stockage NATS (pièces jointes, flux) non mesuré : %v\n", err)
			}
			rep.Storage = &s
		}
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
	// The dashboard of the Guichet measured shows the report it keeps.
	saved := ""
	if reached {
		if _, err := footprint.Record(ctx, store.DB(), rep); err != nil {
			fmt.Fprintf(stderr, "rapport non enregistré : %v\n", err)
		} else {
			saved = "rapport enregistré : visible sur le tableau de bord (/bo/tableau)"
		}
	}
	if *asJSON {
		if saved != "" {
			fmt.Fprintln(stderr, saved)
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	fmt.Fprintf(stdout, "Empreinte mesurée le %s sur %s (%d demandes routées)\n", rep.MeasuredAt.Format(time.RFC3339), rep.Machine, rep.Requests)
	fmt.Fprintf(stdout, "  CPU par demande : Guichet %.2f ms, PostgreSQL %.2f ms\n", rep.GuichetCPU, rep.PGCPU)
	fmt.Fprintf(stdout, "  Pour 1 000 demandes : %.2f s de CPU, %.3f Wh, %.4f g CO2e\n", rep.CPUSecondsPer1000, rep.WhPer1000, rep.CO2eGPer1000)
	fmt.Fprintf(stdout, "  Facteurs : %.2f W par processeur occupé, PUE %.2f, %.0f g CO2e/kWh (%s)\n", f.WattsPerCPU, f.PUE, f.GridGPerKWh, f.Sources)
	if s := rep.Storage; s != nil && s.Cases == 0 {
		fmt.Fprintf(stdout, "  Stockage : aucun dossier dans la base (PostgreSQL %d octets en tout)\n", s.Rows.Bytes)
	} else if s != nil {
		about := ""
		if s.CasesEstimated {
			about = "environ "
		}
		fmt.Fprintf(stdout, "  Stockage par dossier (%s%d dossiers) : PostgreSQL %d octets (tables et index)", about, s.Cases, s.Rows.PerCase)
		if s.Objects != nil {
			fmt.Fprintf(stdout, ", pièces jointes %d octets, flux JetStream %d octets", s.Objects.PerCase, s.Streams.PerCase)
		}
		fmt.Fprintln(stdout)
	}
	for _, p := range citizenPages {
		if b, ok := rep.PageBytes[p]; ok {
			fmt.Fprintf(stdout, "  Page %s : %d octets transférés\n", p, b)
		}
	}
	if saved != "" {
		fmt.Fprintln(stdout, saved)
	}
	return nil
}

// measureBusStorage adds the attachments and the streams of the Guichet's
// NATS (NATS_URL, or the nats-url file of guichet dev's data folder) to s.
func measureBusStorage(ctx context.Context, cfg Config, s *footprint.Storage) error {
	url := cfg.NATSURL
	if url == "" {
		b, err := os.ReadFile(filepath.Join(cfg.DataDir, "nats-url"))
		if err != nil {
			return fmt.Errorf("NATS_URL n'est pas définie et %s est illisible", filepath.Join(cfg.DataDir, "nats-url"))
		}
		url = strings.TrimSpace(string(b))
	}
	conn, err := bus.Connect(ctx, url, "guichet footprint", slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return s.MeasureBus(ctx, conn.JS)
}
