package classify

import (
	"fmt"
	"strings"
	"unicode"
)

// Rule is a phrase of the catalogue that points to a competence (a positive
// weight) or away from it (a negative one).
type Rule struct {
	Competence string  `json:"competence"`
	Phrase     string  `json:"phrase"`
	Weight     float64 `json:"weight"`
}

// RuleHit is a rule a text matched.
type RuleHit struct {
	Rule
	Words string `json:"words"` // the text's words that matched
}

type compiledRule struct {
	Rule
	stems []string
	// word is the folded word an acronym must be (PLUi, CAF, TER): its
	// stem would match inside other words ("pluies", "café", "terres").
	word string
}

// acronym says whether a phrase is one word written with two capitals or
// more (PLU, PLUi, SCoT, PayByPhone): a name, matched as a whole word.
func acronym(phrase string) bool {
	if strings.ContainsFunc(strings.TrimSpace(phrase), unicode.IsSpace) {
		return false
	}
	upper := 0
	for _, r := range phrase {
		if unicode.IsUpper(r) {
			upper++
		}
	}
	return upper >= 2
}

// Rules are the catalogue's phrases, ready to match: each phrase goes
// through Analyze, so inflections and missing accents match too.
type Rules struct {
	byFirst map[string][]compiledRule
	n       int
}

// CompileRules prepares rules; a phrase made only of stop words or numbers
// cannot match anything and is refused.
func CompileRules(rs []Rule) (*Rules, error) {
	r := &Rules{byFirst: map[string][]compiledRule{}}
	for _, x := range rs {
		toks := Analyze(x.Phrase)
		if len(toks) == 0 {
			return nil, fmt.Errorf("classify: règle %q (%s) : aucun mot significatif", x.Phrase, x.Competence)
		}
		c := compiledRule{Rule: x}
		for _, t := range toks {
			c.stems = append(c.stems, t.Stem)
		}
		if len(toks) == 1 && acronym(x.Phrase) {
			c.word = Fold(toks[0].Word)
		}
		r.byFirst[c.stems[0]] = append(r.byFirst[c.stems[0]], c)
		r.n++
	}
	return r, nil
}

// Len is the number of rules.
func (r *Rules) Len() int {
	if r == nil {
		return 0
	}
	return r.n
}

// Match returns the rules toks contain, each once, in text order.
func (r *Rules) Match(toks []Token) []RuleHit {
	if r == nil {
		return nil
	}
	var hits []RuleHit
	seen := map[*compiledRule]bool{}
	for i, t := range toks {
		cands := r.byFirst[t.Stem]
		for k := range cands {
			c := &cands[k]
			if seen[c] || i+len(c.stems) > len(toks) || (c.word != "" && Fold(t.Word) != c.word) {
				continue
			}
			ok := true
			for j, s := range c.stems[1:] {
				if toks[i+1+j].Stem != s {
					ok = false
					break
				}
			}
			if ok {
				seen[c] = true
				words := make([]string, len(c.stems))
				for j := range c.stems {
					words[j] = toks[i+j].Word
				}
				hits = append(hits, RuleHit{Rule: c.Rule, Words: strings.Join(words, " ")})
			}
		}
	}
	return hits
}

// scores adds the hits' weights up per class.
func ruleScores(hits []RuleHit, classIndex map[string]int, n int) []float64 {
	s := make([]float64, n)
	for _, h := range hits {
		if i, ok := classIndex[h.Competence]; ok {
			s[i] += h.Weight
		}
	}
	return s
}
