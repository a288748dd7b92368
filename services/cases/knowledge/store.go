package knowledge

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ampmetropole/guichet/services/platform/fault"
)

// ErrNotFound is returned (wrapped, kind fault.NotFound) for an entry that
// does not exist, or is archived where only a live one will do.
var ErrNotFound = errors.New("fiche introuvable")

// ErrChanged is returned (wrapped, kind fault.Conflict) when an entry was
// changed by someone else since the version being edited.
var ErrChanged = errors.New("fiche modifiée entre-temps")

// DB is what the store needs of PostgreSQL; the case store's pool
// (casestore.Store.DB) is one.
type DB interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Store keeps the entries and their uses.
type Store struct {
	db  DB
	now func() time.Time
}

// New returns the store on the case store's database (migrated).
func New(db DB) *Store { return &Store{db: db, now: time.Now} }

// WithClock returns the store reading the time from now, for tests.
func (s *Store) WithClock(now func() time.Time) *Store {
	c := *s
	c.now = now
	return &c
}

// columns are an entry's, in the order scan reads them; uses counts over
// @since.
const columns = `e.id, e.title, e.body, COALESCE(e.competence, ''), COALESCE(e.territory, ''), e.review_on,
	e.created_at, e.edited_at, e.edited_by, e.version, e.archived_at IS NOT NULL,
	(SELECT count(*) FROM knowledge_uses u WHERE u.entry_id = e.id AND u.used_at > @since)::int`

func scan(row pgx.Row) (Entry, error) {
	var e Entry
	err := row.Scan(&e.ID, &e.Title, &e.Text, &e.Competence, &e.Territory, &e.ReviewOn,
		&e.CreatedAt, &e.EditedAt, &e.EditedBy, &e.Version, &e.Archived, &e.Uses)
	return e, err
}

func (s *Store) since() time.Time { return s.now().Add(-UseWindow) }

// Create adds an entry written by editor (a login).
func (s *Store) Create(ctx context.Context, d Draft, editor string) (Entry, error) {
	d = d.normalize()
	if v := d.bounds(); v != nil {
		return Entry{}, fault.E(fault.Invalid, v)
	}
	if err := checkEditor(editor); err != nil {
		return Entry{}, err
	}
	now := s.now().UTC()
	e, err := scan(s.db.QueryRow(ctx, `
		INSERT INTO knowledge_entries AS e (title, body, competence, territory, review_on, created_at, edited_at, edited_by)
		VALUES (@title, @body, NULLIF(@competence, ''), NULLIF(@territory, ''), @review, @now, @now, @editor)
		RETURNING `+columns, pgx.NamedArgs{"title": d.Title, "body": d.Text, "competence": d.Competence, "territory": d.Territory,
		"review": d.ReviewOn, "now": now, "editor": editor, "since": s.since()}))
	if err != nil {
		return Entry{}, dbError("create", err)
	}
	return e, nil
}

// Update replaces an entry's content, if it is still at version (else
// ErrChanged, kind Conflict); an archived entry can be corrected too.
func (s *Store) Update(ctx context.Context, id int64, version int, d Draft, editor string) (Entry, error) {
	d = d.normalize()
	if v := d.bounds(); v != nil {
		return Entry{}, fault.E(fault.Invalid, v)
	}
	if err := checkEditor(editor); err != nil {
		return Entry{}, err
	}
	e, err := scan(s.db.QueryRow(ctx, `
		UPDATE knowledge_entries AS e SET title = @title, body = @body, competence = NULLIF(@competence, ''),
		       territory = NULLIF(@territory, ''), review_on = @review, edited_at = @now, edited_by = @editor, version = version + 1
		WHERE id = @id AND version = @version
		RETURNING `+columns, pgx.NamedArgs{"id": id, "version": version, "title": d.Title, "body": d.Text, "competence": d.Competence,
		"territory": d.Territory, "review": d.ReviewOn, "now": s.now().UTC(), "editor": editor, "since": s.since()}))
	if errors.Is(err, pgx.ErrNoRows) {
		if _, gerr := s.Get(ctx, id); gerr != nil {
			return Entry{}, gerr
		}
		return Entry{}, fault.E(fault.Conflict, fmt.Errorf("knowledge: update %d: %w", id, ErrChanged))
	}
	if err != nil {
		return Entry{}, dbError("update", err)
	}
	return e, nil
}

