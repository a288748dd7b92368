// Package opendata publishes what the case history says of the service,
// as open data: requests received and cases finished per month,
// competence, territory, commune and channel, handling times, the share
// finished within their deadline and satisfaction where answered — a CSV
// file with its Table Schema descriptor (schema.data.gouv.fr conventions)
// under the Licence Ouverte 2.0. Small counts are suppressed: no cell
// counts fewer than Threshold people's requests, so that nobody can be
// singled out.
package opendata

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ampmetropole/guichet/services/cases/catalogue"
	"github.com/ampmetropole/guichet/services/cases/territory"
	"github.com/ampmetropole/guichet/services/platform/fault"
)

// DefaultThreshold is the least count a published cell may hold: a
// month's requests of one kind, commune and channel below it are not
// shown (an empty cell), nor the times and satisfaction of fewer cases.
const DefaultThreshold = 5

// Row is one line of the file: a month, a competence, a territory, a
// commune and a channel. Nil figures are suppressed (or have no case).
type Row struct {
	Month                          string // YYYY-MM
	Competence, Territory, Commune string // codes (INSEE for the commune)
	Channel                        string
	Received, Finished             *int
	MedianDays, P90Days            *float64
	WithinDeadline                 *float64 // share, 0..1
	Satisfaction                   *float64 // mean score, 1..5
	Answers                        *int
}

// Source reads the figures (the case history's pool).
type Source struct {
	DB         *pgxpool.Pool
	Catalogue  *catalogue.Catalogue
	Places     *territory.Directory
	Threshold  int
	PublicPage string // where the data is described, for the descriptor
}

// Rows reads the figures of the months before until (the first of a
// month, Paris time, so that a month is published whole), suppressed.
func (s Source) Rows(ctx context.Context, until time.Time) ([]Row, error) {
	k := s.Threshold
	if k <= 0 {
		k = DefaultThreshold
	}
	rows, err := s.DB.Query(ctx, `
		WITH first AS (
		  SELECT DISTINCT ON (r.case_id) r.case_id, r.channel,
		         CASE WHEN r.payload->'location'->>'commune_insee' LIKE '132%' THEN '13055'
		              ELSE COALESCE(r.payload->'location'->>'commune_insee', '') END AS commune
		  FROM requests r WHERE r.case_id IS NOT NULL ORDER BY r.case_id, r.received_at, r.id
		), received AS (
		  SELECT to_char(r.received_at AT TIME ZONE 'Europe/Paris', 'YYYY-MM') AS mois, c.competence,
		         COALESCE(c.territory, '') AS territoire, f.commune, r.channel AS canal, count(*) AS n
		  FROM requests r JOIN cases c ON c.id = r.case_id JOIN first f ON f.case_id = c.id
		  WHERE r.received_at < $1 GROUP BY 1, 2, 3, 4, 5
		), finished AS (
		  SELECT to_char(c.closed_at AT TIME ZONE 'Europe/Paris', 'YYYY-MM') AS mois, c.competence,
		         COALESCE(c.territory, '') AS territoire, f.commune, f.channel AS canal, count(*) AS n,
		         percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM c.closed_at - c.opened_at) / 86400) AS med,
		         percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM c.closed_at - c.opened_at) / 86400) AS p90,
		         count(*) AS due,
		         count(*) FILTER (WHERE c.breached_at IS NULL) AS in_time
		  FROM cases c JOIN first f ON f.case_id = c.id
		  WHERE c.closed_at IS NOT NULL AND c.closed_at < $1 AND c.state <> 'merged'
		  GROUP BY 1, 2, 3, 4, 5
		), answered AS (
		  SELECT to_char(s.answered_at AT TIME ZONE 'Europe/Paris', 'YYYY-MM') AS mois, s.competence,
		         COALESCE(s.territory, '') AS territoire, f.commune, f.channel AS canal, count(*) AS n, avg(s.score) AS score
		  FROM satisfaction s JOIN first f ON f.case_id = s.case_id
		  WHERE s.answered_at < $1 GROUP BY 1, 2, 3, 4, 5
		), keys AS (
		  SELECT mois, competence, territoire, commune, canal FROM received
		  UNION SELECT mois, competence, territoire, commune, canal FROM finished
		  UNION SELECT mois, competence, territoire, commune, canal FROM answered
		)
		SELECT k.mois, k.competence, k.territoire, k.commune, k.canal,
		       COALESCE(r.n, 0), COALESCE(f.n, 0), f.med, f.p90, COALESCE(f.due, 0), COALESCE(f.in_time, 0),
		       COALESCE(a.n, 0), a.score::float8
		FROM keys k
		LEFT JOIN received r USING (mois, competence, territoire, commune, canal)
		LEFT JOIN finished f USING (mois, competence, territoire, commune, canal)
		LEFT JOIN answered a USING (mois, competence, territoire, commune, canal)
		ORDER BY 1, 2, 3, 4, 5`, until)
	if err != nil {
		return nil, fault.E(fault.Transient, fmt.Errorf("opendata: %w", err))
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Row, error) {
		var row Row
		var received, finished, due, inTime, answers int
		var med, p90, score *float64
		if err := r.Scan(&row.Month, &row.Competence, &row.Territory, &row.Commune, &row.Channel,
			&received, &finished, &med, &p90, &due, &inTime, &answers, &score); err != nil {
			return row, err
		}
		row.Received, row.Finished, row.Answers = atLeast(received, k), atLeast(finished, k), atLeast(answers, k)
		if row.Finished != nil {
			row.MedianDays, row.P90Days = round(med, 1), round(p90, 1)
		}
		if due >= k {
			share := float64(inTime) / float64(due)
			row.WithinDeadline = round(&share, 3)
		}
		if row.Answers != nil {
			row.Satisfaction = round(score, 2)
		}
		return row, nil
	})
	if err != nil {
		return nil, fault.E(fault.Transient, fmt.Errorf("opendata: %w", err))
	}
	// A line with nothing left to show says only that someone wrote.
	kept := out[:0]
	for _, r := range out {
		if r.Received != nil || r.Finished != nil || r.Answers != nil {
			kept = append(kept, r)
		}
	}
	return kept, nil
}

