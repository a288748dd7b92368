package casestore_test

import (
	"context"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/ampmetropole/guichet/services/testkit"
)

// Every migration can be undone and done again, so that an operator can
// roll a release back.
func TestMigrationsGoDownAndUpAgain(t *testing.T) {
	ctx := context.Background()
	cc, err := pgx.ParseConfig(testkit.Database(t)) // migrated
	if err != nil {
		t.Fatal(err)
	}
	db := stdlib.OpenDB(*cc)
	defer db.Close()
	// The files the binary embeds.
	p, err := goose.NewProvider(goose.DialectPostgres, db, os.DirFS("migrations"))
	if err != nil {
		t.Fatal(err)
	}
	down, err := p.DownTo(ctx, 0)
	if err != nil {
		t.Fatalf("down: %v", err)
	}
	up, err := p.Up(ctx)
	if err != nil {
		t.Fatalf("up again: %v", err)
	}
	if len(down) == 0 || len(up) != len(down) {
		t.Errorf("%d migrations undone, %d done again", len(down), len(up))
	}
}