// Archive takes an entry out of the console and the list; its uses stay.
// Archiving an archived entry changes nothing.
func (s *Store) Archive(ctx context.Context, id int64, editor string) (Entry, error) {
	return s.setArchived(ctx, id, editor, true)
}

// Restore puts an archived entry back.
func (s *Store) Restore(ctx context.Context, id int64, editor string) (Entry, error) {
	return s.setArchived(ctx, id, editor, false)
}

func (s *Store) setArchived(ctx context.Context, id int64, editor string, archived bool) (Entry, error) {
	if err := checkEditor(editor); err != nil {
		return Entry{}, err
	}
	e, err := scan(s.db.QueryRow(ctx, `
		UPDATE knowledge_entries AS e SET archived_at = CASE WHEN @archived THEN @now::timestamptz END,
		       edited_at = @now, edited_by = @editor, version = version + 1
		WHERE id = @id AND (archived_at IS NOT NULL) <> @archived
		RETURNING `+columns, pgx.NamedArgs{"id": id, "archived": archived, "now": s.now().UTC(), "editor": editor, "since": s.since()}))
	if errors.Is(err, pgx.ErrNoRows) {
		return s.Get(ctx, id) // already so, or not found
	}
	if err != nil {
		return Entry{}, dbError("archive", err)
	}
	return e, nil
}

// Get returns an entry, archived or not, with its uses.
func (s *Store) Get(ctx context.Context, id int64) (Entry, error) {
	e, err := scan(s.db.QueryRow(ctx, `SELECT `+columns+` FROM knowledge_entries e WHERE e.id = @id`,
		pgx.NamedArgs{"id": id, "since": s.since()}))
	if errors.Is(err, pgx.ErrNoRows) {
		return Entry{}, fault.E(fault.NotFound, fmt.Errorf("knowledge: entry %d: %w", id, ErrNotFound))
	}
	if err != nil {
		return Entry{}, dbError("get", err)
	}
	return e, nil
}

// List returns the entries for the supervisors' list: by relevance when
// there is a search, else by title; with their uses.
func (s *Store) List(ctx context.Context, q ListQuery) ([]Entry, error) {
	if q.Limit <= 0 {
		q.Limit = 200
	}
	q.Limit = min(q.Limit, 500)
	text := strings.TrimSpace(q.Text)
	if len([]rune(text)) > MaxQuery {
		return nil, fault.E(fault.TooLarge, fmt.Errorf("knowledge: search of %d characters", len([]rune(text))))
	}
	if !cleanText(text) {
		return nil, fault.E(fault.Invalid, errors.New("knowledge: search: invalid characters"))
	}
	// Planned for these words each time (see casestore's search).
	rows, err := s.db.Query(ctx, `
		SELECT `+columns+` FROM knowledge_entries e
		WHERE (e.archived_at IS NOT NULL) = @archived
		  AND (NOT @due OR e.review_on < @today)
		  AND (@q = '' OR e.doc @@ websearch_to_tsquery('guichet_fr', @q))
		ORDER BY CASE WHEN @q = '' THEN 0 ELSE ts_rank(e.doc, websearch_to_tsquery('guichet_fr', @q)) END DESC, lower(e.title), e.id
		LIMIT @limit`, pgx.QueryExecModeExec,
		pgx.NamedArgs{"archived": q.Archived, "due": q.Due, "today": Today(s.now()), "q": text, "limit": q.Limit, "since": s.since()})
	return collect(rows, err, "list")
}

