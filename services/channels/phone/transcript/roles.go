package transcript

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Words that, leading or inside a speaker label, name the agent's side or
// the caller's (folded: lower case, no accents).
var (
	agentWords = map[string]bool{
		"agent": true, "agente": true, "conseiller": true, "conseillere": true, "operateur": true, "operatrice": true,
		"teleconseiller": true, "teleconseillere": true, "teleoperateur": true, "teleoperatrice": true,
		"standardiste": true, "accueil": true, "hotesse": true, "metropole": true,
		"operator": true, "advisor": true, "representative": true,
	}
	callerWords = map[string]bool{
		"appelant": true, "appelante": true, "usager": true, "usagere": true, "citoyen": true, "citoyenne": true,
		"client": true, "cliente": true, "interlocuteur": true, "interlocutrice": true, "administre": true, "administree": true,
		"demandeur": true, "demandeuse": true, "requerant": true, "requerante": true, "habitant": true, "habitante": true,
		"riverain": true, "riveraine": true, "correspondant": true, "correspondante": true, "particulier": true,
		"caller": true, "customer": true,
	}
	// noiseWords are bracketed annotations that are not speakers.
	noiseWords = map[string]bool{
		"rires": true, "rire": true, "inaudible": true, "musique": true, "silence": true, "bruit": true, "pause": true,
		"diaphonie": true, "incomprehensible": true, "attente": true, "sonnerie": true, "music": true, "laughter": true,
	}
	// anonymousLabel matches labels that number speakers without naming
	// their role: spk_0, SPEAKER_00, Speaker 1, Locuteur 2, ch_0, S1…
	anonymousLabel = regexp.MustCompile(`(?i)^(?:(?:spk|speaker|locuteur|locutrice|intervenant|intervenante|interlocuteur|interlocutrice|participant|participante|personne|voix|orateur|oratrice)[ _-]?(?:\d{1,3}|[a-z])|(?:ch|channel|canal|voie)[ _-]?\d{1,2}|s\d{1,2})$`)
	// channelLabel matches the labels of audio channels: ch_0, ch_1…
	channelLabel = regexp.MustCompile(`(?i)^(?:ch|channel|canal|voie)[ _-]?(\d{1,2})$`)
)

// greetingCue is a phrase whose presence in a speaker's first turns tells the agent
// (positive weight) or the caller (negative weight).
type greetingCue struct {
	folded string  // as fold writes it
	shown  string  // as a human reads it
	weight float64 // evidence for the agent
}

// greetingCues: what an agent of the Métropole says when picking up, and
// what a caller says first. A speaker scoring 2 or more greets.
var greetingCues = []greetingCue{
	{"metropole", "métropole", 2},
	{"aix marseille provence", "Aix-Marseille-Provence", 1},
	{"que puis je", "que puis-je", 2},
	{"en quoi puis je", "en quoi puis-je", 2},
	{"comment puis je", "comment puis-je", 2},
	{"puis je vous aider", "puis-je vous aider", 2},
	{"je peux vous aider", "je peux vous aider", 2},
	{"je peux faire pour vous", "je peux faire pour vous", 2},
	{"je vous ecoute", "je vous écoute", 2},
	{"vous etes bien", "vous êtes bien", 2},
	{"vous etes en relation", "vous êtes en relation", 2},
	{"bienvenue", "bienvenue", 1.5},
	{"a votre service", "à votre service", 1.5},
	{"service", "service", 1},
	{"standard", "standard", 1},
	{"allo", "allô", 0.5},
	// What callers say first.
	{"je vous appelle", "", -1.5},
	{"j appelle", "", -1.5},
	{"je voudrais", "", -1},
	{"j aimerais", "", -1},
	{"je souhaite", "", -1},
	{"je souhaiterais", "", -1},
	{"j ai un probleme", "", -1},
	{"mon dossier", "", -1},
	{"chez moi", "", -1},
	{"devant chez", "", -1},
	{"signaler", "", -1},
	{"c est bien la metropole", "", -2},
	{"je suis bien a la metropole", "", -2},
}

