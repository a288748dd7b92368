// Package knowledge is the knowledge base of first-contact answers: what
// the call centre says to the questions that need no case (opening hours
// of the recycling centres, bulky-item collection, residents' parking,
// water bills…). Supervisors write the entries (a title, a plain text in
// paragraphs, the competence and territory it concerns, the date by which
// it must be read again); agents find them in the console by French
// full-text search, ranked higher when the router's classifier points to
// their competence; a call answered from an entry is recorded as a use,
// with no citizen and no case. The tables live in the case store's
// database (migration 00017).
package knowledge

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/ampmetropole/guichet/services/cases/territory"
	"github.com/ampmetropole/guichet/services/platform/frtime"
)

// Bounds of an entry, in characters; the database holds the same.
const (
	MaxTitle = 200
	MaxText  = 10_000
	// MaxQuery bounds what a search reads: the words of a question or of
	// a call's summary, not a whole transcript.
	MaxQuery = 2_000
	// MaxReviewYears is how far ahead the review date may be set: an
	// answer nobody has read for longer is not one to give.
	MaxReviewYears = 3
)

// ChannelPhone is the channel of a call answered from an entry.
const ChannelPhone = "phone"

// UseWindow is the period over which uses are counted for the list.
const UseWindow = 30 * 24 * time.Hour

// Entry is an answer of the knowledge base.
type Entry struct {
	ID    int64
	Title string
	// Text is plain text; blank lines separate paragraphs.
	Text string
	// Competence is a catalogue code; "" for any.
	Competence string
	// Territory is a territory code (services/cases/territory); "" for
	// all of them.
	Territory string
	// ReviewOn is the day by which the entry must be read again (midnight
	// UTC of that day).
	ReviewOn  time.Time
	CreatedAt time.Time
	EditedAt  time.Time
	// EditedBy is the login of whoever last created or changed it.
	EditedBy string
	// Version grows with every change, so that two people editing at once
	// do not overwrite each other.
	Version  int
	Archived bool
	// Uses counts the calls answered from the entry over [UseWindow]
	// (filled by [Store.List] and [Store.Get]).
	Uses int
}

// Due says whether the entry's review date has passed (in Paris): an entry
// "à revoir le 12" is flagged from the 13th.
func (e Entry) Due(now time.Time) bool {
	return Today(now).After(e.ReviewOn)
}

// Paragraphs splits the text at its blank lines, for display.
func (e Entry) Paragraphs() []string {
	var out []string
	for _, p := range strings.Split(strings.ReplaceAll(e.Text, "\r\n", "\n"), "\n\n") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Today is the date of now in Paris, as midnight UTC: how review dates are
// stored and compared.
func Today(now time.Time) time.Time {
	y, m, d := now.In(frtime.Paris()).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// Draft is an entry as written in the form.
type Draft struct {
	Title, Text           string
	Competence, Territory string
	ReviewOn              time.Time
}

// Fields of a draft, as [FieldError] names them.
const (
	FieldTitle      = "title"
	FieldText       = "text"
	FieldCompetence = "competence"
	FieldTerritory  = "territory"
	FieldReview     = "review"
)

// FieldError says, in French, what is wrong with one field of a draft.
type FieldError struct {
	Field   string
	Message string
	// TooLong: the field is over its bound (a 413 rather than a 422).
	TooLong bool
}

// Invalid is a refused draft: one message per field at fault, in the
// order of the form.
type Invalid []FieldError

func (v Invalid) Error() string {
	msgs := make([]string, len(v))
	for i, f := range v {
		msgs[i] = f.Message
	}
	return "knowledge: " + strings.Join(msgs, " ; ")
}

// Of returns the message for field, or "".
func (v Invalid) Of(field string) string {
	for _, f := range v {
		if f.Field == field {
			return f.Message
		}
	}
	return ""
}

// normalize trims the draft and writes line ends as "\n".
func (d Draft) normalize() Draft {
	d.Title = strings.Join(strings.Fields(d.Title), " ")
	d.Text = strings.TrimSpace(strings.ReplaceAll(strings.ReplaceAll(d.Text, "\r\n", "\n"), "\r", "\n"))
	d.Competence = strings.TrimSpace(d.Competence)
	d.Territory = strings.TrimSpace(d.Territory)
	if !d.ReviewOn.IsZero() {
		y, m, dd := d.ReviewOn.Date()
		d.ReviewOn = time.Date(y, m, dd, 0, 0, 0, 0, time.UTC)
	}
	return d
}

// bounds are what the store refuses whoever writes: empty or oversized
// text, characters PostgreSQL cannot store, an unknown territory, no
// review date.
func (d Draft) bounds() Invalid {
	var v Invalid
	switch n := utf8.RuneCountInString(d.Title); {
	case !cleanText(d.Title):
		v = append(v, FieldError{Field: FieldTitle, Message: "Le titre contient des caractères non permis."})
	case n == 0:
		v = append(v, FieldError{Field: FieldTitle, Message: "Donnez un titre à la fiche."})
	case n > MaxTitle:
		v = append(v, FieldError{Field: FieldTitle, Message: fmt.Sprintf("Le titre est trop long : %d caractères au plus (il en a %d).", MaxTitle, n), TooLong: true})
	}
	switch n := utf8.RuneCountInString(d.Text); {
	case !cleanText(d.Text):
		v = append(v, FieldError{Field: FieldText, Message: "Le texte contient des caractères non permis."})
	case n == 0:
		v = append(v, FieldError{Field: FieldText, Message: "Écrivez la réponse à donner."})
	case n > MaxText:
		v = append(v, FieldError{Field: FieldText, Message: fmt.Sprintf("Le texte est trop long : %d caractères au plus (il en a %d).", MaxText, n), TooLong: true})
	}
	if d.Competence != "" && (!cleanText(d.Competence) || len(d.Competence) > 100) {
		v = append(v, FieldError{Field: FieldCompetence, Message: "Choisissez une compétence de la liste, ou « Toutes les compétences »."})
	}
	if d.Territory != "" && !slices.Contains(territory.Codes(), d.Territory) {
		v = append(v, FieldError{Field: FieldTerritory, Message: "Choisissez un territoire de la liste, ou « Tous les territoires »."})
	}
	if d.ReviewOn.IsZero() {
		v = append(v, FieldError{Field: FieldReview, Message: "Indiquez la date à laquelle relire la fiche."})
	}
	return v
}

// Check says what is wrong with a draft written in the form on the day of
// now: besides the store's bounds, the competence must be one the
// catalogue knows (known; nil accepts any) and the review date between
// today and [MaxReviewYears] ahead. Nil when the draft is good.
func (d Draft) Check(now time.Time, known func(code string) bool) Invalid {
	d = d.normalize()
	v := d.bounds()
	if d.Competence != "" && known != nil && !known(d.Competence) && v.Of(FieldCompetence) == "" {
		v = append(v, FieldError{Field: FieldCompetence, Message: "Choisissez une compétence de la liste, ou « Toutes les compétences »."})
	}
	today := Today(now)
	switch {
	case d.ReviewOn.IsZero():
	case d.ReviewOn.Before(today):
		v = append(v, FieldError{Field: FieldReview, Message: "La date de relecture est passée : choisissez aujourd'hui ou une date à venir."})
	case d.ReviewOn.After(today.AddDate(MaxReviewYears, 0, 0)):
		v = append(v, FieldError{Field: FieldReview, Message: fmt.Sprintf("La date de relecture est trop lointaine : %d ans au plus (le %s au plus tard).",
			MaxReviewYears, frtime.Date(today.AddDate(MaxReviewYears, 0, 0)))})
	}
	// In the order of the form.
	order := []string{FieldTitle, FieldText, FieldCompetence, FieldTerritory, FieldReview}
	slices.SortStableFunc(v, func(a, b FieldError) int { return slices.Index(order, a.Field) - slices.Index(order, b.Field) })
	if len(v) == 0 {
		return nil
	}
	return v
}

// cleanText refuses invalid UTF-8 and control characters other than line
// ends and tabs (a NUL, which PostgreSQL cannot store, among them).
func cleanText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) && r != '\n' && r != '\r' && r != '\t' {
			return false
		}
	}
	return true
}

