// Package classify decides which competence a request belongs to and says
// why. Two explainable layers: rules from the catalogue (phrases with
// weights per competence, editable without a rebuild) and a small linear
// model (multinomial logistic regression over French word stems and word
// pairs) trained on the team's labelled corpus; their scores add up and a
// temperature fitted by cross-validation turns them into calibrated
// probabilities. Each prediction lists the terms and rules that weighed most.
// The citizen's identity never reaches the features.
package classify

import (
	"regexp"
	"strings"
	"sync"
	"unicode"

	"unicode/utf8"

	"github.com/kljensen/snowball/french"
	"golang.org/x/text/unicode/norm"
)

// MaxText bounds the text analysed; a request is far shorter.
const MaxText = 20000

// Token is one word of a text as the classifier sees it: its stem, accents
// folded, and the word as written, to explain a decision in words people read.
type Token struct {
	Stem string
	Word string
}

// extraStop are words of every request, whatever its subject: greetings,
// politeness, speech fillers and SMS forms that Snowball's list lacks.
var extraStop = map[string]bool{
	"bonjour": true, "bonsoir": true, "merci": true, "madame": true, "monsieur": true, "mesdames": true, "messieurs": true,
	"cordialement": true, "salutations": true, "distinguées": true, "distinguees": true, "sentiments": true, "agréer": true, "agreer": true,
	"veuillez": true, "prie": true, "expression": true, "respectueuses": true, "remerciements": true, "remercie": true, "avance": true,
	"euh": true, "ben": true, "bah": true, "hein": true, "voilà": true, "voila": true, "alors": true, "bref": true, "oui": true, "non": true,
	"svp": true, "stp": true, "slt": true, "bjr": true, "mrc": true, "cdlt": true, "allo": true, "allô": true, "ok": true, "daccord": true,
	"d'accord": true, "accord": true, "quoi": true, "genre": true, "vraiment": true, "très": true, "tres": true, "trop": true, "ça": true, "ca": true,
	"aussi": true, "tout": true, "tous": true, "toute": true, "toutes": true, "faire": true, "fait": true, "peut": true, "être": true, "etre": true,
	"cela": true, "celle": true, "celui": true, "ceci": true, "y": true, "a": true, "à": true,
	"les": true, "ya": true, "cette": true, "cet": true, "leurs": true, "ceux": true, "celles": true, "dont": true,
	"où": true, "donc": true, "car": true, "si": true, "comme": true, "ici": true, "là": true, "chez": true,
	// Numbers said in words are dropped like digits: a call spells out the
	// house number and the postal code that a form writes in digits.
	"zéro": true, "zero": true, "deux": true, "trois": true, "quatre": true, "cinq": true, "six": true, "sept": true, "huit": true,
	"dix": true, "onze": true, "douze": true, "treize": true, "quatorze": true, "quinze": true, "seize": true,
	"vingt": true, "vingts": true, "trente": true, "quarante": true, "cinquante": true, "soixante": true, "cent": true, "cents": true,
	"mille": true,
}

// elided are the short words French glues to the next with an apostrophe.
var elided = map[string]bool{"l": true, "d": true, "j": true, "n": true, "s": true, "c": true, "m": true, "t": true, "qu": true,
	"jusqu": true, "lorsqu": true, "puisqu": true, "quoiqu": true, "presqu": true}

var (
	// Addresses and links say who wrote, not what about.
	emailOrURL = regexp.MustCompile(`(?i)[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}|https?://\S+|www\.\S+`)
	apostrophe = strings.NewReplacer("’", "'", "‘", "'", "`", "'", "´", "'", "ʼ", "'")
	ligatures  = strings.NewReplacer("œ", "oe", "æ", "ae")
)

// Fold lower-cases s and removes its accents ("Éteint" → "eteint").
func Fold(s string) string {
	s = strings.ToLower(s)
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return s
	}
	var b strings.Builder
	for _, r := range norm.NFD.String(ligatures.Replace(s)) {
		if !unicode.Is(unicode.Mn, r) {
			b.WriteRune(r)
		}
	}
	return norm.NFC.String(b.String())
}

// Analyze turns French text into tokens: lower case, apostrophes and
// elisions (l', d', qu'…), words split on anything not a letter or digit,
// stop words and numbers dropped, each word stemmed by Snowball's French
// stemmer (which knows accents) and then folded, so that "éteints" and
// "eteint" meet. E-mail addresses and links are dropped.
func Analyze(text string) []Token { return analyze(text, token) }

func analyze(text string, tok func(string) (Token, bool)) []Token {
	if len(text) > MaxText {
		text = strings.ToValidUTF8(text[:MaxText], "")
	}
	text = apostrophe.Replace(text)
	low := strings.ToLower(text)
	// Every address or link holds "@", "://" or "www." (in any case): the
	// expression, a sixth of the analysis, runs only on texts that may.
	if strings.Contains(text, "@") || strings.Contains(text, "://") || strings.Contains(low, "www.") {
		low = strings.ToLower(emailOrURL.ReplaceAllString(text, " "))
	}
	var toks []Token
	for w := range strings.FieldsFuncSeq(low, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '\'' }) {
		for part := range strings.SplitSeq(w, "'") {
			if t, ok := tok(part); ok {
				toks = append(toks, t)
			}
		}
	}
	return toks
}

// Analyzer is Analyze with the words it has stemmed kept: stemming is
// most of the analysis, and requests share most of their words. Safe for
// concurrent use; bounded (emptied when full).
type Analyzer struct {
	mu    sync.RWMutex
	words map[string]analyzedWord
}

type analyzedWord struct {
	tok Token
	ok  bool
}

// analyzerWords bounds an Analyzer (French requests use some tens of
// thousands of distinct words).
const analyzerWords = 100000

// Analyze is the package's Analyze.
func (a *Analyzer) Analyze(text string) []Token { return analyze(text, a.token) }

func (a *Analyzer) token(w string) (Token, bool) {
	a.mu.RLock()
	x, ok := a.words[w]
	a.mu.RUnlock()
	if ok {
		return x.tok, x.ok
	}
	t, ok := token(w)
	// Kept apart from the text it came in, which the cache must not hold.
	key := strings.Clone(w)
	if ok {
		t.Word = key
	}
	a.mu.Lock()
	if a.words == nil || len(a.words) >= analyzerWords {
		a.words = make(map[string]analyzedWord, 4096)
	}
	a.words[key] = analyzedWord{tok: t, ok: ok}
	a.mu.Unlock()
	return t, ok
}

// token stems one word, or says it carries nothing.
func token(w string) (Token, bool) {
	if w == "" || elided[w] || extraStop[w] || french.IsStopWord(w) {
		return Token{}, false
	}
	letters := 0
	for _, r := range w {
		if unicode.IsLetter(r) {
			letters++
		}
	}
	// Numbers (house numbers, postal codes, dates) say where and when, not
	// what; single letters are noise.
	if letters < 2 {
		return Token{}, false
	}
	stem := Fold(french.Stem(w, true))
	if len(stem) < 2 || extraStop[stem] {
		return Token{}, false
	}
	return Token{Stem: stem, Word: w}, true
}
