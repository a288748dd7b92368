// Package casestore owns the case history in PostgreSQL: its migrations,
// citizens, cases, append-only case events, received requests, routing
// decisions and the outbox of events still to publish.
package casestore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/platform/fault"
)

// ErrNotFound is returned (wrapped, kind fault.NotFound) when a case or
// request does not exist.
var ErrNotFound = errors.New("not found")

// Config configures the connection pool.
type Config struct {
	URL      string
	MaxConns int32 // default 10
	// CheckEvents validates every case event against case-event.v1 before
	// writing it. Tests set it; in service it is off: the events are built
	// by typed code, and validating them cost a tenth of the router's CPU
	// (issue #21) for what the tests already prove of every event type.
	CheckEvents bool
}

// Store is the case history.
type Store struct {
	pool        *pgxpool.Pool
	validate    *schemas.Validator
	checkEvents bool
	log         *slog.Logger
}

// Open connects a pool to the database and checks it answers. It does not
// migrate: call Migrate first.
func Open(ctx context.Context, cfg Config, v *schemas.Validator, log *slog.Logger) (*Store, error) {
	pc, err := pgxpool.ParseConfig(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("casestore: parse database URL: %w", err)
	}
	if cfg.MaxConns > 0 {
		pc.MaxConns = cfg.MaxConns
	}
	pc.ConnConfig.ConnectTimeout = 5 * time.Second
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("casestore: connect: %w", err)
	}
	s := &Store{pool: pool, validate: v, log: log, checkEvents: cfg.CheckEvents}
	if err := s.Ping(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// Close releases the pool.
func (s *Store) Close() { s.pool.Close() }

// Ping checks the database answers, for readiness probes.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fault.E(fault.Transient, fmt.Errorf("casestore: ping: %w", err))
	}
	return nil
}

func notFound(what, key string) error {
	return fault.E(fault.NotFound, fmt.Errorf("casestore: %s %s: %w", what, key, ErrNotFound))
}

// DB is the store's connection pool, shared with the services that keep
// their own tables in the same database (auth).
func (s *Store) DB() *pgxpool.Pool { return s.pool }