// Search returns the live entries for the console's question, best first
// (see [Query]).
func (s *Store) Search(ctx context.Context, q Query) ([]Entry, error) {
	if q.Limit <= 0 {
		q.Limit = 5
	}
	q.Limit = min(q.Limit, 50)
	if !cleanText(q.Text) || !cleanText(q.Territory) {
		return nil, fault.E(fault.Invalid, errors.New("knowledge: search: invalid characters"))
	}
	words := orWords(q.Text)
	comps := make([]string, 0, 3)
	for _, c := range q.Competences {
		if c != "" && cleanText(c) && len(comps) < 3 {
			comps = append(comps, c)
		}
	}
	if words == "" && len(comps) == 0 {
		return nil, nil
	}
	// The title weighs more than the text (weights A and B); each of the
	// first competences the classifier names adds a little less than a
	// good title match, so that the words still decide between entries.
	rows, err := s.db.Query(ctx, `
		WITH q AS (SELECT CASE WHEN @words = '' THEN NULL ELSE websearch_to_tsquery('guichet_fr', @words) END AS tsq)
		SELECT `+columns+` FROM knowledge_entries e, q
		WHERE e.archived_at IS NULL
		  AND (@territory = '' OR e.territory IS NULL OR e.territory = @territory)
		  AND (e.doc @@ q.tsq OR (cardinality(@comps::text[]) > 0 AND e.competence = (@comps::text[])[1]))
		ORDER BY COALESCE(ts_rank(e.doc, q.tsq), 0) +
		         CASE array_position(@comps::text[], e.competence) WHEN 1 THEN 0.3 WHEN 2 THEN 0.15 WHEN 3 THEN 0.08 ELSE 0 END DESC,
		         lower(e.title), e.id
		LIMIT @limit`, pgx.QueryExecModeExec,
		pgx.NamedArgs{"words": words, "comps": comps, "territory": q.Territory, "limit": q.Limit, "since": s.since()})
	return collect(rows, err, "search")
}

// RecordUse records a call answered from a live entry and returns the
// entry (its uses counted with this one).
func (s *Store) RecordUse(ctx context.Context, u Use) (Entry, error) {
	if err := checkEditor(u.Agent); err != nil {
		return Entry{}, err
	}
	if u.Channel != ChannelPhone {
		return Entry{}, fault.E(fault.Invalid, fmt.Errorf("knowledge: use: unknown channel %q", u.Channel))
	}
	tag, err := s.db.Exec(ctx, `
		INSERT INTO knowledge_uses (entry_id, agent, channel, used_at)
		SELECT id, @agent, @channel, @now FROM knowledge_entries WHERE id = @id AND archived_at IS NULL`,
		pgx.NamedArgs{"id": u.Entry, "agent": u.Agent, "channel": u.Channel, "now": s.now().UTC()})
	if err != nil {
		return Entry{}, dbError("use", err)
	}
	if tag.RowsAffected() == 0 {
		return Entry{}, fault.E(fault.NotFound, fmt.Errorf("knowledge: use of entry %d: %w", u.Entry, ErrNotFound))
	}
	return s.Get(ctx, u.Entry)
}

// UseCounts returns how many calls each entry answered since then (entries
// without a use are absent).
func (s *Store) UseCounts(ctx context.Context, since time.Time) (map[int64]int, error) {
	rows, err := s.db.Query(ctx, `SELECT entry_id, count(*)::int FROM knowledge_uses WHERE used_at > $1 GROUP BY entry_id`, since)
	if err != nil {
		return nil, dbError("use counts", err)
	}
	defer rows.Close()
	out := map[int64]int{}
	for rows.Next() {
		var id int64
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return nil, dbError("use counts", err)
		}
		out[id] = n
	}
	if err := rows.Err(); err != nil {
		return nil, dbError("use counts", err)
	}
	return out, nil
}

func collect(rows pgx.Rows, err error, what string) ([]Entry, error) {
	if err != nil {
		return nil, dbError(what, err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		e, err := scan(rows)
		if err != nil {
			return nil, dbError(what, err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, dbError(what, err)
	}
	return out, nil
}

// checkEditor refuses an empty or outlandish login: every change and use
// names who made it.
func checkEditor(login string) error {
	if login == "" || len(login) > 200 || !cleanText(login) {
		return fault.E(fault.Invalid, errors.New("knowledge: who acts is not known"))
	}
	return nil
}

func dbError(what string, err error) error {
	var pg *pgconn.PgError
	if errors.As(err, &pg) && pg.Code[:2] == "23" { // integrity: a check the Go side should have made
		return fault.E(fault.Invalid, fmt.Errorf("knowledge: %s: %w", what, err))
	}
	return fault.E(fault.Transient, fmt.Errorf("knowledge: %s: %w", what, err))
}
