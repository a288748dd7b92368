package auth

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ampmetropole/guichet/services/platform/fault"
)

var (
	loginPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._@+-]{1,99}$`)
	codePattern  = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)
	inseePattern = regexp.MustCompile(`^[0-9][0-9AB][0-9]{3}$`)
)

// Account is a person who may sign in to the back office.
type Account struct {
	ID          int64
	Login       string // lower case; for OpenID Connect, the e-mail address the provider gives
	DisplayName string
	Role        string
	Competences []string
	Territories []string
	Communes    []string // a mairie's communes (INSEE codes)
	HasPassword bool     // false: signs in by OpenID Connect only
	OIDCLinked  bool     // has signed in by OpenID Connect once
	Disabled    bool
	CreatedAt   time.Time
}

// CreateAccount adds an account. An empty password makes an account that
// signs in by OpenID Connect only. A team member needs at least one
// competence. The creation is audited in the name of the principal in ctx,
// else of the system.
func (s *Service) CreateAccount(ctx context.Context, login, displayName, role, password string, competences, territories []string) (Account, error) {
	login, displayName, err := checkNames(login, displayName)
	if err != nil {
		return Account{}, err
	}
	if SystemRole(role) {
		return Account{}, fault.E(fault.Invalid, fmt.Errorf("auth: le rôle « %s » est celui d'un autre système : créez-lui un jeton d'API (guichet token create), pas un compte", role))
	}
	if role == RoleCommune {
		return Account{}, fault.E(fault.Invalid, errors.New("auth: un compte de mairie se crée pour sa ou ses communes (guichet account create --role commune --commune CODE_INSEE)"))
	}
	competences, territories, err = s.checkScope(role, competences, territories)
	if err != nil {
		return Account{}, err
	}
	return s.insertAccount(ctx, Account{Login: login, DisplayName: displayName, Role: role, Competences: competences,
		Territories: territories, Communes: []string{}}, password)
}

// CreateCommuneAccount adds the account of a mairie's staff, for one
// commune or several (INSEE codes, Marseille's arrondissements counting as
// Marseille). The login, name and password follow [Service.CreateAccount]'s
// rules.
func (s *Service) CreateCommuneAccount(ctx context.Context, login, displayName, password string, communes []string) (Account, error) {
	login, displayName, err := checkNames(login, displayName)
	if err != nil {
		return Account{}, err
	}
	clean := []string{}
	for _, c := range communes {
		c = strings.TrimSpace(c)
		if c == "" {
			continue
		}
		if !inseePattern.MatchString(c) || (s.cfg.KnownCommune != nil && !s.cfg.KnownCommune(c)) {
			return Account{}, fault.E(fault.Invalid, fmt.Errorf("auth: code INSEE de commune « %s » inconnu dans la Métropole", c))
		}
		clean = append(clean, c)
	}
	slices.Sort(clean)
	clean = slices.Compact(clean)
	if len(clean) == 0 {
		return Account{}, fault.E(fault.Invalid, errors.New("auth: un compte de mairie doit avoir au moins une commune (--commune CODE_INSEE)"))
	}
	return s.insertAccount(ctx, Account{Login: login, DisplayName: displayName, Role: RoleCommune,
		Competences: []string{}, Territories: []string{}, Communes: clean}, password)
}

// checkNames checks an account's login (returned in lower case) and
// displayed name (trimmed).
func checkNames(login, displayName string) (string, string, error) {
	login = normalizeLogin(login)
	if !loginPattern.MatchString(login) {
		return "", "", fault.E(fault.Invalid, fmt.Errorf("auth: identifiant « %s » invalide (2 à 100 caractères : lettres minuscules, chiffres, . _ @ + -)", login))
	}
	displayName = strings.TrimSpace(displayName)
	if displayName == "" || utf8.RuneCountInString(displayName) > 200 || strings.ContainsFunc(displayName, unicode.IsControl) {
		return "", "", fault.E(fault.Invalid, errors.New("auth: le nom affiché est vide, trop long ou illisible"))
	}
	return login, displayName, nil
}

// insertAccount writes a checked account, with its password hashed.
func (s *Service) insertAccount(ctx context.Context, a Account, password string) (Account, error) {
	login, displayName, role, competences, territories := a.Login, a.DisplayName, a.Role, a.Competences, a.Territories
	var hash *string
	if password != "" {
		if err := validatePassword(password); err != nil {
			return Account{}, err
		}
		h, err := s.hash(ctx, password)
		if err != nil {
			return Account{}, err
		}
		hash = &h
	}
	a.HasPassword, a.CreatedAt = hash != nil, s.now()
	err := s.db.QueryRow(ctx, `
		INSERT INTO accounts (login, display_name, role, competences, territories, communes, password_hash, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
		login, displayName, role, competences, territories, a.Communes, hash, a.CreatedAt).Scan(&a.ID)
	if isUniqueViolation(err) {
		return Account{}, fault.E(fault.Conflict, fmt.Errorf("auth: le compte « %s » existe déjà", login))
	}
	if err != nil {
		return Account{}, dbError("create account", err)
	}
	s.auditAs(ctx, "account.create", login, map[string]any{"role": role, "competences": competences,
		"territories": territories, "communes": a.Communes, "password": hash != nil})
	return a, nil
}