// atLeast is n, or nil (suppressed) below the threshold.
func atLeast(n, k int) *int {
	if n < k {
		return nil
	}
	return &n
}

func round(f *float64, digits int) *float64 {
	if f == nil {
		return nil
	}
	p := math.Pow(10, float64(digits))
	v := math.Round(*f*p) / p
	return &v
}

// Columns of the file, in order, with their French titles and
// descriptions (the descriptor's fields).
var columns = []struct {
	Name, Title, Type, Description, Example string
	Minimum, Maximum                        *float64
	Count                                   bool // a count of requests, cases or answers: at least the threshold
}{
	{Name: "mois", Title: "Mois", Type: "yearmonth", Description: "Mois de réception de la demande, de clôture du dossier ou de la réponse au questionnaire (heure de Paris).", Example: "2026-11"},
	{Name: "competence", Title: "Compétence (code)", Type: "string", Description: "Code de la compétence de la Métropole qui traite le dossier.", Example: "voirie"},
	{Name: "competence_libelle", Title: "Compétence", Type: "string", Description: "Libellé de la compétence.", Example: "Voirie"},
	{Name: "territoire", Title: "Conseil de territoire (code)", Type: "string", Description: "Code du conseil de territoire du dossier ; vide quand il n'est pas connu.", Example: "marseille-provence"},
	{Name: "territoire_libelle", Title: "Conseil de territoire", Type: "string", Description: "Nom du conseil de territoire.", Example: "Marseille-Provence"},
	{Name: "commune_insee", Title: "Code INSEE de la commune", Type: "string", Description: "Code officiel géographique de la commune concernée (13055 pour les arrondissements de Marseille) ; vide quand la demande ne la dit pas.", Example: "13055"},
	{Name: "commune", Title: "Commune", Type: "string", Description: "Nom de la commune concernée.", Example: "Marseille"},
	{Name: "canal", Title: "Canal", Type: "string", Description: "Canal du premier contact : web, phone (téléphone), mail (courrier), email (courriel), open311, counter (accueil).", Example: "web"},
	{Name: "demandes_recues", Title: "Demandes reçues", Type: "integer", Description: "Demandes reçues dans le mois (suites comprises) ; vide sous le seuil de secret statistique.", Example: "12", Count: true},
	{Name: "dossiers_termines", Title: "Dossiers terminés", Type: "integer", Description: "Dossiers résolus, clos, refusés ou réorientés dans le mois ; vide sous le seuil.", Example: "9", Count: true},
	{Name: "delai_median_jours", Title: "Délai médian (jours)", Type: "number", Description: "Délai médian entre l'ouverture et la fin des dossiers terminés dans le mois, en jours ; vide sous le seuil.", Example: "3.5", Minimum: ptr(0)},
	{Name: "delai_p90_jours", Title: "Délai du 9e décile (jours)", Type: "number", Description: "Délai sous lequel 90 % des dossiers terminés dans le mois l'ont été, en jours ; vide sous le seuil.", Example: "11.2", Minimum: ptr(0)},
	{Name: "part_dans_les_delais", Title: "Part dans les délais", Type: "number", Description: "Part des dossiers terminés dans le mois dont l'échéance n'a pas été dépassée (chaque compétence a un délai au catalogue ; 0 à 1) ; vide sous le seuil.", Example: "0.875", Minimum: ptr(0), Maximum: ptr(1)},
	{Name: "satisfaction_moyenne", Title: "Satisfaction moyenne", Type: "number", Description: "Note moyenne (1 à 5) donnée au questionnaire de satisfaction dans le mois ; vide sous le seuil.", Example: "4.2", Minimum: ptr(1), Maximum: ptr(5)},
	{Name: "satisfaction_reponses", Title: "Réponses au questionnaire", Type: "integer", Description: "Réponses au questionnaire de satisfaction dans le mois ; vide sous le seuil.", Example: "6", Count: true},
}

