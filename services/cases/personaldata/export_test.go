package personaldata_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/cases/personaldata"
	"github.com/ampmetropole/guichet/services/staff/auth"
	"github.com/ampmetropole/guichet/services/testkit/stack"
)

// The person of these tests, and someone else.
const (
	email = "zephyrin.quenouille@example.net"
	phone = "+33756123456"
	name  = "Zéphyrin Quenouille-Arbogast"
)

// recorder keeps the statements a pool runs, to explain them afterwards.
type recorder struct {
	mu   sync.Mutex
	runs []query
}

type query struct {
	sql  string
	args []any
}

func (r *recorder) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.runs = append(r.runs, query{d.SQL, d.Args})
	return ctx
}

func (r *recorder) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// seeded is the person's history on every channel, and a stranger's.
type seeded struct {
	st                 stack.Stack
	webRef, letterRef  string
	web, call, letter  string // request ids
	strangerRef        string
	photoSHA, scanSHA  string
	replyText, comment string
}

func seed(t *testing.T) seeded {
	t.Helper()
	ctx := context.Background()
	st := stack.New(t, stack.Options{Router: true})
	s := seeded{st: st, replyText: "La chaussée de l'impasse a été reprise.", comment: "Très rapide, merci."}
	sum := func(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }
	s.photoSHA, s.scanSHA = sum("photo"), sum("scan")
	lat, lon := 43.2841, 5.3622
	var rc struct{ ID string }
	s.webRef, rc.ID = route(t, st, schemas.Request{Channel: schemas.ChannelWeb, Subject: "Nid-de-poule impasse des Tamaris-Bleus",
		Body:        "Un trou profond devant le 37 impasse des Tamaris-Bleus, dangereux pour les vélos.",
		Citizen:     &schemas.Citizen{Name: name, Email: email, Phone: phone, PreferredReplyChannel: "email"},
		Location:    &schemas.Location{Address: "37 impasse des Tamaris-Bleus", PostalCode: "13007", CommuneINSEE: "13055", Lat: &lat, Lon: &lon},
		Attachments: []schemas.Attachment{{Name: "trou.jpg", ContentType: "image/jpeg", Size: 245760, SHA256: s.photoSHA, ObjectKey: "sha256/" + s.photoSHA}},
		Hints:       &schemas.Hints{Competence: "voirie"}})
	s.web = rc.ID
	_, s.call = route(t, st, schemas.Request{Channel: schemas.ChannelPhone, Subject: "Relance du nid-de-poule",
		Body:    "Le demandeur rappelle pour le trou de l'impasse.",
		Citizen: &schemas.Citizen{Name: name, Phone: phone},
		Transcript: []schemas.Turn{{Speaker: "agent", Text: "Bonjour, que puis-je pour vous ?"},
			{Speaker: "caller", Text: "Le trou devant chez moi est toujours là, impasse des Tamaris-Bleus."}},
		Hints: &schemas.Hints{Competence: "voirie"}})
	s.letterRef, s.letter = route(t, st, schemas.Request{Channel: schemas.ChannelMail, Body: "Courrier numérisé",
		Citizen: &schemas.Citizen{Name: name, Address: &schemas.PostalAddress{Lines: []string{"37 impasse des Tamaris-Bleus"}, PostalCode: "13007", City: "Marseille"}},
		Attachments: []schemas.Attachment{{Name: "courrier.pdf", ContentType: "application/pdf", Size: 88000, SHA256: s.scanSHA, ObjectKey: "sha256/" + s.scanSHA,
			ExtractedText: "Madame, Monsieur, le lampadaire de l'impasse des Tamaris-Bleus est éteint."}},
		Hints: &schemas.Hints{Competence: "eclairage"}})
	s.strangerRef, _ = route(t, st, schemas.Request{Channel: schemas.ChannelWeb, Subject: "Bac non collecté", Body: "Rue Paradis, le bac jaune.",
		Citizen: &schemas.Citizen{Name: "Léa Martin", Email: "lea.martin@example.org"}, Hints: &schemas.Hints{Competence: "dechets"}})

	if _, err := st.Store.Reply(ctx, s.webRef, casestore.ReplyRequest{Channel: casestore.ReplyEmail, To: email, Message: s.replyText, RequestID: s.web},
		casestore.Change{Actor: "voirie-mp"}); err != nil {
		t.Fatal(err)
	}
	if err := st.Store.RecordNotification(ctx, s.web, "acknowledgement", email); err != nil {
		t.Fatal(err)
	}
	db := st.Store.DB()
	if _, err := db.Exec(ctx, `INSERT INTO satisfaction (case_id, thread_id, score, comment, competence, channel)
		SELECT id, $2::uuid, 5, $3, competence, 'web' FROM cases WHERE ref = $1`, s.webRef, s.web, s.comment); err != nil {
		t.Fatal(err)
	}
	token := sha256.Sum256([]byte("lien"))
	if err := st.Store.IssueSignInLink(ctx, casestore.SignInLink{TokenHash: token[:], Kind: casestore.LinkByEmail, Address: email, IP: "192.0.2.7"},
		casestore.LinkLimit{Count: 3, Within: 15 * time.Minute, TTL: 15 * time.Minute}); err != nil {
		t.Fatal(err)
	}
	staff := auth.Principal{Kind: auth.KindAccount, Name: "voirie-mp", Role: auth.RoleTeam}
	for _, a := range []struct{ action, target string }{{"case.view", s.webRef}, {"personal_data.search", "07 56 12 34 56"}, {"case.view", s.strangerRef}} {
		if err := st.Auth.Audit(ctx, staff, a.action, a.target, nil); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// route submits a request and waits for its case.
func route(t *testing.T, st stack.Stack, req schemas.Request) (ref, id string) {
	t.Helper()
	ref, rc := st.Route(t, req)
	return ref, rc.ID
}

// Everything held about a person comes back, by e-mail, by phone and by
// name, on every channel, and nothing of anybody else's; every statement
// it runs is served by an index, so that it stays fast on a million
// cases.
func TestExportGathersEverythingAndOnlyThePersons(t *testing.T) {
	s := seed(t)
	ctx := context.Background()
	rec := &recorder{}
	cfg, err := pgxpool.ParseConfig(s.st.DBURL)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.Tracer = rec
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	x := personaldata.NewExporter(pool, s.st.Catalogue, s.st.Places)

	e, err := x.Export(ctx, personaldata.Subject{Email: "  Zephyrin.Quenouille@Example.net"})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(e)
	all := string(raw)
	if len(e.People) != 1 || e.People[0].Email != email || e.People[0].Phone != phone || e.People[0].Name != name {
		t.Errorf("people: %+v", e.People)
	}
	ids := func(rs []personaldata.Request) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.ID)
		}
		return out
	}
	if got := ids(e.Requests); !slices.Equal(got, []string{s.web, s.call}) {
		t.Errorf("by e-mail: requests %v, want the web form's and the call", got)
	}
	for _, want := range []string{"37 impasse des Tamaris-Bleus", "trou.jpg", s.photoSHA, "Le trou devant chez moi est toujours là", s.replyText, s.comment,
		"192.0.2.7", "acknowledgement", `"commune":"Marseille"`, "compétence indiquée à la saisie"} {
		if !strings.Contains(all, want) {
			t.Errorf("the export by e-mail lacks %q", want)
		}
	}
	for _, never := range []string{"Léa Martin", "lea.martin@example.org", "Bac non collecté", s.strangerRef} {
		if strings.Contains(all, never) {
			t.Errorf("the export shows someone else's %q", never)
		}
	}
	if len(e.Replies) != 1 || e.Replies[0].CaseRef != s.webRef || len(e.Opinions) != 1 || e.Opinions[0].Score != 5 || len(e.SignIns) != 1 || len(e.Messages) != 1 {
		t.Errorf("replies %+v opinions %+v sign-ins %+v messages %+v", e.Replies, e.Opinions, e.SignIns, e.Messages)
	}
	var targets []string
	for _, a := range e.Accesses {
		targets = append(targets, a.Target)
	}
	if !slices.Contains(targets, s.webRef) || !slices.Contains(targets, "07 56 12 34 56") || slices.Contains(targets, s.strangerRef) {
		t.Errorf("accesses %v: want the view of %s and the search by number, not the stranger's case", targets, s.webRef)
	}
	if len(e.Cases) != 2 || e.Cases[0].Ref != s.webRef || e.Cases[0].Shared || len(e.Cases[0].Events) != 2 || e.Cases[0].Events[1].Type != schemas.EventReplied {
		t.Errorf("cases: %+v", e.Cases)
	}

	byPhone, err := x.Export(ctx, personaldata.Subject{Phone: "07 56 12 34 56"})
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(byPhone.Requests); !slices.Equal(got, []string{s.web, s.call}) {
		t.Errorf("by phone: requests %v", got)
	}
	byName, err := x.Export(ctx, personaldata.Subject{Name: "zéphyrin  quenouille-arbogast"})
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(byName.Requests); !slices.Equal(got, []string{s.web, s.call, s.letter}) || len(byName.People) != 2 {
		t.Errorf("by name: requests %v, %d people; want the three requests, from two records", got, len(byName.People))
	}
	text := byName.Text()
	for _, want := range []string{"le lampadaire de l'impasse des Tamaris-Bleus est éteint", "courrier.pdf", s.letterRef, "Plusieurs fiches portent ce nom"} {
		if !strings.Contains(text, want) {
			t.Errorf("the document by name lacks %q", want)
		}
	}
	nobody, err := x.Export(ctx, personaldata.Subject{Email: "personne@example.net"})
	if err != nil || !nobody.Empty() {
		t.Errorf("an unknown address: %+v, %v", nobody, err)
	}
	// Nothing held: the answer does not write the address back.
	if raw, _ := json.Marshal(nobody); strings.Contains(string(raw), "personne@") || nobody.Subject.Email != "p•••••••@example.net" ||
		strings.Contains(nobody.Text(), "personne@") {
		t.Errorf("the export of nobody holds the address looked for: %s", raw)
	}

	// Every statement on the big tables goes through an index: with
	// sequential scans made dear, none is left on them.
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SET enable_seqscan = off`); err != nil {
		t.Fatal(err)
	}
	big := regexp.MustCompile(`Seq Scan on (citizens|requests|cases|case_events|routing_decisions|notifications|postal_notices|satisfaction|audit_log|notice_preferences)\b`)
	rec.mu.Lock()
	runs := slices.Clone(rec.runs)
	rec.mu.Unlock()
	explained := 0
	for _, q := range runs {
		if !strings.HasPrefix(strings.TrimSpace(q.sql), "SELECT") {
			continue
		}
		rows, err := conn.Query(ctx, "EXPLAIN "+q.sql, q.args...)
		if err != nil {
			t.Fatalf("explain %s: %v", q.sql, err)
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		plan := strings.Join(lines, "\n")
		if m := big.FindString(plan); m != "" {
			t.Errorf("%s in\n%s\n%s", m, q.sql, plan)
		}
		explained++
	}
	if explained < 10 {
		t.Errorf("%d statements explained", explained)
	}
}
