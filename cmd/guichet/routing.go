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
	"strings"
	"time"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/cases/catalogue"
	"github.com/ampmetropole/guichet/services/cases/territory"
	"github.com/ampmetropole/guichet/services/language/extract"
	"github.com/ampmetropole/guichet/services/platform/frtime"
	"github.com/ampmetropole/guichet/services/routing/classify"
	"github.com/ampmetropole/guichet/services/routing/router"
	"github.com/ampmetropole/guichet/services/tools/corpus"
	"github.com/ampmetropole/guichet/services/tools/routeeval"
)

// loadCatalogue reads GUICHET_CATALOGUE when set, else the embedded one.
func loadCatalogue(path string) (*catalogue.Catalogue, error) {
	if path != "" {
		return catalogue.Load(path)
	}
	return catalogue.Default()
}

// catalogueRules turns the catalogue's phrases into the classifier's rules.
func catalogueRules(cat *catalogue.Catalogue) (*classify.Rules, error) {
	var rs []classify.Rule
	for _, c := range cat.Competences {
		for _, r := range c.Rules {
			rs = append(rs, classify.Rule{Competence: c.Code, Phrase: r.Phrase, Weight: r.Weight})
		}
	}
	return classify.CompileRules(rs)
}

// loadClassifier pairs the model (a file, else the shipped one) with the
// catalogue's rules.
func loadClassifier(modelPath string, cat *catalogue.Catalogue) (*classify.Classifier, error) {
	var m *classify.Model
	var err error
	if modelPath != "" {
		m, err = classify.LoadModel(modelPath)
	} else {
		m, err = classify.DefaultModel()
	}
	if err != nil {
		return nil, err
	}
	rules, err := catalogueRules(cat)
	if err != nil {
		return nil, err
	}
	return classify.New(m, rules), nil
}

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
	fs := flag.NewFlagSet("train", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", "services/routing/classify/corpus", "corpus étiqueté : fichier JSON Lines ou dossier de fichiers .jsonl")
	out := fs.String("out", "services/routing/classify/model/default.json", "fichier du modèle à écrire")
	catPath := fs.String("catalogue", os.Getenv("GUICHET_CATALOGUE"), "catalogue dont les règles se combinent au modèle (défaut : celui livré)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("train : argument inattendu %q", fs.Arg(0))}
	}
	cat, err := loadCatalogue(*catPath)
	if err != nil {
		return err
	}
	rules, err := catalogueRules(cat)
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
	fs := flag.NewFlagSet("route-eval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "un seul objet JSON (accuracy, macro_f1, triage_rate, auto_precision, territory_accuracy, citation_recall, followup_accuracy, false_link_rate, n)")
	misses := fs.Bool("errors", false, "liste aussi les erreurs, demande par demande")
	modelPath := fs.String("model", os.Getenv("GUICHET_MODEL"), "fichier du modèle (défaut : celui livré)")
	catPath := fs.String("catalogue", os.Getenv("GUICHET_CATALOGUE"), "catalogue (défaut : celui livré)")
	triage := fs.Float64("triage-below", 0, "seuil de confiance sous lequel une demande va au tri humain (défaut : celui du routeur, 0,6)")
	// Flags may follow the file: guichet route-eval FILE --json.
	var files []string
	for rest := args; ; {
		if err := fs.Parse(rest); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		files = append(files, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	if len(files) != 1 {
		return usageError{"route-eval : un fichier JSON Lines attendu (guichet route-eval FICHIER.jsonl [--json])"}
	}
	cat, err := loadCatalogue(*catPath)
	if err != nil {
		return err
	}
	c, err := loadClassifier(*modelPath, cat)
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
	e := router.NewEngine(router.EngineConfig{TriageBelow: *triage}, c, places)
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
	fs := flag.NewFlagSet("export-training", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "-", "fichier JSON Lines à écrire (- : sortie standard)")
	since := fs.String("since", "", "seulement les décisions depuis cette date (AAAA-MM-JJ)")
	data := fs.String("data", defaultDataDir(), "dossier de guichet dev, dont on lit l'adresse de la base quand DATABASE_URL n'est pas définie")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("export-training : argument inattendu %q", fs.Arg(0))}
	}
	var from time.Time
	if *since != "" {
		var err error
		if from, err = time.ParseInLocation("2006-01-02", *since, frtime.Paris()); err != nil {
			return usageError{"export-training : --since AAAA-MM-JJ attendu"}
		}
	}
	store, err := openToolStore(ctx, "export-training", *data, stderr)
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
func openToolStore(ctx context.Context, cmd, data string, stderr io.Writer) (*casestore.Store, error) {
	dbURL := os.Getenv("DATABASE_URL")
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
	return casestore.Open(ctx, casestore.Config{URL: dbURL, MaxConns: 2}, v, slog.New(slog.NewTextHandler(stderr, nil)))
}
