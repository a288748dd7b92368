package personaldata

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/catalogue"
	"github.com/ampmetropole/guichet/services/platform/fault"
)

var update = flag.Bool("update", false, "rewrite the golden files and docs/registre.md")

// golden compares got with the file, or writes it with -update.
func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./services/cases/personaldata -update writes it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is stale: go test ./services/cases/personaldata -update, then review the diff\n--- got:\n%s", path, got)
	}
}

func TestSubjectNormalize(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		in   Subject
		want Subject
		err  string
	}{
		{"e-mail in capitals and spaces", Subject{Email: "  Zephyrin.Quenouille@Example.NET "}, Subject{Email: "zephyrin.quenouille@example.net"}, ""},
		{"French mobile, national", Subject{Phone: "07 56 12 34 56"}, Subject{Phone: "+33756123456"}, ""},
		{"mobile in E.164", Subject{Phone: "+33756123456"}, Subject{Phone: "+33756123456"}, ""},
		{"name with double spaces", Subject{Name: "  Zéphyrin   Quenouille-Arbogast "}, Subject{Name: "Zéphyrin Quenouille-Arbogast"}, ""},
		{"nothing", Subject{}, Subject{}, "une seule façon"},
		{"two at once", Subject{Email: "a@example.net", Phone: "0612345678"}, Subject{}, "une seule façon"},
		{"no e-mail", Subject{Email: "pas une adresse"}, Subject{}, "adresse électronique invalide"},
		{"two addresses", Subject{Email: "a@example.net, b@example.net"}, Subject{}, "adresse électronique invalide"},
		{"e-mail too long", Subject{Email: strings.Repeat("a", 400) + "@example.net"}, Subject{}, "trop longue"},
		{"no phone", Subject{Phone: "12"}, Subject{}, "numéro de téléphone invalide"},
		{"name too short", Subject{Name: "Lé"}, Subject{}, "trop court"},
		{"name too long", Subject{Name: strings.Repeat("é", 201)}, Subject{}, "trop long"},
		{"NUL", Subject{Name: "Léa\x00Martin"}, Subject{}, "non permis"},
		{"invalid UTF-8", Subject{Name: "L\xffa Martin"}, Subject{}, "non permis"},
	} {
		got, err := tt.in.Normalize()
		switch {
		case tt.err == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err) || fault.KindOf(err) != fault.Invalid):
			t.Errorf("%s: error %v, want an Invalid one saying %q", tt.name, err, tt.err)
		case got != tt.want:
			t.Errorf("%s: %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

func TestSubjectMasked(t *testing.T) {
	t.Parallel()
	for in, want := range map[Subject]Subject{
		{Email: "zephyrin.quenouille@example.net"}: {Email: "z•••••••@example.net"},
		{Email: "a@example.net"}:                   {Email: "•@example.net"},
		{Phone: "+33756123456"}:                    {Phone: "+•••••••56"},
		{Name: "Zéphyrin Quenouille-Arbogast"}:     {Name: "Z•••••••"},
		{Name: "Léa"}:                              {Name: "L••"},
	} {
		if got := in.Masked(); got != want {
			t.Errorf("%+v masked: %+v, want %+v", in, got, want)
		}
	}
}

// sample is an export written out by hand, with every field, so that the
// golden files show each name and its French rendering.
func sample(t *testing.T) Export {
	t.Helper()
	cat, err := catalogue.Default()
	if err != nil {
		t.Fatal(err)
	}
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	ptr := func(v time.Time) *time.Time { return &v }
	f := func(v float64) *float64 { return &v }
	org := cat.Organisation
	return Export{
		Schema: SchemaV1, GeneratedAt: at("2027-03-15T09:30:00Z"),
		Controller: Controller{Name: org.Name, Address: org.Address, DataProtectionContact: org.DataProtectionContact},
		Subject:    Subject{Email: "zephyrin.quenouille@example.net"},
		People: []Person{{ID: 42, Name: "Zéphyrin Quenouille-Arbogast", Email: "zephyrin.quenouille@example.net", Phone: "+33756123456",
			CreatedAt: at("2027-01-05T08:14:00Z"), UpdatedAt: at("2027-01-06T10:00:00Z")}},
		Requests: []Request{
			{ID: "019ac4e2-5b1a-7c3e-9a10-3f2b6d1e8a99", TrackingCode: "7KQ4-M2XD-9HPA", Channel: "web", ReceivedAt: at("2027-01-05T08:14:00Z"),
				Status: "routed", CaseRef: "AMP-2027-000123",
				Citizen: &schemas.Citizen{Name: "Zéphyrin Quenouille-Arbogast", Email: "zephyrin.quenouille@example.net", Phone: "+33756123456", PreferredReplyChannel: "email"},
				Subject: "Nid-de-poule devant chez moi", Body: "Un trou profond devant le 37 impasse des Tamaris-Bleus.\nDangereux pour les vélos.",
				Language: "fr",
				Place:    &Place{Address: "37 impasse des Tamaris-Bleus", PostalCode: "13007", CommuneINSEE: "13207", Commune: "Marseille 7e Arrondissement", Lat: f(43.2841), Lon: f(5.3622)},
				Attachments: []Attachment{{Name: "trou.jpg", ContentType: "image/jpeg", Size: 245760,
					SHA256: "9f2c1e4b7a3d5f60812c3b4a5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f80"}},
				Transcript: []schemas.Turn{},
				Routing: []Decision{{At: at("2027-01-05T08:14:01Z"), Outcome: "new_case", Competence: "voirie", Territory: "marseille-provence",
					Confidence: f(0.93), By: "router-v1", Reasons: []string{"classifieur : voirie 93 %"}}}},
			{ID: "019ac4e2-5b1a-7c3e-9a10-3f2b6d1e8b00", TrackingCode: "JVD0-PGQN-831Q", Channel: "phone", ReceivedAt: at("2027-01-06T10:00:00Z"),
				Status: "routed", CaseRef: "AMP-2027-000123",
				Citizen: &schemas.Citizen{Name: "Zéphyrin Quenouille-Arbogast", Phone: "+33756123456"},
				Subject: "Relance nid-de-poule", Body: "Le demandeur relance.", Language: "fr", Attachments: []Attachment{},
				Transcript: []schemas.Turn{{Speaker: "agent", Text: "Bonjour, que puis-je pour vous ?"}, {Speaker: "caller", Text: "Le trou est toujours là."}},
				Routing:    []Decision{},
				NoticesOff: true},
			{ID: "019ac4e2-5b1a-7c3e-9a10-3f2b6d1e8c11", TrackingCode: "M3LT-8QZP-4RDA", Channel: "mail", ReceivedAt: at("2027-01-07T09:00:00Z"),
				Status: "routed", CaseRef: "AMP-2027-000124",
				Citizen: &schemas.Citizen{Name: "Zéphyrin Quenouille-Arbogast", Address: &schemas.PostalAddress{Lines: []string{"37 impasse des Tamaris-Bleus"}, PostalCode: "13007", City: "Marseille"}},
				Body:    "Courrier numérisé", Language: "fr",
				Attachments: []Attachment{{Name: "courrier.pdf", ContentType: "application/pdf", Size: 1572864,
					SHA256: "0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9", ExtractedText: "Madame, Monsieur, le lampadaire est éteint."}},
				Transcript: []schemas.Turn{}, Routing: []Decision{}},
		},
		Cases: []Case{
			{Ref: "AMP-2027-000123", Competence: "voirie", CompetenceLabel: "Voirie", Service: "Direction de la voirie", Territory: "marseille-provence",
				TerritoryLabel: "Marseille-Provence", State: "closed", StateLabel: "close", Priority: "normal", OpenedAt: at("2027-01-05T08:14:01Z"),
				UpdatedAt: at("2027-02-01T16:00:00Z"), Deadline: ptr(at("2027-01-12T16:30:00Z")), Erased: []string{"transcripts"},
				Events: []Event{
					{At: at("2027-01-05T08:14:01Z"), Type: "created", Label: "dossier ouvert", State: "received", Summary: "Nid-de-poule devant chez moi"},
					{At: at("2027-01-08T09:00:00Z"), Type: "note_added", Label: "note interne du service", State: "in_progress", Summary: "note interne", Note: "Équipe passée."},
					{At: at("2027-02-01T16:00:00Z"), Type: "state_changed", Label: "changement d'état", State: "closed", Summary: "résolue → close"},
				}},
			{Ref: "AMP-2027-000124", Competence: "eclairage", CompetenceLabel: "Éclairage public", Service: "Service de l'éclairage public",
				State: "in_progress", StateLabel: "en cours de traitement", Priority: "normal", OpenedAt: at("2027-01-07T09:00:01Z"),
				UpdatedAt: at("2027-01-07T09:00:01Z"), Shared: true, HeldSince: ptr(at("2027-01-10T10:00:00Z")), Erased: []string{},
				Events: []Event{{At: at("2027-01-07T09:00:01Z"), Type: "created", Label: "dossier ouvert", State: "received"}}},
		},
		Replies: []Reply{{At: at("2027-01-20T14:00:00Z"), CaseRef: "AMP-2027-000123", Channel: "email", To: "zephyrin.quenouille@example.net",
			Subject: "Votre demande AMP-2027-000123", Message: "Bonjour,\n\nLa chaussée a été réparée.", By: "voirie-mp"}},
		Messages: []Message{{At: at("2027-01-05T08:14:05Z"), Kind: "acknowledgement", Label: "accusé de réception", To: "zephyrin.quenouille@example.net", Delivered: true}},
		Letters: []Letter{{CreatedAt: at("2027-01-07T09:00:05Z"), Kind: "acknowledgement", To: "Zéphyrin Quenouille-Arbogast\n37 impasse des Tamaris-Bleus\n13007 Marseille",
			Subject: "Accusé de réception de votre courrier", Body: "Madame, Monsieur,\n\nNous avons bien reçu votre courrier.", CaseRef: "AMP-2027-000124"}},
		Opinions:   []Opinion{{CaseRef: "AMP-2027-000123", Score: 4, Comment: "Rapide.", AnsweredAt: at("2027-02-02T08:00:00Z")}},
		SignIns:    []SignIn{{Kind: "link", Address: "zephyrin.quenouille@example.net", CreatedAt: at("2027-03-14T18:00:00Z"), ExpiresAt: at("2027-03-14T18:15:00Z"), UsedAt: ptr(at("2027-03-14T18:02:00Z")), IP: "192.0.2.7"}},
		Rejections: []Rejection{{ReceivedAt: at("2027-01-04T22:00:00Z"), Subject: "Absent", Reason: "réponse automatique"}},
		Accesses: []Access{{At: at("2027-01-08T08:59:00Z"), Actor: "voirie-mp", ActorKind: "account", Action: "case.view", Label: "consultation du dossier", Target: "AMP-2027-000123"},
			{At: at("2027-03-15T09:29:00Z"), Actor: "dpd", ActorKind: "account", Action: ActionExport, Label: "extraction de ses données (droit d'accès)", Target: "zephyrin.quenouille@example.net"}},
		Retention:  Schedule(cat),
		Incomplete: []string{},
	}
}

// The export's JSON names and its French document are a contract with
// the DPO's tools and with the people who receive them: a change shows
// in these files.
func TestExportGolden(t *testing.T) {
	e := sample(t)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(e); err != nil {
		t.Fatal(err)
	}
	golden(t, filepath.Join("testdata", "export.golden.json"), buf.Bytes())
	text := e.Text()
	golden(t, filepath.Join("testdata", "export.golden.txt"), []byte(text))
	for _, want := range []string{"Zéphyrin Quenouille-Arbogast", "07 56 12 34 56", "37 impasse des Tamaris-Bleus", "trou.jpg (image/jpeg, 240 Kio)",
		"Le trou est toujours là.", "le lampadaire est éteint", "La chaussée a été réparée.", "note 4 sur 5", "consultation du dossier, par voirie-mp",
		"regroupe aussi les demandes d'autres personnes", "1 an après la clôture du dossier"} {
		if !strings.Contains(text, want) {
			t.Errorf("the French document lacks %q", want)
		}
	}
	var back Export
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil || back.Requests[1].Transcript[1].Text != "Le trou est toujours là." {
		t.Errorf("the JSON does not read back: %v", err)
	}
}

// An empty export says so, with every list empty (never null).
func TestEmptyExport(t *testing.T) {
	cat, err := catalogue.Default()
	if err != nil {
		t.Fatal(err)
	}
	e := Export{Schema: SchemaV1, Subject: Subject{Phone: "+33612345678"}, People: []Person{}, Requests: []Request{}, Cases: []Case{},
		Replies: []Reply{}, Messages: []Message{}, Letters: []Letter{}, Opinions: []Opinion{}, SignIns: []SignIn{}, Rejections: []Rejection{},
		Accesses: []Access{}, Incomplete: []string{}, Retention: Schedule(cat)}
	if !e.Empty() || !strings.Contains(e.Text(), "Aucune donnée n'est détenue sur cette personne.") || !strings.Contains(e.Text(), "06 12 34 56 78") {
		t.Errorf("empty export:\n%s", e.Text())
	}
	raw, _ := json.Marshal(e)
	if bytes.Contains(raw, []byte("null")) {
		t.Errorf("a list is null: %s", raw)
	}
}

// docConfig is the configuration the register of docs/registre.md is
// written for: each outside recipient named by the setting that chooses
// it, the map with its default tiles.
var docConfig = RegisterConfig{SMS: "GUICHET_SMPP_ADDR", MailServer: "GUICHET_SMTP_URL", Mailbox: "GUICHET_IMAP_URL",
	FranceConnect: "GUICHET_FRANCECONNECT_ISSUER", StaffSSO: "GUICHET_OIDC_ISSUER", MapTiles: "https://data.geopf.fr",
	Geocoder: "GUICHET_GEOCODER_URL"}

// RegisterPage is docs/registre.md: the register of the shipped catalogue.
func registerPage(r Register) string {
	return "<!-- Written by `go test ./services/cases/personaldata -update` from the shipped catalogue: edit the catalogue\n" +
		"     (services/cases/catalogue/catalogue.json) or services/cases/personaldata/register.go, not this page.\n" +
		"     The register of a running Guichet, with its own configuration: `guichet rgpd registre`. -->\n\n" + r.Markdown()
}

// The register is written from the catalogue: every competence is a
// purpose, every team a recipient, the schedule its durations; the
// configuration's outside recipients are named or said absent.
func TestRegisterGolden(t *testing.T) {
	cat, err := catalogue.Default()
	if err != nil {
		t.Fatal(err)
	}
	r := BuildRegister(cat, docConfig)
	raw, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, filepath.Join("testdata", "registre.golden.json"), append(raw, '\n'))
	golden(t, filepath.Join("..", "..", "..", "docs", "registre.md"), []byte(registerPage(r)))
	md := r.Markdown()
	for _, k := range cat.Competences {
		if !strings.Contains(md, "(`"+k.Code+"`) | "+k.Service) {
			t.Errorf("the register has no purpose for %s", k.Code)
		}
	}
	for _, rule := range cat.Retention.Rules() {
		if !strings.Contains(md, "| "+rule.Label+" | ") {
			t.Errorf("the register has no duration for %s", rule.Artifact)
		}
	}
	bare := BuildRegister(cat, RegisterConfig{}).Markdown()
	for _, want := range []string{"**Opérateur SMS** : non configuré", "**FranceConnect** : non configuré", "**Serveur du fond de carte** : non configuré"} {
		if !strings.Contains(bare, want) {
			t.Errorf("a register without outside recipients lacks %q", want)
		}
	}
	if strings.Contains(BuildRegister(cat, RegisterConfig{MailServer: Host("smtps://guichet:motdepasse@smtp.example.net:465")}).Markdown(), "motdepasse") {
		t.Error("the register shows the mail server's password")
	}
}

// The register's security measures are docs/security.md's boundaries:
// each heading it names is there.
func TestSecurityMeasuresFollowTheDocs(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "..", "docs", "security.md"))
	if err != nil {
		t.Fatal(err)
	}
	headings := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^#{2,3} (.+)$`).FindAllStringSubmatch(string(doc), -1) {
		headings[m[1]] = true
	}
	for _, m := range securityMeasures {
		if !headings[m.Heading] {
			t.Errorf("docs/security.md has no heading %q any more: update securityMeasures", m.Heading)
		}
	}
	if len(securityMeasures) < 8 {
		t.Errorf("%d measures", len(securityMeasures))
	}
}
