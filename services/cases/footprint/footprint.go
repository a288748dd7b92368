// Package footprint weighs what Guichet costs to run (issue #20): the
// report of `guichet footprint` (CPU per routed request, its energy and
// carbon, the weight of the citizen's pages), kept in the database so that
// the back office's dashboard shows the latest, and the storage a case
// takes in PostgreSQL, in the attachments object store and in the
// JetStream streams.
package footprint

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Factors turn CPU time into energy and carbon; each is a flag of the
// command, each default has its source (docs/performance.md#footprint).
type Factors struct {
	WattsPerCPU float64 `json:"watts_per_busy_cpu"`
	PUE         float64 `json:"pue"`
	GridGPerKWh float64 `json:"grid_gco2e_per_kwh"`
	Sources     string  `json:"sources"`
}

// Report is what `guichet footprint` measures, as it prints it with
// --json and as the database keeps it.
type Report struct {
	Machine    string    `json:"machine"`
	MeasuredAt time.Time `json:"measured_at"`
	Requests   int       `json:"requests_measured"`
	GuichetCPU float64   `json:"guichet_cpu_ms_per_request"`
	PGCPU      float64   `json:"postgres_cpu_ms_per_request"`
	// Per thousand routed requests: CPU seconds, energy at the plug (PUE
	// included) and its carbon.
	CPUSecondsPer1000 float64 `json:"cpu_seconds_per_1000"`
	WhPer1000         float64 `json:"energy_wh_per_1000"`
	CO2eGPer1000      float64 `json:"co2e_g_per_1000"`
	Factors           Factors `json:"factors"`
	// Storage per case of the Guichet the command ran beside, when its
	// database was reachable.
	Storage *Storage `json:"storage,omitempty"`
	// The transfer weight of the citizen's pages (HTML and the style
	// sheets and scripts they load), when Guichet answered.
	PageBytes map[string]int `json:"page_bytes,omitempty"`
}

// Recorded is a report as the database keeps it.
type Recorded struct {
	ID int64
	Report
}

// Record keeps a report in footprint_reports and returns its id.
func Record(ctx context.Context, db *pgxpool.Pool, r Report) (int64, error) {
	body, err := json.Marshal(r)
	if err != nil {
		return 0, fmt.Errorf("footprint: record: %w", err)
	}
	var id int64
	if err := db.QueryRow(ctx, `INSERT INTO footprint_reports (measured_at, machine, report) VALUES ($1, $2, $3) RETURNING id`,
		r.MeasuredAt, r.Machine, body).Scan(&id); err != nil {
		return 0, fmt.Errorf("footprint: record: %w", err)
	}
	return id, nil
}

// Latest returns the report measured last; ok is false when none was
// recorded.
func Latest(ctx context.Context, db *pgxpool.Pool) (rec Recorded, ok bool, err error) {
	var body []byte
	err = db.QueryRow(ctx, `SELECT id, report FROM footprint_reports ORDER BY measured_at DESC, id DESC LIMIT 1`).Scan(&rec.ID, &body)
	if errors.Is(err, pgx.ErrNoRows) {
		return Recorded{}, false, nil
	}
	if err != nil {
		return Recorded{}, false, fmt.Errorf("footprint: latest: %w", err)
	}
	if err := json.Unmarshal(body, &rec.Report); err != nil {
		return Recorded{}, false, fmt.Errorf("footprint: latest report %d: %w", rec.ID, err)
	}
	return rec, true, nil
}