// Greeting thresholds and confidences.
const (
	greets          = 2.0  // score from which a speaker greets as an agent
	greetsFaintly   = 1.0  // score from which another speaker greets too
	greetWindow     = 12   // turns of the call looked at
	greetTurns      = 2    // first turns of each speaker looked at
	confGreeting    = 0.9  // only one speaker greets
	confGreetingRel = 0.75 // one greets at least twice as clearly as the others
	confChannel     = 0.6
	confFirst       = 0.55
	confPartial     = 0.8 // one role named, the other inferred
)

// fold writes s for matching: lower case, accents dropped, every run of
// other characters than letters and digits one space.
func fold(s string) string {
	var b strings.Builder
	space := false
	for _, r := range norm.NFD.String(s) {
		switch {
		case unicode.Is(unicode.Mn, r):
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteRune(unicode.ToLower(r))
		default:
			space = true
		}
	}
	return b.String()
}

// splitLabel recognises a speaker label leading a line: "Agent: …",
// "Agent : …", "Conseillère Sophie : …", "Appelant (M. Durand) : …",
// "[SPEAKER_00]: …", "SPEAKER_00: …", "spk_0: …", "- Appelant : …". It
// returns the label and the rest of the line.
func splitLabel(line string) (lab, rest string, ok bool) {
	s := strings.TrimSpace(line)
	s = strings.TrimSpace(strings.TrimLeft(s, "-–—"))
	if s == "" {
		return "", "", false
	}
	if s[0] == '[' {
		j := strings.IndexByte(s, ']')
		if j < 0 || j > 64 {
			return "", "", false
		}
		inner := strings.TrimSpace(s[1:j])
		after := strings.TrimLeftFunc(s[j+1:], unicode.IsSpace)
		if strings.HasPrefix(after, ":") {
			if inner == "" || utf8.RuneCountInString(inner) > 40 || noiseWords[fold(inner)] {
				return "", "", false
			}
			if _, isTime := parseClock(inner); isTime {
				return "", "", false
			}
			return inner, after[1:], true
		}
		if isSpeakerName(inner) {
			return inner, after, true
		}
		return "", "", false
	}
	j := strings.IndexByte(s, ':')
	if j <= 0 || j > 64 {
		return "", "", false
	}
	cand := strings.TrimSpace(s[:j])
	if !isSpeakerName(cand) {
		return "", "", false
	}
	return cand, s[j+1:], true
}

// isSpeakerName says whether s, written before a colon, names a speaker:
// a numbered anonymous speaker, or up to four words led by a role word.
func isSpeakerName(s string) bool {
	if s == "" || utf8.RuneCountInString(s) > 40 {
		return false
	}
	if anonymousLabel.MatchString(s) {
		return true
	}
	words := strings.Fields(fold(s))
	return len(words) > 0 && len(words) <= 4 && (agentWords[words[0]] || callerWords[words[0]])
}

// roleOfLabel is the role a label names, RoleUnknown when it names none
// (spk_0, SPEAKER_01, "2", ch_1, a first name…).
func roleOfLabel(l string) Role {
	if anonymousLabel.MatchString(l) {
		return RoleUnknown
	}
	for _, w := range strings.Fields(fold(l)) {
		switch {
		case agentWords[w]:
			return RoleAgent
		case callerWords[w]:
			return RoleCaller
		}
	}
	return RoleUnknown
}

