package retention

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ampmetropole/guichet/services/cases/catalogue"
	"github.com/ampmetropole/guichet/services/platform/fault"
)

// scheduleReason is the reason written in the audit entries of Apply.
const scheduleReason = "calendrier de conservation du catalogue"

// finished are the states a case is finished in: its retention times count
// from when it reached one (cases.closed_at, kept by a trigger). A merged
// case follows the case it went into.
var finished = []string{"resolved", "closed", "rejected", "redirected"}

// Apply applies the schedule as of now (dry run: says what would go, changes nothing).
//
// In order, each part in transactions of a bounded batch: it sends again
// what earlier runs could not get forgotten by every store; empties the
// audit entries older than the audit time (the entries of purges,
// erasures and holds stay: they are the proof that the schedule is
// applied, and hold no citizen's data); purges, artifact by artifact, the
// finished cases (with the cases merged into them) and the requests that
// never made a case, once their times passed — never an open case or one
// under a legal hold; empties the addresses of letters and messages sent
// longer ago than the outgoing time; deletes sign-in links and sessions
// ended a day ago and the mail rejected longer ago than the identity time.
// A dry run only reads: it reports the cases, requests and files that
// would go, and logs the counts of the rest.
//
// When a Forgetter fails, the report is complete and the error (Transient)
// says the other stores will be told again at the next Apply.
func (s *Service) Apply(ctx context.Context, now time.Time, dryRun bool, actor string) (Report, error) {
	rep := Report{DryRun: dryRun}
	actor = strings.TrimSpace(actor)
	if actor == "" && !dryRun {
		return rep, fault.E(fault.Invalid, errors.New("retention: qui applique le calendrier (actor) est obligatoire"))
	}
	if now.IsZero() {
		return rep, fault.E(fault.Invalid, errors.New("retention: date d'application manquante"))
	}
	var forgetErrs []error
	if !dryRun {
		if err := s.retryPending(ctx); err != nil {
			forgetErrs = append(forgetErrs, err)
		}
	}
	o := purgeOpts{actor: actor, reason: scheduleReason, action: "rgpd.purge", dry: dryRun}
	for _, part := range []func(context.Context, time.Time, purgeOpts, *Report, *[]error) error{
		s.applyAudit, s.applyCases, s.applyRequests, s.applyOutgoing, s.applyLeftovers,
	} {
		if err := part(ctx, now, o, &rep, &forgetErrs); err != nil {
			return rep, err
		}
	}
	if err := s.refusals(ctx, now, &rep); err != nil {
		return rep, err
	}
	s.log.Info("retention schedule applied", "dry_run", dryRun, "cases", rep.Cases, "requests", rep.Requests, "files", rep.Files,
		"kept_on_hold", len(rep.Refused))
	return rep, errors.Join(forgetErrs...)
}

// cutoffs are the moments before which each case artifact is due.
func (s *Service) cutoffs(now time.Time) (map[string]time.Time, time.Time) {
	sch := s.schedule()
	out := map[string]time.Time{}
	var latest time.Time
	for _, a := range caseArtifacts {
		r, _ := sch.Rule(a)
		out[a] = r.Cutoff(now)
		if out[a].After(latest) {
			latest = out[a]
		}
	}
	return out, latest
}

// dueArtifacts lists the artifacts whose time passed since at, minus those
// already purged.
func dueArtifacts(cut map[string]time.Time, at time.Time, done []string) []string {
	var out []string
	for _, a := range caseArtifacts {
		if at.Before(cut[a]) && !contains(done, a) {
			out = append(out, a)
		}
	}
	return out
}

func contains(list []string, x string) bool {
	for _, y := range list {
		if y == x {
			return true
		}
	}
	return false
}

// afterCommit runs the Forgetters once a purge committed.
func (s *Service) afterCommit(ctx context.Context, pending int64, p Purged, rep *Report, errs *[]error) {
	rep.add(p)
	if pending != 0 {
		if err := s.forgetNow(ctx, pending, p); err != nil {
			*errs = append(*errs, err)
		}
	}
}

