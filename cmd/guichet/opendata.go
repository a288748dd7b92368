package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/ampmetropole/guichet/cmd/guichet/compose"
	"github.com/ampmetropole/guichet/services/cases/opendata"
	"github.com/ampmetropole/guichet/services/cases/territory"
	"github.com/ampmetropole/guichet/services/platform/frtime"
)

// The files the export writes.
const (
	openDataCSV    = "demandes.csv"
	openDataSchema = "demandes.schema.json"
	openDataReadme = "LISEZMOI.txt"
)

// runOpenData writes the open-data files: guichet opendata export --out DIR.
func runOpenData(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "export" {
		return usageError{"opendata : sous-commande attendue : export --out DOSSIER"}
	}
	var out *string
	var threshold *int
	var current *bool
	cfg, rest, err := parseConfig("opendata", args[1:], stderr, func(fs *flag.FlagSet) {
		out = fs.String("out", "", "dossier où écrire "+openDataCSV+", "+openDataSchema+" et "+openDataReadme)
		threshold = fs.Int("seuil", opendata.DefaultThreshold, "effectif en dessous duquel une cellule n'est pas publiée (secret statistique)")
		current = fs.Bool("mois-en-cours", false, "inclut le mois en cours (incomplet) ; sans elle, les mois terminés seulement")
	})
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageError{fmt.Sprintf("opendata export : argument inattendu %q", rest[0])}
	}
	if *out == "" {
		return usageError{"opendata export : --out DOSSIER est obligatoire"}
	}
	if *threshold < 2 || *threshold > 1000 {
		return usageError{"opendata export : --seuil doit être entre 2 et 1000"}
	}
	cat, err := compose.LoadCatalogue(cfg.Router.Catalogue)
	if err != nil {
		return err
	}
	places, err := territory.Load()
	if err != nil {
		return err
	}
	store, err := openToolStore(ctx, "opendata export", cfg, stderr)
	if err != nil {
		return err
	}
	defer store.Close()
	now := time.Now().In(frtime.Paris())
	until := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, now.Location())
	if *current {
		until = until.AddDate(0, 1, 0)
	}
	src := opendata.Source{DB: store.DB(), Catalogue: cat, Places: places, Threshold: *threshold, PublicPage: cfg.PublicURL + "/donnees"}
	rows, err := src.Rows(ctx, until)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return fmt.Errorf("opendata export : %w", err)
	}
	f, err := os.Create(filepath.Join(*out, openDataCSV))
	if err != nil {
		return fmt.Errorf("opendata export : %w", err)
	}
	if err := src.WriteCSV(f, rows); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("opendata export : %w", err)
	}
	desc, err := src.Descriptor(openDataCSV, now)
	if err != nil {
		return fmt.Errorf("opendata export : %w", err)
	}
	if err := os.WriteFile(filepath.Join(*out, openDataSchema), append(desc, '\n'), 0o644); err != nil {
		return fmt.Errorf("opendata export : %w", err)
	}
	readme := fmt.Sprintf(`Demandes des usagers de la Métropole Aix-Marseille-Provence (Guichet)

%s : une ligne par mois, compétence, conseil de territoire, commune et canal :
demandes reçues, dossiers terminés, délais médian et du 9e décile (jours), part
terminée dans les délais, satisfaction moyenne et nombre de réponses.
%s : le schéma du fichier (Table Schema, conventions de schema.data.gouv.fr).

Secret statistique : aucun effectif inférieur à %d n'est publié ; la cellule
est alors vide, comme les délais et la satisfaction calculés sur moins de %d
dossiers ou réponses.

Mois couverts : jusqu'à %s exclu. Écrit le %s.

Licence : Licence Ouverte / Open Licence version 2.0
https://www.etalab.gouv.fr/licence-ouverte-open-licence
`, openDataCSV, openDataSchema, *threshold, *threshold, until.Format("2006-01"), frtime.DateTime(now))
	if err := os.WriteFile(filepath.Join(*out, openDataReadme), []byte(readme), 0o644); err != nil {
		return fmt.Errorf("opendata export : %w", err)
	}
	fmt.Fprintf(stdout, "%d lignes écrites dans %s\n", len(rows), filepath.Join(*out, openDataCSV))
	return nil
}