// attribute sets the role of every turn and says how it was decided.
func attribute(turns []Turn) Attribution {
	var labels []string
	seen := map[string]bool{}
	for _, t := range turns {
		if t.Label != "" && !seen[t.Label] {
			seen[t.Label] = true
			labels = append(labels, t.Label)
		}
	}
	if len(labels) == 0 {
		return Attribution{Method: MethodNone,
			Detail: "Aucun tour de parole ne nomme son locuteur : impossible de distinguer l'agent de l'appelant."}
	}
	roles := map[string]Role{}
	var agents, callers, others []string
	for _, l := range labels {
		switch r := roleOfLabel(l); r {
		case RoleAgent:
			agents = append(agents, l)
			roles[l] = r
		case RoleCaller:
			callers = append(callers, l)
			roles[l] = r
		default:
			others = append(others, l)
		}
	}
	var a Attribution
	switch {
	case len(agents) > 0 || len(callers) > 0:
		a = byLabels(turns, roles, agents, callers, others)
	case len(labels) == 1:
		return Attribution{Method: MethodNone,
			Detail: fmt.Sprintf("Un seul locuteur (%s) : impossible de distinguer l'agent de l'appelant.", labels[0])}
	default:
		var agent string
		agent, a = decide(turns, labels, "")
		for _, l := range labels {
			roles[l] = RoleCaller
		}
		roles[agent] = RoleAgent
	}
	a.Detail = capitalize(a.Detail)
	for i := range turns {
		if r, ok := roles[turns[i].Label]; ok && turns[i].Label != "" {
			turns[i].Role = r
		} else {
			turns[i].Role = RoleUnknown
		}
	}
	return a
}

// byLabels attributes roles when labels name some of them.
func byLabels(turns []Turn, roles map[string]Role, agents, callers, others []string) Attribution {
	a := Attribution{Method: MethodLabels, Confidence: 1}
	if len(agents) > 0 {
		a.AgentLabel = agents[0]
	}
	switch {
	case len(agents) > 0 && len(callers) > 0:
		a.Detail = fmt.Sprintf("Les étiquettes nomment les rôles : %s pour l'agent, %s pour l'appelant", quoted(agents), quoted(callers))
		if len(others) > 0 {
			a.Confidence = 0.9
			a.Detail += fmt.Sprintf(" ; %s reste sans rôle", speakers(others))
		}
		a.Detail += "."
	case len(agents) > 0 && len(others) == 0:
		a.Detail = fmt.Sprintf("Seul l'agent est nommé (%s) : aucun tour n'est attribué à l'appelant.", quoted(agents))
	case len(agents) > 0:
		for _, l := range others {
			roles[l] = RoleCaller
		}
		a.Confidence = confPartial
		a.Detail = fmt.Sprintf("%s est nommé comme agent ; %s, non nommé, est donc l'appelant.", quoted(agents), speakers(others))
	case len(others) == 0:
		a.Detail = fmt.Sprintf("Seul l'appelant est nommé (%s) : aucun tour n'est attribué à l'agent.", quoted(callers))
	case len(others) == 1:
		roles[others[0]] = RoleAgent
		a.AgentLabel = others[0]
		a.Confidence = confPartial
		a.Detail = fmt.Sprintf("%s est nommé comme appelant ; %s, l'autre locuteur, est donc l'agent.", quoted(callers), speaker(others[0]))
	default:
		agent, d := decide(turns, others, fmt.Sprintf("%s est nommé comme appelant ; parmi les autres locuteurs, ", quoted(callers)))
		for _, l := range others {
			roles[l] = RoleCaller
		}
		roles[agent] = RoleAgent
		d.Confidence = min(d.Confidence, confPartial)
		return d
	}
	return a
}

