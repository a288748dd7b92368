package casestore_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/casestore"
)

// routeRequest records req as routed to a new case of the citizen who (none
// when who is empty) and returns the case's reference.
func routeRequest(t *testing.T, s *casestore.Store, req schemas.Request, who casestore.Identity, more ...schemas.CaseEvent) string {
	t.Helper()
	v, _ := schemas.NewValidator()
	raw, err := v.EncodeRequest(req)
	if err != nil {
		t.Fatal(err)
	}
	var ref string
	if _, err := s.Route(context.Background(), func(ctx context.Context, tx *casestore.RouteTx) error {
		if err := tx.ClaimRequest(ctx, req, raw); err != nil {
			return err
		}
		cid, err := tx.ResolveCitizen(ctx, who)
		if err != nil {
			return err
		}
		c, err := tx.CreateCase(ctx, casestore.NewCase{Competence: "voirie", CitizenID: cid})
		if err != nil {
			return err
		}
		ref = c.Ref
		e := event(schemas.EventCreated)
		e.RequestID = req.ID
		if _, err := tx.AppendEvent(ctx, c, e); err != nil {
			return err
		}
		for _, e := range more {
			if _, err := tx.AppendEvent(ctx, c, e); err != nil {
				return err
			}
		}
		return tx.FinishRequest(ctx, req.ID, c.ID, cid)
	}); err != nil {
		t.Fatal(err)
	}
	return ref
}

// A caller is found by the street or the commune of their requests, as
// given in the form (address, postal code, commune) or said in the text;
// each case comes with what was asked, where, its photos and last answer.
func TestFindCitizensByPlace(t *testing.T) {
	s, _ := setup(t)
	ctx := context.Background()
	photo := schemas.Attachment{Name: "trou.jpg", ContentType: "image/jpeg", Size: 1000, SHA256: strings.Repeat("ab", 32), ObjectKey: "sha256/" + strings.Repeat("ab", 32)}
	pdf := schemas.Attachment{Name: "plan.pdf", ContentType: "application/pdf", Size: 1000, SHA256: strings.Repeat("cd", 32), ObjectKey: "sha256/" + strings.Repeat("cd", 32)}
	req := func(subject, body string, loc *schemas.Location, files ...schemas.Attachment) schemas.Request {
		r, _ := newRequest(t)
		r.Subject, r.Body, r.Location, r.Attachments = subject, body, loc, files
		time.Sleep(2 * time.Millisecond) // distinct UUIDv7 milliseconds: the order of arrival
		return r
	}
	replied := func(channel, message string) schemas.CaseEvent {
		e := event(schemas.EventReplied)
		e.Data = map[string]any{"channel": channel, "message": message}
		return e
	}
	lea := routeRequest(t, s, req("Nid-de-poule", "Un trou profond sur la chaussée.", &schemas.Location{Address: "45 rue Paradis", PostalCode: "13006", CommuneINSEE: "13206"}, pdf, photo),
		casestore.Identity{Name: "Léa Martinez", Email: "lea@example.net"},
		replied("email", "Nos équipes interviennent jeudi."), replied("callback", "Rappeler Mme Martinez."))
	anon := routeRequest(t, s, req("Trottoir", "Dalle cassée.", &schemas.Location{Address: "12, Rue  Paradis", PostalCode: "13006"}), casestore.Identity{})
	routeRequest(t, s, req("Conteneur", "Le conteneur déborde devant le 3 avenue des Goums à Aubagne.", nil), casestore.Identity{Name: "Karim Benali", Email: "karim@example.org"})
	routeRequest(t, s, req("Tags", "Tags sur le mur de l'école.", &schemas.Location{CommuneINSEE: "13005"}), casestore.Identity{Name: "Inès Haddad", Email: "ines@example.org"})
	routeRequest(t, s, req("Banc", "Banc arraché.", &schemas.Location{PostalCode: "13400"}), casestore.Identity{Name: "Paul Roche", Email: "paul@example.org"})
	routeRequest(t, s, req("Lampadaire", "Éteint.", &schemas.Location{Address: "2 cours Mirabeau", PostalCode: "13100", CommuneINSEE: "13001"}), casestore.Identity{Name: "Marc Aixois", Email: "marc@example.org"})

	for _, tt := range []struct {
		name  string
		q     casestore.CitizenQuery
		names []string // "" for the card of cases without a known citizen, last
	}{
		{"a street as given in the form", casestore.CitizenQuery{Place: "rue Paradis"}, []string{"Léa Martinez", ""}},
		{"any case, accents, words out of order", casestore.CitizenQuery{Place: "PARADÍS rue"}, []string{"Léa Martinez", ""}},
		{"a commune: as given, as a postal code, or in the text", casestore.CitizenQuery{Place: "aubagne"}, []string{"Paul Roche", "Inès Haddad", "Karim Benali"}},
		{"a postal code", casestore.CitizenQuery{Place: "13400"}, []string{"Paul Roche", "Inès Haddad"}},
		{"Marseille and its arrondissements", casestore.CitizenQuery{Place: "Marseille"}, []string{"Léa Martinez", ""}},
		{"a commune with hyphens, typed without", casestore.CitizenQuery{Place: "aix en provence"}, []string{"Marc Aixois"}},
		{"name first, then place, each once", casestore.CitizenQuery{Name: "Karim", Place: "Aubagne"}, []string{"Karim Benali", "Paul Roche", "Inès Haddad"}},
		{"a street nobody gave", casestore.CitizenQuery{Place: "rue Inconnue"}, nil},
		{"LIKE wildcards match nothing", casestore.CitizenQuery{Place: "%_%"}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cards, err := s.FindCitizens(ctx, tt.q, 10, 10)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, c := range cards {
				names = append(names, c.Name)
			}
			if strings.Join(names, "|") != strings.Join(tt.names, "|") {
				t.Errorf("found %q, want %q", names, tt.names)
			}
		})
	}

	cards, err := s.FindCitizens(ctx, casestore.CitizenQuery{Place: "rue Paradis"}, 1, 10)
	if err != nil || len(cards) != 1 {
		t.Fatalf("limit 1: %d cards, %v", len(cards), err)
	}
	cards, _ = s.FindCitizens(ctx, casestore.CitizenQuery{Email: "lea@example.net"}, 10, 10)
	c := cards[0].Cases[0]
	if c.Ref != lea || c.Subject != "Nid-de-poule" || c.Description != "Un trou profond sur la chaussée." ||
		c.Place == nil || c.Place.Address != "45 rue Paradis" || c.Place.PostalCode != "13006" {
		t.Errorf("case details %+v", c)
	}
	if len(c.Photos) != 1 || c.Photos[0].SHA256 != photo.SHA256 {
		t.Errorf("photos %+v (the PDF is no photo)", c.Photos)
	}
	if c.LastReply == nil || c.LastReply.Message != "Nos équipes interviennent jeudi." {
		t.Errorf("last reply %+v (a call-back to make is no answer)", c.LastReply)
	}
	cards, _ = s.FindCitizens(ctx, casestore.CitizenQuery{CaseRef: anon}, 10, 10)
	if len(cards) != 1 || cards[0].ID != 0 || cards[0].Cases[0].LastReply != nil || len(cards[0].Cases[0].Photos) != 0 {
		t.Errorf("anonymous case %+v", cards)
	}
}
