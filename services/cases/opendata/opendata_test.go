package opendata_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/cases/deadline"
	"github.com/ampmetropole/guichet/services/cases/lifecycle"
	"github.com/ampmetropole/guichet/services/cases/opendata"
	"github.com/ampmetropole/guichet/services/platform/frtime"
	"github.com/ampmetropole/guichet/services/testkit"
	"github.com/ampmetropole/guichet/services/testkit/stack"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// validate runs the independent validator (Frictionless Data's npm
// package tableschema, testdata/tableschema) on a CSV and its descriptor.
func validate(t *testing.T, schemaPath, csvPath string) (int, []string) {
	t.Helper()
	node, dir := testkit.NodeTool(t, filepath.Join("testdata", "tableschema"), "tableschema")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "validate.js", schemaPath, csvPath)
	cmd.Dir = dir
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	runErr := cmd.Run()
	var res struct {
		Rows   int      `json:"rows"`
		Errors []string `json:"errors"`
	}
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("validator: %v (%v)\n%s%s", err, runErr, out.String(), errOut.String())
	}
	if runErr == nil && len(res.Errors) > 0 || runErr != nil && len(res.Errors) == 0 {
		t.Fatalf("validator exit %v with errors %v", runErr, res.Errors)
	}
	return res.Rows, res.Errors
}

// TestExport: through the real router and PostgreSQL, a month of requests
// in two communes; the published file validates against its Table Schema
// (an independent implementation), no count below the threshold appears,
// and the commune with too few requests shows none of its counts.
func TestExport(t *testing.T) {
	st := stack.New(t, stack.Options{Router: true})
	ctx := context.Background()
	route := func(n int, commune, postal, street string) []string {
		var refs []string
		for i := range n {
			ref, _ := st.Route(t, schemas.Request{Channel: "web", Subject: "Trottoir abîmé",
				Body:     fmt.Sprintf("Le trottoir est cassé devant le %d %s.", 2+i*40, street),
				Location: &schemas.Location{CommuneINSEE: commune, PostalCode: postal},
				Citizen:  &schemas.Citizen{Name: fmt.Sprintf("Habitant %s %d", commune, i), Email: fmt.Sprintf("h%s.%d@example.net", commune, i)},
				Hints:    &schemas.Hints{Competence: "voirie"}})
			refs = append(refs, ref)
		}
		return refs
	}
	aubagne := route(12, "13005", "13400", "avenue des Goums")
	allauch := route(3, "13002", "13190", "rue Fernand Rey")
	cal := deadline.New(frtime.Paris())
	for _, ref := range append(aubagne[:6], allauch[:2]...) {
		for _, to := range []string{lifecycle.Qualified, lifecycle.InProgress, lifecycle.Resolved} {
			if _, err := st.Store.Transition(ctx, casestore.TransitionRequest{Ref: ref, To: to, Role: lifecycle.RoleTeam,
				Change: casestore.Change{Actor: "julie", Reason: "fait"}}, cal); err != nil {
				t.Fatal(err)
			}
		}
	}
	for i, ref := range aubagne[:5] {
		testkit.Exec(t, st.DBURL, `INSERT INTO satisfaction (case_id, thread_id, score, competence, territory, channel)
			SELECT c.id, r.id, $2, c.competence, c.territory, r.channel FROM cases c JOIN requests r ON r.case_id = c.id WHERE c.ref = $1`, ref, 1+i%5)
	}

	src := opendata.Source{DB: st.Store.DB(), Catalogue: st.Catalogue, Places: st.Places, Threshold: 5, PublicPage: "https://demarches.example.org/donnees"}
	rows, err := src.Rows(ctx, time.Now().AddDate(0, 1, 0))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	csvPath, schemaPath := filepath.Join(dir, "demandes.csv"), filepath.Join(dir, "demandes.schema.json")
	var buf bytes.Buffer
	if err := src.WriteCSV(&buf, rows); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(csvPath, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	desc, err := src.Descriptor("demandes.csv", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(schemaPath, desc, 0o644); err != nil {
		t.Fatal(err)
	}
	n, errs := validate(t, schemaPath, csvPath)
	if len(errs) > 0 || n != len(rows) || n == 0 {
		t.Fatalf("the file does not validate (%d rows of %d): %v\n%s", n, len(rows), errs, buf.String())
	}

	// No count below the threshold; Allauch's three requests show no count.
	recs, err := csv.NewReader(bytes.NewReader(buf.Bytes())).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, name := range recs[0] {
		col[name] = i
	}
	var seenAubagne, seenAllauch bool
	for _, r := range recs[1:] {
		for _, name := range []string{"demandes_recues", "dossiers_termines", "satisfaction_reponses"} {
			if v := r[col[name]]; v != "" {
				if k, err := strconv.Atoi(v); err != nil || k < 5 {
					t.Errorf("%s = %q in %v", name, v, r)
				}
			}
		}
		switch r[col["commune_insee"]] {
		case "13005":
			seenAubagne = true
			if r[col["demandes_recues"]] != "12" || r[col["dossiers_termines"]] != "6" || r[col["satisfaction_reponses"]] != "5" ||
				r[col["commune"]] != "Aubagne" || r[col["competence_libelle"]] == "" || r[col["delai_median_jours"]] == "" ||
				r[col["part_dans_les_delais"]] != "1" || r[col["satisfaction_moyenne"]] != "3" {
				t.Errorf("Aubagne: %v", r)
			}
		case "13002":
			seenAllauch = true
		}
	}
	if !seenAubagne || seenAllauch {
		t.Errorf("Aubagne listed %v, Allauch (3 requests, nothing to show) listed %v:\n%s", seenAubagne, seenAllauch, buf.String())
	}
	for _, secret := range []string{"Habitant", "example.net", "Goums", "Fernand"} {
		if strings.Contains(buf.String(), secret) {
			t.Errorf("the open data holds %q", secret)
		}
	}

	// The validator does check: a count below the threshold is refused.
	bad := strings.Replace(buf.String(), ",12,6,", ",3,6,", 1)
	if bad == buf.String() {
		t.Fatalf("no line to alter in:\n%s", buf.String())
	}
	badPath := filepath.Join(dir, "altere.csv")
	if err := os.WriteFile(badPath, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, errs := validate(t, schemaPath, badPath); len(errs) == 0 {
		t.Error("a count of 3 validated against a minimum of 5")
	}
}
