package retention_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"github.com/jackc/pgx/v5"
	"golang.org/x/text/unicode/norm"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/cases/deadline"
	"github.com/ampmetropole/guichet/services/cases/lifecycle"
	"github.com/ampmetropole/guichet/services/cases/retention"
	"github.com/ampmetropole/guichet/services/cases/scope"
	"github.com/ampmetropole/guichet/services/intake"
	"github.com/ampmetropole/guichet/services/platform/fault"
	"github.com/ampmetropole/guichet/services/platform/frtime"
	"github.com/ampmetropole/guichet/services/platform/pgcluster"
	"github.com/ampmetropole/guichet/services/staff/auth"
	"github.com/ampmetropole/guichet/services/testkit"
	"github.com/ampmetropole/guichet/services/testkit/stack"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// scene is a test's Guichet back end and what it needs to make cases.
type scene struct {
	st  stack.Stack
	ctx context.Context
	cal *deadline.Calendar
}

func newScene(t *testing.T) *scene {
	t.Helper()
	return &scene{st: stack.New(t, stack.Options{Router: true}), ctx: context.Background(), cal: deadline.New(frtime.Paris())}
}

// person is a citizen of a test, with words nobody else uses.
type person struct {
	name, email, phone, street string
}

func (p person) citizen() *schemas.Citizen {
	return &schemas.Citizen{Name: p.name, Email: p.email, Phone: p.phone}
}

func (sc *scene) route(t *testing.T, req schemas.Request) (string, intake.Receipt) {
	t.Helper()
	return sc.st.Route(t, req)
}

// move takes a case through the lifecycle, as its team would.
func (sc *scene) move(t *testing.T, ref, reason string, to ...string) {
	t.Helper()
	for _, state := range to {
		tr := casestore.TransitionRequest{Ref: ref, To: state, Role: lifecycle.RoleTeam,
			Change: casestore.Change{Actor: "equipe-01", Reason: reason}, Now: time.Now()}
		if state == lifecycle.Redirected {
			tr.RedirectTo = "Conseil départemental"
		}
		if _, err := sc.st.Store.Transition(sc.ctx, tr, sc.cal); err != nil {
			t.Fatalf("%s → %s: %v", ref, state, err)
		}
	}
}

func (sc *scene) exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	if _, err := sc.st.Store.DB().Exec(sc.ctx, sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func (sc *scene) count(t *testing.T, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := sc.st.Store.DB().QueryRow(sc.ctx, sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// dump is the whole database as pg_dump writes it, bytea decoded, in
// lower case without accents: what the scans look through.
func dump(t *testing.T, url string) string {
	t.Helper()
	bin, err := pgcluster.FindBinaries("")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, filepath.Join(bin, "pg_dump"), "--data-only", "--no-owner", "--dbname="+url).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("pg_dump: %v: %s", err, ee.Stderr)
		}
		t.Fatalf("pg_dump: %v", err)
	}
	// pg_dump ≥ 15.14 fences its output with a random \restrict key.
	var lines []string
	for _, l := range strings.Split(string(out), "\n") {
		if !strings.HasPrefix(l, `\restrict `) && !strings.HasPrefix(l, `\unrestrict `) {
			lines = append(lines, l)
		}
	}
	text := strings.Join(lines, "\n")
	var decoded strings.Builder
	for _, m := range byteaHex.FindAllStringSubmatch(text, -1) {
		if b, err := hex.DecodeString(m[1]); err == nil {
			decoded.Write(b)
			decoded.WriteByte('\n')
		}
	}
	return fold(text + "\n" + decoded.String())
}

var byteaHex = regexp.MustCompile(`\\\\x((?:[0-9a-f]{2})+)`)