// decide picks the agent among anonymous speakers: the one who greets on
// behalf of the service, else the first audio channel, else the first
// speaker. The others are callers.
func decide(turns []Turn, candidates []string, prefix string) (string, Attribution) {
	isCand := map[string]bool{}
	for _, c := range candidates {
		isCand[c] = true
	}
	// Greeting: each speaker's first turns near the start of the call.
	early := map[string][]string{}
	for i, t := range turns {
		if i >= greetWindow {
			break
		}
		if isCand[t.Label] && len(early[t.Label]) < greetTurns {
			early[t.Label] = append(early[t.Label], t.Text)
		}
	}
	type score struct {
		label string
		value float64
		cues  []string
	}
	var scores []score
	for _, c := range candidates {
		text := " " + fold(strings.Join(early[c], " ")) + " "
		s := score{label: c}
		for _, g := range greetingCues {
			if strings.Contains(text, " "+g.folded+" ") {
				s.value += g.weight
				if g.weight > 0 && len(s.cues) < 3 {
					s.cues = append(s.cues, "« "+g.shown+" »")
				}
			}
		}
		scores = append(scores, s)
	}
	sort.SliceStable(scores, func(i, j int) bool { return scores[i].value > scores[j].value })
	best, second := scores[0], scores[1]
	if best.value >= greets && (second.value < greetsFaintly || best.value >= 2*second.value) {
		a := Attribution{Method: MethodGreeting, Confidence: confGreeting, AgentLabel: best.label}
		how := "accueille l'appel comme un agent"
		if strings.Contains(strings.Join(best.cues, " "), "métropole") {
			how = "salue au nom de la Métropole"
		}
		a.Detail = fmt.Sprintf("%s%s %s (%s) : c'est l'agent", prefix, speaker(best.label), how, strings.Join(best.cues, ", "))
		if second.value >= greetsFaintly {
			a.Confidence = confGreetingRel
			a.Detail += fmt.Sprintf(" ; %s salue aussi, moins nettement", speaker(second.label))
		}
		a.Detail += callersSentence(candidates, best.label)
		return best.label, a
	}
	// Channel: the first channel is the agent's.
	agent, lowest := "", -1
	for _, c := range candidates {
		m := channelLabel.FindStringSubmatch(c)
		if m == nil {
			agent = ""
			break
		}
		n, _ := strconv.Atoi(m[1])
		if lowest < 0 || n < lowest {
			agent, lowest = c, n
		}
	}
	if agent != "" {
		return agent, Attribution{Method: MethodChannel, Confidence: confChannel, AgentLabel: agent,
			Detail: fmt.Sprintf("%sAucun locuteur ne salue au nom du service ; par convention, le premier canal (%s) est celui de l'agent%s",
				prefix, speaker(agent), callersSentence(candidates, agent))}
	}
	// First speaker of an inbound call.
	for _, t := range turns {
		if isCand[t.Label] {
			agent = t.Label
			break
		}
	}
	return agent, Attribution{Method: MethodFirstSpeaker, Confidence: confFirst, AgentLabel: agent,
		Detail: fmt.Sprintf("%sAucun locuteur ne salue au nom du service ; %s parle en premier, ce qui désigne l'agent d'un appel entrant%s",
			prefix, speaker(agent), callersSentence(candidates, agent))}
}

// callersSentence ends a Detail: " ; spk_0 est l'appelant."
func callersSentence(candidates []string, agent string) string {
	var rest []string
	for _, c := range candidates {
		if c != agent {
			rest = append(rest, speaker(c))
		}
	}
	if len(rest) == 1 {
		return fmt.Sprintf(" ; %s est l'appelant.", rest[0])
	}
	return fmt.Sprintf(" ; %s sont pris pour l'appelant.", list(rest))
}

// speaker names a speaker in a sentence: "spk_1", but "le locuteur 2" for
// Google's bare numbers.
func speaker(l string) string {
	if isNumber(l) {
		return "le locuteur " + l
	}
	return l
}

func speakers(labels []string) string {
	names := make([]string, len(labels))
	for i, l := range labels {
		names[i] = speaker(l)
	}
	return list(names)
}

// capitalize upper-cases a sentence starting with "le locuteur" (labels
// such as spk_1 are left as the file writes them).
func capitalize(s string) string {
	if strings.HasPrefix(s, "le locuteur ") {
		return "L" + s[1:]
	}
	return s
}

// list writes labels for a sentence: "spk_0, spk_2 et spk_3", at most five.
func list(labels []string) string {
	if len(labels) > 5 {
		return strings.Join(labels[:5], ", ") + "…"
	}
	if len(labels) == 1 {
		return labels[0]
	}
	return strings.Join(labels[:len(labels)-1], ", ") + " et " + labels[len(labels)-1]
}

// quoted writes labels between French quotes.
func quoted(labels []string) string {
	q := make([]string, min(len(labels), 5))
	for i := range q {
		q[i] = "« " + labels[i] + " »"
	}
	return list(q)
}