// applyCases purges the finished cases whose times passed, oldest closure
// first, a batch per transaction; the rows are locked (a case being
// reopened at that moment is skipped, and purged at a later run if due).
func (s *Service) applyCases(ctx context.Context, now time.Time, o purgeOpts, rep *Report, errs *[]error) error {
	cut, latest := s.cutoffs(now)
	lock := ` FOR UPDATE OF c SKIP LOCKED`
	if o.dry {
		lock = ""
	}
	var lastAt *time.Time
	var lastID int64
	for {
		var b batch
		var more bool
		var pending int64
		var p plan
		err := s.inTx(ctx, o.dry, func(tx pgx.Tx) error {
			rows, err := tx.Query(ctx, `
				SELECT c.id, c.ref, c.closed_at, c.purged FROM cases c
				WHERE c.purged_at IS NULL AND c.closed_at IS NOT NULL AND c.closed_at < $1
				  AND ($2::timestamptz IS NULL OR (c.closed_at, c.id) > ($2, $3))
				  AND c.state = ANY($4)
				  AND NOT EXISTS (SELECT 1 FROM legal_holds h WHERE h.case_id = c.id AND h.released_at IS NULL)
				ORDER BY c.closed_at, c.id LIMIT $5`+lock, latest, lastAt, lastID, finished, s.batch)
			if err != nil {
				return fault.E(fault.Transient, fmt.Errorf("retention: due cases: %w", err))
			}
			n := 0
			for rows.Next() {
				var c caseTarget
				var at time.Time
				var done []string
				if err := rows.Scan(&c.id, &c.ref, &at, &done); err != nil {
					rows.Close()
					return fault.E(fault.Transient, fmt.Errorf("retention: due cases: %w", err))
				}
				n++
				lastAt, lastID = &at, c.id
				if c.arts = dueArtifacts(cut, at, done); len(c.arts) > 0 {
					b.cases = append(b.cases, c)
				}
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return fault.E(fault.Transient, fmt.Errorf("retention: due cases: %w", err))
			}
			more = n == s.batch
			if len(b.cases) == 0 {
				return nil
			}
			if err := mergedInto(ctx, tx, &b, lock); err != nil {
				return err
			}
			p, pending, err = s.purge(ctx, tx, b, o)
			return err
		})
		if err != nil {
			return err
		}
		if len(b.cases) > 0 {
			s.afterCommit(ctx, pending, p.purged, rep, errs)
		}
		if !more {
			return nil
		}
	}
}

// mergedInto adds to the batch the cases merged (directly or through
// others) into its cases, with the same artifacts: a merged case is
// finished when the case it went into is, and is purged with it.
func mergedInto(ctx context.Context, tx pgx.Tx, b *batch, lock string) error {
	ids := make([]int64, len(b.cases))
	arts := make([]string, len(b.cases))
	for i, c := range b.cases {
		ids[i], arts[i] = c.id, join(c.arts)
	}
	rows, err := tx.Query(ctx, `
		WITH RECURSIVE m(id, arts) AS (
			SELECT c.id, t.arts FROM unnest($1::bigint[], $2::text[]) AS t(id, arts) JOIN cases c ON c.merged_into = t.id
			WHERE c.state = 'merged'
			UNION
			SELECT c.id, m.arts FROM m JOIN cases c ON c.merged_into = m.id WHERE c.state = 'merged'
		)
		SELECT c.id, c.ref, m.arts FROM m JOIN cases c ON c.id = m.id
		WHERE c.purged_at IS NULL
		  AND NOT EXISTS (SELECT 1 FROM legal_holds h WHERE h.case_id = c.id AND h.released_at IS NULL)`+lock, ids, arts)
	if err != nil {
		return fault.E(fault.Transient, fmt.Errorf("retention: merged cases: %w", err))
	}
	defer rows.Close()
	for rows.Next() {
		var c caseTarget
		var a string
		if err := rows.Scan(&c.id, &c.ref, &a); err != nil {
			return fault.E(fault.Transient, fmt.Errorf("retention: merged cases: %w", err))
		}
		c.arts = strings.Split(a, ",")
		b.cases = append(b.cases, c)
	}
	if err := rows.Err(); err != nil {
		return fault.E(fault.Transient, fmt.Errorf("retention: merged cases: %w", err))
	}
	return nil
}