func ptr(f float64) *float64 { return &f }

// WriteCSV writes rows as the published CSV (UTF-8, comma, a header of
// the columns' names).
func (s Source) WriteCSV(w io.Writer, rows []Row) error {
	cw := csv.NewWriter(w)
	header := make([]string, len(columns))
	for i, c := range columns {
		header[i] = c.Name
	}
	if err := cw.Write(header); err != nil {
		return fmt.Errorf("opendata: %w", err)
	}
	for _, r := range rows {
		comp := r.Competence
		if k, ok := s.Catalogue.Competence(r.Competence); ok {
			comp = k.Label
		}
		commune := ""
		if c, ok := s.Places.ByINSEE(r.Commune); ok && r.Commune != "" {
			commune = c.Name
		}
		rec := []string{r.Month, r.Competence, comp, r.Territory, territory.TerritoryName(r.Territory), r.Commune, commune, r.Channel,
			integer(r.Received), integer(r.Finished), number(r.MedianDays), number(r.P90Days), number(r.WithinDeadline),
			number(r.Satisfaction), integer(r.Answers)}
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("opendata: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("opendata: %w", err)
	}
	return nil
}

func integer(n *int) string {
	if n == nil {
		return ""
	}
	return strconv.Itoa(*n)
}

func number(f *float64) string {
	if f == nil {
		return ""
	}
	return strconv.FormatFloat(*f, 'f', -1, 64)
}

// Descriptor is the file's Table Schema (frictionless), with the
// schema.data.gouv.fr metadata.
func (s Source) Descriptor(path string, now time.Time) ([]byte, error) {
	k := s.Threshold
	if k <= 0 {
		k = DefaultThreshold
	}
	type constraints struct {
		Required bool     `json:"required,omitempty"`
		Minimum  *float64 `json:"minimum,omitempty"`
		Maximum  *float64 `json:"maximum,omitempty"`
		Pattern  string   `json:"pattern,omitempty"`
	}
	type field struct {
		Name        string       `json:"name"`
		Title       string       `json:"title"`
		Description string       `json:"description"`
		Example     string       `json:"example"`
		Type        string       `json:"type"`
		Constraints *constraints `json:"constraints,omitempty"`
	}
	var fields []field
	for _, c := range columns {
		f := field{Name: c.Name, Title: c.Title, Description: c.Description, Example: c.Example, Type: c.Type}
		switch {
		case c.Count:
			min := float64(k)
			f.Constraints = &constraints{Minimum: &min}
		case c.Minimum != nil || c.Maximum != nil:
			f.Constraints = &constraints{Minimum: c.Minimum, Maximum: c.Maximum}
		}
		if c.Name == "mois" || c.Name == "competence" || c.Name == "canal" {
			if f.Constraints == nil {
				f.Constraints = &constraints{}
			}
			f.Constraints.Required = true
		}
		if c.Name == "commune_insee" {
			f.Constraints = &constraints{Pattern: `^(|[0-9]{5}|2[AB][0-9]{3})$`}
		}
		fields = append(fields, f)
	}
	d := map[string]any{
		"$schema":       "https://frictionlessdata.io/schemas/table-schema.json",
		"name":          "guichet-demandes",
		"title":         "Demandes des usagers de la Métropole Aix-Marseille-Provence",
		"description":   fmt.Sprintf("Demandes reçues et dossiers terminés par mois, compétence, territoire, commune et canal ; délais de traitement, part dans les délais et satisfaction. Secret statistique : aucun effectif inférieur à %d n'est publié (cellule vide).", k),
		"countryCode":   "FR",
		"homepage":      s.PublicPage,
		"path":          path,
		"licenses":      []map[string]string{{"title": "Licence Ouverte / Open Licence version 2.0", "path": "https://www.etalab.gouv.fr/licence-ouverte-open-licence"}},
		"resources":     []map[string]string{{"title": "Fichier des demandes", "path": path}},
		"sources":       []map[string]string{{"title": "Guichet, historique des dossiers"}},
		"created":       "2026-12-07",
		"lastModified":  now.In(time.UTC).Format("2006-01-02"),
		"version":       "1.0.0",
		"contributors":  []map[string]string{{"title": "Métropole Aix-Marseille-Provence", "role": "author"}},
		"fields":        fields,
		"missingValues": []string{""},
		"primaryKey":    []string{"mois", "competence", "territoire", "commune_insee", "canal"},
	}
	return json.MarshalIndent(d, "", "  ")
}
