package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/ampmetropole/guichet/services/cases/territory"
	"github.com/ampmetropole/guichet/services/language/extract"
	"github.com/ampmetropole/guichet/services/tools/corpus"
	"github.com/ampmetropole/guichet/services/tools/seed"
)

// runSeed fills the database with synthetic cases: guichet seed --cases N.
func runSeed(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cases, years, batch, workers *int
	var seedNo *uint64
	var corpusPath *string
	cfg, rest, err := parseConfig("seed", args, stderr, func(fs *flag.FlagSet) {
		cases = fs.Int("cases", 10000, "nombre de dossiers synthétiques à créer")
		seedNo = fs.Uint64("seed", 1, "graine du tirage (0 à 9) ; une autre graine ajoute d'autres dossiers à la même base")
		years = fs.Int("years", 3, "les dossiers s'ouvrent sur ce nombre d'années, jusqu'à maintenant")
		batch = fs.Int("batch", 2000, "dossiers écrits par transaction")
		workers = fs.Int("workers", 2, "transactions en parallèle")
		corpusPath = fs.String("corpus", "", "corpus dont les textes sont repris (défaut : celui livré, dans le binaire)")
	})
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageError{fmt.Sprintf("seed : argument inattendu %q", rest[0])}
	}
	if *cases < 1 || *cases > 10_000_000 {
		return usageError{"seed : --cases doit être entre 1 et 10 000 000"}
	}
	if *seedNo > 9 {
		return usageError{"seed : --seed doit être entre 0 et 9"}
	}
	if *years < 1 || *years > 20 {
		return usageError{"seed : --years doit être entre 1 et 20"}
	}
	recs, err := corpus.Default()
	if *corpusPath != "" {
		recs, err = corpus.ReadPath(*corpusPath)
	}
	if err != nil {
		return fmt.Errorf("seed : %w", err)
	}
	places, err := territory.Load()
	if err != nil {
		return err
	}
	tpl, err := seed.Templates(ctx, recs, corpus.NewBuilder(extract.New(places)))
	if err != nil {
		return err
	}
	g, err := seed.New(tpl, places, seed.Options{Now: time.Now(), Years: time.Duration(*years) * 365 * 24 * time.Hour, Seed: *seedNo, Cases: *cases})
	if err != nil {
		return err
	}
	store, err := openToolStore(ctx, "seed", cfg, stderr)
	if err != nil {
		return err
	}
	defer store.Close()
	start := time.Now()
	last := start
	err = seed.Run(ctx, store, g, *cases, *batch, *workers, func(done int) {
		if time.Since(last) > 5*time.Second || done == *cases {
			last = time.Now()
			fmt.Fprintf(stderr, "  %d / %d dossiers (%.0f/s)\n", done, *cases, float64(done)/time.Since(start).Seconds())
		}
	})
	if err != nil {
		return fmt.Errorf("%w (une même graine ne peut servir deux fois sur une base : essayez --seed %d)", err, (*seedNo+1)%10)
	}
	// The planner needs fresh statistics, and index-only scans the visibility
	// map, as autovacuum would have left them after years of service.
	if _, err := store.DB().Exec(ctx, `VACUUM ANALYZE citizens, cases, requests, case_events, routing_decisions, request_search`); err != nil {
		return fmt.Errorf("seed : analyse des tables : %w", err)
	}
	fmt.Fprintf(stdout, "%d dossiers synthétiques créés en %s\n", *cases, time.Since(start).Round(time.Second))
	return nil
}
