package classify_test

import (
	"testing"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/catalogue"
	"github.com/ampmetropole/guichet/services/routing/classify"
)

// BenchmarkClassifyRequest measures one classification with the shipped
// model and the catalogue's rules (the target is under 1 ms):
// go test -bench ClassifyRequest ./services/routing/classify
func BenchmarkClassifyRequest(b *testing.B) {
	m, err := classify.DefaultModel()
	if err != nil {
		b.Fatal(err)
	}
	cat, err := catalogue.Default()
	if err != nil {
		b.Fatal(err)
	}
	var rs []classify.Rule
	for _, c := range cat.Competences {
		for _, r := range c.Rules {
			rs = append(rs, classify.Rule{Competence: c.Code, Phrase: r.Phrase, Weight: r.Weight})
		}
	}
	rules, err := classify.CompileRules(rs)
	if err != nil {
		b.Fatal(err)
	}
	c := classify.New(m, rules)
	req := schemas.Request{Channel: schemas.ChannelWeb, Subject: "Trottoir dangereux",
		Body: "Bonjour, le trottoir devant le 47 boulevard de la Valbarelle est complètement soulevé sur une dizaine de mètres. " +
			"Ma mère est tombée jeudi dernier. Cela fait des années que c'est comme ça et personne ne fait rien. " +
			"Je veux une réparation et savoir à qui m'adresser pour l'assurance.",
		Citizen: &schemas.Citizen{Name: "Léa Martinez"}}
	b.ReportAllocs()
	for b.Loop() {
		if p := c.ClassifyRequest(req); p.Competence == "" {
			b.Fatal("no competence")
		}
	}
}
