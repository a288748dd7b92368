package casestore_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/platform/fault"
	"github.com/ampmetropole/guichet/services/testkit/stack"
)

// codes lists the threads' codes and, for each, the codes of its messages.
func threadCodes(ts []casestore.CitizenThread) map[string][]string {
	out := map[string][]string{}
	for _, t := range ts {
		for _, m := range t.Messages {
			out[t.Code] = append(out[t.Code], m.Code)
		}
	}
	return out
}

// A person's space lists the requests that carry what they proved — web,
// phone and letter alike, a thread with its follow-up — and nothing else:
// not another citizen's request in the same case, and not the requests the
// citizens record merely links to their address. The router puts under one
// record an e-mail address and a phone number typed side by side, so that
// Marc, who typed Léa's mobile next to his own address, shares her record:
// his space must show him none of her requests all the same.
func TestCitizenThreadsListOnePersonsRequests(t *testing.T) {
	st := stack.New(t, stack.Options{Router: true})
	ctx := context.Background()
	const leaMobile = "+33639981427"
	route := func(req schemas.Request) (string, string) {
		t.Helper()
		ref, rc := st.Route(t, req)
		return ref, rc.TrackingCode
	}
	// Léa calls first, from her mobile: a record with her number only.
	callRef, call := route(schemas.Request{Channel: schemas.ChannelPhone, Source: schemas.Source{Adapter: "telephony", ExternalID: "appel-1"},
		Citizen: &schemas.Citizen{Name: "Léa Martinez", Phone: leaMobile, PreferredReplyChannel: "phone"},
		Body:    "Appel : le bac jaune n'a pas été collecté rue Paradis.", Hints: &schemas.Hints{Competence: "dechets"}})
	// Marc types Léa's number next to his own address: the router finds
	// her record by the number and gives it his address.
	_, marc := route(schemas.Request{Channel: schemas.ChannelWeb, Source: schemas.Source{Adapter: "webform"},
		Citizen: &schemas.Citizen{Name: "Marc Blanc", Email: "marc@example.org", Phone: leaMobile},
		Subject: "Banc cassé", Body: "Un banc cassé place Castellane.", Hints: &schemas.Hints{Competence: "voirie"}})
	// Léa's web request (address and mobile), then its follow-up from the
	// status page, then her letter that gives her address.
	webRef, web := route(schemas.Request{Channel: schemas.ChannelWeb, Source: schemas.Source{Adapter: "webform"},
		Citizen: &schemas.Citizen{Name: "Léa Martinez", Email: "lea.martinez@example.net", Phone: leaMobile},
		Subject: "Nid-de-poule rue Paradis", Body: "Un trou profond devant le 112 rue Paradis.", Hints: &schemas.Hints{Competence: "voirie"}})
	webStatus, err := st.Store.Tracking(ctx, web)
	if err != nil {
		t.Fatal(err)
	}
	_, followUp := route(schemas.Request{Channel: schemas.ChannelWeb, Source: schemas.Source{Adapter: "webform", ExternalID: "suivi:" + web},
		Citizen: webStatus.Request.Citizen, Subject: "Message complémentaire — " + webRef, Body: "Le trou s'est agrandi.",
		Link: &schemas.Link{CaseRef: webRef, By: schemas.LinkByTrackingCode, RequestID: webStatus.Request.ID}, CaseRefs: []string{webRef}})
	letterRef, letter := route(schemas.Request{Channel: schemas.ChannelMail, Source: schemas.Source{Adapter: "mailroom", ExternalID: "scan-1"},
		Citizen: &schemas.Citizen{Name: "Léa Martinez", Email: "Lea.Martinez@Example.NET", PreferredReplyChannel: "mail"},
		Subject: "Fuite d'eau", Body: "Madame, Monsieur, une fuite d'eau coule devant chez moi.", Hints: &schemas.Hints{Competence: "eau_assainissement"}})
	// Bruno's request, joined by an agent to Léa's web case.
	brunoRef, bruno := route(schemas.Request{Channel: schemas.ChannelPhone, Source: schemas.Source{Adapter: "telephony", ExternalID: "appel-2"},
		Citizen: &schemas.Citizen{Name: "Bruno Roux", Phone: "+33611223344", Email: "bruno@example.org"},
		Body:    "Appel : même trou rue Paradis.", Link: &schemas.Link{CaseRef: webRef, By: schemas.LinkByAgent}})
	if brunoRef != webRef {
		t.Fatalf("Bruno's call is in %s, not in Léa's case %s", brunoRef, webRef)
	}

	// The premise: Léa's call, Marc's request and Léa's web request are
	// under one citizens record, which has Marc's address.
	conn, err := pgx.Connect(ctx, st.DBURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var records int
	var recordEmail string
	if err := conn.QueryRow(ctx, `SELECT count(DISTINCT r.citizen_id), min(c.email) FROM requests r JOIN citizens c ON c.id = r.citizen_id
		WHERE r.tracking_code = ANY($1)`, []string{call, marc, web}).Scan(&records, &recordEmail); err != nil {
		t.Fatal(err)
	}
	if records != 1 || recordEmail != "marc@example.org" {
		t.Fatalf("the scene is not set: %d records, address %q", records, recordEmail)
	}

	list := func(who casestore.CitizenIdentity) []casestore.CitizenThread {
		t.Helper()
		ts, more, err := st.Store.CitizenThreads(ctx, who, 100)
		if err != nil || more {
			t.Fatalf("threads of %+v: more %v, %v", who, more, err)
		}
		return ts
	}
	equal := func(who string, got map[string][]string, want map[string][]string) {
		t.Helper()
		if len(got) != len(want) {
			t.Errorf("%s sees %v, want %v", who, got, want)
			return
		}
		for k, v := range want {
			if !slices.Equal(got[k], v) {
				t.Errorf("%s sees %v, want %v", who, got, want)
			}
		}
	}

	// By her address: her web thread (with its follow-up) and her letter.
	byEmail := list(casestore.CitizenIdentity{Email: "lea.martinez@example.net"})
	equal("Léa by e-mail", threadCodes(byEmail), map[string][]string{web: {web, followUp}, letter: {letter}})
	if byEmail[0].Code != letter || byEmail[1].Code != web {
		t.Errorf("not the most recently active first: %s then %s", byEmail[0].Code, byEmail[1].Code)
	}
	w := byEmail[1]
	if w.Channel != "web" || w.Subject != "Nid-de-poule rue Paradis" || w.Case == nil || w.Case.Ref != webRef || w.Case.State == "" ||
		w.Status != "routed" || w.ReceivedAt.IsZero() || !w.LastAt.After(w.ReceivedAt) {
		t.Errorf("web thread %+v (case %+v)", w, w.Case)
	}
	if l := byEmail[0]; l.Channel != "mail" || l.Case == nil || l.Case.Ref != letterRef {
		t.Errorf("letter %+v", l)
	}
	// By her mobile: her call, her web thread, and Marc's request, which
	// carries her number (its notices would go to her phone too).
	equal("Léa by mobile", threadCodes(list(casestore.CitizenIdentity{Phone: leaMobile})),
		map[string][]string{call: {call}, web: {web, followUp}, marc: {marc}})
	// Both: web, phone and letter together.
	both := list(casestore.CitizenIdentity{Email: "lea.martinez@example.net", Phone: leaMobile})
	equal("Léa by both", threadCodes(both), map[string][]string{call: {call}, web: {web, followUp}, letter: {letter}, marc: {marc}})
	channels := map[string]bool{}
	for _, th := range both {
		channels[th.Channel] = true
		if th.Code == call && (th.Case == nil || th.Case.Ref != callRef || th.Subject != "" || th.Excerpt == "") {
			t.Errorf("call %+v", th)
		}
	}
	if !channels["web"] || !channels["phone"] || !channels["mail"] {
		t.Errorf("channels listed: %v", channels)
	}

	// Marc shares Léa's citizens record, yet sees only his own request.
	equal("Marc", threadCodes(list(casestore.CitizenIdentity{Email: "marc@example.org"})), map[string][]string{marc: {marc}})
	// Bruno, in Léa's case, sees his call only; Léa never sees it.
	equal("Bruno", threadCodes(list(casestore.CitizenIdentity{Phone: "+33611223344"})), map[string][]string{bruno: {bruno}})
	for _, th := range both {
		for _, m := range th.Messages {
			if m.Code == bruno {
				t.Errorf("Léa sees Bruno's call in her case")
			}
		}
	}
	// An address nobody gave, and a number ending like Léa's in another
	// country: nothing.
	equal("a stranger", threadCodes(list(casestore.CitizenIdentity{Email: "personne@example.net"})), nil)
	equal("a number ending alike", threadCodes(list(casestore.CitizenIdentity{Phone: "+4915239981427"})), nil)
	if ts, _, err := st.Store.CitizenThreads(ctx, casestore.CitizenIdentity{}, 100); err != nil || ts != nil {
		t.Errorf("nobody: %v %v", ts, err)
	}
	// The limit: the latest requests only, and the caller told.
	ts, more, err := st.Store.CitizenThreads(ctx, casestore.CitizenIdentity{Email: "lea.martinez@example.net", Phone: leaMobile}, 2)
	if err != nil || !more || len(ts) == 0 {
		t.Errorf("limited to 2: %d threads, more %v, %v", len(ts), more, err)
	}
}

func hashOf(t *testing.T) []byte {
	t.Helper()
	raw := make([]byte, 32)
	rand.Read(raw)
	sum := sha256.Sum256(raw)
	return sum[:]
}

// A link is good once, for its time; an address gets a bounded number.
func TestSignInLinks(t *testing.T) {
	s, b := setup(t)
	ctx := context.Background()
	lim := casestore.LinkLimit{Count: 3, Within: 15 * time.Minute, TTL: 15 * time.Minute}
	lea := casestore.SignInLink{Kind: casestore.LinkByEmail, Address: "lea@example.net", IP: "192.0.2.1"}

	var hashes [][]byte
	for range 3 {
		l := lea
		l.TokenHash = hashOf(t)
		if err := s.IssueSignInLink(ctx, l, lim); err != nil {
			t.Fatal(err)
		}
		hashes = append(hashes, l.TokenHash)
	}
	l := lea
	l.TokenHash = hashOf(t)
	if err := s.IssueSignInLink(ctx, l, lim); fault.KindOf(err) != fault.TooMany {
		t.Fatalf("a fourth link in the quarter: %v", err)
	}
	other := casestore.SignInLink{TokenHash: hashOf(t), Kind: casestore.LinkByPhone, Address: "+33639981427"}
	if err := s.IssueSignInLink(ctx, other, lim); err != nil {
		t.Fatalf("another address is not limited by the first: %v", err)
	}
	for _, bad := range []casestore.SignInLink{{TokenHash: hashOf(t), Kind: "fax", Address: "x"}, {TokenHash: []byte("court"), Kind: casestore.LinkByEmail, Address: "a@b.fr"}} {
		if err := s.IssueSignInLink(ctx, bad, lim); fault.KindOf(err) != fault.Invalid {
			t.Errorf("malformed link %+v: %v", bad, err)
		}
	}

	// Looking at a link does not use it; using it does, once, even when
	// two try at the same moment.
	for range 2 {
		if got, err := s.SignInLinkFor(ctx, hashes[0]); err != nil || got.Address != lea.Address || got.Kind != casestore.LinkByEmail {
			t.Fatalf("peek: %+v %v", got, err)
		}
	}
	var wg sync.WaitGroup
	results := make([]error, 8)
	for i := range results {
		wg.Go(func() {
			got, err := s.UseSignInLink(ctx, hashes[0])
			if err == nil && got.Identity() != (casestore.CitizenIdentity{Email: lea.Address}) {
				t.Errorf("used link says %+v", got)
			}
			results[i] = err
		})
	}
	wg.Wait()
	ok := 0
	for _, err := range results {
		switch {
		case err == nil:
			ok++
		case fault.KindOf(err) != fault.NotFound:
			t.Errorf("use: %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("the link was used %d times", ok)
	}
	if _, err := s.SignInLinkFor(ctx, hashes[0]); fault.KindOf(err) != fault.NotFound {
		t.Errorf("a used link still shows: %v", err)
	}
	if _, err := s.UseSignInLink(ctx, hashOf(t)); fault.KindOf(err) != fault.NotFound {
		t.Errorf("an unknown link: %v", err)
	}
	// An expired link is good for nothing.
	conn, err := pgx.Connect(ctx, b.url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `UPDATE citizen_sign_in_links SET expires_at = now() - interval '1 second' WHERE token_hash = $1`, hashes[1]); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SignInLinkFor(ctx, hashes[1]); fault.KindOf(err) != fault.NotFound {
		t.Errorf("an expired link shows: %v", err)
	}
	if _, err := s.UseSignInLink(ctx, hashes[1]); fault.KindOf(err) != fault.NotFound {
		t.Errorf("an expired link is used: %v", err)
	}
	if got, err := s.UseSignInLink(ctx, other.TokenHash); err != nil || got.Identity() != (casestore.CitizenIdentity{Phone: "+33639981427"}) {
		t.Errorf("a phone link: %+v %v", got, err)
	}
	// Only hashes are kept.
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM citizen_sign_in_links WHERE octet_length(token_hash) = 32`).Scan(&n); err != nil || n != 4 {
		t.Errorf("links kept: %d %v", n, err)
	}
}

// A session ends when unused for its idle time, at its absolute end, and
// when closed; replacing one ends the other.
func TestCitizenSessions(t *testing.T) {
	s, b := setup(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, b.url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	open := func(who casestore.CitizenIdentity, idToken string, lifetime time.Duration, replaces []byte) []byte {
		t.Helper()
		id := hashOf(t)
		if err := s.OpenCitizenSession(ctx, casestore.CitizenSession{ID: id, CitizenIdentity: who, IDToken: idToken}, lifetime, replaces); err != nil {
			t.Fatal(err)
		}
		return id
	}
	lea := casestore.CitizenIdentity{Email: "lea@example.net"}
	a := open(lea, "", time.Hour, nil)
	got, err := s.CitizenSession(ctx, a, 30*time.Minute)
	if err != nil || got.Email != lea.Email || got.Phone != "" || got.IDToken != "" {
		t.Fatalf("session: %+v %v", got, err)
	}
	// Idle for 31 minutes: ended.
	if _, err := conn.Exec(ctx, `UPDATE citizen_sessions SET last_seen_at = now() - interval '31 minutes' WHERE id = $1`, a); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CitizenSession(ctx, a, 30*time.Minute); fault.KindOf(err) != fault.NotFound {
		t.Errorf("idle session still open: %v", err)
	}
	// Used 29 minutes ago: open, and the use moves the timeout on.
	c := open(lea, "", time.Hour, nil)
	if _, err := conn.Exec(ctx, `UPDATE citizen_sessions SET last_seen_at = now() - interval '29 minutes' WHERE id = $1`, c); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CitizenSession(ctx, c, 30*time.Minute); err != nil {
		t.Fatalf("session used 29 minutes ago: %v", err)
	}
	var fresh bool
	if err := conn.QueryRow(ctx, `SELECT now() - last_seen_at < interval '1 minute' FROM citizen_sessions WHERE id = $1`, c).Scan(&fresh); err != nil || !fresh {
		t.Errorf("the use did not move the idle timeout: %v", err)
	}
	// Past its absolute end: ended, however recently used.
	d := open(lea, "", time.Hour, nil)
	if _, err := conn.Exec(ctx, `UPDATE citizen_sessions SET expires_at = now() - interval '1 second' WHERE id = $1`, d); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CitizenSession(ctx, d, 30*time.Minute); fault.KindOf(err) != fault.NotFound {
		t.Errorf("session past its end: %v", err)
	}
	// Replaced by one with both identifiers: the first is gone.
	both := casestore.CitizenIdentity{Email: lea.Email, Phone: "+33639981427"}
	e := open(both, "jeton-id", time.Hour, c)
	if _, err := s.CitizenSession(ctx, c, 30*time.Minute); fault.KindOf(err) != fault.NotFound {
		t.Errorf("replaced session still open: %v", err)
	}
	if got, err := s.CitizenSession(ctx, e, 30*time.Minute); err != nil || got.CitizenIdentity != both || got.IDToken != "jeton-id" ||
		got.ExpiresAt.Before(time.Now().Add(59*time.Minute)) || got.ExpiresAt.After(time.Now().Add(61*time.Minute)) {
		t.Errorf("new session %+v %v", got, err)
	}
	// Closed: gone, and says what it was.
	if got, err := s.CloseCitizenSession(ctx, e); err != nil || got.IDToken != "jeton-id" {
		t.Errorf("close: %+v %v", got, err)
	}
	if _, err := s.CitizenSession(ctx, e, 30*time.Minute); fault.KindOf(err) != fault.NotFound {
		t.Errorf("closed session still open: %v", err)
	}
	if _, err := s.CloseCitizenSession(ctx, e); fault.KindOf(err) != fault.NotFound {
		t.Errorf("closed twice: %v", err)
	}
	if err := s.OpenCitizenSession(ctx, casestore.CitizenSession{ID: hashOf(t)}, time.Hour, nil); fault.KindOf(err) != fault.Invalid {
		t.Errorf("a session of nobody: %v", err)
	}
}