// applyRequests purges the requests that never made a case (failed, or
// never routed): their times count from their arrival.
func (s *Service) applyRequests(ctx context.Context, now time.Time, o purgeOpts, rep *Report, errs *[]error) error {
	cut, latest := s.cutoffs(now)
	lock := ` FOR UPDATE SKIP LOCKED`
	if o.dry {
		lock = ""
	}
	var lastAt *time.Time
	var lastID string
	for {
		var b batch
		var more bool
		var pending int64
		var p plan
		err := s.inTx(ctx, o.dry, func(tx pgx.Tx) error {
			rows, err := tx.Query(ctx, `
				SELECT r.id::text, r.received_at, r.purged FROM requests r
				WHERE r.case_id IS NULL AND r.purged_at IS NULL AND r.received_at < $1
				  AND ($2::timestamptz IS NULL OR (r.received_at, r.id) > ($2, $3::uuid))
				ORDER BY r.received_at, r.id LIMIT $4`+lock, latest, lastAt, nullUUID(lastID), s.batch)
			if err != nil {
				return fault.E(fault.Transient, fmt.Errorf("retention: due requests: %w", err))
			}
			n := 0
			for rows.Next() {
				var r reqTarget
				var at time.Time
				var done []string
				if err := rows.Scan(&r.id, &at, &done); err != nil {
					rows.Close()
					return fault.E(fault.Transient, fmt.Errorf("retention: due requests: %w", err))
				}
				n++
				lastAt, lastID = &at, r.id
				if r.arts = dueArtifacts(cut, at, done); len(r.arts) > 0 {
					b.loose = append(b.loose, r)
				}
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return fault.E(fault.Transient, fmt.Errorf("retention: due requests: %w", err))
			}
			more = n == s.batch
			if len(b.loose) == 0 {
				return nil
			}
			p, pending, err = s.purge(ctx, tx, b, o)
			return err
		})
		if err != nil {
			return err
		}
		if len(b.loose) > 0 {
			s.afterCommit(ctx, pending, p.purged, rep, errs)
		}
		if !more {
			return nil
		}
	}
}

func nullUUID(id string) *string {
	if id == "" {
		return nil
	}
	return &id
}

// proofs are the audit actions of the purges themselves: they stay whole,
// the proof that the schedule is applied (they hold no citizen's data).
var proofs = []string{"rgpd.purge", "rgpd.erase", "rgpd.hold", "rgpd.release"}

