package knowledge_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ampmetropole/guichet/services/cases/knowledge"
	"github.com/ampmetropole/guichet/services/platform/fault"
	"github.com/ampmetropole/guichet/services/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// clock is a settable time for the store.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// setup returns a store on a freshly migrated database, its clock set to
// a Tuesday morning in Paris, and the database's URL.
func setup(t *testing.T) (*knowledge.Store, *clock, string) {
	t.Helper()
	url := testkit.Database(t)
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	c := &clock{t: time.Date(2026, 12, 8, 9, 30, 0, 0, time.UTC)}
	return knowledge.New(pool).WithClock(c.now), c, url
}

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

func create(t *testing.T, s *knowledge.Store, d knowledge.Draft) knowledge.Entry {
	t.Helper()
	if d.ReviewOn.IsZero() {
		d.ReviewOn = day("2027-06-30")
	}
	e, err := s.Create(context.Background(), d, "nadia")
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestEntryLifecycle: an entry is created, read, edited at its version (a
// stale version is refused), archived and restored; each change says who
// made it and when.
func TestEntryLifecycle(t *testing.T) {
	s, c, _ := setup(t)
	ctx := context.Background()
	e := create(t, s, knowledge.Draft{Title: "  Horaires   des déchetteries ", Text: "Ouvertes du lundi au samedi.\r\n\r\nFermées les jours fériés.",
		Competence: "dechets", Territory: "pays-d-aubagne-etoile"})
	if e.ID == 0 || e.Title != "Horaires des déchetteries" || e.Version != 1 || e.EditedBy != "nadia" || e.Archived ||
		e.Text != "Ouvertes du lundi au samedi.\n\nFermées les jours fériés." || !e.ReviewOn.Equal(day("2027-06-30")) || !e.EditedAt.Equal(c.t) {
		t.Fatalf("created %+v", e)
	}
	if got := e.Paragraphs(); len(got) != 2 || got[1] != "Fermées les jours fériés." {
		t.Errorf("paragraphs %q", got)
	}
	got, err := s.Get(ctx, e.ID)
	if err != nil || got.Title != e.Title || got.Territory != "pays-d-aubagne-etoile" {
		t.Fatalf("get %+v %v", got, err)
	}
	c.t = c.t.Add(time.Hour)
	upd, err := s.Update(ctx, e.ID, e.Version, knowledge.Draft{Title: "Horaires des déchetteries", Text: "Nouveau texte.", ReviewOn: day("2027-01-15")}, "admin")
	if err != nil || upd.Version != 2 || upd.EditedBy != "admin" || upd.Competence != "" || upd.Territory != "" || !upd.EditedAt.Equal(c.t) {
		t.Fatalf("update %+v %v", upd, err)
	}
	// Someone editing the first version is told, not overwritten.
	if _, err := s.Update(ctx, e.ID, e.Version, knowledge.Draft{Title: "x", Text: "y", ReviewOn: day("2027-01-15")}, "nadia"); fault.KindOf(err) != fault.Conflict || !errors.Is(err, knowledge.ErrChanged) {
		t.Fatalf("stale update: %v", err)
	}
	if _, err := s.Update(ctx, 999999, 1, knowledge.Draft{Title: "x", Text: "y", ReviewOn: day("2027-01-15")}, "nadia"); fault.KindOf(err) != fault.NotFound {
		t.Fatalf("update of an unknown entry: %v", err)
	}
	arch, err := s.Archive(ctx, e.ID, "nadia")
	if err != nil || !arch.Archived || arch.Version != 3 {
		t.Fatalf("archive %+v %v", arch, err)
	}
	if again, err := s.Archive(ctx, e.ID, "nadia"); err != nil || again.Version != 3 {
		t.Fatalf("archive twice %+v %v", again, err)
	}
	if res, err := s.Restore(ctx, e.ID, "nadia"); err != nil || res.Archived || res.Version != 4 {
		t.Fatalf("restore %+v %v", res, err)
	}
	if _, err := s.Get(ctx, 424242); fault.KindOf(err) != fault.NotFound || !errors.Is(err, knowledge.ErrNotFound) {
		t.Fatalf("unknown entry: %v", err)
	}
	if _, err := s.Archive(ctx, 424242, "nadia"); fault.KindOf(err) != fault.NotFound {
		t.Fatalf("archive of an unknown entry: %v", err)
	}
}

// TestStoreRefusesWhatItCannotKeep: oversized, empty or unstorable text,
// an unknown territory, no review date or no author are refused before
// the database is asked.
func TestStoreRefusesWhatItCannotKeep(t *testing.T) {
	s, _, _ := setup(t)
	ctx := context.Background()
	good := knowledge.Draft{Title: "Titre", Text: "Texte", ReviewOn: day("2027-01-01")}
	for name, tc := range map[string]struct {
		change func(*knowledge.Draft)
		field  string
		editor string
	}{
		"title too long":    {func(d *knowledge.Draft) { d.Title = strings.Repeat("é", knowledge.MaxTitle+1) }, knowledge.FieldTitle, "nadia"},
		"empty title":       {func(d *knowledge.Draft) { d.Title = "  " }, knowledge.FieldTitle, "nadia"},
		"text too long":     {func(d *knowledge.Draft) { d.Text = strings.Repeat("a", knowledge.MaxText+1) }, knowledge.FieldText, "nadia"},
		"NUL in the text":   {func(d *knowledge.Draft) { d.Text = "a\x00b" }, knowledge.FieldText, "nadia"},
		"invalid UTF-8":     {func(d *knowledge.Draft) { d.Title = "a\xffb" }, knowledge.FieldTitle, "nadia"},
		"unknown territory": {func(d *knowledge.Draft) { d.Territory = "lyon" }, knowledge.FieldTerritory, "nadia"},
		"no review date":    {func(d *knowledge.Draft) { d.ReviewOn = time.Time{} }, knowledge.FieldReview, "nadia"},
		"no author":         {func(*knowledge.Draft) {}, "", ""},
	} {
		d := good
		tc.change(&d)
		_, err := s.Create(ctx, d, tc.editor)
		var inv knowledge.Invalid
		if fault.KindOf(err) != fault.Invalid || (tc.field != "" && (!errors.As(err, &inv) || inv.Of(tc.field) == "")) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := s.Create(ctx, knowledge.Draft{Title: strings.Repeat("é", knowledge.MaxTitle), Text: strings.Repeat("à", knowledge.MaxText), ReviewOn: day("2027-01-01")}, "nadia"); err != nil {
		t.Errorf("an entry at the bounds: %v", err)
	}
}

// TestSearchInFrench: the console finds entries by the caller's words,
// accents and endings ignored, the title first; the classifier's
// competence lifts its entries and brings them even without a word in
// common; the caller's territory keeps out the others'; archived entries
// never come back; hostile input is only words.
func TestSearchInFrench(t *testing.T) {
	s, _, _ := setup(t)
	ctx := context.Background()
	hours := create(t, s, knowledge.Draft{Title: "Horaires des déchetteries du Pays d'Aubagne", Text: "Les déchetteries sont ouvertes du lundi au samedi ; horaires : [à compléter].",
		Competence: "dechets", Territory: "pays-d-aubagne-etoile"})
	bulky := create(t, s, knowledge.Draft{Title: "Collecte des encombrants", Text: "Les objets volumineux sont enlevés sur rendez-vous ; pas de dépôt sur le trottoir.",
		Competence: "dechets"})
	parking := create(t, s, knowledge.Draft{Title: "Stationnement résidentiel", Text: "La carte de résident s'obtient avec un justificatif de domicile. Les déchetteries n'ont rien à y voir.",
		Competence: "stationnement"})
	badge := create(t, s, knowledge.Draft{Title: "Badge d'accès aux déchetteries", Text: "Demande en ligne avec un justificatif de domicile.", Competence: "dechets"})
	water := create(t, s, knowledge.Draft{Title: "Facture d'eau incomprise", Text: "Le relevé du compteur figure au dos de la facture.", Competence: "eau_assainissement"})
	old := create(t, s, knowledge.Draft{Title: "Ancienne collecte des encombrants", Text: "Supprimée.", Competence: "dechets"})
	if _, err := s.Archive(ctx, old.ID, "nadia"); err != nil {
		t.Fatal(err)
	}
	ids := func(q knowledge.Query) []int64 {
		t.Helper()
		es, err := s.Search(ctx, q)
		if err != nil {
			t.Fatalf("search %+v: %v", q, err)
		}
		var out []int64
		for _, e := range es {
			out = append(out, e.ID)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		q    knowledge.Query
		want []int64
	}{
		{"accents and plural ignored, title first", knowledge.Query{Text: "dechetterie"}, []int64{hours.ID, badge.ID, parking.ID}},
		{"a caller's sentence, any word", knowledge.Query{Text: "Bonjour, je voudrais me débarrasser d'un vieux canapé, c'est un encombrant"}, []int64{bulky.ID}},
		{"the classifier's competence breaks a tie", knowledge.Query{Text: "justificatif", Competences: []string{"dechets"}}, []int64{badge.ID, bulky.ID, hours.ID, parking.ID}},
		{"the classifier's other competence", knowledge.Query{Text: "justificatif", Competences: []string{"stationnement"}}, []int64{parking.ID, badge.ID}},
		{"but the words decide", knowledge.Query{Text: "déchetteries", Competences: []string{"stationnement"}}, []int64{hours.ID, badge.ID, parking.ID}},
		{"its entries without a shared word", knowledge.Query{Text: "mon compteur", Competences: []string{"dechets", "eau_assainissement"}},
			[]int64{water.ID, badge.ID, bulky.ID, hours.ID}},
		{"another territory's entries kept out", knowledge.Query{Text: "déchetterie", Territory: "pays-d-aix"}, []int64{badge.ID, parking.ID}},
		{"its own territory's entries kept", knowledge.Query{Text: "déchetterie", Territory: "pays-d-aubagne-etoile"}, []int64{hours.ID, badge.ID, parking.ID}},
		{"stop words only", knowledge.Query{Text: "le la les de des"}, nil},
		{"nothing asked", knowledge.Query{}, nil},
		{"search syntax is only words", knowledge.Query{Text: `"encombrants" -collecte or ' & | ! :* ( \`}, []int64{bulky.ID}},
		{"limit", knowledge.Query{Text: "déchetterie", Limit: 1}, []int64{hours.ID}},
	} {
		if got := ids(tc.q); !equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	if _, err := s.Search(ctx, knowledge.Query{Text: "a\x00b"}); fault.KindOf(err) != fault.Invalid {
		t.Errorf("NUL in a search: %v", err)
	}
	// A long summary is read up to the bound, not refused.
	if got := ids(knowledge.Query{Text: "encombrants " + strings.Repeat("blabla ", 2000)}); !equal(got, []int64{bulky.ID}) {
		t.Errorf("long summary: %v", got)
	}
}

func equal(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestListAndUses: the supervisors' list filters by words, archive and
// review date, and counts the calls answered from each entry over the
// last 30 days; a use of an unknown or archived entry is refused.
func TestListAndUses(t *testing.T) {
	s, c, url := setup(t)
	ctx := context.Background()
	a := create(t, s, knowledge.Draft{Title: "Collecte des encombrants", Text: "Sur rendez-vous.", ReviewOn: day("2026-12-01")}) // past its date
	b := create(t, s, knowledge.Draft{Title: "Badge d'accès aux déchetteries", Text: "Demande en ligne."})
	z := create(t, s, knowledge.Draft{Title: "Zéro déchet", Text: "Archivée."})
	if _, err := s.Archive(ctx, z.ID, "nadia"); err != nil {
		t.Fatal(err)
	}
	use := func(id int64) error {
		_, err := s.RecordUse(ctx, knowledge.Use{Entry: id, Agent: "agent-01", Channel: knowledge.ChannelPhone})
		return err
	}
	start := c.t
	c.t = start.Add(-31 * 24 * time.Hour) // an old use, not counted
	if err := use(a.ID); err != nil {
		t.Fatal(err)
	}
	c.t = start
	for range 3 {
		if err := use(a.ID); err != nil {
			t.Fatal(err)
		}
	}
	e, err := s.RecordUse(ctx, knowledge.Use{Entry: b.ID, Agent: "agent-02", Channel: knowledge.ChannelPhone})
	if err != nil || e.Uses != 1 {
		t.Fatalf("use: %+v %v", e, err)
	}
	if err := use(z.ID); fault.KindOf(err) != fault.NotFound {
		t.Errorf("use of an archived entry: %v", err)
	}
	if err := use(987654); fault.KindOf(err) != fault.NotFound {
		t.Errorf("use of an unknown entry: %v", err)
	}
	if _, err := s.RecordUse(ctx, knowledge.Use{Entry: a.ID, Agent: "agent-01", Channel: "web"}); fault.KindOf(err) != fault.Invalid {
		t.Errorf("use on another channel: %v", err)
	}
	if _, err := s.RecordUse(ctx, knowledge.Use{Entry: a.ID, Channel: knowledge.ChannelPhone}); fault.KindOf(err) != fault.Invalid {
		t.Errorf("use without agent: %v", err)
	}
	// Nothing of the caller is kept: the use table has no such column.
	if n := testkit.Count(t, url, `SELECT count(*) FROM information_schema.columns WHERE table_name = 'knowledge_uses'`); n != 5 {
		t.Errorf("knowledge_uses has %d columns", n)
	}

	list := func(q knowledge.ListQuery) map[int64]int {
		t.Helper()
		es, err := s.List(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		out := map[int64]int{}
		for _, e := range es {
			out[e.ID] = e.Uses
		}
		return out
	}
	if got := list(knowledge.ListQuery{}); len(got) != 2 || got[a.ID] != 3 || got[b.ID] != 1 {
		t.Errorf("list: %v", got)
	}
	if got := list(knowledge.ListQuery{Text: "déchetterie"}); len(got) != 1 || got[b.ID] != 1 {
		t.Errorf("list by words: %v", got)
	}
	if got := list(knowledge.ListQuery{Archived: true}); len(got) != 1 || got[z.ID] != 0 {
		t.Errorf("archived list: %v", got)
	}
	if got := list(knowledge.ListQuery{Due: true}); len(got) != 1 || got[a.ID] != 3 {
		t.Errorf("due list: %v", got)
	}
	if _, err := s.List(ctx, knowledge.ListQuery{Text: strings.Repeat("x", knowledge.MaxQuery+1)}); fault.KindOf(err) != fault.TooLarge {
		t.Errorf("oversized list search: %v", err)
	}
	if _, err := s.List(ctx, knowledge.ListQuery{Text: `"non fermé -" or (`}); err != nil {
		t.Errorf("odd list search: %v", err)
	}
	counts, err := s.UseCounts(ctx, start.Add(-knowledge.UseWindow))
	if err != nil || len(counts) != 2 || counts[a.ID] != 3 || counts[b.ID] != 1 {
		t.Errorf("use counts: %v %v", counts, err)
	}
	if all, err := s.UseCounts(ctx, time.Time{}); err != nil || all[a.ID] != 4 {
		t.Errorf("all uses: %v %v", all, err)
	}
}

// TestCheck: the form's rules, in French, field by field.
func TestCheck(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 8, 23, 30, 0, 0, time.UTC) // already the 9th in Paris
	known := func(c string) bool { return c == "dechets" }
	good := knowledge.Draft{Title: "Titre", Text: "Texte", Competence: "dechets", Territory: "pays-d-aix", ReviewOn: day("2027-03-01")}
	for _, tc := range []struct {
		name   string
		change func(*knowledge.Draft)
		fields []string
	}{
		{"good", func(*knowledge.Draft) {}, nil},
		{"any competence, all territories", func(d *knowledge.Draft) { d.Competence, d.Territory = "", "" }, nil},
		{"review today (in Paris)", func(d *knowledge.Draft) { d.ReviewOn = day("2026-12-09") }, nil},
		{"review yesterday (in Paris)", func(d *knowledge.Draft) { d.ReviewOn = day("2026-12-08") }, []string{knowledge.FieldReview}},
		{"review too far", func(d *knowledge.Draft) { d.ReviewOn = day("2030-01-01") }, []string{knowledge.FieldReview}},
		{"unknown competence", func(d *knowledge.Draft) { d.Competence = "voirie" }, []string{knowledge.FieldCompetence}},
		{"everything wrong, in the form's order", func(d *knowledge.Draft) {
			*d = knowledge.Draft{Competence: "x", Territory: "y"}
		}, []string{knowledge.FieldTitle, knowledge.FieldText, knowledge.FieldCompetence, knowledge.FieldTerritory, knowledge.FieldReview}},
	} {
		d := good
		tc.change(&d)
		v := d.Check(now, known)
		var fields []string
		for _, f := range v {
			fields = append(fields, f.Field)
			if f.Message == "" || !strings.HasSuffix(f.Message, ".") && !strings.HasSuffix(f.Message, ")") {
				t.Errorf("%s: message %q", tc.name, f.Message)
			}
		}
		if strings.Join(fields, ",") != strings.Join(tc.fields, ",") {
			t.Errorf("%s: fields %v, want %v (%v)", tc.name, fields, tc.fields, v)
		}
	}
}

// TestDue: an entry is due for review from the day after its date, in
// Paris.
func TestDue(t *testing.T) {
	t.Parallel()
	e := knowledge.Entry{ReviewOn: day("2026-12-08")}
	for at, want := range map[string]bool{"2026-12-08T22:59:00Z": false, "2026-12-08T23:00:00Z": true, "2026-12-01T10:00:00Z": false} {
		now, _ := time.Parse(time.RFC3339, at)
		if got := e.Due(now); got != want {
			t.Errorf("Due at %s = %v", at, got)
		}
	}
}
