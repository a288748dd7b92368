package classify

import (
	"regexp"
	"strings"

	"github.com/ampmetropole/guichet/schemas"
)

var (
	// politeness are the formulas that open and close letters and calls:
	// the same in every request, they say nothing of its subject.
	politeness = regexp.MustCompile(`(?i)^\s*(je vous prie d|veuillez agr|recevez|dans l'attente|en vous remerciant|je vous remercie|bien cordialement|cordialement|salutations|avec mes|madame,? monsieur|monsieur,? madame|madame|monsieur|p\.\s?j\.|pi[eè]ces? jointes?)`)
	// greeting is the agent's opening turn ("métropole aix marseille
	// provence bonjour", "allô métropole je vous écoute"): the same in every
	// call.
	greeting = regexp.MustCompile(`(?i)^\s*(all[oô],? )?(m[ée]tropole|bonjour)`)
	// defaultSubjects are subjects a channel sets when the citizen gave none.
	defaultSubjects = map[string]bool{"appel téléphonique": true, "appel sortant": true}
)

// TextOf is the text of a request the classifier reads, per channel: the
// subject and body of a web form or an e-mail; for a call, the agent's
// summary, the caller's words and every turn of the agent but the greeting
// (the agent names the service, restates the place and the object in the
// words of the administration, which the caller may not have); the body of a letter without the formulas of politeness (the
// sender's and recipient's blocks are already left out of the body).
func TextOf(req schemas.Request) string {
	var parts []string
	if s := strings.TrimSpace(req.Subject); s != "" && !defaultSubjects[strings.ToLower(s)] {
		parts = append(parts, s)
	}
	switch req.Channel {
	case schemas.ChannelMail:
		var keep []string
		for line := range strings.SplitSeq(req.Body, "\n") {
			if !politeness.MatchString(line) {
				keep = append(keep, line)
			}
		}
		parts = append(parts, strings.Join(keep, "\n"))
	case schemas.ChannelPhone:
		parts = append(parts, req.Body)
		for _, t := range req.Transcript {
			if t.Speaker == "agent" && !greeting.MatchString(t.Text) {
				parts = append(parts, t.Text)
			}
		}
	default:
		parts = append(parts, req.Body)
	}
	return strings.Join(parts, "\n")
}

// ClassifyRequest classifies a request from TextOf, with the citizen's
// name taken out: who writes is never a reason for where a request goes.
func (c *Classifier) ClassifyRequest(req schemas.Request) Prediction {
	return c.ClassifyTokens(c.Analyze(TextOf(req)), req.Citizen)
}

// ClassifyTokens is ClassifyRequest of a request whose text (TextOf) was
// already analysed: the router analyses it once for the classifier and
// for linking.
func (c *Classifier) ClassifyTokens(toks []Token, who *schemas.Citizen) Prediction {
	return c.predict(withoutIdentity(toks, who))
}

// RequestTokens is what ClassifyRequest reads, for training on requests
// built by the channels exactly as in production.
func RequestTokens(req schemas.Request) []Token {
	return withoutIdentity(Analyze(TextOf(req)), req.Citizen)
}

func withoutIdentity(toks []Token, who *schemas.Citizen) []Token {
	if who == nil || who.Name == "" {
		return toks
	}
	name := map[string]bool{}
	for _, w := range strings.Fields(Fold(who.Name)) {
		if w = strings.Trim(w, ".,;:'-"); len(w) >= 3 {
			name[w] = true
		}
	}
	out := toks[:0:0]
	for _, t := range toks {
		if !name[Fold(t.Word)] {
			out = append(out, t)
		}
	}
	return out
}