// SetPassword gives an account a new password and ends its sessions.
func (s *Service) SetPassword(ctx context.Context, login, password string) error {
	if err := validatePassword(password); err != nil {
		return err
	}
	h, err := s.hash(ctx, password)
	if err != nil {
		return err
	}
	login = normalizeLogin(login)
	if err := s.updateAccount(ctx, login, `UPDATE accounts SET password_hash = $2 WHERE login = $1 RETURNING id`, h); err != nil {
		return err
	}
	s.auditAs(ctx, "account.password", login, nil)
	return nil
}

// Disable stops an account from signing in and ends its sessions; its
// history stays.
func (s *Service) Disable(ctx context.Context, login string) error {
	login = normalizeLogin(login)
	if err := s.updateAccount(ctx, login, `UPDATE accounts SET disabled = true WHERE login = $1 RETURNING id`); err != nil {
		return err
	}
	s.auditAs(ctx, "account.disable", login, nil)
	return nil
}

// Enable lets a disabled account sign in again.
func (s *Service) Enable(ctx context.Context, login string) error {
	login = normalizeLogin(login)
	if err := s.updateAccount(ctx, login, `UPDATE accounts SET disabled = false WHERE login = $1 RETURNING id`); err != nil {
		return err
	}
	s.auditAs(ctx, "account.enable", login, nil)
	return nil
}

// updateAccount runs an update of one account by login, then ends the
// account's sessions.
func (s *Service) updateAccount(ctx context.Context, login, sql string, args ...any) error {
	var id int64
	err := s.db.QueryRow(ctx, sql, append([]any{login}, args...)...).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return fault.E(fault.NotFound, fmt.Errorf("auth: pas de compte « %s »", login))
	}
	if err != nil {
		return dbError("update account", err)
	}
	if _, err := s.db.Exec(ctx, `DELETE FROM sessions WHERE account_id = $1`, id); err != nil {
		return dbError("end sessions", err)
	}
	return nil
}

// ListAccounts returns every account, by login.
func (s *Service) ListAccounts(ctx context.Context) ([]Account, error) {
	rows, err := s.db.Query(ctx, `
		SELECT id, login, display_name, role, competences, territories, communes, password_hash IS NOT NULL,
		       oidc_subject IS NOT NULL, disabled, created_at
		FROM accounts ORDER BY login`)
	if err != nil {
		return nil, dbError("list accounts", err)
	}
	accounts, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Account, error) {
		var a Account
		err := row.Scan(&a.ID, &a.Login, &a.DisplayName, &a.Role, &a.Competences, &a.Territories, &a.Communes,
			&a.HasPassword, &a.OIDCLinked, &a.Disabled, &a.CreatedAt)
		return a, err
	})
	if err != nil {
		return nil, dbError("list accounts", err)
	}
	return accounts, nil
}

// checkScope validates a role and its competences and territories, and
// returns the codes trimmed, sorted and without duplicates.
func (s *Service) checkScope(role string, competences, territories []string) ([]string, []string, error) {
	if !ValidRole(role) {
		return nil, nil, fault.E(fault.Invalid, fmt.Errorf("auth: rôle « %s » inconnu (attendus : %s)", role, strings.Join(Roles(), ", ")))
	}
	competences, err := cleanCodes(competences, "compétence", s.cfg.KnownCompetence)
	if err != nil {
		return nil, nil, err
	}
	territories, err = cleanCodes(territories, "territoire", s.cfg.KnownTerritory)
	if err != nil {
		return nil, nil, err
	}
	if role == RoleTeam && len(competences) == 0 {
		return nil, nil, fault.E(fault.Invalid, errors.New("auth: un membre d'équipe doit avoir au moins une compétence"))
	}
	return competences, territories, nil
}

func cleanCodes(codes []string, what string, known func(string) bool) ([]string, error) {
	out := []string{}
	for _, c := range codes {
		c = strings.TrimSpace(c)
		if c == "" {
			continue
		}
		if !codePattern.MatchString(c) || (known != nil && !known(c)) {
			return nil, fault.E(fault.Invalid, fmt.Errorf("auth: code de %s « %s » inconnu ou mal écrit", what, c))
		}
		out = append(out, c)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

func normalizeLogin(login string) string { return strings.ToLower(strings.TrimSpace(login)) }

func isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// dbError wraps a database failure: transient (callers answer 503 and may
// retry) unless PostgreSQL refused the data itself.
func dbError(what string, err error) error {
	err = fmt.Errorf("auth: %s: %w", what, err)
	var pe *pgconn.PgError
	if errors.As(err, &pe) && (strings.HasPrefix(pe.Code, "22") || strings.HasPrefix(pe.Code, "23") || strings.HasPrefix(pe.Code, "P0")) {
		return err
	}
	return fault.E(fault.Transient, err)
}
