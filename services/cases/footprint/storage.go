package footprint

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ampmetropole/guichet/services/platform/bus"
)

// Storage is what the cases take where Guichet keeps them: the rows of
// PostgreSQL, the attachments and scans of the object store, and the
// JetStream streams. Each place is divided by the cases, whichever case
// the bytes belong to.
type Storage struct {
	MeasuredAt time.Time `json:"measured_at"`
	Cases      int64     `json:"cases"`
	// CasesEstimated: the cases are PostgreSQL's estimate (pg_class), as
	// counting millions of rows would cost seconds.
	CasesEstimated bool  `json:"cases_estimated,omitempty"`
	Rows           Place `json:"postgres"`
	// Objects and Streams are nil when NATS was not measured.
	Objects *Place `json:"object_store,omitempty"`
	Streams *Place `json:"streams,omitempty"`
}

// Place is the bytes of one place, in all and per case (0 without
// cases). JetStream's bytes are those of one copy: a cluster keeps one on
// each replica.
type Place struct {
	Bytes   int64 `json:"bytes"`
	PerCase int64 `json:"bytes_per_case"`
}

// exactBelow: the cases are counted when PostgreSQL estimates fewer (a
// count bounded to that many rows costs a millisecond or two), estimated
// above. A variable for the tests.
var exactBelow float64 = 10_000

// Measure measures PostgreSQL: the cases, and the bytes of every table of
// the public schema with its indexes and TOAST.
func Measure(ctx context.Context, db *pgxpool.Pool) (Storage, error) {
	s := Storage{MeasuredAt: time.Now()}
	var estimate float64
	if err := db.QueryRow(ctx, `SELECT
		COALESCE((SELECT reltuples::float8 FROM pg_class WHERE oid = to_regclass('public.cases')), -1),
		(SELECT COALESCE(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		 WHERE c.relkind IN ('r', 'm') AND n.nspname = 'public')::bigint`).Scan(&estimate, &s.Rows.Bytes); err != nil {
		return Storage{}, fmt.Errorf("footprint: measure PostgreSQL: %w", err)
	}
	s.Cases, s.CasesEstimated = int64(estimate), true
	if estimate < exactBelow { // small, or never analysed (-1)
		var n int64
		if err := db.QueryRow(ctx, `SELECT count(*) FROM (SELECT FROM cases LIMIT $1) c`, int64(exactBelow)+1).Scan(&n); err != nil {
			return Storage{}, fmt.Errorf("footprint: count cases: %w", err)
		}
		if n <= int64(exactBelow) {
			s.Cases, s.CasesEstimated = n, false
		} else {
			s.Cases = max(s.Cases, n) // statistics behind the table: at least n
		}
	}
	s.Rows.PerCase = s.perCase(s.Rows.Bytes)
	return s, nil
}

// MeasureBus adds the attachments object store and the REQUESTS, CASES and
// DEAD streams to s; a bucket or stream not created yet holds nothing.
func (s *Storage) MeasureBus(ctx context.Context, js jetstream.JetStream) error {
	var objects int64
	obs, err := js.ObjectStore(ctx, bus.BucketAttachment)
	switch {
	case errors.Is(err, jetstream.ErrBucketNotFound):
	case err != nil:
		return fmt.Errorf("footprint: object store %s: %w", bus.BucketAttachment, err)
	default:
		st, err := obs.Status(ctx)
		if err != nil {
			return fmt.Errorf("footprint: object store %s: %w", bus.BucketAttachment, err)
		}
		objects = int64(st.Size())
	}
	var streams int64
	for _, name := range []string{bus.StreamRequests, bus.StreamCases, bus.StreamDead} {
		st, err := js.Stream(ctx, name)
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("footprint: stream %s: %w", name, err)
		}
		streams += int64(st.CachedInfo().State.Bytes)
	}
	s.Objects = &Place{Bytes: objects, PerCase: s.perCase(objects)}
	s.Streams = &Place{Bytes: streams, PerCase: s.perCase(streams)}
	return nil
}

func (s *Storage) perCase(bytes int64) int64 {
	if s.Cases <= 0 {
		return 0
	}
	return bytes / s.Cases
}

// Meter measures the storage for a page shown often: the figures are kept
// for Every (15 minutes), so that one page in many pays the few
// milliseconds of measuring and none waits more than measureBudget.
type Meter struct {
	db *pgxpool.Pool
	js jetstream.JetStream // nil: PostgreSQL only
	// Every is how long figures are kept.
	Every time.Duration
	log   *slog.Logger

	mu      sync.Mutex
	last    Storage
	at      time.Time // when last was measured
	partial bool      // NATS did not answer then
}

// measureBudget bounds one measure; busRetry is how soon the bus is asked
// again after it did not answer.
const (
	measureBudget = 2 * time.Second
	busRetry      = time.Minute
)

// NewMeter measures PostgreSQL through db and, when js is not nil, the
// object store and the streams.
func NewMeter(db *pgxpool.Pool, js jetstream.JetStream, log *slog.Logger) *Meter {
	return &Meter{db: db, js: js, Every: 15 * time.Minute, log: log}
}

// Storage returns the figures measured less than Every ago, or measures
// them. When NATS does not answer, the figures are PostgreSQL's alone
// (Objects and Streams nil) and NATS is asked again a minute later.
func (m *Meter) Storage(ctx context.Context) (Storage, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	keep := m.Every
	if m.partial {
		keep = min(keep, busRetry)
	}
	if !m.at.IsZero() && time.Since(m.at) < keep {
		return m.last, nil
	}
	ctx, cancel := context.WithTimeout(ctx, measureBudget)
	defer cancel()
	s, err := Measure(ctx, m.db)
	if err != nil {
		return Storage{}, err
	}
	partial := false
	if m.js != nil {
		if err := s.MeasureBus(ctx, m.js); err != nil {
			m.log.Warn("footprint: storage of NATS not measured", "err", err)
			partial = true
		}
	}
	m.last, m.at, m.partial = s, time.Now(), partial
	return s, nil
}