// applyAudit empties the audit entries recorded before the audit time:
// their action, time and kind of actor stay (they still count), the
// details, the client's address, a person's login and a target that is not
// a case reference go. The entries of the purges themselves stay whole.
func (s *Service) applyAudit(ctx context.Context, now time.Time, o purgeOpts, rep *Report, errs *[]error) error {
	cut := s.schedule().Audit.Cutoff(now)
	if o.dry {
		var n int
		if err := s.db.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE purged_at IS NULL AND at < $1 AND NOT action = ANY($2)`, cut, proofs).Scan(&n); err != nil {
			return fault.E(fault.Transient, fmt.Errorf("retention: audit: %w", err))
		}
		s.log.Info("retention dry run: audit entries that would be emptied", "entries", n)
		return nil
	}
	return s.loopBatches(ctx, func(tx pgx.Tx) (int, error) {
		rows, err := tx.Query(ctx, `
			SELECT id FROM audit_log WHERE purged_at IS NULL AND at < $1 AND NOT action = ANY($3)
			ORDER BY at, id LIMIT $2 FOR UPDATE SKIP LOCKED`, cut, s.batch, proofs)
		if err != nil {
			return 0, fault.E(fault.Transient, fmt.Errorf("retention: audit: %w", err))
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil || len(ids) == 0 {
			return 0, err
		}
		if _, err := beginPurge(ctx, tx, o.actor, o.reason, o.action, "", map[string]any{
			"artifacts": []string{catalogue.ArtifactAudit}, "audit_entries": len(ids)}); err != nil {
			return 0, err
		}
		if _, err := tx.Exec(ctx, `
			UPDATE audit_log SET
			    actor = CASE WHEN actor_kind = 'account' THEN '' ELSE actor END,
			    target = CASE WHEN target ~ '^AMP-[0-9]{4}-[0-9]{6,}$' THEN target ELSE '' END,
			    details = '{}', ip = NULL, purged_at = now()
			WHERE id = ANY($1)`, ids); err != nil {
			return 0, fault.E(fault.Transient, fmt.Errorf("retention: audit: %w", err))
		}
		return len(ids), nil
	})
}

// applyOutgoing empties the copies of what was sent longer ago than the
// outgoing time: the address and text of letters posted, the address of
// e-mails and text messages sent (their record stays: it keeps them from
// being sent twice). Not those of a case under a legal hold.
func (s *Service) applyOutgoing(ctx context.Context, now time.Time, o purgeOpts, rep *Report, errs *[]error) error {
	cut := s.schedule().Outgoing.Cutoff(now)
	const held = `EXISTS (SELECT 1 FROM legal_holds h WHERE h.released_at IS NULL AND h.case_id IN (
		SELECT r.case_id FROM requests r WHERE r.id = %[1]s UNION SELECT e.case_id FROM case_events e WHERE e.id = %[1]s))`
	if o.dry {
		var letters, messages int
		if err := s.db.QueryRow(ctx, `SELECT (SELECT count(*) FROM postal_notices WHERE purged_at IS NULL AND posted_at < $1),
			(SELECT count(*) FROM notifications WHERE recipient <> '' AND sent_at < $1)`, cut).Scan(&letters, &messages); err != nil {
			return fault.E(fault.Transient, fmt.Errorf("retention: outgoing: %w", err))
		}
		s.log.Info("retention dry run: copies of messages sent that would be emptied", "letters", letters, "messages", messages)
		return nil
	}
	return s.loopBatches(ctx, func(tx pgx.Tx) (int, error) {
		rows, err := tx.Query(ctx, `
			SELECT p.id::text FROM postal_notices p
			WHERE p.purged_at IS NULL AND p.posted_at < $1 AND NOT `+fmt.Sprintf(held, "p.request_id")+`
			ORDER BY p.posted_at LIMIT $2 FOR UPDATE OF p SKIP LOCKED`, cut, s.batch)
		if err != nil {
			return 0, fault.E(fault.Transient, fmt.Errorf("retention: outgoing letters: %w", err))
		}
		letters, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return 0, fault.E(fault.Transient, fmt.Errorf("retention: outgoing letters: %w", err))
		}
		rows, err = tx.Query(ctx, `
			SELECT n.request_id::text, n.kind FROM notifications n
			WHERE n.recipient <> '' AND n.sent_at < $1 AND NOT `+fmt.Sprintf(held, "n.request_id")+`
			ORDER BY n.sent_at LIMIT $2 FOR UPDATE OF n SKIP LOCKED`, cut, s.batch)
		if err != nil {
			return 0, fault.E(fault.Transient, fmt.Errorf("retention: outgoing messages: %w", err))
		}
		var msgIDs, msgKinds []string
		for rows.Next() {
			var id string
			var kind string
			if err := rows.Scan(&id, &kind); err != nil {
				rows.Close()
				return 0, fault.E(fault.Transient, fmt.Errorf("retention: outgoing messages: %w", err))
			}
			msgIDs, msgKinds = append(msgIDs, id), append(msgKinds, kind)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return 0, fault.E(fault.Transient, fmt.Errorf("retention: outgoing messages: %w", err))
		}
		if len(letters)+len(msgIDs) == 0 {
			return 0, nil
		}
		if _, err := beginPurge(ctx, tx, o.actor, o.reason, o.action, "", map[string]any{
			"artifacts": []string{catalogue.ArtifactOutgoing}, "letters": len(letters), "messages": len(msgIDs)}); err != nil {
			return 0, err
		}
		if _, err := tx.Exec(ctx, `UPDATE postal_notices SET recipient = '', subject = '', body = '', purged_at = now() WHERE id = ANY($1::uuid[])`,
			letters); err != nil {
			return 0, fault.E(fault.Transient, fmt.Errorf("retention: outgoing letters: %w", err))
		}
		if _, err := tx.Exec(ctx, `
			UPDATE notifications n SET recipient = '' FROM unnest($1::uuid[], $2::text[]) AS t(id, kind)
			WHERE n.request_id = t.id AND n.kind = t.kind`, msgIDs, msgKinds); err != nil {
			return 0, fault.E(fault.Transient, fmt.Errorf("retention: outgoing messages: %w", err))
		}
		return max(len(letters), len(msgIDs)), nil
	})
}

// applyLeftovers deletes what has no use once ended: sign-in links and
// citizens' sessions ended a day before now, and the messages the mail
// channel rejected longer ago than the identity time (they never made a
// request; the mailbox keeps its own copy).
func (s *Service) applyLeftovers(ctx context.Context, now time.Time, o purgeOpts, rep *Report, errs *[]error) error {
	dayBefore := now.Add(-24 * time.Hour)
	rejectedCut := s.schedule().Identity.Cutoff(now)
	if o.dry {
		var links, sessions, rejected int
		if err := s.db.QueryRow(ctx, `SELECT (SELECT count(*) FROM citizen_sign_in_links WHERE expires_at < $1),
			(SELECT count(*) FROM citizen_sessions WHERE expires_at < $1 OR last_seen_at < $1),
			(SELECT count(*) FROM mail_rejections WHERE received_at < $2)`, dayBefore, rejectedCut).Scan(&links, &sessions, &rejected); err != nil {
			return fault.E(fault.Transient, fmt.Errorf("retention: leftovers: %w", err))
		}
		s.log.Info("retention dry run: ended links and sessions and rejected mail that would be deleted",
			"links", links, "sessions", sessions, "rejected_mail", rejected)
		return nil
	}
	return s.loopBatches(ctx, func(tx pgx.Tx) (int, error) {
		var links, sessions, rejected int64
		for _, st := range []struct {
			sql string
			arg time.Time
			n   *int64
		}{
			{`DELETE FROM citizen_sign_in_links WHERE token_hash IN (
				SELECT token_hash FROM citizen_sign_in_links WHERE expires_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`, dayBefore, &links},
			{`DELETE FROM citizen_sessions WHERE id IN (
				SELECT id FROM citizen_sessions WHERE expires_at < $1 OR last_seen_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`, dayBefore, &sessions},
			{`DELETE FROM mail_rejections WHERE message_key IN (
				SELECT message_key FROM mail_rejections WHERE received_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`, rejectedCut, &rejected},
		} {
			tag, err := tx.Exec(ctx, st.sql, st.arg, s.batch)
			if err != nil {
				return 0, fault.E(fault.Transient, fmt.Errorf("retention: leftovers: %w", err))
			}
			*st.n = tag.RowsAffected()
		}
		if links+sessions+rejected == 0 {
			return 0, nil
		}
		if _, err := beginPurge(ctx, tx, o.actor, o.reason, o.action, "", map[string]any{
			"artifacts": []string{catalogue.ArtifactIdentity}, "sign_in_links": links, "citizen_sessions": sessions, "rejected_mail": rejected}); err != nil {
			return 0, err
		}
		return int(max(links, sessions, rejected)), nil
	})
}

// loopBatches runs a batch per transaction until one does less than a
// full batch.
func (s *Service) loopBatches(ctx context.Context, fn func(tx pgx.Tx) (int, error)) error {
	for {
		var n int
		if err := s.inTx(ctx, false, func(tx pgx.Tx) error {
			var err error
			n, err = fn(tx)
			return err
		}); err != nil {
			return err
		}
		if n < s.batch {
			return nil
		}
	}
}

// maxRefusals bounds the held cases a report lists.
const maxRefusals = 100

// refusals lists the cases the schedule would purge but a legal hold keeps.
func (s *Service) refusals(ctx context.Context, now time.Time, rep *Report) error {
	_, latest := s.cutoffs(now)
	rows, err := s.db.Query(ctx, `
		SELECT c.ref, h.held_at, h.held_by FROM cases c JOIN legal_holds h ON h.case_id = c.id AND h.released_at IS NULL
		WHERE c.purged_at IS NULL AND c.closed_at < $1
		ORDER BY c.closed_at, c.id LIMIT $2`, latest, maxRefusals)
	if err != nil {
		return fault.E(fault.Transient, fmt.Errorf("retention: holds: %w", err))
	}
	defer rows.Close()
	for rows.Next() {
		var ref, by string
		var at time.Time
		if err := rows.Scan(&ref, &at, &by); err != nil {
			return fault.E(fault.Transient, fmt.Errorf("retention: holds: %w", err))
		}
		rep.Refused = append(rep.Refused, Refusal{Ref: ref, Reason: heldReason(ref, at, by)})
	}
	if err := rows.Err(); err != nil {
		return fault.E(fault.Transient, fmt.Errorf("retention: holds: %w", err))
	}
	return nil
}

func heldReason(ref string, at time.Time, by string) string {
	return fmt.Sprintf("le dossier %s est sous conservation légale depuis le %s (posée par %s) : il n'est pas effacé tant qu'elle n'est pas levée",
		ref, frenchDate(at), by)
}
