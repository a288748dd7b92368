package telephony_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/cases/territory"
	"github.com/ampmetropole/guichet/services/channels/phone/telephony"
	"github.com/ampmetropole/guichet/services/intake"
	"github.com/ampmetropole/guichet/services/language/extract"
	"github.com/ampmetropole/guichet/services/platform/bus"
	"github.com/ampmetropole/guichet/services/platform/fault"
	"github.com/ampmetropole/guichet/services/testkit"
	"github.com/ampmetropole/guichet/services/testkit/stack"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// spokenRef says a case reference the way a caller would.
func spokenRef(t *testing.T, ref string) string {
	t.Helper()
	years := map[string]string{"2026": "deux mille vingt-six", "2027": "deux mille vingt-sept", "2028": "deux mille vingt-huit",
		"2029": "deux mille vingt-neuf", "2030": "deux mille trente"}
	digits := []string{"zéro", "un", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf"}
	year, ok := years[ref[4:8]]
	if !ok {
		t.Fatalf("no words for the year of %s", ref)
	}
	var seq []string
	for _, d := range ref[9:] {
		seq = append(seq, digits[d-'0'])
	}
	return "a m p " + year + " " + strings.Join(seq, " ")
}

func vtt(callerSays string) string {
	return "WEBVTT\n\n00:00:00.000 --> 00:00:03.000\n<v Agent>Métropole Aix-Marseille-Provence bonjour, je vous écoute.</v>\n\n" +
		"00:00:03.500 --> 00:00:12.000\n<v Appelant>" + callerSays + "</v>\n\n" +
		"00:00:12.500 --> 00:00:14.000\n<v Agent>Très bien, je note.</v>\n"
}

func call(id string, tr *telephony.TranscriptBody) telephony.Call {
	start := time.Now().Add(-3 * time.Minute).UTC().Truncate(time.Second)
	return telephony.Call{CallID: id, CallerNumber: "06 39 98 14 27", AgentID: "agent-042", Direction: "inbound",
		StartedAt: start, EndedAt: start.Add(2 * time.Minute), Transcript: tr}
}

func waitRouted(t *testing.T, st stack.Stack, id string) casestore.Case {
	t.Helper()
	var rs casestore.RequestStatus
	testkit.Eventually(t, 10*time.Second, "call routed", func() bool {
		var err error
		rs, err = st.Store.RequestStatus(context.Background(), id)
		return err == nil && rs.Status == "routed"
	})
	c, err := st.Store.Case(context.Background(), *rs.CaseRef)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestCallCitingCaseLandsInItsHistory is the phone channel end to end: a
// transcript in which the caller spells out an existing case's reference
// joins that case.
func TestCallCitingCaseLandsInItsHistory(t *testing.T) {
	st := stack.New(t, stack.Options{Router: true})
	ctx := context.Background()
	// Marcel gave his mobile on the web form: the call from that number is
	// his, and the reference he spells out puts it in his case.
	web, err := st.Intake.Submit(ctx, schemas.Request{Channel: "web", Source: schemas.Source{Adapter: "test"}, Subject: "Bac jaune",
		Body: "Bac non collecté.", Citizen: &schemas.Citizen{Name: "Marcel Giraud", Email: "marcel@example.org", Phone: "+33639981427"}, Hints: &schemas.Hints{Competence: "dechets"}})
	if err != nil {
		t.Fatal(err)
	}
	existing := waitRouted(t, st, web.ID)

	svc := telephony.New(st.Intake, extract.New(st.Places), telephony.WithCompetences(st.Catalogue.Known))
	says := "oui bonjour euh je vous appelle pour le dossier " + spokenRef(t, existing.Ref) + " le bac est toujours pas ramassé"
	first := call("call-0001", telephony.FileTranscript("", []byte(vtt(says))))
	acc, err := svc.Accept(ctx, first, telephony.From{Adapter: "telephony", System: "pbx"})
	if err != nil {
		t.Fatal(err)
	}
	c := waitRouted(t, st, acc.RequestID)
	if c.Ref != existing.Ref || len(c.Events) != 2 || c.Events[1].Type != schemas.EventRequestLinked || c.Events[1].Channel != "phone" {
		t.Fatalf("the call went to %s with events %+v, want it in %s", c.Ref, c.Events, existing.Ref)
	}
	tr, err := st.Store.Tracking(ctx, acc.TrackingCode)
	if err != nil {
		t.Fatal(err)
	}
	req := tr.Request
	if req.Channel != "phone" || req.Source.ExternalID != "call-0001" || req.Source.OperatorID != "agent-042" || req.Citizen.Phone != "+33639981427" {
		t.Errorf("request %+v", req)
	}
	if len(req.Transcript) != 3 || req.Transcript[0].Speaker != "agent" || req.Transcript[1].Speaker != "caller" || req.Transcript[1].Start == nil {
		t.Errorf("turns %+v", req.Transcript)
	}
	if strings.Contains(req.Body, "je vous écoute") || !strings.Contains(req.Body, "toujours pas ramassé") {
		t.Errorf("the body must hold the caller's words, not the agent's: %q", req.Body)
	}
	if acc.Attribution == nil || acc.Attribution.Confidence <= 0 {
		t.Errorf("attribution %+v", acc.Attribution)
	}

	// The same call reported again (same id, same start): same request,
	// nothing new. The start is the first report's, not a new clock reading
	// that may fall in the next second.
	retry := call("call-0001", telephony.FileTranscript("", []byte(vtt(says))))
	retry.StartedAt, retry.EndedAt = first.StartedAt, first.EndedAt
	again, err := svc.Accept(ctx, retry, telephony.From{Adapter: "telephony", System: "pbx"})
	if err != nil || again.RequestID != acc.RequestID || !again.Duplicate {
		t.Fatalf("second report: %+v %v", again, err)
	}
}

func TestExtractedFactsFillTheRequest(t *testing.T) {
	st := stack.New(t, stack.Options{})
	svc := telephony.New(st.Intake, extract.New(st.Places), telephony.WithCompetences(st.Catalogue.Known))
	says := "bonjour je m'appelle Simone Aubert j'habite douze avenue de la fontaine à gardanne " +
		"il y a une fuite d'eau sur le trottoir vous pouvez me rappeler au zéro six trente-neuf quatre-vingt-dix-huit quatorze vingt-sept"
	c := call("call-0002", telephony.FileTranscript("vtt", []byte(vtt(says))))
	c.CallerNumber = "anonymous"
	c.Summary = "Fuite d'eau sur trottoir"
	acc, err := svc.Accept(context.Background(), c, telephony.From{Adapter: "telephony", System: "pbx"})
	if err != nil {
		t.Fatal(err)
	}
	s, _ := st.Conn.JS.Stream(context.Background(), bus.StreamRequests)
	msg, err := s.GetLastMsgForSubject(context.Background(), "guichet.requests.phone")
	if err != nil {
		t.Fatal(err)
	}
	var req schemas.Request
	if err := json.Unmarshal(msg.Data, &req); err != nil || req.ID != acc.RequestID {
		t.Fatal(err)
	}
	if req.Citizen.Name != "Simone Aubert" || req.Citizen.Phone != "+33639981427" {
		t.Errorf("citizen %+v", req.Citizen)
	}
	if req.Location == nil || req.Location.CommuneINSEE != "13041" || !strings.Contains(req.Location.Address, "12 avenue de la") {
		t.Errorf("location %+v", req.Location)
	}
	if req.Subject != "Fuite d'eau sur trottoir" || !strings.HasPrefix(req.Body, "Résumé de l'agent : Fuite d'eau") {
		t.Errorf("subject %q body %q", req.Subject, req.Body)
	}
}

func TestBadCallsAreRefusedAndNothingPublished(t *testing.T) {
	st := stack.New(t, stack.Options{})
	svc := telephony.New(st.Intake, extract.New(st.Places), telephony.WithCompetences(st.Catalogue.Known))
	ok := vtt("il y a un trou")
	tests := []struct {
		name   string
		change func(*telephony.Call)
		kind   fault.Kind
		says   string
	}{
		{"unknown format", func(c *telephony.Call) { c.Transcript = telephony.FileTranscript("docx", []byte(ok)) }, fault.Invalid, "docx"},
		{"broken JSON", func(c *telephony.Call) { c.Transcript = telephony.FileTranscript("whisper", []byte(`{"segments": [`)) }, fault.Invalid, "JSON"},
		{"broken VTT", func(c *telephony.Call) {
			c.Transcript = telephony.FileTranscript("vtt", []byte("WEBVTT\n\n00:00:0x.000 --> 00:00:03.000\nbonjour\n"))
		}, fault.Invalid, "vtt"},
		{"timestamps out of order", func(c *telephony.Call) {
			c.Transcript = telephony.FileTranscript("srt", []byte("1\n00:00:10,000 --> 00:00:12,000\nAgent: bonjour\n\n2\n00:00:02,000 --> 00:00:04,000\nAppelant: oui\n"))
		}, fault.Invalid, "désordre"},
		{"empty transcript and no summary", func(c *telephony.Call) { c.Transcript = telephony.FileTranscript("vtt", []byte("WEBVTT\n\n")) }, fault.Invalid, "transcript"},
		{"oversize transcript", func(c *telephony.Call) {
			c.Transcript = telephony.FileTranscript("text", []byte("Appelant: "+strings.Repeat("bla ", 2<<20)))
		}, fault.TooLarge, ""},
		{"caller number not a number", func(c *telephony.Call) { c.CallerNumber = "pas un numéro" }, fault.Invalid, "caller_number"},
		{"no call id", func(c *telephony.Call) { c.CallID = "" }, fault.Invalid, "call_id"},
		{"no agent", func(c *telephony.Call) { c.AgentID = " " }, fault.Invalid, "agent_id"},
		{"bad direction", func(c *telephony.Call) { c.Direction = "sideways" }, fault.Invalid, "direction"},
		{"ends before it starts", func(c *telephony.Call) { c.EndedAt = c.StartedAt.Add(-time.Second) }, fault.Invalid, "ended_at"},
		{"bad case ref", func(c *telephony.Call) { c.CaseRef = "DOSSIER-12" }, fault.Invalid, "case_ref"},
		{"unknown competence", func(c *telephony.Call) { c.Competence = "police" }, fault.Invalid, "competence"},
		{"bad incident ref", func(c *telephony.Call) { c.Incident = "INC-12; DROP" }, fault.Invalid, "incident"},
		{"incident with a case", func(c *telephony.Call) { c.Incident, c.CaseRef = "INC-2026-000001", "AMP-2026-000001" }, fault.Invalid, "incident"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := call(fmt.Sprintf("bad-%d", i), telephony.FileTranscript("vtt", []byte(ok)))
			tt.change(&c)
			_, err := svc.Accept(context.Background(), c, telephony.From{Adapter: "telephony", System: "pbx"})
			if fault.KindOf(err) != tt.kind || !strings.Contains(err.Error(), tt.says) {
				t.Fatalf("got %v (kind %v), want kind %v mentioning %q", err, fault.KindOf(err), tt.kind, tt.says)
			}
		})
	}
	if n := testkit.StreamMsgs(t, st.Conn, bus.StreamRequests); n != 0 {
		t.Fatalf("%d requests published from bad calls", n)
	}
}

// A call's request id is the same for the same system, call id and start;
// another system's report of that call id, or another server's secret,
// gives another id, so that nobody can pre-empt or look up someone else's
// call by its id.
func TestRequestIDIsStableKeyedAndV7(t *testing.T) {
	st := stack.New(t, stack.Options{})
	svc := telephony.New(st.Intake, extract.New(st.Places), telephony.WithCompetences(st.Catalogue.Known))
	start := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	a, _ := svc.RequestID("pbx", "call-1", start)
	b, _ := svc.RequestID("pbx", "call-1", start)
	c, _ := svc.RequestID("pbx", "call-2", start)
	d, _ := svc.RequestID("intrus", "call-1", start)
	if a != b || a == c || a == d {
		t.Fatalf("ids %s %s %s %s", a, b, c, d)
	}
	other, err := intake.New(bus.NewPublisher(st.Conn.JS), st.Store, st.Validator, []byte("another-secret-0123456789"), testkit.NopLogger())
	if err != nil {
		t.Fatal(err)
	}
	if e, _ := telephony.New(other, extract.New(st.Places), telephony.WithCompetences(st.Catalogue.Known)).RequestID("pbx", "call-1", start); e == a {
		t.Fatalf("the id does not depend on the server's secret: %s", e)
	}
	if a[14] != '7' || !strings.ContainsRune("89ab", rune(a[19])) {
		t.Fatalf("%s is not a UUIDv7", a)
	}
	v, _ := schemas.NewValidator()
	raw := `{"id":"` + a + `","schema":"request.v1","channel":"phone","received_at":"2026-11-27T09:00:00Z","tracking_code":"7KQ4-M2XD-9HPA","source":{"adapter":"t"},"body":"","language":"fr"}`
	if err := v.ValidateRequest([]byte(raw)); err != nil {
		t.Fatal(err)
	}
}

// capture is an intake that keeps the requests instead of publishing them.
type capture struct{ reqs []schemas.Request }

func (c *capture) Submit(_ context.Context, req schemas.Request) (intake.Receipt, error) {
	c.reqs = append(c.reqs, req)
	return intake.Receipt{ID: req.ID}, nil
}

func (c *capture) DerivedID(namespace, key string, at time.Time) string {
	return intake.KeyedID([]byte("telephony-test-secret"), namespace, key, at)
}

// The agent's case reference is read as people type it, and the
// competence they choose is judged by the catalogue given, the embedded one
// by default.
func TestAgentChoicesAreReadAndJudged(t *testing.T) {
	places, err := territory.Load()
	if err != nil {
		t.Fatal(err)
	}
	ex := extract.New(places)
	withPolice := func(code string) bool { return code == "police" }
	tests := []struct {
		name    string
		opts    []telephony.Option
		ref     string
		comp    string
		wantRef string // "": refused
	}{
		{"canonical reference", nil, "AMP-2026-004213", "", "AMP-2026-004213"},
		{"reference in lower case, spaced", nil, "  amp-2026-004213 ", "", "AMP-2026-004213"},
		{"reference typed short", nil, "amp 2026 4213", "", "AMP-2026-004213"},
		{"not a reference", nil, "DOSSIER-12", "", ""},
		{"default catalogue knows voirie", nil, "", "voirie", "-"},
		{"default catalogue refuses police", nil, "", "police", ""},
		{"default catalogue refuses triage", nil, "", "triage", ""},
		{"a catalogue with police", []telephony.Option{telephony.WithCompetences(withPolice)}, "", "police", "-"},
		{"a catalogue without voirie", []telephony.Option{telephony.WithCompetences(withPolice)}, "", "voirie", ""},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := &capture{}
			c := call(fmt.Sprintf("choice-%d", i), nil)
			c.Summary, c.CaseRef, c.Competence = "Appel de suivi", tt.ref, tt.comp
			_, err := telephony.New(in, ex, tt.opts...).Accept(context.Background(), c, telephony.From{Adapter: "telephony"})
			if tt.wantRef == "" {
				if fault.KindOf(err) != fault.Invalid || len(in.reqs) != 0 {
					t.Fatalf("accepted (%v), want refused", err)
				}
				return
			}
			if err != nil || len(in.reqs) != 1 {
				t.Fatalf("refused: %v", err)
			}
			req := in.reqs[0]
			if tt.ref != "" && (req.Link == nil || req.Link.CaseRef != tt.wantRef) {
				t.Errorf("link %+v, want %s", req.Link, tt.wantRef)
			}
			if tt.comp != "" && (req.Hints == nil || req.Hints.Competence != tt.comp) {
				t.Errorf("hints %+v, want %s", req.Hints, tt.comp)
			}
		})
	}
}

// TestIncidentChosenByTheAgent: the incident the agent chose in « déjà
// signalé près d'ici » reaches the router as hints.incident.
func TestIncidentChosenByTheAgent(t *testing.T) {
	places, err := territory.Load()
	if err != nil {
		t.Fatal(err)
	}
	in := &capture{}
	c := call("incident-1", nil)
	c.Summary, c.Competence, c.Incident = "Le lampadaire du 3 rue Sainte est éteint, déjà signalé", "eclairage", "INC-2026-000042"
	if _, err := telephony.New(in, extract.New(places)).Accept(context.Background(), c, telephony.From{Adapter: "agent-console"}); err != nil {
		t.Fatal(err)
	}
	if len(in.reqs) != 1 || in.reqs[0].Hints == nil || in.reqs[0].Hints.Incident != "INC-2026-000042" || in.reqs[0].Hints.Competence != "eclairage" {
		t.Fatalf("requests %+v", in.reqs)
	}
}
