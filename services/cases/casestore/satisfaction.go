package casestore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ampmetropole/guichet/services/cases/lifecycle"
	"github.com/ampmetropole/guichet/services/cases/scope"
	"github.com/ampmetropole/guichet/services/platform/fault"
)

// MaxOpinionComment is the longest comment a citizen may leave, in
// characters.
const MaxOpinionComment = 1000

// Opinion is a citizen's answer to the satisfaction question.
type Opinion struct {
	Score   int // 1 (very dissatisfied) to 5 (very satisfied)
	Comment string
	At      time.Time
}

// OpinionAsked says whether the case of a tracking code's thread can be
// rated — it was resolved (resolved or closed after that) — and the answer
// already given, if any. NotFound for an unknown code or a request not
// routed yet.
func (s *Store) OpinionAsked(ctx context.Context, code string) (open bool, given *Opinion, err error) {
	var state string
	var o Opinion
	var score *int16
	var comment *string
	var at *time.Time
	err = s.pool.QueryRow(ctx, `
		SELECT c.state, o.score, o.comment, o.answered_at
		FROM requests r
		JOIN requests t ON t.id = COALESCE(r.thread_id, r.id)
		JOIN cases c ON c.id = t.case_id
		LEFT JOIN satisfaction o ON o.case_id = c.id AND o.thread_id = t.id
		WHERE r.tracking_code = $1`, code).Scan(&state, &score, &comment, &at)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil, notFound("tracking code", code)
	}
	if err != nil {
		return false, nil, fault.E(fault.Transient, fmt.Errorf("casestore: opinion of %s: %w", code, err))
	}
	if score != nil {
		o.Score, o.At = int(*score), *at
		if comment != nil {
			o.Comment = *comment
		}
		given = &o
	}
	return rateable(state), given, nil
}

// rateable says whether a case in that state was resolved: the question is
// asked from then on (a closed case was resolved first, or rejected —
// whose citizen may say what they think of that too).
func rateable(state string) bool {
	switch state {
	case lifecycle.Resolved, lifecycle.Closed, lifecycle.Rejected, lifecycle.Redirected:
		return true
	}
	return false
}

// RecordOpinion records the answer of a thread's citizen about its case,
// once: fault.Conflict when they answered already or the case is not
// resolved, fault.Invalid for a score outside 1–5 or a comment too long,
// NotFound for an unknown code.
func (s *Store) RecordOpinion(ctx context.Context, code string, score int, comment string) error {
	comment = strings.TrimSpace(comment)
	if score < 1 || score > 5 {
		return fault.E(fault.Invalid, errors.New("casestore: la note va de 1 à 5"))
	}
	if len([]rune(comment)) > MaxOpinionComment {
		return fault.E(fault.Invalid, fmt.Errorf("casestore: commentaire de plus de %d caractères", MaxOpinionComment))
	}
	if err := storable(comment); err != nil {
		return err
	}
	var c *string
	if comment != "" {
		c = &comment
	}
	var state string
	err := s.pool.QueryRow(ctx, `
		WITH target AS (
			SELECT c.id AS case_id, t.id AS thread_id, c.state, c.competence, c.territory, t.channel
			FROM requests r
			JOIN requests t ON t.id = COALESCE(r.thread_id, r.id)
			JOIN cases c ON c.id = t.case_id
			WHERE r.tracking_code = $1
		), ins AS (
			INSERT INTO satisfaction (case_id, thread_id, score, comment, competence, territory, channel)
			SELECT case_id, thread_id, $2, $3, competence, territory, channel FROM target
			WHERE state = ANY($4)
			ON CONFLICT DO NOTHING
			RETURNING 1
		)
		SELECT state || CASE WHEN EXISTS (SELECT 1 FROM ins) THEN ':recorded' ELSE '' END FROM target`,
		code, score, c, []string{lifecycle.Resolved, lifecycle.Closed, lifecycle.Rejected, lifecycle.Redirected}).Scan(&state)
	var pgErr *pgconn.PgError
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return notFound("tracking code", code)
	case errors.As(err, &pgErr):
		return fault.E(fault.Invalid, fmt.Errorf("casestore: opinion of %s: %w", code, err))
	case err != nil:
		return fault.E(fault.Transient, fmt.Errorf("casestore: opinion of %s: %w", code, err))
	case strings.HasSuffix(state, ":recorded"):
		return nil
	case !rateable(state):
		return fault.E(fault.Conflict, errors.New("casestore: votre avis pourra être donné une fois la demande résolue"))
	}
	return fault.E(fault.Conflict, errors.New("casestore: votre avis a déjà été enregistré"))
}

// Satisfaction is what citizens answered, under a label.
type Satisfaction struct {
	Key     string
	Answers int
	Average float64
	Scores  [5]int // how many gave 1, 2, 3, 4, 5
}

// SatisfactionFigures are the answers of the last days over the cases a
// scope holds: all of them, and by competence, territory and channel.
type SatisfactionFigures struct {
	All          Satisfaction
	ByCompetence []Satisfaction
	ByTerritory  []Satisfaction
	ByChannel    []Satisfaction
}

// Satisfaction computes the satisfaction figures of the answers given in
// the last days, within a scope.
func (s *Store) Satisfaction(ctx context.Context, sc scope.Scope, days int, now time.Time) (SatisfactionFigures, error) {
	var f SatisfactionFigures
	competences, territories, ok := sc.Arrays()
	if !ok {
		return f, nil
	}
	if competences == nil {
		competences = []string{}
	}
	if territories == nil {
		territories = []string{}
	}
	args := pgx.NamedArgs{"comp": competences, "terr": territories, "since": now.AddDate(0, 0, -days)}
	by := func(expr string) ([]Satisfaction, error) {
		rows, err := s.pool.Query(ctx, `
			SELECT `+expr+`, count(*), avg(score)::float8,
			       count(*) FILTER (WHERE score = 1), count(*) FILTER (WHERE score = 2), count(*) FILTER (WHERE score = 3),
			       count(*) FILTER (WHERE score = 4), count(*) FILTER (WHERE score = 5)
			FROM satisfaction
			WHERE answered_at >= @since
			  AND (cardinality(@comp::text[]) = 0 OR competence = ANY(@comp))
			  AND (cardinality(@terr::text[]) = 0 OR territory = ANY(@terr))
			GROUP BY 1 ORDER BY 2 DESC, 1`, args)
		if err != nil {
			return nil, fault.E(fault.Transient, fmt.Errorf("casestore: satisfaction: %w", err))
		}
		out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Satisfaction, error) {
			var x Satisfaction
			err := row.Scan(&x.Key, &x.Answers, &x.Average, &x.Scores[0], &x.Scores[1], &x.Scores[2], &x.Scores[3], &x.Scores[4])
			return x, err
		})
		if err != nil {
			return nil, fault.E(fault.Transient, fmt.Errorf("casestore: satisfaction: %w", err))
		}
		return out, nil
	}
	var err error
	if f.ByCompetence, err = by("competence"); err != nil {
		return f, err
	}
	if f.ByTerritory, err = by("COALESCE(territory, '')"); err != nil {
		return f, err
	}
	if f.ByChannel, err = by("channel"); err != nil {
		return f, err
	}
	all, err := by("''")
	if err != nil {
		return f, err
	}
	if len(all) == 1 {
		f.All = all[0]
	}
	return f, nil
}