// fold writes s in lower case without accents.
func fold(s string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(strings.ToLower(s)) {
		if !unicode.Is(unicode.Mn, r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// present lists the words of words found in the dump.
func present(d string, words ...string) []string {
	var out []string
	for _, w := range words {
		if strings.Contains(d, fold(w)) {
			out = append(out, w)
		}
	}
	return out
}

// figures are every number the dashboard shows, and the skeleton of every
// case they are computed from.
func figures(t *testing.T, sc *scene, now time.Time) string {
	t.Helper()
	all := scope.Everything()
	d, err := sc.st.Store.Dashboard(sc.ctx, all, 30, now)
	if err != nil {
		t.Fatal(err)
	}
	p, err := sc.st.Store.Performance(sc.ctx, all, 30, now)
	if err != nil {
		t.Fatal(err)
	}
	s, err := sc.st.Store.Satisfaction(sc.ctx, all, 30, now)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := sc.st.Store.DB().Query(sc.ctx, `
		SELECT c.ref, c.competence, COALESCE(c.territory, ''), to_char(c.opened_at AT TIME ZONE 'Europe/Paris', 'YYYY-MM'), c.state,
		       c.priority, COALESCE(c.deadline::text, ''), COALESCE(c.deadline_left::text, ''), COALESCE(c.breached_at::text, ''),
		       COALESCE(c.assignee, ''), COALESCE(c.closed_at::text, ''),
		       COALESCE((SELECT string_agg(r.channel || ' ' || r.received_at::text || ' ' || r.tracking_code || ' ' || r.status ||
		                   ' ' || COALESCE(r.payload #>> '{location,postal_code}', '') || ' ' || COALESCE(r.payload #>> '{location,commune_insee}', ''),
		                   ', ' ORDER BY r.id) FROM requests r WHERE r.case_id = c.id), ''),
		       COALESCE((SELECT string_agg(e.seq || ' ' || e.type || ' ' || e.at::text || ' ' || e.actor_kind || ' ' || COALESCE(e.actor_id, '') || ' ' ||
		                   COALESCE(e.payload->>'state', '') || ' ' || COALESCE(e.payload->>'competence', '') || ' ' ||
		                   CASE WHEN e.type = 'replied' THEN e.payload->'data'->>'channel'
		                        ELSE COALESCE(e.payload->'data'->>'to', '') || ' ' || COALESCE(e.payload->'data'->>'deadline_left_hours', '') END,
		                   ', ' ORDER BY e.seq) FROM case_events e WHERE e.case_id = c.id), ''),
		       COALESCE((SELECT string_agg(d.outcome || ' ' || d.competence || ' ' || COALESCE(d.territory, '') || ' ' ||
		                   COALESCE(d.confidence::text, '') || ' ' || d.model_version || ' ' || d.decided_by || ' ' || jsonb_array_length(d.reasons),
		                   ', ' ORDER BY d.id) FROM routing_decisions d WHERE d.case_id = c.id), ''),
		       COALESCE((SELECT string_agg(o.score || ' ' || o.channel || ' ' || o.answered_at::text, ', ') FROM satisfaction o WHERE o.case_id = c.id), '')
		FROM cases c ORDER BY c.id`)
	if err != nil {
		t.Fatal(err)
	}
	skeleton, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) ([]string, error) {
		v := make([]string, 15)
		ptrs := make([]any, len(v))
		for i := range v {
			ptrs[i] = &v[i]
		}
		return v, row.Scan(ptrs...)
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := json.MarshalIndent(map[string]any{"dashboard": d, "performance": p, "satisfaction": s, "cases": skeleton}, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// diff lists the lines of a that b does not have, and the reverse.
func diff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	var out []string
	for _, l := range al {
		if !slices.Contains(bl, l) {
			out = append(out, "- "+l)
		}
	}
	for _, l := range bl {
		if !slices.Contains(al, l) {
			out = append(out, "+ "+l)
		}
	}
	if len(out) > 40 {
		out = append(out[:40], "…")
	}
	return strings.Join(out, "\n")
}

// leftovers reports the words still in a dump, with where they are.
func leftovers(t *testing.T, d string, words ...string) {
	t.Helper()
	for _, w := range present(d, words...) {
		i := strings.Index(d, fold(w))
		start := strings.LastIndex(d[:i], "\ncopy ")
		t.Errorf("%q is still in the database, %s: …%s…", w, d[start+1:start+1+strings.Index(d[start+1:], "\n")], d[max(0, i-200):min(len(d), i+200)])
	}
}

// forgetter records what it is told, and fails while fail is set.
type forgetter struct {
	mu   sync.Mutex
	got  []retention.Purged
	fail bool
}

func (f *forgetter) Forget(_ context.Context, p retention.Purged) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.got = append(f.got, p)
	if f.fail {
		return errors.New("object store unreachable")
	}
	return nil
}

func (f *forgetter) all() retention.Purged {
	f.mu.Lock()
	defer f.mu.Unlock()
	var p retention.Purged
	for _, g := range f.got {
		p.Cases = append(p.Cases, g.Cases...)
		p.Requests = append(p.Requests, g.Requests...)
		p.CaseIDs = append(p.CaseIDs, g.CaseIDs...)
		p.Files = append(p.Files, g.Files...)
		p.Contacts = append(p.Contacts, g.Contacts...)
	}
	return p
}

var (
	ondine = person{name: "Ondine Brisefer-Quatremains", email: "ondine.brisefer@example.net", phone: "+33687654321", street: "12 allée des Mimosas-Perdus"}
	// ondineWords are what must not survive her purge, whichever way written.
	ondineWords = []string{"Brisefer", "Quatremains", "Ondine", "Mimosas", "ondine.brisefer@example.net", "687654321", "06 87 65 43 21"}
	barnabe     = person{name: "Barnabé Ventadour", email: "barnabe.ventadour@example.org", phone: "+33612345678", street: "3 rue des Abeilles-Noires"}
)

// ondineCases gives Ondine a web case with photos, a phone case with its
// transcript and a letter case with its scan, answered by e-mail, call-back
// and letter, with notes, reasons and an opinion that quote her, then
// closed; and everything else of hers Guichet keeps: a failed request, a
// notice posted, a message sent, a sign-in link and session, searches for
// her in the audit log, a rejected e-mail. It returns her cases' references
// and files' keys.
func ondineCases(t *testing.T, sc *scene, shared string) (refs []string, photo, scan string) {
	t.Helper()
	ctx := sc.ctx
	lat, lon := 43.2601, 5.3812
	photo, scan = sha("photo-ondine"), sha("scan-ondine")
	webRef, web := sc.route(t, schemas.Request{Channel: schemas.ChannelWeb, Source: schemas.Source{Adapter: "webform"}, Citizen: ondine.citizen(),
		Subject: "Lampadaire penché allée des Mimosas-Perdus", Body: "Le lampadaire devant le " + ondine.street + " penche. Ondine B.",
		Location:    &schemas.Location{Address: ondine.street, PostalCode: "13008", CommuneINSEE: "13208", Lat: &lat, Lon: &lon},
		Attachments: []schemas.Attachment{{Name: "photo-brisefer.jpg", ContentType: "image/jpeg", Size: 1000, SHA256: photo, ObjectKey: "sha256/" + photo}, {Name: "vue-generale-brisefer.jpg", ContentType: "image/jpeg", Size: 900, SHA256: shared, ObjectKey: "sha256/" + shared}},
		Hints:       &schemas.Hints{Competence: "eclairage"}})
	start, end := 0.0, 4.5
	phoneRef, _ := sc.route(t, schemas.Request{Channel: schemas.ChannelPhone, Source: schemas.Source{Adapter: "telephony", ExternalID: "appel-brisefer-1", OperatorID: "agent-01"},
		Citizen: &schemas.Citizen{Name: ondine.name, Phone: ondine.phone, PreferredReplyChannel: "phone"},
		Body:    "Appel de Mme Brisefer-Quatremains : encombrants devant le " + ondine.street + ".",
		Transcript: []schemas.Turn{{Speaker: "caller", Start: &start, End: &end, Text: "Bonjour, Ondine Brisefer-Quatremains, j'habite au " + ondine.street + "."},
			{Speaker: "agent", Text: "Je note, madame Brisefer."}},
		Hints: &schemas.Hints{Competence: "dechets"}})
	conf := 0.93
	letterRef, letter := sc.route(t, schemas.Request{Channel: schemas.ChannelMail, Source: schemas.Source{Adapter: "mailroom", ExternalID: "upload:" + scan, OperatorID: "courrier-01"},
		Citizen: &schemas.Citizen{Name: ondine.name, Address: &schemas.PostalAddress{Lines: []string{ondine.street}, PostalCode: "13008", City: "Marseille"}, PreferredReplyChannel: "mail"},
		Subject: "Courrier de Mme Brisefer", Body: "Je soussignée Ondine Brisefer-Quatremains signale une fuite.",
		Location: &schemas.Location{Address: ondine.street, PostalCode: "13008", CommuneINSEE: "13208"},
		Attachments: []schemas.Attachment{{Name: "courrier-brisefer.pdf", ContentType: "application/pdf", Size: 40000, SHA256: scan, ObjectKey: "sha256/" + scan,
			ExtractedText: "Je soussignée Ondine Brisefer-Quatremains, " + ondine.street + ", 13008 Marseille, signale une fuite.", OCRConfidence: &conf}},
		Hints: &schemas.Hints{Competence: "eau_assainissement"}})

	who := casestore.Change{Actor: "equipe-01"}
	if _, err := sc.st.Store.Reroute(ctx, webRef, "voirie", "", casestore.Change{Actor: "superviseur", Reason: "Mme Brisefer parle du trottoir, pas de l'éclairage"}); err != nil {
		t.Fatal(err)
	}
	if _, err := sc.st.Store.AddNote(ctx, webRef, "Mme Brisefer rappelle souvent, voisine du 14 allée des Mimosas-Perdus", who); err != nil {
		t.Fatal(err)
	}
	if _, err := sc.st.Store.Reply(ctx, webRef, casestore.ReplyRequest{Channel: casestore.ReplyEmail, To: ondine.email, Subject: "Votre lampadaire, Mme Brisefer",
		Message: "Madame Brisefer-Quatremains, le lampadaire du " + ondine.street + " sera redressé."}, who); err != nil {
		t.Fatal(err)
	}
	if _, err := sc.st.Store.Reply(ctx, phoneRef, casestore.ReplyRequest{Channel: casestore.ReplyCallback, To: "06 87 65 43 21",
		Message: "Rappeler Mme Brisefer pour fixer le passage."}, who); err != nil {
		t.Fatal(err)
	}
	if _, err := sc.st.Store.Reply(ctx, letterRef, casestore.ReplyRequest{Channel: casestore.ReplyLetter, To: ondine.name + "\n" + ondine.street + "\n13008 Marseille",
		Message: "Madame Brisefer-Quatremains, la fuite est réparée."}, who); err != nil {
		t.Fatal(err)
	}
	sc.move(t, webRef, "Mme Brisefer confirme", lifecycle.Qualified, lifecycle.InProgress, lifecycle.Resolved)
	if err := sc.st.Store.RecordOpinion(ctx, web.TrackingCode, 4, "Merci, Ondine Brisefer est ravie"); err != nil {
		t.Fatal(err)
	}
	sc.move(t, webRef, "clos", lifecycle.Closed)
	sc.move(t, phoneRef, "passage fait chez Mme Brisefer", lifecycle.Qualified, lifecycle.InProgress, lifecycle.Resolved)
	sc.move(t, letterRef, "courrier de Mme Brisefer : la fuite relève du syndic", lifecycle.Rejected)

	// A letter owed, posted; a message sent.
	if _, err := sc.st.Store.QueuePostalNotice(ctx, casestore.PostalNotice{RequestID: letter.ID, Kind: "acknowledgement",
		Recipient: ondine.name + "\n" + ondine.street + "\n13008 MARSEILLE", Subject: "Accusé de réception",
		Body: "Madame Brisefer-Quatremains, nous avons bien reçu votre courrier.", CaseRef: letterRef, TrackingCode: letter.TrackingCode}); err != nil {
		t.Fatal(err)
	}
	pending, err := sc.st.Store.PendingPostalNotices(ctx, 10)
	if err != nil || len(pending) == 0 {
		t.Fatalf("postal notices %v %v", pending, err)
	}
	if _, err := sc.st.Store.MarkPostalPosted(ctx, []string{pending[0].ID}, "courrier-01"); err != nil {
		t.Fatal(err)
	}
	if err := sc.st.Store.RecordNotification(ctx, web.ID, "acknowledgement", ondine.email); err != nil {
		t.Fatal(err)
	}
	// A request that failed, never routed.
	failed := schemas.Request{ID: "0190a000-0000-7000-8000-00000000b015", Schema: schemas.RequestV1, Channel: schemas.ChannelEmail, ReceivedAt: time.Now().UTC(),
		Source: schemas.Source{Adapter: "imap", MessageID: "brisefer-1@example.net"}, Citizen: &schemas.Citizen{Name: ondine.name, Email: ondine.email},
		Subject: "Relance Mimosas-Perdus", Body: "Ondine relance.", Language: "fr"}
	failed.TrackingCode = intake.TrackingCode(stack.Secret, failed.ID)
	raw, err := sc.st.Validator.EncodeRequest(failed)
	if err != nil {
		t.Fatal(err)
	}
	if err := sc.st.Store.MarkFailed(ctx, failed, raw, "pièce jointe de Mme Brisefer illisible"); err != nil {
		t.Fatal(err)
	}
	// Her space, the searches for her, the mail refused from her.
	token := sha256.Sum256([]byte("lien-ondine"))
	if err := sc.st.Store.IssueSignInLink(ctx, casestore.SignInLink{TokenHash: token[:], Kind: casestore.LinkByEmail, Address: ondine.email, IP: "192.0.2.7"},
		casestore.LinkLimit{Count: 5, Within: time.Hour, TTL: 15 * time.Minute}); err != nil {
		t.Fatal(err)
	}
	session := sha256.Sum256([]byte("session-ondine"))
	if err := sc.st.Store.OpenCitizenSession(ctx, casestore.CitizenSession{ID: session[:], CitizenIdentity: casestore.CitizenIdentity{Email: ondine.email}},
		time.Hour, nil); err != nil {
		t.Fatal(err)
	}
	agent := auth.Principal{Kind: auth.KindAccount, Name: "agent-01"}
	for _, a := range []struct {
		action, target string
		details        map[string]any
	}{
		{"personal_data.search", "06 87 65 43 21", map[string]any{"people": 1, "cases": refs}},
		{"personal_data.search", "brisefer", map[string]any{"people": 1}},
		{"mail.upload", "upload-7", map[string]any{"name": "courrier-brisefer.pdf", "bytes": 40000}},
		{"case.view", webRef, nil},
	} {
		if err := sc.st.Auth.Audit(ctx, agent, a.action, a.target, a.details); err != nil {
			t.Fatal(err)
		}
	}
	if err := sc.st.Store.RecordMailRejection(ctx, casestore.MailRejection{MessageKey: "imap:INBOX:1:77", Sender: "Ondine Brisefer <" + ondine.email + ">",
		Subject: "Mimosas-Perdus encore", Reason: "message vide"}); err != nil {
		t.Fatal(err)
	}
	return []string{webRef, phoneRef, letterRef}, photo, scan
}

// Everything the schedule says is due goes — an open case, a case under a
// legal hold and a record that still has an open case stay — and the
// dashboard's figures do not move by one.
func TestApplyPurgesWhatIsDueAndKeepsTheFigures(t *testing.T) {
	sc := newScene(t)
	ctx := sc.ctx
	shared := sha("vue-partagee")
	refs, photo, scan := ondineCases(t, sc, shared)

	// Barnabé's case is open, and carries a photo Ondine also sent.
	openRef, _ := sc.route(t, schemas.Request{Channel: schemas.ChannelWeb, Source: schemas.Source{Adapter: "webform"}, Citizen: barnabe.citizen(),
		Subject: "Trottoir défoncé", Body: "Devant chez Barnabé Ventadour, " + barnabe.street + ".",
		Attachments: []schemas.Attachment{{Name: "vue.jpg", ContentType: "image/jpeg", Size: 900, SHA256: shared, ObjectKey: "sha256/" + shared}},
		Hints:       &schemas.Hints{Competence: "voirie"}})
	// Cunégonde's case is closed but under a legal hold.
	heldRef, _ := sc.route(t, schemas.Request{Channel: schemas.ChannelWeb, Source: schemas.Source{Adapter: "webform"},
		Citizen: &schemas.Citizen{Name: "Cunégonde Hautepierre", Email: "cunegonde@example.org"},
		Subject: "Chute sur la chaussée", Body: "Cunégonde Hautepierre est tombée.", Hints: &schemas.Hints{Competence: "voirie"}})
	sc.move(t, heldRef, "réparé", lifecycle.Qualified, lifecycle.InProgress, lifecycle.Resolved, lifecycle.Closed)
	// Dorothée has a closed case and an open one: her record stays.
	dorothee := person{name: "Dorothée Fenouillard", email: "dorothee.fenouillard@example.org"}
	doneRef, _ := sc.route(t, schemas.Request{Channel: schemas.ChannelWeb, Source: schemas.Source{Adapter: "webform"}, Citizen: dorothee.citizen(),
		Subject: "Nid de chardonneret", Body: "Un chardonneret niche dans le feu tricolore.", Hints: &schemas.Hints{Competence: "voirie"}})
	sc.move(t, doneRef, "fait", lifecycle.Qualified, lifecycle.InProgress, lifecycle.Resolved, lifecycle.Closed)
	stillRef, _ := sc.route(t, schemas.Request{Channel: schemas.ChannelWeb, Source: schemas.Source{Adapter: "webform"}, Citizen: dorothee.citizen(),
		Subject: "Rougegorge", Body: "Un rougegorge blessé sur le trottoir.", Hints: &schemas.Hints{Competence: "environnement"}})

	forget := &forgetter{}
	svc := retention.New(sc.st.Store.DB(), sc.st.Catalogue, testkit.Logger(t), forget)
	svc.SetBatch(2) // cross batches: a million cases go a batch per transaction
	if err := svc.Hold(ctx, heldRef, "recours contentieux n° 2501234", "dpo-01"); err != nil {
		t.Fatal(err)
	}

	now := time.Now()
	future := now.AddDate(0, 0, 400)
	before := figures(t, sc, now)
	dumped := dump(t, sc.st.DBURL)
	if got := present(dumped, ondineWords...); len(got) != len(ondineWords) {
		t.Fatalf("the scene is not set: only %v of %v in the database", got, ondineWords)
	}

	outboxed := `SELECT count(*) FROM outbox WHERE convert_from(payload, 'UTF8') LIKE '%Brisefer%'`
	if n := sc.count(t, outboxed); n == 0 {
		t.Fatal("the scene is not set: no event of hers waits in the outbox")
	}

	t.Run("nothing is due today", func(t *testing.T) {
		rep, err := svc.Apply(ctx, now, true, "")
		if err != nil || rep.Cases+rep.Requests+rep.Files != 0 {
			t.Fatalf("%+v, %v", rep, err)
		}
	})

	t.Run("the append-only tables refuse everybody but a purge", func(t *testing.T) {
		refused := func(what string, stmts ...string) {
			t.Helper()
			tx, err := sc.st.Store.DB().Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback(ctx)
			for i, s := range stmts {
				_, err = tx.Exec(ctx, s)
				if i < len(stmts)-1 && err != nil {
					t.Fatalf("%s: %s: %v", what, s, err)
				}
			}
			if err == nil {
				t.Errorf("%s: accepted", what)
			}
		}
		refused("update of an event", `UPDATE case_events SET payload = payload - 'summary'`)
		refused("delete of an event", `DELETE FROM case_events`)
		refused("update of the audit log", `UPDATE audit_log SET details = '{}'`)
		refused("delete of the audit log", `DELETE FROM audit_log`)
		refused("truncate", `TRUNCATE audit_log CASCADE`)
		refused("the purge variable set by hand", `SELECT set_config('guichet.purge', (SELECT max(id)::text FROM audit_log), true)`,
			`UPDATE case_events SET payload = payload - 'summary'`)
		refused("a hold does not open a purge", `SELECT guichet_begin_purge('dpo-01', 'essai', 'rgpd.hold')`,
			`UPDATE case_events SET payload = payload - 'summary'`)
		refused("a purge without a reason", `SELECT guichet_begin_purge('dpo-01', '')`)
		refused("a purge that deletes", `SELECT guichet_begin_purge('dpo-01', 'essai')`, `DELETE FROM case_events`)
		refused("a purge that moves an event", `SELECT guichet_begin_purge('dpo-01', 'essai')`, `UPDATE case_events SET at = at - interval '1 day'`)
		refused("a purge that writes", `SELECT guichet_begin_purge('dpo-01', 'essai')`,
			`UPDATE case_events SET payload = jsonb_set(payload, '{data,text}', '"réécrit"')`)
		refused("a purge that rewrites the audit log", `SELECT guichet_begin_purge('dpo-01', 'essai')`, `UPDATE audit_log SET action = 'login'`)

		// A purge may remove, in its own transaction.
		tx, err := sc.st.Store.DB().Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(ctx)
		if _, err := tx.Exec(ctx, `SELECT guichet_begin_purge('dpo-01', 'essai')`); err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, `UPDATE case_events SET payload = payload - 'summary'`); err != nil {
			t.Errorf("a purge removing summaries: %v", err)
		}
	})

	var dry retention.Report
	t.Run("a dry run says what would go and changes nothing", func(t *testing.T) {
		var err error
		dumped := dump(t, sc.st.DBURL)
		dry, err = svc.Apply(ctx, future, true, "")
		if err != nil {
			t.Fatal(err)
		}
		want := append(slices.Clone(refs), doneRef)
		slices.Sort(want)
		got := slices.Clone(dry.Purged.Cases)
		slices.Sort(got)
		if !dry.DryRun || !slices.Equal(got, want) {
			t.Errorf("dry run would purge %v, want %v", got, want)
		}
		if len(dry.Refused) != 1 || dry.Refused[0].Ref != heldRef || !strings.Contains(dry.Refused[0].Reason, "conservation légale") {
			t.Errorf("refused %+v", dry.Refused)
		}
		if dry.Files != 2 || !slices.Contains(dry.Purged.Files, "sha256/"+photo) || !slices.Contains(dry.Purged.Files, "sha256/"+scan) {
			t.Errorf("files %v", dry.Purged.Files)
		}
		if after := dump(t, sc.st.DBURL); after != dumped {
			t.Errorf("the dry run changed the database:\n%s", diff(dumped, after))
		}
		if len(forget.got) != 0 {
			t.Errorf("the dry run told the other stores %+v", forget.got)
		}
	})

	t.Run("the due cases go, and the figures stay", func(t *testing.T) {
		rep, err := svc.Apply(ctx, future, false, "dpo-01")
		if err != nil {
			t.Fatal(err)
		}
		if rep.Cases != dry.Cases || rep.Requests != dry.Requests || rep.Files != dry.Files || rep.DryRun {
			t.Errorf("purged %d cases, %d requests, %d files; the dry run said %d, %d, %d", rep.Cases, rep.Requests, rep.Files, dry.Cases, dry.Requests, dry.Files)
		}
		after := dump(t, sc.st.DBURL)
		leftovers(t, after, ondineWords...)
		for _, w := range []string{"Ventadour", "Abeilles-Noires", "Hautepierre", "Rougegorge", "Fenouillard", "recours contentieux"} {
			if !strings.Contains(after, fold(w)) {
				t.Errorf("%q was erased, yet its case is open or held", w)
			}
		}
		if n := sc.count(t, outboxed); n != 0 {
			t.Errorf("%d events of hers wait in the outbox as written", n)
		}
		if strings.Contains(after, "chardonneret") {
			t.Error("Dorothée's closed case kept its text")
		}
		if got := figures(t, sc, now); got != before {
			t.Errorf("the figures moved:\n%s", diff(before, got))
		}
		// Her record is emptied; Dorothée's stays for her open case.
		// (Her letter, which gave a name and an address only, has a
		// record of its own.)
		if n := sc.count(t, `SELECT count(*) FROM citizens WHERE erased_at IS NOT NULL AND name IS NULL AND email IS NULL AND phone IS NULL`); n != 2 {
			t.Errorf("%d records emptied, want Ondine's two", n)
		}
		if n := sc.count(t, `SELECT count(*) FROM citizens WHERE email = $1 AND name = $2 AND erased_at IS NULL`, dorothee.email, dorothee.name); n != 1 {
			t.Error("Dorothée's record was emptied although she has an open case")
		}
		if n := sc.count(t, `SELECT count(*) FROM cases WHERE ref = ANY($1) AND purged_at IS NULL`, []string{openRef, heldRef, stillRef}); n != 3 {
			t.Errorf("%d of the open and held cases untouched, want 3", n)
		}
		// What the searches find: only the month.
		if n := sc.count(t, `SELECT count(*) FROM request_search s JOIN requests r ON r.id = s.request_id
			WHERE r.purged_at IS NOT NULL AND EXISTS (SELECT 1 FROM unnest(tsvector_to_array(s.doc)) l WHERE l NOT LIKE '§%')`); n != 0 {
			t.Errorf("%d search texts of purged requests keep words", n)
		}
		// The other stores were told, the photo still held by Barnabé's
		// open request excepted.
		told := forget.all()
		if !slices.Contains(told.Files, "sha256/"+photo) || !slices.Contains(told.Files, "sha256/"+scan) || slices.Contains(told.Files, "sha256/"+shared) {
			t.Errorf("files to forget %v", told.Files)
		}
		if !slices.Contains(told.Contacts, ondine.email) || !slices.Contains(told.Contacts, ondine.phone) ||
			slices.Contains(told.Contacts, dorothee.email) || slices.Contains(told.Contacts, barnabe.email) {
			t.Errorf("contacts to forget %v", told.Contacts)
		}
		if len(told.CaseIDs) != 4 || len(told.Requests) != rep.Requests {
			t.Errorf("cases %v, requests %v", told.CaseIDs, told.Requests)
		}
		if n := sc.count(t, `SELECT count(*) FROM purge_pending`); n != 0 {
			t.Errorf("%d purges still to forget", n)
		}
	})

	t.Run("a second run purges nothing new", func(t *testing.T) {
		audit := sc.count(t, `SELECT count(*) FROM audit_log`)
		told := len(forget.got)
		rep, err := svc.Apply(ctx, future, false, "dpo-01")
		if err != nil || rep.Cases+rep.Requests+rep.Files != 0 || len(rep.Purged.Contacts) != 0 {
			t.Fatalf("%+v, %v", rep, err)
		}
		if n := sc.count(t, `SELECT count(*) FROM audit_log`); n != audit {
			t.Errorf("%d audit entries written by a run that purged nothing", n-audit)
		}
		if len(forget.got) != told {
			t.Error("the stores were told again")
		}
		if got := figures(t, sc, now); got != before {
			t.Error("the figures moved")
		}
	})

	t.Run("the purge is audited without personal data", func(t *testing.T) {
		entries, err := sc.st.Auth.AuditLog(ctx, auth.AuditFilter{Action: "rgpd."}, 1000)
		if err != nil {
			t.Fatal(err)
		}
		var purges int
		for _, e := range entries {
			raw, _ := json.Marshal(e)
			if left := present(fold(string(raw)), ondineWords...); len(left) > 0 {
				t.Errorf("%s: %v", raw, left)
			}
			if e.Action == "rgpd.purge" {
				purges++
			}
		}
		if purges == 0 {
			t.Error("no rgpd.purge entry")
		}
		// The actions stay countable.
		if n := sc.count(t, `SELECT count(*) FROM audit_log WHERE action = 'personal_data.search'`); n != 2 {
			t.Errorf("%d searches counted, want 2", n)
		}
	})

	t.Run("a purged case stays what it was", func(t *testing.T) {
		tr, err := sc.st.Store.Tracking(ctx, codeOf(t, sc, refs[0]))
		if err != nil {
			t.Fatal(err)
		}
		if tr.Request.Citizen != nil || tr.Request.Body != "" || tr.Request.Subject != "" || len(tr.Request.Attachments) != 0 ||
			tr.Request.Location == nil || tr.Request.Location.CommuneINSEE != "13208" || tr.Request.Location.Address != "" {
			t.Errorf("the purged request reads %+v", tr.Request)
		}
		if tr.Case == nil || tr.Case.Ref != refs[0] || tr.Case.State != lifecycle.Closed || tr.Case.Competence != "voirie" {
			t.Errorf("its case %+v", tr.Case)
		}
		_, err = sc.st.Store.Transition(ctx, casestore.TransitionRequest{Ref: refs[0], To: lifecycle.InProgress, Role: lifecycle.RoleSupervisor,
			Change: casestore.Change{Actor: "superviseur", Reason: "réouverture"}}, sc.cal)
		if err == nil {
			t.Error("a purged case was reopened")
		}
		if err := svc.Hold(ctx, refs[0], "contentieux", "dpo-01"); fault.KindOf(err) != fault.Conflict {
			t.Errorf("hold of a purged case: %v", err)
		}
	})
}

// codeOf is the tracking code of a case's first request.
func codeOf(t *testing.T, sc *scene, ref string) string {
	t.Helper()
	var code string
	if err := sc.st.Store.DB().QueryRow(sc.ctx, `SELECT r.tracking_code FROM requests r JOIN cases c ON c.id = r.case_id WHERE c.ref = $1 ORDER BY r.id LIMIT 1`,
		ref).Scan(&code); err != nil {
		t.Fatal(err)
	}
	return code
}

// Each artifact goes at its own time: with transcripts kept 30 days, a
// call's transcript goes first and the rest stays until its own time.
func TestEachArtifactAtItsTime(t *testing.T) {
	sc := newScene(t)
	ctx := sc.ctx
	start := 0.0
	ref, rc := sc.route(t, schemas.Request{Channel: schemas.ChannelPhone, Source: schemas.Source{Adapter: "telephony"},
		Citizen: &schemas.Citizen{Name: "Philémon Tournesol", Phone: "+33756123456"}, Body: "Appel : benne pleine place des Capucines.",
		Transcript: []schemas.Turn{{Speaker: "caller", Start: &start, Text: "Ici Philémon Tournesol, la benne déborde."}},
		Hints:      &schemas.Hints{Competence: "dechets"}})
	sc.move(t, ref, "vidée", lifecycle.Qualified, lifecycle.InProgress, lifecycle.Resolved)

	cat := *sc.st.Catalogue
	cat.Retention.Transcripts.KeepDays = 30
	forget := &forgetter{fail: true}
	svc := retention.New(sc.st.Store.DB(), &cat, testkit.Logger(t), forget)
	read := func() schemas.Request {
		req, err := sc.st.Store.Request(ctx, rc.ID)
		if err != nil {
			t.Fatal(err)
		}
		return req
	}
	if _, err := svc.Apply(ctx, time.Now().AddDate(0, 0, 29), false, "guichet"); err != nil {
		t.Fatal(err)
	}
	if len(read().Transcript) != 1 {
		t.Fatal("the transcript went before its time")
	}
	// The object store fails to forget: the purge is done, the report
	// complete, and the other stores are told again at the next run.
	rep, err := svc.Apply(ctx, time.Now().AddDate(0, 0, 31), false, "guichet")
	if fault.KindOf(err) != fault.Transient || rep.Cases != 1 || rep.Requests != 1 || rep.Files != 0 {
		t.Fatalf("%+v, %v", rep, err)
	}
	if n := sc.count(t, `SELECT count(*) FROM purge_pending`); n != 1 || len(forget.got) != 1 {
		t.Fatalf("%d purges to forget later, told %d times", n, len(forget.got))
	}
	req := read()
	if len(req.Transcript) != 0 || req.Citizen == nil || req.Citizen.Name != "Philémon Tournesol" || !strings.Contains(req.Body, "Capucines") {
		t.Errorf("after the transcripts' time: %+v", req)
	}
	var purged []string
	if err := sc.st.Store.DB().QueryRow(ctx, `SELECT purged FROM cases WHERE ref = $1`, ref).Scan(&purged); err != nil || !slices.Equal(purged, []string{"transcripts"}) {
		t.Errorf("case purged %v, %v", purged, err)
	}
	forget.mu.Lock()
	forget.fail = false
	forget.mu.Unlock()
	if rep, err := svc.Apply(ctx, time.Now().AddDate(0, 0, 31), false, "guichet"); err != nil || rep.Cases != 0 {
		t.Errorf("again: %+v, %v", rep, err)
	}
	if n := sc.count(t, `SELECT count(*) FROM purge_pending`); n != 0 || len(forget.got) != 2 || forget.got[1].Requests[0] != rc.ID {
		t.Errorf("%d purges to forget later, told %+v", n, forget.got)
	}
	if _, err := svc.Apply(ctx, time.Now().AddDate(0, 0, 366), false, "guichet"); err != nil {
		t.Fatal(err)
	}
	req = read()
	if req.Citizen != nil || req.Body != "" {
		t.Errorf("after a year: %+v", req)
	}
	if n := sc.count(t, `SELECT count(*) FROM cases WHERE ref = $1 AND purged_at IS NOT NULL`, ref); n != 1 {
		t.Error("the case is not marked purged")
	}
	// A reopening clears the closure: resolved cases only count once
	// finished again.
	ref2, _ := sc.route(t, schemas.Request{Channel: schemas.ChannelWeb, Source: schemas.Source{Adapter: "webform"}, Body: "Benne renversée.",
		Hints: &schemas.Hints{Competence: "dechets"}})
	sc.move(t, ref2, "fait", lifecycle.Qualified, lifecycle.InProgress, lifecycle.Resolved, lifecycle.InProgress)
	if n := sc.count(t, `SELECT count(*) FROM cases WHERE ref = $1 AND closed_at IS NULL`, ref2); n != 1 {
		t.Error("a reopened case keeps its closure")
	}
}

// Erasing a person refuses while a case of theirs is open or held, never
// guesses between namesakes, and otherwise erases them and only them.
func TestErase(t *testing.T) {
	sc := newScene(t)
	ctx := sc.ctx
	svc := retention.New(sc.st.Store.DB(), sc.st.Catalogue, testkit.Logger(t))

	// Barnabé's case is open.
	openRef, _ := sc.route(t, schemas.Request{Channel: schemas.ChannelWeb, Source: schemas.Source{Adapter: "webform"}, Citizen: barnabe.citizen(),
		Subject: "Trottoir", Body: "Devant chez Barnabé Ventadour.", Hints: &schemas.Hints{Competence: "voirie"}})
	rep, err := svc.Erase(ctx, retention.Subject{Email: "Barnabe.Ventadour@Example.org "}, "demande du 3 mars", "dpo-01")
	if fault.KindOf(err) != fault.Conflict || !strings.Contains(err.Error(), openRef) || !strings.Contains(err.Error(), "encore ouvert") ||
		len(rep.Refused) != 1 || rep.Refused[0].Ref != openRef {
		t.Errorf("erasing a person with an open case: %+v, %v", rep, err)
	}
	if n := sc.count(t, `SELECT count(*) FROM audit_log WHERE action LIKE 'rgpd.%'`); n != 0 {
		t.Error("a refused erasure was written as done")
	}

	// Two Jean Dupont: not told apart by guessing.
	for _, e := range []string{"jean.dupont@example.org", "jdupont@example.net"} {
		ref, _ := sc.route(t, schemas.Request{Channel: schemas.ChannelWeb, Source: schemas.Source{Adapter: "webform"},
			Citizen: &schemas.Citizen{Name: "Jean Dupont", Email: e}, Body: "Banc cassé.", Hints: &schemas.Hints{Competence: "voirie"}})
		sc.move(t, ref, "fait", lifecycle.Qualified, lifecycle.InProgress, lifecycle.Resolved, lifecycle.Closed)
	}
	_, err = svc.Erase(ctx, retention.Subject{Name: "jean  DUPONT"}, "demande du 3 mars", "dpo-01")
	if fault.KindOf(err) != fault.Conflict || !strings.Contains(err.Error(), "2 personnes") || !strings.Contains(err.Error(), "précisez") {
		t.Errorf("namesakes: %v", err)
	}

	// Ondine: her cases, one shared with Barnabé's neighbour Éloïse who
	// called about the same lamp post.
	refs, _, _ := ondineCases(t, sc, sha("autre"))
	eloise, _ := sc.route(t, schemas.Request{Channel: schemas.ChannelPhone, Source: schemas.Source{Adapter: "telephony", OperatorID: "agent-01"},
		Citizen: &schemas.Citizen{Name: "Éloïse Marjolaine", Phone: "+33612345678"}, Body: "Appel d'Éloïse Marjolaine : même lampadaire.",
		Link: &schemas.Link{CaseRef: refs[1], By: schemas.LinkByAgent}, Hints: &schemas.Hints{Competence: "dechets"}})
	if eloise != refs[1] {
		t.Fatalf("Éloïse's call went to %s, not %s", eloise, refs[1])
	}
	// Her cases are closed, one is held: refused, naming it.
	if err := svc.Hold(ctx, refs[0], "recours n° 12", "dpo-01"); err != nil {
		t.Fatal(err)
	}
	if err := svc.Hold(ctx, refs[0], "recours n° 12", "dpo-01"); fault.KindOf(err) != fault.Conflict {
		t.Errorf("a second hold: %v", err)
	}
	_, err = svc.Erase(ctx, retention.Subject{Phone: "06 87 65 43 21"}, "demande du 3 mars", "dpo-01")
	if fault.KindOf(err) != fault.Conflict || !strings.Contains(err.Error(), refs[0]) || !strings.Contains(err.Error(), "conservation légale") {
		t.Errorf("erasing a person with a held case: %v", err)
	}
	if err := svc.Release(ctx, refs[0], "recours jugé", "dpo-01"); err != nil {
		t.Fatal(err)
	}
	if err := svc.Release(ctx, refs[0], "recours jugé", "dpo-01"); fault.KindOf(err) != fault.Conflict {
		t.Errorf("a second release: %v", err)
	}
	if err := svc.Hold(ctx, "AMP-2020-999999", "recours", "dpo-01"); fault.KindOf(err) != fault.NotFound {
		t.Errorf("hold of an unknown case: %v", err)
	}
	if _, err := svc.Erase(ctx, retention.Subject{Phone: "06 87 65 43 21", Email: ondine.email}, "x", "dpo-01"); fault.KindOf(err) != fault.Invalid {
		t.Errorf("two identifiers: %v", err)
	}
	if _, err := svc.Erase(ctx, retention.Subject{Phone: "06 87 65 43 21"}, " ", "dpo-01"); fault.KindOf(err) != fault.Invalid {
		t.Errorf("no reason: %v", err)
	}

	now := time.Now()
	before := figures(t, sc, now)
	// Her letter gave a name and an address only: a record of its own,
	// which a name alone cannot tell from her other one.
	if _, err := svc.Erase(ctx, retention.Subject{Name: "ondine brisefer quatremains"}, "demande du 3 mars", "dpo-01"); fault.KindOf(err) != fault.Conflict {
		t.Errorf("two records of her name: %v", err)
	}
	rep, err = svc.Erase(ctx, retention.Subject{Phone: "06 87 65 43 21"}, "demande de Mme Ondine Brisefer-Quatremains (06 87 65 43 21) du 3 mars", "dpo-01")
	if err != nil {
		t.Fatal(err)
	}
	// (Her address stays in the e-mail she sent, until that goes.)
	if rep.Cases != 2 || !slices.Contains(rep.Purged.Cases, refs[0]) || !slices.Contains(rep.Purged.Cases, refs[1]) ||
		!slices.Equal(rep.Purged.Contacts, []string{ondine.phone}) {
		t.Errorf("erased by phone %+v", rep)
	}
	// Then her name is hers alone.
	rep, err = svc.Erase(ctx, retention.Subject{Name: "ondine brisefer quatremains"}, "demande du 3 mars, courrier", "dpo-01")
	if err != nil {
		t.Fatal(err)
	}
	if rep.Cases != 1 || rep.Purged.Cases[0] != refs[2] || len(rep.Purged.Files) != 1 {
		t.Errorf("erased by name %+v", rep)
	}
	// And her e-mail that failed, which gave only her address.
	rep, err = svc.Erase(ctx, retention.Subject{Email: ondine.email}, "demande du 3 mars, courriel", "dpo-01")
	if err != nil {
		t.Fatal(err)
	}
	if rep.Cases != 0 || rep.Requests != 1 || !slices.Equal(rep.Purged.Requests, []string{"0190a000-0000-7000-8000-00000000b015"}) ||
		!slices.Equal(rep.Purged.Contacts, []string{ondine.email}) {
		t.Errorf("erased by e-mail %+v", rep)
	}
	after := dump(t, sc.st.DBURL)
	leftovers(t, after, ondineWords...)
	for _, w := range []string{"Éloïse Marjolaine", "Ventadour", "jdupont@example.net"} {
		if !strings.Contains(after, fold(w)) {
			t.Errorf("%q was erased with Ondine", w)
		}
	}
	if got := figures(t, sc, now); got != before {
		t.Errorf("the figures moved:\n%s", diff(before, got))
	}
	// The shared case keeps Éloïse's request, and is not marked purged.
	if n := sc.count(t, `SELECT count(*) FROM cases WHERE ref = $1 AND purged_at IS NULL`, refs[1]); n != 1 {
		t.Error("the case shared with Éloïse was marked purged")
	}
	// Erasing again finds nothing.
	if rep, err := svc.Erase(ctx, retention.Subject{Email: ondine.email}, "relance", "dpo-01"); err != nil || rep.Cases != 0 || rep.Requests != 0 {
		t.Errorf("again: %+v, %v", rep, err)
	}
	if n := sc.count(t, `SELECT count(*) FROM audit_log WHERE action = 'rgpd.erase'`); n != 3 {
		t.Errorf("%d erasures audited, want 3", n)
	}
}

// A case merged into another is finished when that one is, and goes with it.
func TestMergedCasesFollowTheirCase(t *testing.T) {
	sc := newScene(t)
	ctx := sc.ctx
	gaspard := person{name: "Gaspard Lherbier-Sauvageon", email: "gaspard.lherbier@example.org"}
	fromRef, _ := sc.route(t, schemas.Request{Channel: schemas.ChannelWeb, Source: schemas.Source{Adapter: "webform"}, Citizen: gaspard.citizen(),
		Subject: "Dépôt sauvage Lherbier", Body: "Gaspard Lherbier-Sauvageon signale un dépôt.", Hints: &schemas.Hints{Competence: "proprete"}})
	intoRef, _ := sc.route(t, schemas.Request{Channel: schemas.ChannelWeb, Source: schemas.Source{Adapter: "webform"}, Citizen: gaspard.citizen(),
		Subject: "Encombrants Lherbier", Body: "Gaspard Lherbier-Sauvageon : encombrants.", Hints: &schemas.Hints{Competence: "dechets"}})
	if fromRef == intoRef {
		t.Fatal("the scene is not set: one case")
	}
	if _, err := sc.st.Store.Merge(ctx, fromRef, intoRef, casestore.Change{Actor: "superviseur", Reason: "même dépôt chez M. Lherbier"}); err != nil {
		t.Fatal(err)
	}
	svc := retention.New(sc.st.Store.DB(), sc.st.Catalogue, testkit.Logger(t))
	rep, err := svc.Erase(ctx, retention.Subject{Email: gaspard.email}, "demande du 3 mars", "dpo-01")
	if fault.KindOf(err) != fault.Conflict || len(rep.Refused) != 2 || !strings.Contains(err.Error(), "regroupé dans le dossier "+intoRef) {
		t.Errorf("erasing while the case merged into is open: %+v, %v", rep, err)
	}
	future := time.Now().AddDate(0, 0, 400)
	if rep, err := svc.Apply(ctx, future, true, ""); err != nil || rep.Cases != 0 {
		t.Errorf("a merged case went before the case it went into was closed: %+v, %v", rep, err)
	}
	sc.move(t, intoRef, "enlevés", lifecycle.Qualified, lifecycle.InProgress, lifecycle.Resolved)
	rep, err = svc.Apply(ctx, future, false, "guichet")
	if err != nil {
		t.Fatal(err)
	}
	got := slices.Clone(rep.Purged.Cases)
	slices.Sort(got)
	want := []string{fromRef, intoRef}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("purged %v, want %v", got, want)
	}
	leftovers(t, dump(t, sc.st.DBURL), "Lherbier", "Sauvageon", "gaspard")
	if n := sc.count(t, `SELECT count(*) FROM cases WHERE purged_at IS NOT NULL`); n != 2 {
		t.Errorf("%d cases marked purged", n)
	}
}
