package casestore_test

import (
	"context"
	"testing"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/casestore"
)

func TestFindCitizens(t *testing.T) {
	s, b := setup(t)
	ctx := context.Background()
	var refs []string
	// Léa has an open case and a closed one; Karim one case; one anonymous case.
	for _, c := range []struct {
		who   casestore.Identity
		state string
	}{
		{casestore.Identity{Name: "Léa Martinez", Email: "lea@example.net", Phone: "+33639981427"}, "received"},
		{casestore.Identity{Name: "Léa Martinez", Email: "lea@example.net"}, "closed"},
		{casestore.Identity{Name: "Karim Benali", Phone: "+33465712774"}, "received"},
		{casestore.Identity{}, "received"},
	} {
		if _, err := s.Route(ctx, func(ctx context.Context, tx *casestore.RouteTx) error {
			cid, err := tx.ResolveCitizen(ctx, c.who)
			if err != nil {
				return err
			}
			row, err := tx.CreateCase(ctx, casestore.NewCase{Competence: "voirie", CitizenID: cid})
			if err != nil {
				return err
			}
			refs = append(refs, row.Ref)
			e := event(schemas.EventCreated)
			e.State = c.state
			_, err = tx.AppendEvent(ctx, row, e)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	closeCase(t, b.url, refs[1])

	tests := []struct {
		name      string
		q         casestore.CitizenQuery
		wantNames []string
		wantCases int
	}{
		{"by phone", casestore.CitizenQuery{Phone: "+33639981427"}, []string{"Léa Martinez"}, 2},
		{"by e-mail", casestore.CitizenQuery{Email: "lea@example.net"}, []string{"Léa Martinez"}, 2},
		{"by part of the name, any case", casestore.CitizenQuery{Name: "benA"}, []string{"Karim Benali"}, 1},
		{"a name with LIKE wildcards finds nothing", casestore.CitizenQuery{Name: "%"}, nil, 0},
		{"by case reference", casestore.CitizenQuery{CaseRef: refs[2]}, []string{"Karim Benali"}, 1},
		{"anonymous case by reference", casestore.CitizenQuery{CaseRef: refs[3]}, []string{""}, 1},
		{"unknown phone", casestore.CitizenQuery{Phone: "+33600000000"}, nil, 0},
		{"unknown reference", casestore.CitizenQuery{CaseRef: "AMP-2026-999999"}, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cards, err := s.FindCitizens(ctx, tt.q, 10, 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(cards) != len(tt.wantNames) {
				t.Fatalf("%d cards, want %d: %+v", len(cards), len(tt.wantNames), cards)
			}
			for i, c := range cards {
				if c.Name != tt.wantNames[i] || len(c.Cases) != tt.wantCases {
					t.Errorf("card %+v", c)
				}
				for _, k := range c.Cases {
					if len(k.Events) == 0 {
						t.Errorf("case %s without its timeline", k.Ref)
					}
				}
			}
		})
	}
	cards, _ := s.FindCitizens(ctx, casestore.CitizenQuery{Phone: "+33639981427"}, 10, 10)
	if cases := cards[0].Cases; !cases[0].Open() || cases[1].Open() {
		t.Errorf("open cases must come first: %+v", cases)
	}
}
