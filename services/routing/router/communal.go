package router

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/cases/catalogue"
	"github.com/ampmetropole/guichet/services/cases/lifecycle"
	"github.com/ampmetropole/guichet/services/routing/classify"
)

// WithCommunalMatters lets the engine hand over to the mairie the requests
// it finds outside the Métropole's remit that name a communal matter, when
// it knows their commune.
func (e *Engine) WithCommunalMatters(m []catalogue.CommunalMatter) *Engine {
	e.communal = m
	return e
}

// communalMatter is the communal matter the request names, if any: a word
// of the catalogue found whole in its folded text.
func (e *Engine) communalMatter(req schemas.Request) (catalogue.CommunalMatter, string, bool) {
	if len(e.communal) == 0 {
		return catalogue.CommunalMatter{}, "", false
	}
	text := " " + strings.Join(strings.FieldsFunc(classify.Fold(classify.TextOf(req)), func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '\'')
	}), " ") + " "
	for _, m := range e.communal {
		for _, w := range m.Words {
			if strings.Contains(text, " "+w+" ") {
				return m, w, true
			}
		}
	}
	return catalogue.CommunalMatter{}, "", false
}

// handOver redirects a case the router has just opened outside the
// Métropole's remit to the mairie of the commune it is located in, when
// its request names a communal matter: the citizen is told where their
// request went, and the mairie receives it (its desk, e-mail, webhooks).
// It returns the state_changed event, or nil when the case stays.
func (e *Engine) handOver(ctx context.Context, tx Tx, req schemas.Request, c *casestore.CaseRow, where located, d *casestore.Decision) (*schemas.CaseEvent, error) {
	if c.Competence != schemas.CompetenceHorsCompetence || !where.ok || where.res.Commune == nil {
		return nil, nil
	}
	m, word, ok := e.communalMatter(req)
	if !ok {
		return nil, nil
	}
	commune := where.res.Commune
	to := "la mairie de " + commune.Name
	why := fmt.Sprintf("hors compétence de la Métropole, affaire communale (%s, lu « %s ») : transmise à %s", m.Label, word, to)
	d.Reasons = append(d.Reasons, casestore.Reason{Code: "communal_matter", Detail: why})
	from := c.State
	if err := tx.RedirectToCommune(ctx, c, commune.INSEE, to); err != nil {
		return nil, err
	}
	id, _ := uuid.NewV7()
	ev := schemas.CaseEvent{ID: id.String(), Schema: schemas.CaseEventV1, Type: schemas.EventStateChanged,
		At: e.now().UTC().Truncate(time.Millisecond), Actor: schemas.Actor{Kind: "router", ID: e.Version()},
		Competence: c.Competence, Territory: c.Territory, State: c.State, RequestID: req.ID, Channel: req.Channel,
		Summary: fmt.Sprintf("%s → %s", lifecycle.Label(from), lifecycle.Label(c.State)),
		Data: map[string]any{"from": from, "to": c.State, "redirect_to": to, "redirected_commune": commune.INSEE,
			"communal_matter": m.Code, "reason": why}}
	if _, err := tx.AppendEvent(ctx, *c, ev); err != nil {
		return nil, err
	}
	return &ev, nil
}
