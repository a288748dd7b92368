package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/ampmetropole/guichet/cmd/guichet/compose"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/cases/territory"
	"github.com/ampmetropole/guichet/services/language/extract"
	"github.com/ampmetropole/guichet/services/platform/frtime"
	redactlog "github.com/ampmetropole/guichet/services/platform/redact"
	"github.com/ampmetropole/guichet/services/routing/classify"
	"github.com/ampmetropole/guichet/services/routing/incident"
	"github.com/ampmetropole/guichet/services/routing/router"
	"github.com/ampmetropole/guichet/services/tools/corpus"
	"github.com/ampmetropole/guichet/services/tools/routeeval"
)

// examples reads labelled records and turns each into the tokens the
// classifier reads of the request its channel would publish.
func examples(ctx context.Context, path string) ([]classify.Example, error) {
	recs, err := corpus.ReadPath(path)
	if err != nil {
		return nil, err
	}
	places, err := territory.Load()
	if err != nil {
		return nil, err
	}
	b := corpus.NewBuilder(extract.New(places))
	at := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	out := make([]classify.Example, 0, len(recs))
	for _, r := range recs {
		req, err := b.Request(ctx, r, at)
		if err != nil {
			return nil, err
		}
		out = append(out, classify.Example{Tokens: classify.RequestTokens(req), Competence: r.Competence})
	}
	return out, nil
}

// runTrain trains the classifier from a labelled corpus.
func runTrain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var data, out *string
	cfg, rest, err := parseConfig("train", args, stderr, func(fs *flag.FlagSet) {
		data = fs.String("data", "services/routing/classify/corpus", "corpus étiqueté : fichier JSON Lines ou dossier de fichiers .jsonl")
		out = fs.String("out", "services/routing/classify/model/default.json", "fichier du modèle à écrire")
	})
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageError{fmt.Sprintf("train : argument inattendu %q", rest[0])}
	}
	cat, err := compose.LoadCatalogue(cfg.Router.Catalogue)
	if err != nil {
		return err
	}
	rules, err := compose.CatalogueRules(cat)
	if err != nil {
		return err
	}
	ex, err := examples(ctx, *data)
	if err != nil {
		return err
	}
	start := time.Now()
	m, err := classify.Train(ex, rules, classify.TrainOptions{})
	if err != nil {
		return err
	}
	if err := m.Save(*out); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "modèle %s écrit dans %s\n  %d exemples, %d compétences, %d termes, %d règles, appris en %s\n",
		m.Version, *out, m.Corpus.Examples, len(m.Classes), len(m.Features), rules.Len(), time.Since(start).Round(time.Millisecond))
	fmt.Fprintf(stdout, "  validation croisée (%d plis) : exactitude %.1f %% (modèle seul %.1f %%), perte log %.3f ; poids des règles %.2f, température %.2f\n",
		m.CV.Folds, m.CV.Accuracy*100, m.CV.ModelAccuracy*100, m.CV.LogLoss, m.RuleScale, m.Temperature)
	return nil
}

// runRouteEval measures the router on labelled records.
func runRouteEval(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var asJSON, misses *bool
	var modelPath, catPath *string
	var triage *float64
	// Flags may follow the file: guichet route-eval FILE --json.
	cfg, files, err := parseConfig("route-eval", flagsFirst(args, "model", "catalogue", "triage-below"), stderr, func(fs *flag.FlagSet) {
		asJSON = fs.Bool("json", false, "un seul objet JSON (accuracy, macro_f1, triage_rate, auto_precision, territory_accuracy, citation_recall, followup_accuracy, false_link_rate, incident_precision, incident_recall, n)")
		misses = fs.Bool("errors", false, "liste aussi les erreurs, demande par demande")
		modelPath = fs.String("model", "", "fichier du modèle (défaut : GUICHET_MODEL, sinon celui livré)")
		catPath = fs.String("catalogue", "", "catalogue (défaut : GUICHET_CATALOGUE, sinon celui livré)")
		triage = fs.Float64("triage-below", 0, "seuil de confiance sous lequel une demande va au tri humain (défaut : celui du routeur, 0,6)")
	})
	if err != nil {
		return err
	}
	if len(files) != 1 {
		return usageError{"route-eval : un fichier JSON Lines attendu (guichet route-eval FICHIER.jsonl [--json])"}
	}
	if *catPath == "" {
		*catPath = cfg.Router.Catalogue
	}
	if *modelPath == "" {
		*modelPath = cfg.Router.Model
	}
	cat, err := compose.LoadCatalogue(*catPath)
	if err != nil {
		return err
	}
	c, err := compose.LoadClassifier(*modelPath, cat)
	if err != nil {
		return err
	}
	places, err := territory.Load()
	if err != nil {
		return err
	}
	f, err := os.Open(files[0])
	if err != nil {
		return fmt.Errorf("route-eval : %w", err)
	}
	defer f.Close()
	recs, err := corpus.Read(f, files[0])
	if err != nil {
		return err
	}
	e := router.NewEngine(router.EngineConfig{TriageBelow: *triage}, c, places).WithIncidents(incident.DefaultConfig())
	rep, err := routeeval.Run(ctx, recs, corpus.NewBuilder(extract.New(places)), e)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		return enc.Encode(rep)
	}
	rep.Print(stdout, *misses)
	return nil
}

