package retention

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/ampmetropole/guichet/services/platform/fault"
	"github.com/ampmetropole/guichet/services/platform/frtime"
	"github.com/ampmetropole/guichet/services/platform/textcheck"
)

// maxReason bounds a reason given for a purge, an erasure or a hold.
const maxReason = 2000

// checkWhoWhy refuses a missing or unreasonable actor or reason.
func checkWhoWhy(actor, reason string) error {
	switch {
	case strings.TrimSpace(actor) == "":
		return fault.E(fault.Invalid, errors.New("retention: qui agit (actor) est obligatoire"))
	case strings.TrimSpace(reason) == "":
		return fault.E(fault.Invalid, errors.New("retention: le motif est obligatoire"))
	case utf8.RuneCountInString(reason) > maxReason || len(actor) > 200:
		return fault.E(fault.Invalid, fmt.Errorf("retention: motif de plus de %d caractères ou identifiant trop long", maxReason))
	case !textcheck.Valid(reason) || !textcheck.Valid(actor):
		return fault.E(fault.Invalid, errors.New("retention: caractère non permis (caractère nul ou encodage invalide)"))
	}
	return nil
}

// Hold puts a case under a legal hold (never purged, by the schedule or an
// erasure, until released); reason says why (a dispute, a request of a
// court: write its number, not a person's name). fault.NotFound for an
// unknown case, fault.Conflict when it is held already or was purged.
func (s *Service) Hold(ctx context.Context, ref, reason, actor string) error {
	if err := checkWhoWhy(actor, reason); err != nil {
		return err
	}
	ref, reason = strings.TrimSpace(ref), strings.TrimSpace(reason)
	return s.inTx(ctx, false, func(tx pgx.Tx) error {
		id, purged, err := lockCase(ctx, tx, ref)
		if err != nil {
			return err
		}
		if purged {
			return fault.E(fault.Conflict, fmt.Errorf("retention: les données du dossier %s ont déjà été effacées", ref))
		}
		var at time.Time
		var by string
		err = tx.QueryRow(ctx, `SELECT held_at, held_by FROM legal_holds WHERE case_id = $1 AND released_at IS NULL`, id).Scan(&at, &by)
		if err == nil {
			return fault.E(fault.Conflict, fmt.Errorf("retention: le dossier %s est déjà sous conservation légale depuis le %s (posée par %s)",
				ref, frenchDate(at), by))
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return fault.E(fault.Transient, fmt.Errorf("retention: hold %s: %w", ref, err))
		}
		if _, err := beginPurge(ctx, tx, actor, reason, "rgpd.hold", ref, nil); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO legal_holds (case_id, reason, held_by, held_at) VALUES ($1, $2, $3, $4)`,
			id, reason, actor, s.now()); err != nil {
			return fault.E(fault.Transient, fmt.Errorf("retention: hold %s: %w", ref, err))
		}
		return nil
	})
}

// Release takes a case's legal hold off: from then on the schedule
// applies to it again. fault.NotFound for an unknown case, fault.Conflict
// when it is not held.
func (s *Service) Release(ctx context.Context, ref, reason, actor string) error {
	if err := checkWhoWhy(actor, reason); err != nil {
		return err
	}
	ref, reason = strings.TrimSpace(ref), strings.TrimSpace(reason)
	return s.inTx(ctx, false, func(tx pgx.Tx) error {
		id, _, err := lockCase(ctx, tx, ref)
		if err != nil {
			return err
		}
		if _, err := beginPurge(ctx, tx, actor, reason, "rgpd.release", ref, nil); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `
			UPDATE legal_holds SET released_at = $2, released_by = $3, release_reason = $4
			WHERE case_id = $1 AND released_at IS NULL`, id, s.now(), actor, reason)
		if err != nil {
			return fault.E(fault.Transient, fmt.Errorf("retention: release %s: %w", ref, err))
		}
		if tag.RowsAffected() == 0 {
			return fault.E(fault.Conflict, fmt.Errorf("retention: le dossier %s n'est pas sous conservation légale", ref))
		}
		return nil
	})
}

// lockCase finds a case by reference and locks it: a hold and a purge of
// the same case wait for each other.
func lockCase(ctx context.Context, tx pgx.Tx, ref string) (id int64, purged bool, err error) {
	err = tx.QueryRow(ctx, `SELECT id, purged_at IS NOT NULL FROM cases WHERE ref = $1 FOR UPDATE`, ref).Scan(&id, &purged)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false, fault.E(fault.NotFound, fmt.Errorf("retention: dossier %s inconnu", ref))
	}
	if err != nil {
		return 0, false, fault.E(fault.Transient, fmt.Errorf("retention: case %s: %w", ref, err))
	}
	return id, purged, nil
}

// frenchDate writes a day the French way, in Paris time: « 3 mars 2027 ».
func frenchDate(t time.Time) string {
	months := [...]string{"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"}
	t = t.In(frtime.Paris())
	day := fmt.Sprint(t.Day())
	if t.Day() == 1 {
		day = "1er"
	}
	return fmt.Sprintf("%s %s %d", day, months[t.Month()-1], t.Year())
}
