package casestore_test

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ampmetropole/guichet/services/cases/caseref"
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/platform/frtime"
)

// TestRefCheckIsCaserefPattern holds the CHECK of the cases.ref column to
// caseref.Pattern: the constraint the database holds says the same
// pattern, and refuses exactly the references Parse refuses.
func TestRefCheckIsCaserefPattern(t *testing.T) {
	_, b := setup(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, b.url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.WithoutCancel(ctx)) })

	rows, err := conn.Query(ctx, `SELECT pg_get_constraintdef(oid) FROM pg_constraint
		WHERE conrelid = 'cases'::regclass AND contype = 'c' AND pg_get_constraintdef(oid) LIKE '%ref ~%'`)
	if err != nil {
		t.Fatal(err)
	}
	defs, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if len(defs) != 1 {
		t.Fatalf("CHECK constraints on cases.ref: %q, want one", defs)
	}
	def := defs[0]
	m := regexp.MustCompile(`^CHECK \(\(ref ~ '((?:[^']|'')*)'::text\)\)$`).FindStringSubmatch(def)
	if m == nil {
		t.Fatalf("the CHECK of cases.ref reads %q, not a pattern match", def)
	}
	if p := strings.ReplaceAll(m[1], "''", "'"); p != caseref.Pattern {
		t.Errorf("the CHECK of cases.ref says %q, caseref.Pattern %q", p, caseref.Pattern)
	}

	// The constraint itself, on a table of its own, against Parse.
	if _, err := conn.Exec(ctx, `CREATE TEMP TABLE refs (ref text, `+def+`)`); err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{
		"AMP-2026-004213", "AMP-2026-1000000", "AMP-1999-000001", "AMP-2026-000000",
		"amp-2026-004213", "AMP-2026-4213", "AMP-26-004213", "AMP 2026 004213", "AMP2026004213",
		" AMP-2026-004213", "AMP-2026-004213\n", "AMP-2026-00421a", "AMP-2026-００４２１３", "XAMP-2026-004213", "",
	} {
		_, perr := caseref.Parse(ref)
		_, ierr := conn.Exec(ctx, `INSERT INTO refs (ref) VALUES ($1)`, ref)
		if (perr == nil) != (ierr == nil) {
			t.Errorf("%q: Parse says %v, the CHECK %v", ref, perr, ierr)
		}
	}
}

// TestCreatedRefsParse: the references the database makes are caseref's,
// past the millionth case of a year too.
func TestCreatedRefsParse(t *testing.T) {
	s, b := setup(t)
	ctx := context.Background()
	create := func() string {
		t.Helper()
		var ref string
		if _, err := s.Route(ctx, func(ctx context.Context, tx *casestore.RouteTx) error {
			c, err := tx.CreateCase(ctx, casestore.NewCase{Competence: "voirie", Territory: "pays-d-aix"})
			ref = c.Ref
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := caseref.Parse(ref); err != nil {
			t.Errorf("created reference: %v", err)
		}
		return ref
	}
	year := time.Now().In(frtime.Paris()).Year()
	if ref := create(); ref != caseref.Format(year, 1).String() {
		t.Errorf("first reference %q", ref)
	}
	conn, err := pgx.Connect(ctx, b.url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `SELECT setval('case_ref_seq', 999998)`); err != nil {
		t.Fatal(err)
	}
	for _, want := range []int{999999, 1000000, 1000001} {
		if ref := create(); ref != caseref.Format(year, want).String() {
			t.Errorf("reference number %d: %q", want, ref)
		}
	}
}