// runExportTraining writes, as labelled corpus records, the requests whose
// competence a person chose (triage, re-route), for the team to review and
// add to the corpus before `guichet train`.
func runExportTraining(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var out, since *string
	cfg, rest, err := parseConfig("export-training", args, stderr, func(fs *flag.FlagSet) {
		out = fs.String("out", "-", "fichier JSON Lines à écrire (- : sortie standard)")
		since = fs.String("since", "", "seulement les décisions depuis cette date (AAAA-MM-JJ)")
	})
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageError{fmt.Sprintf("export-training : argument inattendu %q", rest[0])}
	}
	var from time.Time
	if *since != "" {
		var err error
		if from, err = time.ParseInLocation("2006-01-02", *since, frtime.Paris()); err != nil {
			return usageError{"export-training : --since AAAA-MM-JJ attendu"}
		}
	}
	store, err := openToolStore(ctx, "export-training", cfg, stderr)
	if err != nil {
		return err
	}
	defer store.Close()
	labels, err := store.HumanLabels(ctx, from)
	if err != nil {
		return err
	}
	w := stdout
	if *out != "-" {
		f, err := os.Create(*out)
		if err != nil {
			return fmt.Errorf("export-training : %w", err)
		}
		defer f.Close()
		w = f
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, l := range labels {
		if err := enc.Encode(corpus.FromRequest(l.Request, l.Competence)); err != nil {
			return fmt.Errorf("export-training : %w", err)
		}
	}
	fmt.Fprintf(stderr, "%d demande(s) classée(s) par une personne exportée(s)\n", len(labels))
	return nil
}

// openToolStore opens the case store for a command run beside Guichet:
// DATABASE_URL, else the address `guichet dev` wrote in its data folder.
func openToolStore(ctx context.Context, cmd string, cfg Config, stderr io.Writer) (*casestore.Store, error) {
	dbURL, data := cfg.DatabaseURL, cfg.DataDir
	if dbURL == "" {
		b, err := os.ReadFile(filepath.Join(data, "database-url"))
		if err != nil {
			return nil, usageError{cmd + " : DATABASE_URL n'est pas définie et " + filepath.Join(data, "database-url") + " est illisible (guichet dev tourne-t-il avec --data " + data + " ?)"}
		}
		dbURL = strings.TrimSpace(string(b))
	}
	v, err := schemas.NewValidator()
	if err != nil {
		return nil, err
	}
	return casestore.Open(ctx, casestore.Config{URL: dbURL, MaxConns: 2}, v, slog.New(redactlog.New(slog.NewTextHandler(stderr, nil))))
}

// flagsFirst moves the arguments that are not flags after the flags, so
// that a command's flags may follow its file; valued names the flags
// that take a value as the next argument.
func flagsFirst(args []string, valued ...string) []string {
	var flags, others []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") || a == "-" {
			others = append(others, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimLeft(a, "-")
		if !strings.Contains(name, "=") && slices.Contains(valued, name) && i+1 < len(args) {
			i++
			flags = append(flags, args[i])
		}
	}
	return append(flags, others...)
}