// Query is a search of the console: the words the agent typed or the
// caller said, and the competences the classifier read in them.
type Query struct {
	// Text is searched word by word: an entry matching more of the words,
	// in its title rather than its text, comes first. At most [MaxQuery]
	// characters are read.
	Text string
	// Competences are the competences the text points to, best first: an
	// entry of the first ones is ranked higher, and the entries of the
	// first are proposed even when no word matches.
	Competences []string
	// Territory keeps out the entries of other territories ("" keeps all).
	Territory string
	// Limit: 5 when ≤ 0, never more than 50.
	Limit int
}

// ListQuery is the supervisors' list.
type ListQuery struct {
	// Text filters with the search syntax of the cases' search (all the
	// words, "a phrase", -excluded); "" lists all.
	Text string
	// Archived lists the archived entries instead of the others.
	Archived bool
	// Due keeps the entries whose review date has passed.
	Due bool
	// Limit: 200 when ≤ 0, never more than 500.
	Limit int
}

// Use is a call answered from an entry.
type Use struct {
	Entry   int64
	Agent   string // login of the agent
	Channel string // ChannelPhone
}

// callWords are the words of a call that say nothing of its subject: the
// French text configuration keeps some of them ("les" is read as "le"),
// and any one word matching is enough for [Store.Search].
var callWords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`le la les de des du un une et au aux en pour par sur sous dans avec chez sans
		je tu il elle nous vous ils elles on me te se moi toi lui leur leurs mon ma mes ton ta tes son sa ses notre nos votre vos
		ce cet cette ces ça cela qui que quoi dont où est sont suis es ai as avez avons ont été être avoir fait faire
		pas ne ni plus très bien peu tout tous toute toutes oui non alors donc mais ou car si comme quand comment pourquoi
		quel quelle quels quelles combien bonjour bonsoir merci madame monsieur voudrais voudrait veux veut voulais
		savoir pouvez pourriez peux peut dire appelle appelais qu aujourd hui`) {
		m[w] = true
	}
	return m
}()

// orWords writes the words of text as a web-search query of which any word
// may match ("déchetterie or aubagne"): websearch_to_tsquery never fails on
// what it is given, and this gives it nothing but words.
func orWords(text string) string {
	if utf8.RuneCountInString(text) > MaxQuery {
		text = string([]rune(text)[:MaxQuery])
	}
	seen := map[string]bool{}
	var words []string
	for _, w := range strings.FieldsFunc(strings.ToLower(text), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		// "or" would be read as the operator; one letter says nothing.
		if utf8.RuneCountInString(w) < 2 || w == "or" || seen[w] || callWords[w] {
			continue
		}
		seen[w] = true
		words = append(words, w)
		if len(words) == 64 {
			break
		}
	}
	return strings.Join(words, " or ")
}
