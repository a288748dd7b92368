package main

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/ampmetropole/guichet/services/testkit"
)

// TestSameRowsAreTheProductsRows: the fair limit writes, for each request,
// one row in each table the router writes — the request routed with its
// payload, the case, its event, the outbox row, the decision — and a
// search row whose French tsvector finds the request's words.
func TestSameRowsAreTheProductsRows(t *testing.T) {
	ctx := context.Background()
	t.Chdir("../..") // the corpus the requests are written from
	bodies, err := benchBodies(ctx, 7)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, testkit.Database(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rps, err := benchRawSameRows(ctx, conn, bodies)
	if err != nil || rps <= 0 {
		t.Fatalf("rps %v, err %v", rps, err)
	}
	for _, table := range []string{"same_requests", "same_cases", "same_events", "same_outbox", "same_decisions", "same_search"} {
		var n int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM `+table).Scan(&n); err != nil || n != len(bodies) {
			t.Errorf("%s: %d rows (%v), want %d", table, n, err, len(bodies))
		}
	}
	var routed, found int
	if err := conn.QueryRow(ctx, `SELECT count(*) FILTER (WHERE status = 'routed' AND payload ? 'tracking_code') FROM same_requests`).Scan(&routed); err != nil || routed != len(bodies) {
		t.Errorf("requests routed with their payload: %d (%v)", routed, err)
	}
	// Every search row finds the first long word of its own request (not a
	// stop word).
	if err := conn.QueryRow(ctx, `
		SELECT count(*) FROM same_search s JOIN same_requests r ON r.id = s.request_id
		WHERE s.doc @@ plainto_tsquery('guichet_fr', (SELECT w FROM regexp_split_to_table(request_text(r.payload), '[[:space:],.;:!?()"«»''’-]+') w WHERE length(w) > 6 AND numnode(plainto_tsquery('guichet_fr', w)) > 0 LIMIT 1))`).Scan(&found); err != nil || found != len(bodies) {
		t.Errorf("search rows that find their request's words: %d of %d (%v)", found, len(bodies), err)
	}
}
