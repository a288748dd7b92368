// Package retention applies the retention schedule of the catalogue to
// PostgreSQL and erases a person's data on request (RGPD articles 5-1-e and
// 17), so that what identifies or describes a citizen goes while every
// count, delay and chart stays exact.
//
// A purge anonymises in place, in one transaction per batch of cases: a
// case keeps its skeleton (reference, competence, territory, commune,
// channels, dates, states, priority, deadlines, decisions, assignee,
// satisfaction score) and loses, per artifact of the schedule, the
// citizen's identity and contact details, the free texts, the call
// transcripts and the attachments. case_events and audit_log stay
// append-only: each purge transaction first calls the SQL function
// guichet_begin_purge (migration 00018), which writes the purge's audit
// entry and lets the triggers accept the purge's UPDATEs, which may only
// remove. What PostgreSQL erased, the other stores (the bus, the object
// store, the outboxes) are told to forget through [Forgetter]s, after the
// commit; what they fail to forget is kept in purge_pending and sent again
// at the next [Service.Apply].
//
// The exact list of what each table keeps and loses is in
// docs/personal-data.md ("Erasure").
package retention

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ampmetropole/guichet/services/cases/catalogue"
)

// Subject names a person whose data is looked for or erased; one field set.
type Subject struct{ Email, Phone, Name string }

// Purged is what one purge removed from PostgreSQL, for the other stores to forget.
type Purged struct {
	Cases    []string `json:"cases,omitempty"`    // case references anonymised
	Requests []string `json:"requests,omitempty"` // request ids (uuid) anonymised: their REQUESTS messages and DEAD copies go
	CaseIDs  []int64  `json:"case_ids,omitempty"` // internal case ids: the CASES events of these cases go
	Files    []string `json:"files,omitempty"`    // object-store keys ("sha256/…") no longer held by any request
	Contacts []string `json:"contacts,omitempty"` // e-mail addresses and E.164 phones erased: outbox files to them go
}

// Empty says whether nothing was purged.
func (p Purged) Empty() bool {
	return len(p.Cases) == 0 && len(p.Requests) == 0 && len(p.CaseIDs) == 0 && len(p.Files) == 0 && len(p.Contacts) == 0
}

// Forgetter removes from another store what a purge erased in PostgreSQL.
// It is called after the purge committed, and again with the same Purged
// when it (or another Forgetter) failed: forgetting twice must be harmless.
type Forgetter interface {
	Forget(ctx context.Context, p Purged) error
}

// Report says what a purge did, or would do (DryRun).
type Report struct {
	// Cases, Requests and Files count what was (or would be) purged;
	// Purged lists them, at most MaxListed of each.
	Cases, Requests, Files int
	Refused                []Refusal // cases kept, with the reason in French
	DryRun                 bool
	Purged                 Purged
}

// Refusal is a case kept, and why, in French.
type Refusal struct{ Ref, Reason string }

// MaxListed bounds each list of a Report's Purged (the counts stay exact):
// a first run over years of history may purge a million cases.
const MaxListed = 10000

// batchSize is how many cases (or requests, audit entries…) one purge
// transaction takes: a million cases take two thousand transactions, each
// a handful of set-based statements.
const batchSize = 500

// Service applies the retention schedule and erases people's data.
type Service struct {
	db     *pgxpool.Pool
	cat    *catalogue.Catalogue
	log    *slog.Logger
	forget []Forgetter
	batch  int
	now    func() time.Time // the clock of Erase, Hold and Release
}

// New returns the service over the case store's database (casestore's
// pool), with the catalogue's schedule and the stores to tell.
func New(db *pgxpool.Pool, cat *catalogue.Catalogue, log *slog.Logger, forget ...Forgetter) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{db: db, cat: cat, log: log, forget: forget, batch: batchSize, now: time.Now}
}

// schedule is the catalogue's retention schedule.
func (s *Service) schedule() catalogue.Retention {
	if s.cat == nil {
		return catalogue.DefaultRetention()
	}
	return s.cat.Retention
}
